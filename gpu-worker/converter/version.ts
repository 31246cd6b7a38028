/** Bumped whenever the graphs or the manifest change in a way consumers can notice. */
export const CONVERTER_VERSION = '1.0.0';
export const FORMAT = 'yi-vl-onnx';
export const FORMAT_VERSION = 1;

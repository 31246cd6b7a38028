// Reads and writes ModelProto messages with protobufjs from the onnx-subset.proto schema beside this file: the
// converter writes graphs with it, the pipeline reads converted graphs' initializer tables with it.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const root = protobuf.loadSync(join(dirname(fileURLToPath(import.meta.url)), 'onnx-subset.proto'));
export const ModelProto = root.lookupType('onnx.ModelProto');

/** onnx.TensorProto.DataType: element types, as written in `elem_type`, `data_type` and Cast's `to`. */
export const TensorProto = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
} as const;

/** onnx.TensorProto.DataLocation: where an initializer's bytes are. */
export const DataLocation = { DEFAULT: 0, EXTERNAL: 1 } as const;

/** The element types the graphs use, by their onnxruntime-node tensor type names. */
export const TensorDataType = {
  float32: TensorProto.FLOAT,
  uint8: TensorProto.UINT8,
  int8: TensorProto.INT8,
  int32: TensorProto.INT32,
  int64: TensorProto.INT64,
  bool: TensorProto.BOOL,
  float16: TensorProto.FLOAT16,
  float64: TensorProto.DOUBLE,
} as const;
export type DataTypeName = keyof typeof TensorDataType;

export const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7 } as const;

export function encodeModel(model: Record<string, unknown>): Uint8Array {
  const err = ModelProto.verify(model);
  if (err) throw new Error(`invalid ModelProto: ${err}`);
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}

export function decodeModel(bytes: Uint8Array): Record<string, unknown> {
  return ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, defaults: false }) as Record<string, unknown>;
}

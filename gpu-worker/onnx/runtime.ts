/**
 * onnxruntime-node, with float16 tensors kept on Uint16Array on every Node version.
 *
 * Node 24 ships `Float16Array`, and onnxruntime-common then stores float16 tensor data in one. onnxruntime-node
 * 1.30's native binding reads tensor memory through N-API, which does not report a Float16Array's bytes: a float16
 * feed or pre-bound fetch arrives as 0 bytes ("not enough space: expected 2048, got 0"). onnxruntime-common picks
 * the float16 array type once, lazily, at the first tensor it creates; creating that first tensor here with
 * `Float16Array` hidden makes it choose Uint16Array, as it does on Node 20. Import `ort` from this module, never from
 * 'onnxruntime-node' directly (types may still come from there).
 */
import ort from 'onnxruntime-node';

const globals = globalThis as { Float16Array?: unknown };
const float16Array = globals.Float16Array;
if (float16Array !== undefined) {
  globals.Float16Array = undefined;
  try {
    new ort.Tensor('float32', new Float32Array(1), [1]);
  } finally {
    globals.Float16Array = float16Array;
  }
}

export default ort;

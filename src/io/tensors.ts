/** Reading input tensors by file type: `.npy`, or an ONNX TensorProto `.pb`. */
import { extname } from "node:path";
import type { RTensor } from "../../ir/interp/tensor.js";
import { readTensorProtoFile } from "../frontend/onnx/load.js";
import { readNpy } from "./npy.js";

export function readTensorFile(file: string): RTensor {
  if (extname(file).toLowerCase() === ".pb") {
    const t = readTensorProtoFile(file);
    return { shape: t.dims, dtype: t.dtype, data: t.data };
  }
  return readNpy(file);
}

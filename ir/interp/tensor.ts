/** Run-time tensors of the reference interpreter: concrete shapes (the batch dimension resolved). */
import { allocData, numel, type DType, type TensorData } from "../types.js";

export interface RTensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly data: TensorData;
}

export function rtensor(shape: readonly number[], dtype: DType, data?: TensorData): RTensor {
  const n = numel(shape);
  const d = data ?? allocData(dtype, n);
  if (d.length !== n) throw new RangeError(`tensor data has ${d.length} elements, shape [${shape.join(", ")}] needs ${n}`);
  return { shape: [...shape], dtype, data: d };
}

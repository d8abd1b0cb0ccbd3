/** Checking and converting user-supplied tensors for `tscc run`. */
import { fmt, M, TsccError } from "../../ir/index.js";
import type { RTensor } from "../../ir/interp/tensor.js";
import { argmax } from "../../backends/emulator/run.js";

/** float32 as is; float64 narrowed to float32 (NumPy's default dtype); anything else is refused. */
export function toModelInput(t: RTensor, name: string, file: string): RTensor {
  if (t.dtype === "f32") return t;
  if (t.dtype === "f64") return { shape: t.shape, dtype: "f32", data: Float32Array.from(t.data as Float64Array) };
  throw new TsccError(
    fmt(M.InputMismatch, [`input '${name}' from ${file} has dtype ${t.dtype}; the model takes float32`], {
      hint: "convert it first, e.g. np.save(path, x.astype(np.float32) / 255) for 8-bit images",
    }),
  );
}

export function labelValues(labels: RTensor, file: string, n: number): number[] {
  if (labels.dtype === "f32" || labels.dtype === "f64") {
    throw new TsccError(fmt(M.InputMismatch, [`labels in ${file} are ${labels.dtype}; integer class indices are expected`]));
  }
  const vals = Array.from(labels.data as ArrayLike<number | bigint>, (x) => Number(x));
  if (vals.length !== n) throw new TsccError(fmt(M.InputMismatch, [`${file} holds ${vals.length} labels for ${n} samples`]));
  return vals;
}

/** Top-1 accuracy of a [N, classes] output against labels. */
export function argmaxAccuracy(out: RTensor, labels: RTensor, file: string): number {
  const n = out.shape[0]!;
  const k = out.data.length / n;
  const y = labelValues(labels, file, n);
  let correct = 0;
  for (let i = 0; i < n; i++) if (argmax(out.data as ArrayLike<number>, i, k) === y[i]) correct++;
  return correct / n;
}

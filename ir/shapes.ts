/** Shape arithmetic shared by shape inference, the interpreter and the backends. */
import { ShapeError } from "./opdef.js";
import { BATCH, formatShape } from "./types.js";

export function fmtShape(s: readonly number[]): string {
  return `[${formatShape(s).replace(/x/g, ", ")}]`;
}

/** Numpy broadcasting; the batch dimension broadcasts with 1 and with itself only. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da === db) out.push(da);
    else if (da === 1) out.push(db);
    else if (db === 1) out.push(da);
    else throw new ShapeError(`shapes ${fmtShape(a)} and ${fmtShape(b)} do not broadcast`);
  }
  return out;
}

/** Output length of a sliding window (conv or pool) along one axis, following ONNX (and onnxruntime). */
export function windowOutSize(
  inSize: number,
  kernel: number,
  stride: number,
  padBegin: number,
  padEnd: number,
  dilation: number,
  ceilMode: boolean,
): number {
  const span = dilation * (kernel - 1) + 1;
  const room = inSize + padBegin + padEnd - span;
  if (room < 0) throw new ShapeError(`window of ${span} does not fit into input ${inSize} with pads ${padBegin}+${padEnd}`);
  let out = (ceilMode ? Math.ceil(room / stride) : Math.floor(room / stride)) + 1;
  // A window that would start in the end padding is dropped (PyTorch semantics, adopted by ONNX opset 19).
  if (ceilMode && (out - 1) * stride >= inSize + padBegin) out -= 1;
  return out;
}

/** Resolve ONNX auto_pad to explicit [begin..., end...] pads for static spatial sizes. */
export function autoPads(
  mode: string,
  inSpatial: readonly number[],
  kernel: readonly number[],
  strides: readonly number[],
  dilations: readonly number[],
): number[] {
  const n = inSpatial.length;
  const begin = new Array<number>(n).fill(0);
  const end = new Array<number>(n).fill(0);
  if (mode === "SAME_UPPER" || mode === "SAME_LOWER") {
    for (let i = 0; i < n; i++) {
      const out = Math.ceil(inSpatial[i]! / strides[i]!);
      const span = dilations[i]! * (kernel[i]! - 1) + 1;
      const total = Math.max(0, (out - 1) * strides[i]! + span - inSpatial[i]!);
      const small = Math.floor(total / 2);
      if (mode === "SAME_UPPER") {
        begin[i] = small;
        end[i] = total - small;
      } else {
        begin[i] = total - small;
        end[i] = small;
      }
    }
  }
  return [...begin, ...end];
}

export function normalizeAxis(axis: number, rank: number, what = "axis"): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new ShapeError(`${what} ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Product of dims, refusing the batch marker (callers strip it first). */
export function product(dims: readonly number[]): number {
  let p = 1;
  for (const d of dims) {
    if (d === BATCH) throw new ShapeError("the batch dimension cannot be merged with other dimensions");
    p *= d;
  }
  return p;
}

/** Row-major strides of a static shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

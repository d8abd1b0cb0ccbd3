/** Small helpers shared by the reference kernels. */
import { fail } from "../../diagnostics/diagnostic.js";
import { M } from "../../diagnostics/messages.js";
import { ShapeError } from "../../opdef.js";
import { fmtShape } from "../../shapes.js";
import type { TensorData } from "../../types.js";
import type { RTensor } from "../tensor.js";

/** Element count of a concrete (run-time) shape. */
export function count(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** The float32 data of `t`, or a ShapeError naming `what`. */
export function f32(t: RTensor, what: string): Float32Array {
  if (t.dtype !== "f32" || !(t.data instanceof Float32Array)) throw new ShapeError(`${what} must be f32, got ${t.dtype}`);
  return t.data;
}

/** Integer data (i64 or i32) as JS numbers, e.g. indices or a shape vector. */
export function intValues(t: RTensor, what: string): number[] {
  const d = t.data;
  if (d instanceof BigInt64Array) return Array.from(d, (v) => Number(v));
  if (t.dtype === "i32" || t.dtype === "i8" || t.dtype === "u8") return Array.from(d as Int32Array);
  throw new ShapeError(`${what} must be an integer tensor, got ${t.dtype}`);
}

/** A tensor with the same data and a new shape (tensors are immutable, so views share data). */
export function view(t: RTensor, shape: readonly number[]): RTensor {
  if (count(shape) !== t.data.length) throw new Error(`view: ${fmtShape(shape)} does not hold ${t.data.length} elements`);
  return { shape: [...shape], dtype: t.dtype, data: t.data };
}

/** A fresh array of the same kind as `like`. */
export function allocLike(like: TensorData, n: number): TensorData {
  const ctor = like.constructor as new (n: number) => TensorData;
  return new ctor(n);
}

/** Copy `n` elements between two arrays of the same kind. */
export function copyRange(src: TensorData, srcOff: number, dst: TensorData, dstOff: number, n: number): void {
  if (n <= 0) return;
  if (n < 16) {
    const s = src as unknown as ArrayLike<number>;
    const d = dst as unknown as { [i: number]: number };
    for (let i = 0; i < n; i++) d[dstOff + i] = s[srcOff + i]!;
    return;
  }
  (dst as Float32Array).set((src as Float32Array).subarray(srcOff, srcOff + n), dstOff);
}

/** Spatial rank check shared by conv and pooling: 1-D and 2-D run, higher ranks are refused clearly. */
export function spatialRank(x: RTensor, what: string): 1 | 2 {
  const r = x.shape.length - 2;
  if (r < 1) throw new ShapeError(`${what} input ${fmtShape(x.shape)} needs a batch, a channel and at least one spatial axis`);
  if (r > 2) {
    fail(M.BackendUnsupported, ["reference interpreter", `a ${r}-D ${what}`, "only 1-D and 2-D windows are implemented"]);
  }
  return r as 1 | 2;
}

/** Window attributes of conv and pooling, in ONNX layout. */
export interface WindowParams {
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  /** [begin..., end...] */
  readonly pads: readonly number[];
  readonly dilations: readonly number[];
}

/** A 1-D or 2-D window as a 2-D one (1-D: a height of 1 with a trivial window). */
export interface Window2d {
  readonly kh: number;
  readonly kw: number;
  readonly sh: number;
  readonly sw: number;
  readonly dh: number;
  readonly dw: number;
  readonly pt: number;
  readonly pl: number;
  readonly pb: number;
  readonly pr: number;
}

export function window2d(p: WindowParams, rank: 1 | 2): Window2d {
  const n = rank;
  if (p.kernel.length !== n || p.strides.length !== n || p.dilations.length !== n || p.pads.length !== 2 * n) {
    throw new ShapeError(`kernel_shape/strides/dilations need ${n} entries and pads ${2 * n} for a ${n}-D window`);
  }
  if ([...p.kernel, ...p.strides, ...p.dilations].some((v) => v < 1)) throw new ShapeError("kernel, strides and dilations must be ≥ 1");
  if (p.pads.some((v) => v < 0)) throw new ShapeError("pads must be ≥ 0");
  if (rank === 1) {
    return { kh: 1, kw: p.kernel[0]!, sh: 1, sw: p.strides[0]!, dh: 1, dw: p.dilations[0]!, pt: 0, pl: p.pads[0]!, pb: 0, pr: p.pads[1]! };
  }
  return {
    kh: p.kernel[0]!,
    kw: p.kernel[1]!,
    sh: p.strides[0]!,
    sw: p.strides[1]!,
    dh: p.dilations[0]!,
    dw: p.dilations[1]!,
    pt: p.pads[0]!,
    pl: p.pads[1]!,
    pb: p.pads[2]!,
    pr: p.pads[3]!,
  };
}

/** Elementwise and normalisation kernels: relu, clip, add (broadcast, any numeric dtype), batch norm, softmax, cast. */
import { ShapeError } from "../../opdef.js";
import { broadcastShapes, fmtShape, normalizeAxis, stridesOf } from "../../shapes.js";
import { allocData, type DType } from "../../types.js";
import { rtensor, type RTensor } from "../tensor.js";
import { activateInPlace, isIdentity, NO_ACTIVATION, type Activation } from "./gemm.js";
import { count, f32 } from "./util.js";

/** y = min(max(x, lo), hi) on float32 data. */
export function clamp(x: RTensor, act: Activation): RTensor {
  const xd = f32(x, "input");
  const y = Float32Array.from(xd);
  activateInPlace(y, act);
  return rtensor(x.shape, "f32", y);
}

export function relu(x: RTensor): RTensor {
  return clamp(x, { lo: 0, hi: Infinity });
}

export function clip(x: RTensor, min = -Infinity, max = Infinity): RTensor {
  return clamp(x, { lo: min, hi: max });
}

/** Strides of `shape` broadcast to `out` (0 along broadcast axes), aligned right. */
function broadcastStrides(shape: readonly number[], out: readonly number[]): number[] {
  const st = stridesOf(shape);
  const r = out.length;
  const res = new Array<number>(r).fill(0);
  for (let i = 0; i < shape.length; i++) {
    const j = r - shape.length + i;
    res[j] = shape[i] === 1 && out[j] !== 1 ? 0 : st[i]!;
  }
  return res;
}

/**
 * For every output element in row-major order, call `f(ia, ib, io)` with the flat indices of the
 * broadcast operands. Runs the last axis as an inner loop.
 */
function forEachBroadcast(as: readonly number[], bs: readonly number[], out: readonly number[], f: (ia: number, ib: number, io: number) => void): void {
  const r = out.length;
  const n = count(out);
  if (n === 0) return;
  if (r === 0) {
    f(0, 0, 0);
    return;
  }
  const sa = broadcastStrides(as, out);
  const sb = broadcastStrides(bs, out);
  const inner = out[r - 1]!;
  const ia1 = sa[r - 1]!;
  const ib1 = sb[r - 1]!;
  const idx = new Array<number>(r - 1).fill(0);
  let io = 0;
  while (io < n) {
    let ia = 0;
    let ib = 0;
    for (let d = 0; d < r - 1; d++) {
      ia += idx[d]! * sa[d]!;
      ib += idx[d]! * sb[d]!;
    }
    for (let j = 0; j < inner; j++) f(ia + j * ia1, ib + j * ib1, io + j);
    io += inner;
    for (let d = r - 2; d >= 0; d--) {
      if (++idx[d]! < out[d]!) break;
      idx[d] = 0;
    }
  }
}

/** a + b with numpy broadcasting and a fused activation; any numeric dtype (i64 for shape arithmetic). */
export function add(a: RTensor, b: RTensor, act: Activation = NO_ACTIVATION): RTensor {
  if (a.dtype !== b.dtype) throw new ShapeError(`Add operands differ in element type: ${a.dtype} and ${b.dtype}`);
  const shape = broadcastShapes(a.shape, b.shape);
  const n = count(shape);
  if (a.data instanceof BigInt64Array) {
    const ad = a.data;
    const bd = b.data as BigInt64Array;
    const y = new BigInt64Array(n);
    forEachBroadcast(a.shape, b.shape, shape, (ia, ib, io) => {
      y[io] = BigInt.asIntN(64, ad[ia]! + bd[ib]!);
    });
    if (!isIdentity(act)) {
      for (let i = 0; i < n; i++) {
        const v = y[i]!;
        if (v < act.lo) y[i] = BigInt(Math.ceil(act.lo));
        if (y[i]! > act.hi) y[i] = BigInt(Math.floor(act.hi));
      }
    }
    return rtensor(shape, a.dtype, y);
  }
  const ad = a.data as Float32Array;
  const bd = b.data as Float32Array;
  const y = allocData(a.dtype, n) as Float32Array;
  if (a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i])) {
    for (let i = 0; i < n; i++) y[i] = ad[i]! + bd[i]!;
  } else if (b.data.length === 1 && a.data.length === n) {
    const s = bd[0]!;
    for (let i = 0; i < n; i++) y[i] = ad[i]! + s;
  } else {
    forEachBroadcast(a.shape, b.shape, shape, (ia, ib, io) => {
      y[io] = ad[ia]! + bd[ib]!;
    });
  }
  activateInPlace(y, act);
  return rtensor(shape, a.dtype, y);
}

/** Inference batch normalisation over axis 1: (x - mean) / sqrt(var + eps) · scale + bias. */
export function batchNorm(x: RTensor, scale: RTensor, bias: RTensor, mean: RTensor, variance: RTensor, epsilon: number): RTensor {
  const xd = f32(x, "BatchNormalization input");
  if (x.shape.length < 2) throw new ShapeError(`BatchNormalization input ${fmtShape(x.shape)} has no channel axis`);
  const n = x.shape[0]!;
  const c = x.shape[1]!;
  const params = [scale, bias, mean, variance].map((p, i) => {
    const d = f32(p, `BatchNormalization parameter ${i + 1}`);
    if (p.shape.length !== 1 || p.shape[0] !== c) throw new ShapeError(`BatchNormalization parameter ${i + 1} ${fmtShape(p.shape)} must be [${c}]`);
    return d;
  });
  const [sd, bd, md, vd] = params as [Float32Array, Float32Array, Float32Array, Float32Array];
  const inner = count(x.shape.slice(2));
  const y = new Float32Array(xd.length);
  for (let ch = 0; ch < c; ch++) {
    const k = sd[ch]! / Math.sqrt(vd[ch]! + epsilon);
    const mu = md[ch]!;
    const beta = bd[ch]!;
    for (let b = 0; b < n; b++) {
      const off = (b * c + ch) * inner;
      for (let i = 0; i < inner; i++) y[off + i] = (xd[off + i]! - mu) * k + beta;
    }
  }
  return rtensor(x.shape, "f32", y);
}

/**
 * Softmax along `axis` (opset ≥ 13), or with `coerce2d` over the flattened axes [axis, rank) as one
 * (opset < 13). Computed in float64 with the maximum subtracted.
 */
export function softmax(x: RTensor, axis: number, coerce2d: boolean): RTensor {
  const xd = f32(x, "Softmax input");
  const r = x.shape.length;
  if (r === 0) throw new ShapeError("Softmax of a scalar");
  const a = normalizeAxis(axis, r);
  const outer = count(x.shape.slice(0, a));
  // Normalised group: len elements at stride `stride`, `stride` groups per outer index.
  const len = coerce2d ? count(x.shape.slice(a)) : x.shape[a]!;
  const stride = coerce2d ? 1 : count(x.shape.slice(a + 1));
  const y = new Float32Array(xd.length);
  const e = new Float64Array(len);
  for (let o = 0; o < outer; o++) {
    for (let s = 0; s < stride; s++) {
      const base = o * len * stride + s;
      let mx = -Infinity;
      for (let i = 0; i < len; i++) {
        const v = xd[base + i * stride]!;
        if (v > mx) mx = v;
      }
      let sum = 0;
      for (let i = 0; i < len; i++) {
        const v = Math.exp(xd[base + i * stride]! - mx);
        e[i] = v;
        sum += v;
      }
      for (let i = 0; i < len; i++) y[base + i * stride] = e[i]! / sum;
    }
  }
  return rtensor(x.shape, "f32", y);
}

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

/**
 * Element type conversion. Float to integer truncates toward zero (as C++ static_cast does for values
 * in range); out-of-range values saturate and NaN becomes 0 (ONNX leaves both undefined).
 */
export function cast(x: RTensor, to: DType): RTensor {
  if (to === x.dtype) return x;
  const n = x.data.length;
  const src = x.data;
  const y = allocData(to, n);
  if (y instanceof BigInt64Array) {
    if (src instanceof BigInt64Array) y.set(src);
    else {
      for (let i = 0; i < n; i++) {
        const v = Math.trunc(src[i] as number);
        if (Number.isNaN(v)) y[i] = 0n;
        else if (v >= 9223372036854775807) y[i] = I64_MAX;
        else if (v <= -9223372036854775808) y[i] = I64_MIN;
        else y[i] = BigInt(v);
      }
    }
  } else if (src instanceof BigInt64Array) {
    const out = y as Float32Array;
    if (to === "i32") for (let i = 0; i < n; i++) out[i] = Number(BigInt.asIntN(32, src[i]!));
    else for (let i = 0; i < n; i++) out[i] = Number(src[i]!);
  } else {
    const out = y as Float32Array;
    const s = src as Float32Array;
    if (to === "f32" || to === "f64") for (let i = 0; i < n; i++) out[i] = s[i]!;
    else if (to === "bool") for (let i = 0; i < n; i++) out[i] = s[i]! !== 0 ? 1 : 0;
    else {
      const [lo, hi] = to === "i32" ? [-2147483648, 2147483647] : to === "i8" ? [-128, 127] : [0, 255];
      for (let i = 0; i < n; i++) {
        const v = Math.trunc(s[i]!);
        out[i] = Number.isNaN(v) ? 0 : v < lo ? lo : v > hi ? hi : v;
      }
    }
  }
  return rtensor(x.shape, to, y);
}

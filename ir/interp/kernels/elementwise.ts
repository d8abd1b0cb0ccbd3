/**
 * Elementwise and normalisation kernels: relu, clip, add (broadcast, any numeric dtype), mul, div, sub,
 * floor, round, quantize/dequantize (ONNX QuantizeLinear/DequantizeLinear), the fused quantiser, batch
 * norm, softmax, cast.
 */
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

/**
 * f(a, b) on float32 data with numpy broadcasting, each result rounded to float32 once. For +, −, ·
 * and / of float32 operands the float64 result rounded to float32 is the correctly rounded float32
 * result (double rounding is innocuous at these precisions), so this is exactly IEEE float32 arithmetic.
 */
function binaryF32(a: RTensor, b: RTensor, what: string, f: (x: number, y: number) => number): RTensor {
  const ad = f32(a, `${what} operand A`);
  const bd = f32(b, `${what} operand B`);
  const shape = broadcastShapes(a.shape, b.shape);
  const n = count(shape);
  const y = new Float32Array(n);
  if (a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i])) {
    for (let i = 0; i < n; i++) y[i] = f(ad[i]!, bd[i]!);
  } else if (bd.length === 1 && ad.length === n) {
    const s = bd[0]!;
    for (let i = 0; i < n; i++) y[i] = f(ad[i]!, s);
  } else {
    forEachBroadcast(a.shape, b.shape, shape, (ia, ib, io) => {
      y[io] = f(ad[ia]!, bd[ib]!);
    });
  }
  return rtensor(shape, "f32", y);
}

/** a + b with numpy broadcasting and a fused activation; any numeric dtype (i64 for shape arithmetic). */
export function add(a: RTensor, b: RTensor, act: Activation = NO_ACTIVATION): RTensor {
  if (a.dtype !== b.dtype) throw new ShapeError(`Add operands differ in element type: ${a.dtype} and ${b.dtype}`);
  if (a.data instanceof BigInt64Array) {
    const shape = broadcastShapes(a.shape, b.shape);
    const n = count(shape);
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
  const y = binaryF32(a, b, "Add", (x, z) => x + z);
  activateInPlace(y.data as Float32Array, act);
  return y;
}

export const mul = (a: RTensor, b: RTensor): RTensor => binaryF32(a, b, "Mul", (x, y) => x * y);
export const div = (a: RTensor, b: RTensor): RTensor => binaryF32(a, b, "Div", (x, y) => x / y);
export const sub = (a: RTensor, b: RTensor): RTensor => binaryF32(a, b, "Sub", (x, y) => x - y);

/** The nearest integer to x, halves to even (ONNX Round, QuantizeLinear; C's nearbyint). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // halves up
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function mapF32(x: RTensor, what: string, f: (v: number) => number): RTensor {
  const xd = f32(x, what);
  const y = new Float32Array(xd.length);
  for (let i = 0; i < xd.length; i++) y[i] = f(xd[i]!);
  return rtensor(x.shape, "f32", y);
}

export const floor = (x: RTensor): RTensor => mapF32(x, "Floor input", Math.floor);
export const round = (x: RTensor): RTensor => mapF32(x, "Round input", roundHalfEven);

/** ONNX QuantizeLinear, per tensor: saturate(round_half_even(x / scale) + zeroPoint) to u8 or i8. */
export function quantizeLinear(x: RTensor, scale: number, zeroPoint: number, to: "u8" | "i8"): RTensor {
  const xd = f32(x, "QuantizeLinear input");
  const [lo, hi] = to === "u8" ? [0, 255] : [-128, 127];
  const y = allocData(to, xd.length) as Uint8Array | Int8Array;
  for (let i = 0; i < xd.length; i++) {
    const q = roundHalfEven(Math.fround(xd[i]! / scale)) + zeroPoint;
    y[i] = q < lo ? lo : q > hi ? hi : q;
  }
  return rtensor(x.shape, to, y);
}

/** ONNX DequantizeLinear, per tensor: (x − zeroPoint)·scale in float32. */
export function dequantizeLinear(x: RTensor, scale: number, zeroPoint: number): RTensor {
  if (x.dtype !== "u8" && x.dtype !== "i8" && x.dtype !== "i32") throw new ShapeError(`DequantizeLinear input must be u8, i8 or i32, got ${x.dtype}`);
  const xd = x.data as Uint8Array | Int8Array | Int32Array;
  const y = new Float32Array(xd.length);
  for (let i = 0; i < xd.length; i++) y[i] = (xd[i]! - zeroPoint) * scale;
  return rtensor(x.shape, "f32", y);
}

/** The `quant` activation of a quantisation-aware trained layer (see ir/ops/nn.ts ACTIVATION_ATTRS). */
export interface Quantizer {
  /** L ≥ 1: outputs are λ·k/L for k = 0..L. */
  readonly levels: number;
  /** λ: the value of level L. */
  readonly lambda: number;
  /** φ, in level units. */
  readonly phi: number;
  readonly rounding: "floor" | "half_even";
}

/**
 * Apply a quantiser in place: k = clip(floor(u + φ), 0, L) (or half-even rounding of u + φ − ½) with
 * u = z/(λ/L), and z ← k·(λ/L), each step rounded to float32. This is the float32 arithmetic of the
 * ONNX chains fuse-quantizers recognises (Div λ, Mul L, Add φ, Floor, Div L, Clip, Mul λ in either
 * order, or QuantizeLinear → DequantizeLinear with scale λ/L) whenever λ/L is exact, i.e. L is a power
 * of two or the chain is a Q/DQ pair; otherwise an exact tie can round one level apart.
 */
export function quantizeInPlace(y: Float32Array, q: Quantizer): void {
  const L = q.levels;
  const step = q.lambda / L;
  const shift = q.rounding === "floor" ? q.phi : q.phi - 0.5;
  const floorMode = q.rounding === "floor";
  for (let i = 0; i < y.length; i++) {
    const v = Math.fround(Math.fround(y[i]! / step) + shift);
    let k = floorMode ? Math.floor(v) : roundHalfEven(v);
    k = k < 0 ? 0 : k > L ? L : k;
    y[i] = k * step;
  }
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

/**
 * Data-movement kernels: flatten, reshape, squeeze, unsqueeze (views sharing data), pad, concat,
 * gather, and shape. All of them work on every dtype (i64 shape chains included).
 */
import { ShapeError } from "../../opdef.js";
import { reshapeShape } from "../../ops/nn.js";
import { fmtShape, normalizeAxis } from "../../shapes.js";
import { rtensor, type RTensor } from "../tensor.js";
import { allocLike, copyRange, count, intValues, view } from "./util.js";

/** ONNX Flatten: [prod(shape[:axis]), prod(shape[axis:])]. */
export function flatten(x: RTensor, axis: number): RTensor {
  const r = x.shape.length;
  const a = axis < 0 ? axis + r : axis;
  if (a < 0 || a > r) throw new ShapeError(`Flatten axis ${axis} is out of range for rank ${r}`);
  return view(x, [count(x.shape.slice(0, a)), count(x.shape.slice(a))]);
}

/** ONNX Reshape with the target given as an i64 tensor (0 copies the input dim unless allowzero, -1 is inferred). */
export function reshape(x: RTensor, target: RTensor, allowzero: boolean): RTensor {
  const t = intValues(target, "Reshape shape");
  if (target.shape.length !== 1) throw new ShapeError(`Reshape shape must be 1-D, got ${fmtShape(target.shape)}`);
  return view(x, reshapeShape(x.shape, t, allowzero));
}

export function unsqueeze(x: RTensor, axes: readonly number[]): RTensor {
  const r = x.shape.length + axes.length;
  const norm = axes.map((a) => normalizeAxis(a, r));
  if (new Set(norm).size !== norm.length) throw new ShapeError(`Unsqueeze axes [${axes.join(", ")}] repeat an axis`);
  const out: number[] = [];
  let j = 0;
  for (let i = 0; i < r; i++) out.push(norm.includes(i) ? 1 : x.shape[j++]!);
  return view(x, out);
}

/** Removes exactly the listed axes (each must have size 1). */
export function squeeze(x: RTensor, axes: readonly number[]): RTensor {
  const norm = axes.map((a) => normalizeAxis(a, x.shape.length));
  for (const a of norm) if (x.shape[a] !== 1) throw new ShapeError(`cannot squeeze axis ${a} of size ${x.shape[a]}`);
  return view(
    x,
    x.shape.filter((_, i) => !norm.includes(i)),
  );
}

/** The shape of x (dims [start, end), clamped as ONNX Shape-15 does) as an i64 vector. */
export function shapeOf(x: { readonly shape: readonly number[] }, start = 0, end = Number.MAX_SAFE_INTEGER): RTensor {
  const r = x.shape.length;
  const norm = (i: number): number => Math.min(Math.max(i < 0 ? i + r : i, 0), r);
  const dims = x.shape.slice(norm(start), Math.max(norm(start), norm(end)));
  return rtensor([dims.length], "i64", BigInt64Array.from(dims, (d) => BigInt(d)));
}

/**
 * ONNX Pad, constant mode: `pads` = [begin..., end...] for every axis; negative values crop. The fill
 * value is converted to the tensor's dtype.
 */
export function pad(x: RTensor, pads: readonly number[], value: number): RTensor {
  const r = x.shape.length;
  if (pads.length !== 2 * r) throw new ShapeError(`Pad needs ${2 * r} pads for rank ${r}, got ${pads.length}`);
  const out = x.shape.map((d, i) => d + pads[i]! + pads[i + r]!);
  if (out.some((d) => d < 0)) throw new ShapeError(`pads [${pads.join(", ")}] crop more than input ${fmtShape(x.shape)} holds`);
  const n = count(out);
  const y = allocLike(x.data, n);
  const fill = y instanceof BigInt64Array ? BigInt(Math.trunc(value)) : value;
  if (fill !== 0 && fill !== 0n) (y as Float32Array).fill(fill as number);
  if (n === 0 || x.data.length === 0) return rtensor(out, x.dtype, y);
  if (r === 0) return rtensor(out, x.dtype, x.data.slice());
  // Copy row by row (last axis) over the outer output index.
  const last = r - 1;
  const inStrides = new Array<number>(r);
  let acc = 1;
  for (let i = r - 1; i >= 0; i--) {
    inStrides[i] = acc;
    acc *= x.shape[i]!;
  }
  const rowOut = out[last]!;
  const rowIn = x.shape[last]!;
  const pb = pads[last]!;
  // Output columns [lo, hi) come from input columns [lo - pb, hi - pb).
  const lo = Math.max(0, pb);
  const hi = Math.min(rowOut, rowIn + pb);
  const idx = new Array<number>(last).fill(0);
  const rows = n / rowOut;
  for (let row = 0; row < rows; row++) {
    let src = 0;
    let inside = true;
    for (let d = 0; d < last; d++) {
      const i = idx[d]! - pads[d]!;
      if (i < 0 || i >= x.shape[d]!) {
        inside = false;
        break;
      }
      src += i * inStrides[d]!;
    }
    if (inside && hi > lo) copyRange(x.data, src + lo - pb, y, row * rowOut + lo, hi - lo);
    for (let d = last - 1; d >= 0; d--) {
      if (++idx[d]! < out[d]!) break;
      idx[d] = 0;
    }
  }
  return rtensor(out, x.dtype, y);
}

export function concat(xs: readonly RTensor[], axis: number): RTensor {
  if (xs.length === 0) throw new ShapeError("Concat needs at least one input");
  const first = xs[0]!;
  const r = first.shape.length;
  if (r === 0) throw new ShapeError("Concat of scalars");
  const a = normalizeAxis(axis, r);
  const out = [...first.shape];
  out[a] = 0;
  for (const t of xs) {
    if (t.dtype !== first.dtype) throw new ShapeError(`Concat inputs differ in element type: ${first.dtype} and ${t.dtype}`);
    if (t.shape.length !== r || t.shape.some((d, j) => j !== a && d !== first.shape[j])) {
      throw new ShapeError(`Concat shapes ${fmtShape(first.shape)} and ${fmtShape(t.shape)} differ off axis ${a}`);
    }
    out[a] = out[a]! + t.shape[a]!;
  }
  const outer = count(out.slice(0, a));
  const inner = count(out.slice(a + 1));
  const y = allocLike(first.data, count(out));
  const rowOut = out[a]! * inner;
  let off = 0;
  for (const t of xs) {
    const chunk = t.shape[a]! * inner;
    for (let o = 0; o < outer; o++) copyRange(t.data, o * chunk, y, o * rowOut + off, chunk);
    off += chunk;
  }
  return rtensor(out, first.dtype, y);
}

/** ONNX Gather along `axis`; negative indices count from the end. */
export function gather(data: RTensor, indices: RTensor, axis: number): RTensor {
  const r = data.shape.length;
  if (r === 0) throw new ShapeError("Gather from a scalar");
  const a = normalizeAxis(axis, r);
  const idx = intValues(indices, "Gather indices");
  const len = data.shape[a]!;
  const outer = count(data.shape.slice(0, a));
  const inner = count(data.shape.slice(a + 1));
  const out = [...data.shape.slice(0, a), ...indices.shape, ...data.shape.slice(a + 1)];
  const y = allocLike(data.data, count(out));
  const ni = idx.length;
  for (let q = 0; q < ni; q++) {
    const i = idx[q]!;
    if (i < -len || i >= len) throw new ShapeError(`Gather index ${i} is out of range for axis ${a} of size ${len}`);
    if (i < 0) idx[q] = i + len;
  }
  for (let o = 0; o < outer; o++) {
    for (let q = 0; q < ni; q++) copyRange(data.data, (o * len + idx[q]!) * inner, y, (o * ni + q) * inner, inner);
  }
  return rtensor(out, data.dtype, y);
}

/**
 * Import-time evaluation of ONNX ops that exporters use only to compute shapes and pads, never on
 * activations: PyTorch ≥ 1.10 exports `F.pad` at opset ≥ 11 as ConstantOfShape → Concat → Reshape →
 * Slice → Transpose → Reshape → Cast feeding Pad's `pads`. When every input is known at compile time
 * the result becomes a constant; otherwise the op is reported as unsupported on run-time data.
 */
import { allocData, fmt, knownValue, M, stridesOf, tensorType, type DType, type TensorData, type TensorType, type Value } from "../../../ir/index.js";
import { decodeTensor, toInt } from "./load.js";
import { ImportError, type ImportContext } from "./context.js";

interface Known {
  shape: number[];
  dtype: DType;
  values: number[];
}

function known(ctx: ImportContext, i: number): Known {
  const v = ctx.inputs[i];
  const name = ctx.node.input?.[i] ?? "";
  const why = `${ctx.node.opType} is supported only on values known at compile time (shape and pad computations)`;
  if (!v || v.type.kind !== "tensor") throw new ImportError(fmt(M.NonConstantOperand, [name, why]));
  const k = knownValue(v);
  if (!k) throw new ImportError(fmt(M.NonConstantOperand, [name, why]));
  if (k.some((d) => d === "N")) throw new ImportError(fmt(M.UnsupportedConstruct, [`${ctx.node.opType} input '${name}' depends on the batch size, which is only known at run time`]));
  const t = v.type as TensorType;
  return { shape: [...t.shape], dtype: t.dtype, values: k as number[] };
}

/** The most elements an import-time shape computation may produce (they hold shapes and pads). */
const MAX_EVALUATED = 1 << 20;

function refuse(ctx: ImportContext, why: string): never {
  throw new ImportError(fmt(M.ShapeInference, [`${ctx.node.opType}: ${why}`]));
}

/** Elements of a result shape, checked before anything is allocated for it. */
function checkedSize(ctx: ImportContext, shape: readonly number[]): number {
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) refuse(ctx, `invalid result shape [${shape.join(", ")}]`);
  const n = shape.reduce((a, b) => a * b, 1);
  if (n > MAX_EVALUATED) refuse(ctx, `result shape [${shape.join(", ")}] holds ${n} elements; import-time shape computations are limited to ${MAX_EVALUATED}`);
  return n;
}

function optionalKnown(ctx: ImportContext, i: number): Known | undefined {
  return ctx.inputs[i] ? known(ctx, i) : undefined;
}

function emit(ctx: ImportContext, k: Known): Value {
  const data: TensorData = allocData(k.dtype, k.values.length);
  k.values.forEach((x, i) => {
    if (data instanceof BigInt64Array) data[i] = BigInt(Math.trunc(x));
    else data[i] = x;
  });
  const name = ctx.module.uniqueConstName(ctx.node.output?.[0] || `${ctx.node.opType}_const`);
  return ctx.module.addConst(name, tensorType(k.shape, k.dtype), data).value;
}

function index(shape: number[], strides: number[], idx: number[]): number {
  let o = 0;
  for (let i = 0; i < shape.length; i++) o += idx[i]! * strides[i]!;
  return o;
}

function forEachIndex(shape: number[], f: (idx: number[], flat: number) => void): void {
  const n = shape.reduce((a, b) => a * b, 1);
  const idx = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < n; flat++) {
    f(idx, flat);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
}

function broadcast(a: Known, b: Known, f: (x: number, y: number) => number, dtype: DType): Known {
  const rank = Math.max(a.shape.length, b.shape.length);
  const pa = [...new Array<number>(rank - a.shape.length).fill(1), ...a.shape];
  const pb = [...new Array<number>(rank - b.shape.length).fill(1), ...b.shape];
  const shape = pa.map((d, i) => {
    if (d === pb[i] || pb[i] === 1) return d;
    if (d === 1) return pb[i]!;
    throw new ImportError(fmt(M.ShapeInference, [`shapes [${a.shape}] and [${b.shape}] do not broadcast`]));
  });
  if (shape.reduce((x, y) => x * y, 1) > MAX_EVALUATED) throw new ImportError(fmt(M.ShapeInference, [`broadcasting [${a.shape}] and [${b.shape}] gives more than ${MAX_EVALUATED} elements`]));
  const sa = stridesOf(pa);
  const sb = stridesOf(pb);
  const values: number[] = [];
  forEachIndex(shape, (idx) => {
    const ia = index(pa, sa, idx.map((x, i) => (pa[i] === 1 ? 0 : x)));
    const ib = index(pb, sb, idx.map((x, i) => (pb[i] === 1 ? 0 : x)));
    values.push(f(a.values[ia]!, b.values[ib]!));
  });
  return { shape, dtype, values };
}

const isInt = (d: DType): boolean => d !== "f32" && d !== "f64";

const EVALUATORS: Record<string, (ctx: ImportContext) => Known> = {
  ConstantOfShape(ctx) {
    const shape = known(ctx, 0).values;
    const attr = (ctx.node.attribute ?? []).find((a) => a.name === "value");
    let dtype: DType = "f32";
    let fill = 0;
    if (attr?.t) {
      const dec = decodeTensor(attr.t, { file: ctx.file, modelDir: ctx.modelDir });
      dtype = dec.dtype;
      const x = dec.data[0] ?? 0;
      fill = typeof x === "bigint" ? Number(x) : x;
    }
    return { shape, dtype, values: new Array<number>(checkedSize(ctx, shape)).fill(fill) };
  },
  Slice(ctx) {
    const data = known(ctx, 0);
    const rank = data.shape.length;
    const attrsOf = (n: string): number[] | undefined => (ctx.node.attribute ?? []).find((a) => a.name === n)?.ints?.map(toInt);
    const starts = (ctx.opset < 10 ? attrsOf("starts") : known(ctx, 1).values) ?? refuse(ctx, "no 'starts'");
    const ends = (ctx.opset < 10 ? attrsOf("ends") : known(ctx, 2).values) ?? refuse(ctx, "no 'ends'");
    const axes = (ctx.opset < 10 ? attrsOf("axes") : optionalKnown(ctx, 3)?.values) ?? starts.map((_, i) => i);
    const steps = (ctx.opset < 10 ? undefined : optionalKnown(ctx, 4)?.values) ?? starts.map(() => 1);
    const valid = (ax: number): boolean => Number.isInteger(ax) && ax >= -rank && ax < rank;
    if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length || !axes.every(valid) || steps.some((x) => !Number.isInteger(x) || x === 0)) {
      refuse(ctx, `starts ${JSON.stringify(starts)}, ends ${JSON.stringify(ends)}, axes ${JSON.stringify(axes)} and steps ${JSON.stringify(steps)} do not fit a rank-${rank} input`);
    }
    const lo = data.shape.map(() => 0);
    const st = data.shape.map(() => 1);
    const count = [...data.shape];
    axes.forEach((ax0, j) => {
      const ax = ax0 < 0 ? ax0 + rank : ax0;
      const dim = data.shape[ax]!;
      const step = steps[j]!;
      const clampS = (x: number): number => (x < 0 ? x + dim : x);
      let s = clampS(starts[j]!);
      let e = clampS(ends[j]!);
      if (step > 0) {
        s = Math.min(Math.max(s, 0), dim);
        e = Math.min(Math.max(e, 0), dim);
        count[ax] = Math.max(0, Math.ceil((e - s) / step));
      } else {
        // ONNX: starts clamp to [0, dim - 1] for negative steps, ends to [-1, dim - 1].
        s = Math.min(Math.max(s, 0), dim - 1);
        e = Math.min(Math.max(e, -1), dim - 1);
        count[ax] = Math.max(0, Math.ceil((s - e) / -step));
      }
      lo[ax] = s;
      st[ax] = step;
    });
    const strides = stridesOf(data.shape);
    const values: number[] = [];
    forEachIndex(count, (idx) => values.push(data.values[index(data.shape, strides, idx.map((x, i) => lo[i]! + x * st[i]!))]!));
    return { shape: count, dtype: data.dtype, values };
  },
  Transpose(ctx) {
    const data = known(ctx, 0);
    const rank = data.shape.length;
    const permAttr = (ctx.node.attribute ?? []).find((a) => a.name === "perm")?.ints?.map(toInt);
    const perm = permAttr ?? data.shape.map((_, i) => rank - 1 - i);
    if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) refuse(ctx, `perm ${JSON.stringify(perm)} is not a permutation of the ${rank} axes`);
    const shape = perm.map((p) => data.shape[p]!);
    const strides = stridesOf(data.shape);
    const values: number[] = [];
    forEachIndex(shape, (idx) => {
      const src = new Array<number>(rank);
      perm.forEach((p, i) => (src[p] = idx[i]!));
      values.push(data.values[index(data.shape, strides, src)]!);
    });
    return { shape, dtype: data.dtype, values };
  },
  Mul: (ctx) => {
    const a = known(ctx, 0);
    return broadcast(a, known(ctx, 1), (x, y) => x * y, a.dtype);
  },
  Sub: (ctx) => {
    const a = known(ctx, 0);
    return broadcast(a, known(ctx, 1), (x, y) => x - y, a.dtype);
  },
  Div: (ctx) => {
    const a = known(ctx, 0);
    return broadcast(a, known(ctx, 1), (x, y) => (isInt(a.dtype) ? Math.trunc(x / y) : x / y), a.dtype);
  },
  Equal: (ctx) => broadcast(known(ctx, 0), known(ctx, 1), (x, y) => (x === y ? 1 : 0), "bool"),
  Where(ctx) {
    const c = known(ctx, 0);
    const x = known(ctx, 1);
    const y = known(ctx, 2);
    const cx = broadcast(c, x, (cc, xx) => (cc ? xx : NaN), x.dtype);
    const cy = broadcast(c, y, (cc, yy) => (cc ? NaN : yy), y.dtype);
    return broadcast(cx, cy, (p, q) => (Number.isNaN(p) ? q : p), x.dtype);
  },
  Expand(ctx) {
    const data = known(ctx, 0);
    const shape = known(ctx, 1).values;
    return broadcast(data, { shape, dtype: data.dtype, values: new Array<number>(checkedSize(ctx, shape)).fill(0) }, (x) => x, data.dtype);
  },
  Range(ctx) {
    const s = known(ctx, 0);
    const limit = known(ctx, 1).values[0]!;
    const delta = known(ctx, 2).values[0]!;
    const start = s.values[0]!;
    const n = Math.max(Math.ceil((limit - start) / delta), 0);
    checkedSize(ctx, [n]);
    return { shape: [n], dtype: s.dtype, values: Array.from({ length: n }, (_, i) => start + i * delta) };
  },
};

export const CONST_ONLY_OPS: readonly string[] = Object.keys(EVALUATORS);

export function importConstOnly(ctx: ImportContext): void {
  const k = EVALUATORS[ctx.node.opType ?? ""]!(ctx);
  if (checkedSize(ctx, k.shape) !== k.values.length) refuse(ctx, `computed ${k.values.length} values for shape [${k.shape.join(", ")}]`);
  ctx.bind(0, emit(ctx, k));
}

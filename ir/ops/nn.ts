/**
 * The `nn` dialect: layer-level real-valued ops with ONNX semantics (attributes normalised by the
 * importer: explicit pads, no auto_pad, constant parameters as attributes) plus tscc's fused
 * activation attribute. This is what the reference interpreter runs and what conversion starts from.
 */
import type { Attrs } from "../module.js";
import { defineOp, ShapeError, type AttrDef, type InferContext, type OpDef } from "../opdef.js";
import type { SymDim } from "../shape-eval.js";
import { broadcastShapes, fmtShape, normalizeAxis, product, windowOutSize } from "../shapes.js";
import { BATCH, tensorType, type DType, type TensorType, type Type } from "../types.js";

function t(ctx: InferContext, i: number): TensorType {
  const ty = ctx.operands[i];
  if (!ty) throw new ShapeError(`missing operand ${i}`);
  if (ty.kind !== "tensor") throw new ShapeError(`operand ${i} must be a tensor, got spikes`);
  return ty;
}

function requireFloat(ty: TensorType, what: string): void {
  if (ty.dtype !== "f32") throw new ShapeError(`${what} must be f32, got ${ty.dtype}`);
}

/** Activation fused into a layer by `fuse-activations` (relu, clip) or `fuse-quantizers` (quant). */
export const ACTIVATION_ATTRS: Record<string, AttrDef> = {
  activation: {
    kind: "enum",
    choices: ["none", "relu", "clip", "quant"],
    default: "none",
    doc: "activation applied to the result: none, relu, clip to [clip_min, clip_max], or quant (the L-level quantiser of a quantisation-aware trained layer, see quant_rounding)",
  },
  clip_min: { kind: "float", default: 0, doc: "lower bound when activation = clip" },
  clip_max: { kind: "float", default: Infinity, doc: "upper bound when activation = clip" },
  quant_levels: { kind: "int", default: 1, doc: "quant: the number of levels L above 0 (outputs 0, λ/L, …, λ)" },
  quant_lambda: { kind: "float", default: 1, doc: "quant: λ, the value of level L in the units of the layer's output" },
  quant_phi: { kind: "float", default: 0.5, doc: "quant: the shift φ in level units (½ for QCFS and for Round/QuantizeLinear)" },
  quant_rounding: {
    kind: "enum",
    choices: ["floor", "half_even"],
    default: "floor",
    doc: "quant: floor gives λ/L·clip(floor(z·L/λ + φ), 0, L); half_even rounds z·L/λ + φ − ½ to the nearest integer, ties to even (ONNX Round, QuantizeLinear)",
  },
  lambda: { kind: "float", default: 1, doc: "activation scale λ set by normalize-thresholds (the ANN value a normalised 1 stands for)" },
};

/** Problems with a fused quant activation's parameters (shared by every activation host). */
function verifyActivation(ctx: InferContext): string[] {
  const a = ctx.attrs;
  if (a["activation"] !== "quant") return [];
  const out: string[] = [];
  const levels = a["quant_levels"] as number | undefined;
  const lambda = a["quant_lambda"] as number | undefined;
  const phi = a["quant_phi"] as number | undefined;
  if (levels !== undefined && levels < 1) out.push(`quant_levels must be ≥ 1, got ${levels}`);
  if (lambda !== undefined && !(lambda > 0 && Number.isFinite(lambda))) out.push(`quant_lambda must be a positive number, got ${lambda}`);
  if (phi !== undefined && !Number.isFinite(phi)) out.push(`quant_phi must be finite, got ${phi}`);
  return out;
}

const LAMBDA_ATTR: Record<string, AttrDef> = {
  lambda: { kind: "float", default: 1, doc: "activation scale λ set by normalize-thresholds" },
};

const windowAttrs = {
  kernel_shape: { kind: "ints", doc: "window size per spatial axis" },
  strides: { kind: "ints", doc: "step per spatial axis" },
  pads: { kind: "ints", doc: "explicit padding [begin..., end...] per spatial axis" },
  dilations: { kind: "ints", doc: "dilation per spatial axis" },
} as const satisfies Record<string, AttrDef>;

function windowShape(x: TensorType, attrs: Attrs, channelsOut: number, ceil: boolean): number[] {
  const k = attrs["kernel_shape"] as number[];
  const s = attrs["strides"] as number[];
  const p = attrs["pads"] as number[];
  const d = attrs["dilations"] as number[];
  const n = x.shape.length - 2;
  if (n < 1) throw new ShapeError(`input ${fmtShape(x.shape)} needs at least one spatial axis`);
  if (k.length !== n || s.length !== n || d.length !== n || p.length !== 2 * n) {
    throw new ShapeError(`kernel_shape/strides/dilations need ${n} entries and pads ${2 * n} for input ${fmtShape(x.shape)}`);
  }
  if (s.some((v) => v < 1) || d.some((v) => v < 1) || k.some((v) => v < 1)) throw new ShapeError("kernel, strides and dilations must be ≥ 1");
  if (p.some((v) => v < 0)) throw new ShapeError("pads must be ≥ 0");
  const spatial = x.shape.slice(2).map((size, i) => windowOutSize(size, k[i]!, s[i]!, p[i]!, p[i + n]!, d[i]!, ceil));
  return [x.shape[0]!, channelsOut, ...spatial];
}

const conv = defineOp({
  name: "nn.conv",
  summary: "N-d convolution (ONNX Conv) with optional bias and fused activation",
  operands: [
    { name: "x", type: "tensor" },
    { name: "w", type: "tensor", doc: "weights [M, C/group, k...]" },
    { name: "b", type: "tensor", optional: true, doc: "bias [M]" },
  ],
  results: [{ name: "y", type: "tensor" }],
  attrs: { ...windowAttrs, group: { kind: "int", default: 1, doc: "number of channel groups" }, ...ACTIVATION_ATTRS },
  verify: verifyActivation,
  infer(ctx) {
    const x = t(ctx, 0);
    const w = t(ctx, 1);
    requireFloat(x, "input");
    const g = ctx.attrs["group"] as number;
    if (w.shape.length !== x.shape.length) throw new ShapeError(`weights ${fmtShape(w.shape)} and input ${fmtShape(x.shape)} differ in rank`);
    const c = x.shape[1]!;
    if (g < 1 || c % g !== 0 || w.shape[0]! % g !== 0) throw new ShapeError(`group ${g} does not divide channels ${c} and ${w.shape[0]}`);
    if (w.shape[1]! * g !== c) throw new ShapeError(`weights ${fmtShape(w.shape)} expect ${w.shape[1]! * g} input channels, input has ${c}`);
    const k = ctx.attrs["kernel_shape"] as number[];
    if (!k.every((v, i) => v === w.shape[2 + i])) throw new ShapeError(`kernel_shape [${k.join(", ")}] disagrees with weights ${fmtShape(w.shape)}`);
    if (ctx.operands.length > 2) {
      const b = t(ctx, 2);
      if (b.shape.length !== 1 || b.shape[0] !== w.shape[0]) throw new ShapeError(`bias ${fmtShape(b.shape)} must be [${w.shape[0]}]`);
    }
    return [tensorType(windowShape(x, ctx.attrs, w.shape[0]!, false))];
  },
});

const gemm = defineOp({
  name: "nn.gemm",
  summary: "Y = alpha·op(A)·op(B) + beta·C (ONNX Gemm) with fused activation",
  operands: [
    { name: "a", type: "tensor" },
    { name: "b", type: "tensor" },
    { name: "c", type: "tensor", optional: true },
  ],
  results: [{ name: "y", type: "tensor" }],
  attrs: {
    alpha: { kind: "float", default: 1, doc: "scale of A·B" },
    beta: { kind: "float", default: 1, doc: "scale of C" },
    transA: { kind: "int", default: 0, doc: "1 to transpose A" },
    transB: { kind: "int", default: 0, doc: "1 to transpose B" },
    ...ACTIVATION_ATTRS,
  },
  verify: verifyActivation,
  infer(ctx) {
    const a = t(ctx, 0);
    const b = t(ctx, 1);
    requireFloat(a, "A");
    requireFloat(b, "B");
    if (a.shape.length !== 2 || b.shape.length !== 2) throw new ShapeError(`Gemm needs 2-D operands, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
    const ta = ctx.attrs["transA"] === 1;
    const tb = ctx.attrs["transB"] === 1;
    const [m, ka] = ta ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
    const [kb, n] = tb ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
    if (ka !== kb) throw new ShapeError(`inner dimensions differ: ${ka} vs ${kb}`);
    if (ka === BATCH || n === BATCH) throw new ShapeError("the batch dimension cannot be a contraction or column dimension");
    if (ctx.operands.length > 2) {
      const c = t(ctx, 2);
      requireFloat(c, "C");
      const bc = broadcastShapes([m, n], c.shape);
      if (bc.length !== 2 || bc[0] !== m || bc[1] !== n) throw new ShapeError(`C ${fmtShape(c.shape)} does not broadcast to [${m}, ${n}]`);
    }
    return [tensorType([m, n])];
  },
});

const matmul = defineOp({
  name: "nn.matmul",
  summary: "numpy matmul (ONNX MatMul) with fused activation",
  operands: [
    { name: "a", type: "tensor" },
    { name: "b", type: "tensor" },
  ],
  results: [{ name: "y", type: "tensor" }],
  attrs: { ...ACTIVATION_ATTRS },
  verify: verifyActivation,
  infer(ctx) {
    requireFloat(t(ctx, 0), "A");
    requireFloat(t(ctx, 1), "B");
    const a = [...t(ctx, 0).shape];
    const b = [...t(ctx, 1).shape];
    if (a.length === 0 || b.length === 0) throw new ShapeError("MatMul operands must have rank ≥ 1");
    const a1 = a.length === 1;
    const b1 = b.length === 1;
    if (a1) a.unshift(1);
    if (b1) b.push(1);
    const k1 = a[a.length - 1]!;
    const k2 = b[b.length - 2]!;
    if (k1 !== k2) throw new ShapeError(`inner dimensions differ: ${k1} vs ${k2}`);
    const batch = broadcastShapes(a.slice(0, -2), b.slice(0, -2));
    const out = [...batch, a[a.length - 2]!, b[b.length - 1]!];
    if (a1) out.splice(out.length - 2, 1);
    if (b1) out.pop();
    return [tensorType(out)];
  },
});

function unary(name: string, summary: string, attrs: Record<string, AttrDef> = {}): OpDef {
  return defineOp({
    name,
    summary,
    operands: [{ name: "x", type: "tensor" }],
    results: [{ name: "y", type: "tensor" }],
    attrs,
    infer(ctx) {
      const x = t(ctx, 0);
      return [tensorType(x.shape, x.dtype)];
    },
  });
}

const relu = unary("nn.relu", "max(x, 0)", LAMBDA_ATTR);
const clip = unary("nn.clip", "min(max(x, min), max); ReLU6 is clip to [0, 6]", {
  min: { kind: "float", default: -Infinity, doc: "lower bound" },
  max: { kind: "float", default: Infinity, doc: "upper bound" },
  ...LAMBDA_ATTR,
});
const floor = unary("nn.floor", "largest integer ≤ x (ONNX Floor)");
const round = unary("nn.round", "nearest integer, halves to even (ONNX Round)");
floor.infer = round.infer = (ctx) => {
  const x = t(ctx, 0);
  requireFloat(x, "input");
  return [tensorType(x.shape)];
};

/** f32 element-wise arithmetic with numpy broadcasting (ONNX Mul, Div, Sub on run-time data). */
function binary(name: string, summary: string): OpDef {
  return defineOp({
    name,
    summary,
    operands: [
      { name: "a", type: "tensor" },
      { name: "b", type: "tensor" },
    ],
    results: [{ name: "y", type: "tensor" }],
    attrs: {},
    infer(ctx) {
      const a = t(ctx, 0);
      const b = t(ctx, 1);
      requireFloat(a, "a");
      requireFloat(b, "b");
      return [tensorType(broadcastShapes(a.shape, b.shape))];
    },
  });
}

const mul = binary("nn.mul", "a·b with broadcasting (ONNX Mul)");
const div = binary("nn.div", "a/b with broadcasting (ONNX Div)");
const sub = binary("nn.sub", "a − b with broadcasting (ONNX Sub)");

/** Integer range of a quantised element type. */
export const QUANT_RANGE: Readonly<Record<"u8" | "i8", readonly [number, number]>> = { u8: [0, 255], i8: [-128, 127] };

const quantParams = {
  scale: { kind: "float", doc: "per-tensor scale (> 0)" },
  zero_point: { kind: "int", default: 0, doc: "per-tensor zero point, in the range of the quantised type" },
} as const satisfies Record<string, AttrDef>;

function verifyQuantParams(ctx: InferContext, dtype: string): string[] {
  const out: string[] = [];
  const scale = ctx.attrs["scale"] as number;
  if (!(scale > 0 && Number.isFinite(scale))) out.push(`scale must be a positive number, got ${scale}`);
  const zp = (ctx.attrs["zero_point"] as number | undefined) ?? 0;
  const range = QUANT_RANGE[dtype as "u8" | "i8"];
  if (range && (zp < range[0] || zp > range[1])) out.push(`zero_point ${zp} is outside the ${dtype} range [${range[0]}, ${range[1]}]`);
  return out;
}

const quantizeLinear = defineOp({
  name: "nn.quantize_linear",
  summary: "y = saturate(round_half_even(x / scale) + zero_point) (ONNX QuantizeLinear, per tensor)",
  operands: [{ name: "x", type: "tensor" }],
  results: [{ name: "y", type: "tensor" }],
  attrs: { ...quantParams, to: { kind: "enum", choices: ["u8", "i8"], doc: "quantised element type" } },
  infer(ctx) {
    const x = t(ctx, 0);
    requireFloat(x, "input");
    return [tensorType(x.shape, ctx.attrs["to"] as DType)];
  },
  verify: (ctx) => verifyQuantParams(ctx, ctx.attrs["to"] as string),
});

const dequantizeLinear = defineOp({
  name: "nn.dequantize_linear",
  summary: "y = (x − zero_point)·scale (ONNX DequantizeLinear, per tensor)",
  operands: [{ name: "x", type: "tensor" }],
  results: [{ name: "y", type: "tensor" }],
  attrs: { ...quantParams },
  infer(ctx) {
    const x = t(ctx, 0);
    if (x.dtype !== "u8" && x.dtype !== "i8" && x.dtype !== "i32") throw new ShapeError(`input must be u8, i8 or i32, got ${x.dtype}`);
    return [tensorType(x.shape)];
  },
  verify: (ctx) => verifyQuantParams(ctx, ctx.operands[0]?.kind === "tensor" ? ctx.operands[0].dtype : ""),
});

const identity = unary("nn.identity", "y = x");
const dropout = unary("nn.dropout", "inference-mode dropout: y = x", { ratio: { kind: "float", default: 0.5, doc: "training drop ratio (unused at inference)" } });
const softmax = unary("nn.softmax", "softmax along an axis (opset ≥ 13), or over the 2-D coercion at axis (opset < 13)", {
  axis: { kind: "int", default: -1, doc: "axis (or first coerced axis when coerce_2d)" },
  coerce_2d: { kind: "bool", default: false, doc: "opset < 13 semantics: normalise over all axes from axis on" },
});
const cast = unary("nn.cast", "element type conversion (shape vectors only)", { to: { kind: "enum", choices: ["f32", "i64", "i32"], doc: "target type" } });
cast.infer = (ctx) => [tensorType(t(ctx, 0).shape, ctx.attrs["to"] as DType)];
softmax.infer = (ctx) => {
  const x = t(ctx, 0);
  requireFloat(x, "input");
  normalizeAxis(ctx.attrs["axis"] as number, x.shape.length);
  return [x];
};

const maxPool = defineOp({
  name: "nn.max_pool",
  summary: "max pooling (ONNX MaxPool)",
  operands: [{ name: "x", type: "tensor" }],
  results: [{ name: "y", type: "tensor" }],
  attrs: { ...windowAttrs, ceil_mode: { kind: "int", default: 0, doc: "1 to round the output size up" } },
  infer(ctx) {
    const x = t(ctx, 0);
    requireFloat(x, "input");
    return [tensorType(windowShape(x, ctx.attrs, x.shape[1]!, ctx.attrs["ceil_mode"] === 1))];
  },
});

const averagePool = defineOp({
  name: "nn.average_pool",
  summary: "average pooling (ONNX AveragePool)",
  operands: [{ name: "x", type: "tensor" }],
  results: [{ name: "y", type: "tensor" }],
  attrs: {
    ...windowAttrs,
    ceil_mode: { kind: "int", default: 0, doc: "1 to round the output size up" },
    count_include_pad: { kind: "int", default: 0, doc: "1 to divide by the full window, padding included" },
    ...LAMBDA_ATTR,
  },
  infer(ctx) {
    const x = t(ctx, 0);
    requireFloat(x, "input");
    return [tensorType(windowShape(x, ctx.attrs, x.shape[1]!, ctx.attrs["ceil_mode"] === 1))];
  },
});

const globalAveragePool = defineOp({
  name: "nn.global_average_pool",
  summary: "mean over all spatial axes (ONNX GlobalAveragePool)",
  operands: [{ name: "x", type: "tensor" }],
  results: [{ name: "y", type: "tensor" }],
  attrs: { ...LAMBDA_ATTR },
  infer(ctx) {
    const x = t(ctx, 0);
    requireFloat(x, "input");
    if (x.shape.length < 3) throw new ShapeError(`input ${fmtShape(x.shape)} has no spatial axes`);
    return [tensorType([x.shape[0]!, x.shape[1]!, ...x.shape.slice(2).map(() => 1)])];
  },
});

const batchNorm = defineOp({
  name: "nn.batch_norm",
  summary: "inference batch normalisation (ONNX BatchNormalization)",
  operands: [
    { name: "x", type: "tensor" },
    { name: "scale", type: "tensor" },
    { name: "bias", type: "tensor" },
    { name: "mean", type: "tensor" },
    { name: "var", type: "tensor" },
  ],
  results: [{ name: "y", type: "tensor" }],
  attrs: { epsilon: { kind: "float", default: 1e-5, doc: "added to the variance" } },
  infer(ctx) {
    const x = t(ctx, 0);
    requireFloat(x, "input");
    if (x.shape.length < 2) throw new ShapeError(`input ${fmtShape(x.shape)} has no channel axis`);
    for (let i = 1; i < 5; i++) {
      const p = t(ctx, i);
      requireFloat(p, `parameter ${i}`);
      if (p.shape.length !== 1 || p.shape[0] !== x.shape[1]) throw new ShapeError(`parameter ${i} ${fmtShape(p.shape)} must be [${x.shape[1]}]`);
    }
    return [tensorType(x.shape)];
  },
});

const add = defineOp({
  name: "nn.add",
  summary: "y = alpha·a + beta·b with broadcasting (ONNX Add when alpha = beta = 1) and fused activation",
  operands: [
    { name: "a", type: "tensor" },
    { name: "b", type: "tensor" },
  ],
  results: [{ name: "y", type: "tensor" }],
  attrs: {
    alpha: { kind: "float", default: 1, doc: "scale of a (set by normalize-thresholds on residual paths)" },
    beta: { kind: "float", default: 1, doc: "scale of b" },
    ...ACTIVATION_ATTRS,
  },
  verify: verifyActivation,
  infer(ctx) {
    const a = t(ctx, 0);
    const b = t(ctx, 1);
    if (a.dtype !== b.dtype) throw new ShapeError(`element types differ: ${a.dtype} and ${b.dtype}`);
    return [tensorType(broadcastShapes(a.shape, b.shape), a.dtype)];
  },
});

const flatten = defineOp({
  name: "nn.flatten",
  summary: "reshape to 2-D at axis (ONNX Flatten)",
  operands: [{ name: "x", type: "tensor" }],
  results: [{ name: "y", type: "tensor" }],
  attrs: { axis: { kind: "int", default: 1, doc: "first axis of the second output dimension" } },
  infer(ctx) {
    const x = t(ctx, 0);
    const r = x.shape.length;
    const axis = ctx.attrs["axis"] as number;
    const a = axis < 0 ? axis + r : axis;
    if (a < 0 || a > r) throw new ShapeError(`axis ${axis} out of range for rank ${r}`);
    const head = x.shape.slice(0, a);
    const tail = x.shape.slice(a);
    let first: number;
    if (head[0] === BATCH) {
      if (product(head.slice(1)) !== 1) throw new ShapeError("flatten would merge the batch dimension with others");
      first = BATCH;
    } else first = product(head);
    return [tensorType([first, product(tail)], x.dtype)];
  },
});

/** Output shape of a reshape given the (possibly symbolic) target vector. */
export function reshapeShape(input: readonly number[], target: readonly SymDim[], allowzero: boolean): number[] {
  const out: number[] = [];
  let infer = -1;
  for (let i = 0; i < target.length; i++) {
    const d = target[i]!;
    if (d === "N") out.push(BATCH);
    else if (d === 0 && !allowzero) {
      if (i >= input.length) throw new ShapeError(`target dim ${i} copies a missing input dim`);
      out.push(input[i]!);
    } else if (d === -1) {
      if (infer >= 0) throw new ShapeError("more than one -1 in the target shape");
      infer = i;
      out.push(-2);
    } else if (d < 0) throw new ShapeError(`invalid target dim ${d}`);
    else out.push(d);
  }
  const inBatch = input[0] === BATCH;
  const outBatch = out[0] === BATCH;
  if (out.slice(1).includes(BATCH)) throw new ShapeError("the batch dimension may only be the leading one");
  if (inBatch !== outBatch) throw new ShapeError(`reshape of ${fmtShape(input)} to [${target.join(", ")}] would merge or create the batch dimension`);
  const inCount = product(inBatch ? input.slice(1) : input);
  const known = out.filter((d, i) => i !== infer && d !== BATCH).reduce((p, d) => p * d, 1);
  if (infer >= 0) {
    if (known === 0 || inCount % known !== 0) throw new ShapeError(`cannot infer -1 reshaping ${fmtShape(input)} to [${target.join(", ")}]`);
    out[infer] = inCount / known;
  } else if (known !== inCount) throw new ShapeError(`cannot reshape ${fmtShape(input)} (${inCount} elements per sample) to [${target.join(", ")}]`);
  return out;
}

const reshape = defineOp({
  name: "nn.reshape",
  summary: "ONNX Reshape; 0 copies the input dimension (allowzero = 0), -1 is inferred",
  operands: [
    { name: "x", type: "tensor" },
    { name: "shape", type: "tensor", doc: "i64 target shape, a constant or a shape chain" },
  ],
  results: [{ name: "y", type: "tensor" }],
  attrs: { allowzero: { kind: "int", default: 0, doc: "1: a 0 in shape means a zero-sized dimension" } },
  infer(ctx) {
    const x = t(ctx, 0);
    const s = t(ctx, 1);
    if (s.dtype !== "i64" || s.shape.length !== 1) throw new ShapeError(`shape operand must be a 1-D i64 tensor, got ${fmtShape(s.shape)} ${s.dtype}`);
    const target = ctx.value(1);
    if (!target) throw new ShapeError("the target shape is not known at compile time");
    return [tensorType(reshapeShape(x.shape, target, ctx.attrs["allowzero"] === 1), x.dtype)];
  },
});

const pad = defineOp({
  name: "nn.pad",
  summary: "constant padding (ONNX Pad, mode constant)",
  operands: [{ name: "x", type: "tensor" }],
  results: [{ name: "y", type: "tensor" }],
  attrs: {
    pads: { kind: "ints", doc: "[begin..., end...] for every axis (negative values crop)" },
    value: { kind: "float", default: 0, doc: "fill value" },
    channel_values: { kind: "floats", default: [], doc: "per-channel fill values along axis 1 (mean padding of a folded input normalisation); overrides value" },
  },
  infer(ctx) {
    const x = t(ctx, 0);
    const p = ctx.attrs["pads"] as number[];
    const r = x.shape.length;
    if (p.length !== 2 * r) throw new ShapeError(`pads needs ${2 * r} entries for rank ${r}, got ${p.length}`);
    if (x.shape[0] === BATCH && (p[0] !== 0 || p[r] !== 0)) throw new ShapeError("cannot pad the batch dimension");
    const out = x.shape.map((d, i) => (d === BATCH ? d : d + p[i]! + p[i + r]!));
    if (out.some((d) => d !== BATCH && d < 0)) throw new ShapeError("pads crop more than the input holds");
    return [tensorType(out, x.dtype)];
  },
});

const concat = defineOp({
  name: "nn.concat",
  summary: "concatenation along an axis (ONNX Concat)",
  operands: [{ name: "inputs", type: "tensor", variadic: true }],
  results: [{ name: "y", type: "tensor" }],
  attrs: { axis: { kind: "int", doc: "concatenation axis" } },
  infer(ctx) {
    const first = t(ctx, 0);
    const r = first.shape.length;
    const axis = normalizeAxis(ctx.attrs["axis"] as number, Math.max(r, 1));
    const out = [...first.shape];
    for (let i = 1; i < ctx.operands.length; i++) {
      const s = t(ctx, i);
      if (s.dtype !== first.dtype) throw new ShapeError(`element types differ: ${first.dtype} and ${s.dtype}`);
      if (s.shape.length !== r || s.shape.some((d, j) => j !== axis && d !== first.shape[j])) {
        throw new ShapeError(`shapes ${fmtShape(first.shape)} and ${fmtShape(s.shape)} differ off axis ${axis}`);
      }
      if (s.shape[axis] === BATCH || out[axis] === BATCH) throw new ShapeError("cannot concatenate along the batch dimension");
      out[axis] = out[axis]! + s.shape[axis]!;
    }
    return [tensorType(out, first.dtype)];
  },
});

const shape = defineOp({
  name: "nn.shape",
  summary: "the ONNX shape of x as an i64 vector (the batch dimension included)",
  operands: [{ name: "x", type: "any" }],
  results: [{ name: "y", type: "tensor" }],
  attrs: {
    start: { kind: "int", default: 0, doc: "first axis" },
    end: { kind: "int", default: 2147483647, doc: "one past the last axis" },
  },
  infer(ctx) {
    const r = ctx.operands[0]!.shape.length;
    const norm = (i: number): number => Math.min(Math.max(i < 0 ? i + r : i, 0), r);
    const n = Math.max(0, norm(ctx.attrs["end"] as number) - norm(ctx.attrs["start"] as number));
    return [tensorType([n], "i64")];
  },
});

const gather = defineOp({
  name: "nn.gather",
  summary: "ONNX Gather along an axis",
  operands: [
    { name: "data", type: "tensor" },
    { name: "indices", type: "tensor" },
  ],
  results: [{ name: "y", type: "tensor" }],
  attrs: { axis: { kind: "int", default: 0, doc: "gather axis" } },
  infer(ctx) {
    const d = t(ctx, 0);
    const idx = t(ctx, 1);
    if (idx.dtype !== "i64" && idx.dtype !== "i32") throw new ShapeError(`indices must be integers, got ${idx.dtype}`);
    const axis = normalizeAxis(ctx.attrs["axis"] as number, d.shape.length);
    if (d.shape[axis] === BATCH) throw new ShapeError("cannot gather along the batch dimension");
    return [tensorType([...d.shape.slice(0, axis), ...idx.shape, ...d.shape.slice(axis + 1)], d.dtype)];
  },
});

const unsqueeze = defineOp({
  name: "nn.unsqueeze",
  summary: "insert size-1 axes (ONNX Unsqueeze)",
  operands: [{ name: "x", type: "tensor" }],
  results: [{ name: "y", type: "tensor" }],
  attrs: { axes: { kind: "ints", doc: "positions of the new axes in the output" } },
  infer(ctx) {
    const x = t(ctx, 0);
    const axes = ctx.attrs["axes"] as number[];
    const r = x.shape.length + axes.length;
    const norm = axes.map((a) => normalizeAxis(a, r));
    if (new Set(norm).size !== norm.length) throw new ShapeError("repeated axis");
    const out: number[] = [];
    let j = 0;
    for (let i = 0; i < r; i++) out.push(norm.includes(i) ? 1 : x.shape[j++]!);
    if (out.indexOf(BATCH) > 0) throw new ShapeError("the batch dimension must stay the leading one");
    return [tensorType(out, x.dtype)];
  },
});

const squeeze = defineOp({
  name: "nn.squeeze",
  summary: "remove size-1 axes (ONNX Squeeze)",
  operands: [{ name: "x", type: "tensor" }],
  results: [{ name: "y", type: "tensor" }],
  attrs: { axes: { kind: "ints", doc: "axes to remove" } },
  infer(ctx) {
    const x = t(ctx, 0);
    const axes = (ctx.attrs["axes"] as number[]).map((a) => normalizeAxis(a, x.shape.length));
    for (const a of axes) if (x.shape[a] !== 1) throw new ShapeError(`axis ${a} has size ${x.shape[a] === BATCH ? "?" : x.shape[a]}, not 1`);
    return [tensorType(x.shape.filter((_, i) => !axes.includes(i)), x.dtype)];
  },
});

export const NN_OPS: readonly OpDef[] = [
  add,
  averagePool,
  batchNorm,
  cast,
  clip,
  concat,
  conv,
  dequantizeLinear,
  div,
  dropout,
  flatten,
  floor,
  gather,
  gemm,
  globalAveragePool,
  identity,
  matmul,
  maxPool,
  mul,
  pad,
  quantizeLinear,
  relu,
  reshape,
  round,
  shape,
  softmax,
  squeeze,
  sub,
  unsqueeze,
];

/** Ops that accept a fused activation attribute. */
export const ACTIVATION_HOSTS: ReadonlySet<string> = new Set(["nn.conv", "nn.gemm", "nn.matmul", "nn.add"]);

export type { Type };

/**
 * The `snn` dialect: spiking layers after conversion (tsc.md). Synapse ops turn spikes into charge
 * (`snn.conv`, `snn.dense`, `snn.scale`, summed by `snn.add`); neuron ops turn charge into spikes
 * (`snn.tsc` for Temporal-Switch Coding, `snn.if` for the rate-coded baseline); `snn.encode` makes
 * input spikes and `snn.decode` reads the output layer's membrane. Shapes keep the leading batch `?`.
 *
 * Units (weight-normalised form, tsc.md §5.2): a TSC spike pair with interval d stands for the
 * activation λ·d/T of its layer; weights and biases are already scaled (W̃, b̃), θ = 1.
 */
import { defineOp, ShapeError, type AttrDef, type InferContext, type OpDef } from "../opdef.js";
import { fmtShape, windowOutSize } from "../shapes.js";
import { spikesType, tensorType, type Coding, type SpikesType, type TensorType, type Type } from "../types.js";
import { reshapeShape } from "./nn.js";

function spikesIn(ctx: InferContext, i: number): SpikesType {
  const t = ctx.operands[i];
  if (!t || t.kind !== "spikes") throw new ShapeError(`operand ${i} must be spikes`);
  return t;
}

function tensorIn(ctx: InferContext, i: number): TensorType {
  const t = ctx.operands[i];
  if (!t || t.kind !== "tensor") throw new ShapeError(`operand ${i} must be a tensor`);
  return t;
}

const windowAttr: AttrDef = { kind: "int", doc: "time steps per window (TSC: one layer's window; rate: the whole run)" };

const encode = defineOp({
  name: "snn.encode",
  summary: "input encoder: TSC (two spikes per pixel, interval ∝ intensity) or rate (constant current or Poisson)",
  operands: [{ name: "x", type: "tensor" }],
  results: [{ name: "s", type: "spikes" }],
  attrs: {
    coding: { kind: "enum", choices: ["tsc", "rate"], doc: "spike coding" },
    window: windowAttr,
    scale: { kind: "float", default: 1, doc: "input value that maps to a full window (λ₀)" },
    rounding: { kind: "enum", choices: ["round", "floor"], default: "round", doc: "TSC: interval = round or floor of x·T/scale" },
    mode: { kind: "enum", choices: ["current", "poisson"], default: "current", doc: "rate: constant current into layer 1, or Poisson spikes" },
    seed: { kind: "int", default: 0, doc: "rate/poisson: random seed" },
    levels: { kind: "int", default: 0, doc: "rate: input rate quantised to `levels` steps, floor(x/scale·L + ½)/L (a quantisation-aware trained input quantiser; 0: not quantised)" },
    pads: { kind: "ints", default: [], doc: "border of constant pixels [top, left, bottom, right] (exact mean padding of a folded normalisation)" },
    pad_values: { kind: "floats", default: [], doc: "per-channel value of the border pixels, in input units" },
  },
  infer(ctx) {
    const x = tensorIn(ctx, 0);
    const p = ctx.attrs["pads"] as number[];
    if (p.length === 0) return [spikesType(x.shape, ctx.attrs["window"] as number, ctx.attrs["coding"] as Coding)];
    if (p.length !== 4 || x.shape.length !== 4) throw new ShapeError("encoder pads need a [N, C, H, W] input and 4 values");
    const pv = ctx.attrs["pad_values"] as number[];
    if (pv.length !== x.shape[1]) throw new ShapeError(`pad_values needs ${x.shape[1]} values (one per channel)`);
    const shape = [x.shape[0]!, x.shape[1]!, x.shape[2]! + p[0]! + p[2]!, x.shape[3]! + p[1]! + p[3]!];
    return [spikesType(shape, ctx.attrs["window"] as number, ctx.attrs["coding"] as Coding)];
  },
  verify(ctx) {
    return (ctx.attrs["window"] as number) < 1 ? ["window must be ≥ 1"] : [];
  },
});

function synapseResult(_s: SpikesType, shape: number[]): Type[] {
  return [tensorType(shape)];
}

const conv = defineOp({
  name: "snn.conv",
  summary: "convolutional switch synapses: each input spike adds (TSC ON) or removes (TSC OFF) its weights; bias charge b̃ per step",
  operands: [
    { name: "s", type: "spikes" },
    { name: "w", type: "tensor", constant: true, doc: "normalised weights W̃ [M, C/group, kh, kw]" },
    { name: "b", type: "tensor", constant: true, optional: true, doc: "normalised bias b̃ [M]" },
  ],
  results: [{ name: "v", type: "tensor" }],
  attrs: {
    kernel_shape: { kind: "ints", doc: "kernel size" },
    strides: { kind: "ints", doc: "strides" },
    pads: { kind: "ints", doc: "zero padding [begin..., end...]" },
    dilations: { kind: "ints", doc: "dilations" },
    group: { kind: "int", default: 1, doc: "channel groups" },
  },
  infer(ctx) {
    const s = spikesIn(ctx, 0);
    const w = tensorIn(ctx, 1);
    const k = ctx.attrs["kernel_shape"] as number[];
    const st = ctx.attrs["strides"] as number[];
    const p = ctx.attrs["pads"] as number[];
    const d = ctx.attrs["dilations"] as number[];
    const g = ctx.attrs["group"] as number;
    const n = s.shape.length - 2;
    if (n !== 2 || w.shape.length !== 4) throw new ShapeError(`snn.conv is 2-D: input ${fmtShape(s.shape)}, weights ${fmtShape(w.shape)}`);
    if (w.shape[1]! * g !== s.shape[1]) throw new ShapeError(`weights ${fmtShape(w.shape)} with group ${g} expect ${w.shape[1]! * g} channels, input has ${s.shape[1]}`);
    if (k[0] !== w.shape[2] || k[1] !== w.shape[3]) throw new ShapeError("kernel_shape disagrees with the weights");
    if (ctx.operands.length > 2) {
      const b = tensorIn(ctx, 2);
      if (b.shape.length !== 1 || b.shape[0] !== w.shape[0]) throw new ShapeError(`bias ${fmtShape(b.shape)} must be [${w.shape[0]}]`);
    }
    const out = [s.shape[0]!, w.shape[0]!, ...[0, 1].map((i) => windowOutSize(s.shape[2 + i]!, k[i]!, st[i]!, p[i]!, p[i + 2]!, d[i]!, false))];
    return synapseResult(s, out);
  },
});

const dense = defineOp({
  name: "snn.dense",
  summary: "fully connected switch synapses: y = W̃ s (+ b̃ per step), W̃ stored [out, in]",
  operands: [
    { name: "s", type: "spikes" },
    { name: "w", type: "tensor", constant: true, doc: "normalised weights W̃ [N, K]" },
    { name: "b", type: "tensor", constant: true, optional: true, doc: "normalised bias b̃ [N]" },
  ],
  results: [{ name: "v", type: "tensor" }],
  attrs: {},
  infer(ctx) {
    const s = spikesIn(ctx, 0);
    const w = tensorIn(ctx, 1);
    if (s.shape.length !== 2 || w.shape.length !== 2 || w.shape[1] !== s.shape[1]) {
      throw new ShapeError(`snn.dense needs spikes [?, K] and weights [N, K]; got ${fmtShape(s.shape)} and ${fmtShape(w.shape)}`);
    }
    if (ctx.operands.length > 2) {
      const b = tensorIn(ctx, 2);
      if (b.shape.length !== 1 || b.shape[0] !== w.shape[0]) throw new ShapeError(`bias ${fmtShape(b.shape)} must be [${w.shape[0]}]`);
    }
    return synapseResult(s, [s.shape[0]!, w.shape[0]!]);
  },
});

const scale = defineOp({
  name: "snn.scale",
  summary: "one-to-one synapses with a common weight (the identity shortcut of a residual block, weight λx/λy)",
  operands: [{ name: "s", type: "spikes" }],
  results: [{ name: "v", type: "tensor" }],
  attrs: { factor: { kind: "float", doc: "synaptic weight" } },
  infer(ctx) {
    return [tensorType(spikesIn(ctx, 0).shape)];
  },
});

const add = defineOp({
  name: "snn.add",
  summary: "charge from two synapse groups into the same neurons (residual integration across windows)",
  operands: [
    { name: "a", type: "tensor" },
    { name: "b", type: "tensor" },
  ],
  results: [{ name: "v", type: "tensor" }],
  attrs: {},
  infer(ctx) {
    const a = tensorIn(ctx, 0);
    const b = tensorIn(ctx, 1);
    if (a.shape.join() !== b.shape.join()) throw new ShapeError(`charges ${fmtShape(a.shape)} and ${fmtShape(b.shape)} differ in shape`);
    return [tensorType(a.shape)];
  },
});

const tsc = defineOp({
  name: "snn.tsc",
  summary: "Temporal-Switch-Coding neuron: integrate a window, then fire spike 1 at the window start and spike 2 after d = clip(floor(V/θ), 0, T) steps",
  operands: [{ name: "v", type: "tensor" }],
  results: [{ name: "s", type: "spikes" }],
  attrs: {
    window: windowAttr,
    theta: { kind: "float", default: 1, doc: "firing quantum θ" },
    phi: { kind: "float", default: 0.5, doc: "initial membrane offset (rounding; 0 floors as in the paper's likely scheme, 0.5 rounds)" },
    lambda: { kind: "float", default: 1, doc: "activation scale λ of this layer in ANN units (decoding only)" },
  },
  infer(ctx) {
    return [spikesType(tensorIn(ctx, 0).shape, ctx.attrs["window"] as number, "tsc")];
  },
  verify(ctx) {
    return (ctx.attrs["window"] as number) < 1 ? ["window must be ≥ 1"] : (ctx.attrs["theta"] as number) <= 0 ? ["theta must be > 0"] : [];
  },
});

const ifNeuron = defineOp({
  name: "snn.if",
  summary: "integrate-and-fire neuron (rate coding): V += I each step; spike and V −= θ (reset by subtraction) or V = 0 when V ≥ θ",
  operands: [{ name: "v", type: "tensor" }],
  results: [{ name: "s", type: "spikes" }],
  attrs: {
    window: windowAttr,
    theta: { kind: "float", default: 1, doc: "threshold" },
    reset: { kind: "enum", choices: ["subtract", "zero"], default: "subtract", doc: "reset mechanism" },
    v_init: { kind: "float", default: 0.5, doc: "initial membrane potential in units of θ" },
    lambda: { kind: "float", default: 1, doc: "activation scale λ of this layer in ANN units (decoding only)" },
  },
  infer(ctx) {
    return [spikesType(tensorIn(ctx, 0).shape, ctx.attrs["window"] as number, "rate")];
  },
});

const maxPool = defineOp({
  name: "snn.max_pool",
  summary: "TSC: OR of switches (spike 1 at the first input spike 1, spike 2 at the last spike 2) = max interval; rate: gated by the running spike count",
  operands: [{ name: "s", type: "spikes" }],
  results: [{ name: "y", type: "spikes" }],
  attrs: {
    kernel_shape: { kind: "ints", doc: "window" },
    strides: { kind: "ints", doc: "strides" },
    pads: { kind: "ints", doc: "padding (silent neurons)" },
    dilations: { kind: "ints", doc: "dilations" },
    ceil_mode: { kind: "int", default: 0, doc: "round the output size up" },
  },
  infer(ctx) {
    const s = spikesIn(ctx, 0);
    const k = ctx.attrs["kernel_shape"] as number[];
    const st = ctx.attrs["strides"] as number[];
    const p = ctx.attrs["pads"] as number[];
    const d = ctx.attrs["dilations"] as number[];
    if (s.shape.length !== 4) throw new ShapeError("snn.max_pool is 2-D");
    const out = [s.shape[0]!, s.shape[1]!, ...[0, 1].map((i) => windowOutSize(s.shape[2 + i]!, k[i]!, st[i]!, p[i]!, p[i + 2]!, d[i]!, ctx.attrs["ceil_mode"] === 1))];
    return [spikesType(out, s.window, s.coding)];
  },
});

const reshape = defineOp({
  name: "snn.reshape",
  summary: "relabel spiking neurons into another shape (free: no time, no events)",
  operands: [{ name: "s", type: "spikes" }],
  results: [{ name: "y", type: "spikes" }],
  attrs: { shape: { kind: "ints", doc: "target shape; 0 copies the input dimension (the batch), -1 is inferred" } },
  infer(ctx) {
    const s = spikesIn(ctx, 0);
    return [spikesType(reshapeShape(s.shape, ctx.attrs["shape"] as number[], false), s.window, s.coding)];
  },
});

const concat = defineOp({
  name: "snn.concat",
  summary: "concatenate spiking populations along an axis (they must fire in the same window)",
  operands: [{ name: "inputs", type: "spikes", variadic: true }],
  results: [{ name: "y", type: "spikes" }],
  attrs: { axis: { kind: "int", doc: "axis (not the batch)" } },
  infer(ctx) {
    const first = spikesIn(ctx, 0);
    const r = first.shape.length;
    const axis = (ctx.attrs["axis"] as number) < 0 ? (ctx.attrs["axis"] as number) + r : (ctx.attrs["axis"] as number);
    if (axis <= 0 || axis >= r) throw new ShapeError(`axis ${ctx.attrs["axis"]} is not a non-batch axis of rank ${r}`);
    const out = [...first.shape];
    for (let i = 1; i < ctx.operands.length; i++) {
      const s = spikesIn(ctx, i);
      if (s.window !== first.window || s.coding !== first.coding) throw new ShapeError("concatenated spikes differ in window or coding");
      if (s.shape.length !== r || s.shape.some((d, j) => j !== axis && d !== first.shape[j])) throw new ShapeError("shapes differ off the concatenation axis");
      out[axis] = out[axis]! + s.shape[axis]!;
    }
    return [spikesType(out, first.window, first.coding)];
  },
});

const decode = defineOp({
  name: "snn.decode",
  summary: "read the non-firing output layer: logits = V / steps at the end of its integration (tsc.md §3.5)",
  operands: [{ name: "v", type: "tensor" }],
  results: [{ name: "y", type: "tensor" }],
  attrs: {
    window: windowAttr,
    lambda: { kind: "float", default: 1, doc: "output scale: logits = λ·V/steps" },
  },
  infer(ctx) {
    return [tensorType(tensorIn(ctx, 0).shape)];
  },
});

export const SNN_OPS: readonly OpDef[] = [add, concat, conv, decode, dense, encode, ifNeuron, maxPool, reshape, scale, tsc];

/** Synapse ops: spikes in, charge out. */
export const SYNAPSE_OPS: ReadonlySet<string> = new Set(["snn.conv", "snn.dense", "snn.scale"]);
/** Neuron ops: charge in, spikes out. */
export const NEURON_OPS: ReadonlySet<string> = new Set(["snn.tsc", "snn.if"]);


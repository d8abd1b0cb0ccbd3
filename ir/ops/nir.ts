/**
 * The `nir` dialect: NIR's primitives (github neuromorphs/NIR, `nir/ir/*.py`) as layer-level ops, for
 * spiking networks imported from NIR files. Every value is a signal sampled once per time step,
 * `tensor<?x…>` (batch first, then NIR's per-sample shape); the module attribute `nir.dt` is the step.
 * Parameters stay in NIR's units (time constants and delays in the file's time unit), so a module
 * re-exports to the same NIR graph; the emulator's clock engine discretises them (docs/interop.md).
 *
 * Recurrence: an edge into a stateful op (i, if, li, lif, cuba_li, cuba_lif, delay) from its own strongly
 * connected component carries the previous step's value. In SSA it is a pair: `nir.feed %x {slot = k}`
 * stores %x at the end of a step and `nir.prev {slot = k}` reads it during the next one (0 at step 0).
 */
import { defineOp, ShapeError, type InferContext, type OpDef, type OperandDef } from "../opdef.js";
import { fmtShape, windowOutSize } from "../shapes.js";
import { BATCH, tensorType, type TensorType, type Type } from "../types.js";

function x(ctx: InferContext, i = 0): TensorType {
  const t = ctx.operands[i];
  if (!t || t.kind !== "tensor") throw new ShapeError(`operand ${i} must be a tensor`);
  if (t.shape[0] !== BATCH) throw new ShapeError(`operand ${i} ${fmtShape(t.shape)} needs the batch dimension first`);
  return t;
}

function sample(t: TensorType): number[] {
  return t.shape.slice(1);
}

function same(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** NIR's calc_flatten_output on a per-sample shape (dims count from 0 = the first non-batch axis). */
export function flattenShape(inShape: readonly number[], start: number, end: number): number[] {
  const r = inShape.length;
  const s = start < 0 ? start + r : start;
  const e = end < 0 ? end + r : end;
  if (s < 0 || s >= r || e < s || e >= r) throw new ShapeError(`dims ${start}..${end} do not fit an input of rank ${r}`);
  return [...inShape.slice(0, s), inShape.slice(s, e + 1).reduce((a, b) => a * b, 1), ...inShape.slice(e + 1)];
}

const param = (name: string, doc: string): OperandDef => ({ name, type: "tensor", constant: true, doc });

/** Element-wise ops and neurons: every parameter has the population's per-sample shape. */
function population(name: string, summary: string, params: readonly [string, string][]): OpDef {
  return defineOp({
    name,
    summary,
    operands: [{ name: "x", type: "tensor" }, ...params.map(([n, d]) => param(n, d))],
    results: [{ name: "y", type: "tensor" }],
    attrs: {},
    infer(ctx) {
      const t = x(ctx);
      for (let i = 1; i < ctx.operands.length; i++) {
        const p = ctx.operands[i]!;
        if (!same(p.shape, sample(t))) throw new ShapeError(`parameter '${params[i - 1]![0]}' ${fmtShape(p.shape)} does not match the input's per-sample shape ${fmtShape(sample(t))}`);
      }
      return [tensorType(t.shape)];
    },
  });
}

const affine = defineOp({
  name: "nir.affine",
  summary: "y = W x + b (NIR Affine; W is [out, in])",
  operands: [{ name: "x", type: "tensor" }, param("weight", "W [out, in]"), param("bias", "b [out]")],
  results: [{ name: "y", type: "tensor" }],
  attrs: {},
  infer(ctx) {
    const t = x(ctx);
    const w = ctx.operands[1]!;
    const b = ctx.operands[2]!;
    if (t.shape.length !== 2 || w.shape.length !== 2 || w.shape[1] !== t.shape[1]) throw new ShapeError(`weight ${fmtShape(w.shape)} does not take input ${fmtShape(t.shape)}`);
    if (b.shape.length !== 1 || b.shape[0] !== w.shape[0]) throw new ShapeError(`bias ${fmtShape(b.shape)} must be [${w.shape[0]}]`);
    return [tensorType([BATCH, w.shape[0]!])];
  },
});

const linear = defineOp({
  name: "nir.linear",
  summary: "y = W x (NIR Linear; W is [out, in])",
  operands: [{ name: "x", type: "tensor" }, param("weight", "W [out, in]")],
  results: [{ name: "y", type: "tensor" }],
  attrs: {},
  infer(ctx) {
    const t = x(ctx);
    const w = ctx.operands[1]!;
    if (t.shape.length !== 2 || w.shape.length !== 2 || w.shape[1] !== t.shape[1]) throw new ShapeError(`weight ${fmtShape(w.shape)} does not take input ${fmtShape(t.shape)}`);
    return [tensorType([BATCH, w.shape[0]!])];
  },
});

function convOp(name: string, spatial: number): OpDef {
  return defineOp({
    name,
    summary: `${spatial}-d convolution with bias (NIR Conv${spatial}d, PyTorch layout)`,
    operands: [{ name: "x", type: "tensor" }, param("weight", `W [C_out, C_in/groups, k…]`), param("bias", "b [C_out]")],
    results: [{ name: "y", type: "tensor" }],
    attrs: {
      strides: { kind: "ints", doc: "stride per spatial axis" },
      pads: { kind: "ints", doc: "zero padding [begin…, end…] per spatial axis" },
      dilations: { kind: "ints", doc: "dilation per spatial axis" },
      group: { kind: "int", default: 1, doc: "channel groups" },
      padding: { kind: "str", default: "", doc: "NIR's padding as written ('same', 'valid' or empty for numbers), kept for re-export" },
    },
    infer(ctx) {
      const t = x(ctx);
      const w = ctx.operands[1]!;
      const g = ctx.attrs["group"] as number;
      const s = ctx.attrs["strides"] as number[];
      const p = ctx.attrs["pads"] as number[];
      const d = ctx.attrs["dilations"] as number[];
      if (t.shape.length !== spatial + 2 || w.shape.length !== spatial + 2) throw new ShapeError(`input ${fmtShape(t.shape)} and weight ${fmtShape(w.shape)} must have ${spatial} spatial axes`);
      if (s.length !== spatial || d.length !== spatial || p.length !== 2 * spatial) throw new ShapeError(`strides/dilations need ${spatial} entries and pads ${2 * spatial}`);
      if (w.shape[1]! * g !== t.shape[1]) throw new ShapeError(`weight ${fmtShape(w.shape)} with groups ${g} takes ${w.shape[1]! * g} channels, input has ${t.shape[1]}`);
      const out = t.shape.slice(2).map((n, i) => windowOutSize(n, w.shape[2 + i]!, s[i]!, p[i]!, p[i + spatial]!, d[i]!, false));
      return [tensorType([BATCH, w.shape[0]!, ...out])];
    },
  });
}

function poolOp(name: string, avg: boolean): OpDef {
  return defineOp({
    name,
    summary: avg ? "2-d average pooling: window sum / (kh·kw), zero padding counted (NIR AvgPool2d)" : "2-d sum pooling (NIR SumPool2d)",
    operands: [{ name: "x", type: "tensor" }],
    results: [{ name: "y", type: "tensor" }],
    attrs: {
      kernel_shape: { kind: "ints", doc: "window [kh, kw]" },
      strides: { kind: "ints", doc: "stride [sh, sw]" },
      pads: { kind: "ints", doc: "zero padding [top, left, bottom, right]" },
    },
    infer(ctx) {
      const t = x(ctx);
      const k = ctx.attrs["kernel_shape"] as number[];
      const s = ctx.attrs["strides"] as number[];
      const p = ctx.attrs["pads"] as number[];
      if (t.shape.length !== 4) throw new ShapeError(`${name} takes [?, C, H, W], got ${fmtShape(t.shape)}`);
      const out = [0, 1].map((i) => windowOutSize(t.shape[2 + i]!, k[i]!, s[i]!, p[i]!, p[i + 2]!, 1, false));
      return [tensorType([BATCH, t.shape[1]!, ...out])];
    },
  });
}

const flatten = defineOp({
  name: "nir.flatten",
  summary: "merge per-sample axes start_dim..end_dim (NIR Flatten; axis 0 is the first non-batch axis)",
  operands: [{ name: "x", type: "tensor" }],
  results: [{ name: "y", type: "tensor" }],
  attrs: {
    start_dim: { kind: "int", doc: "first merged axis (per sample)" },
    end_dim: { kind: "int", doc: "last merged axis (per sample; negative counts from the end)" },
  },
  infer(ctx) {
    const t = x(ctx);
    return [tensorType([BATCH, ...flattenShape(sample(t), ctx.attrs["start_dim"] as number, ctx.attrs["end_dim"] as number)])];
  },
});

const sum = defineOp({
  name: "nir.sum",
  summary: "the sum of several edges into one node (NIR adds a node's inputs)",
  operands: [{ name: "xs", type: "tensor", variadic: true }],
  results: [{ name: "y", type: "tensor" }],
  attrs: {},
  infer(ctx) {
    const first = x(ctx, 0);
    for (let i = 1; i < ctx.operands.length; i++) if (!same(x(ctx, i).shape, first.shape)) throw new ShapeError(`summed inputs differ in shape: ${fmtShape(first.shape)} and ${fmtShape(ctx.operands[i]!.shape)}`);
    return [tensorType(first.shape)];
  },
});

const prev = defineOp({
  name: "nir.prev",
  summary: "the value stored by nir.feed with the same slot during the previous step (0 at step 0): a recurrent edge",
  operands: [],
  results: [{ name: "y", type: "tensor" }],
  attrs: {
    slot: { kind: "int", doc: "the feed this reads" },
    shape: { kind: "ints", doc: "per-sample shape" },
  },
  infer(ctx): Type[] {
    return [tensorType([BATCH, ...(ctx.attrs["shape"] as number[])])];
  },
});

const feed = defineOp({
  name: "nir.feed",
  summary: "store a value for nir.prev (same slot) to read at the next step; returns its operand",
  operands: [{ name: "x", type: "tensor" }],
  results: [{ name: "y", type: "tensor" }],
  attrs: { slot: { kind: "int", doc: "slot number" } },
  sideEffects: true,
  infer(ctx) {
    return [tensorType(x(ctx).shape)];
  },
});

export const NIR_OPS: readonly OpDef[] = [
  affine,
  linear,
  convOp("nir.conv1d", 1),
  convOp("nir.conv2d", 2),
  poolOp("nir.sum_pool2d", false),
  poolOp("nir.avg_pool2d", true),
  flatten,
  population("nir.scale", "y = s ⊙ x (NIR Scale)", [["scale", "s, per neuron"]]),
  population("nir.threshold", "z = [x > θ] (NIR Threshold: Heaviside, 0 at equality)", [["threshold", "θ, per neuron"]]),
  population("nir.delay", "y(t) = x(t − delay) (NIR Delay; delay in the file's time unit, a whole number of steps)", [["delay", "delay per neuron"]]),
  population("nir.i", "integrator: dv/dt = R·x, y = v (NIR I)", [["r", "R"]]),
  population("nir.if", "integrate-and-fire: dv/dt = R·x; z = [v > v_threshold], then v = v_reset (NIR IF)", [
    ["r", "R"],
    ["v_threshold", "threshold"],
    ["v_reset", "reset potential"],
  ]),
  population("nir.li", "leaky integrator: τ dv/dt = (v_leak − v) + R·x, y = v (NIR LI)", [
    ["tau", "τ"],
    ["r", "R"],
    ["v_leak", "leak potential"],
  ]),
  population("nir.lif", "leaky integrate-and-fire: τ dv/dt = (v_leak − v) + R·x; z = [v > v_threshold], then v = v_reset (NIR LIF)", [
    ["tau", "τ"],
    ["r", "R"],
    ["v_leak", "leak potential"],
    ["v_threshold", "threshold"],
    ["v_reset", "reset potential"],
  ]),
  population("nir.cuba_li", "current-based LI: τ_syn dI/dt = −I + w_in·x; τ_mem dv/dt = (v_leak − v) + R·I, y = v (NIR CubaLI)", [
    ["tau_syn", "τ_syn"],
    ["tau_mem", "τ_mem"],
    ["r", "R"],
    ["v_leak", "leak potential"],
    ["w_in", "input weight"],
  ]),
  population("nir.cuba_lif", "current-based LIF: CubaLI dynamics; z = [v > v_threshold], then v = v_reset (NIR CubaLIF)", [
    ["tau_syn", "τ_syn"],
    ["tau_mem", "τ_mem"],
    ["r", "R"],
    ["v_leak", "leak potential"],
    ["v_threshold", "threshold"],
    ["v_reset", "reset potential"],
    ["w_in", "input weight"],
  ]),
  sum,
  prev,
  feed,
];

/** Ops with state carried from one step to the next (an edge into one of them may close a cycle). */
export const NIR_STATEFUL_OPS: ReadonlySet<string> = new Set(["nir.i", "nir.if", "nir.li", "nir.lif", "nir.cuba_li", "nir.cuba_lif", "nir.delay"]);

/**
 * The float32 reference interpreter of the `nn` dialect: the ground truth every later SNN result is
 * compared with. It follows ONNX (and, where the spec is vague, onnxruntime) semantics; see
 * `kernels/` for the numerics (float64 accumulation, one rounding to float32 per result element).
 *
 * Run-time shapes: the batch dimension (`?` in the IR) is the leading dimension of the actual inputs,
 * and every result shape is computed from the actual operand shapes, then checked against the op's
 * IR type (a disagreement is an internal error).
 *
 * Fixed batch 1: when the module's first input has a static leading 1 (the exporter fixed the batch)
 * and the given inputs have leading dimension N > 1, the module is run N times on batch-1 slices (of
 * every input whose type has a leading `?` or 1) and each output is the concatenation of the N runs
 * along axis 0. This is faithful: the model describes one sample, and nothing couples the samples.
 * `observe` then sees each op's result once per slice.
 *
 * Tensors are immutable: view ops (reshape, flatten, squeeze, unsqueeze, identity, dropout) share
 * data with their operand. Outputs that would share data with an input or a constant are copied.
 */
import { fmt, TsccError, type Diagnostic } from "../diagnostics/diagnostic.js";
import { M } from "../diagnostics/messages.js";
import type { Attrs, Const, Module, Op, Value } from "../module.js";
import { ShapeError, withDefaults } from "../opdef.js";
import { fmtShape } from "../shapes.js";
import { BATCH, formatType, type DType, type TensorData } from "../types.js";
import * as K from "./kernels/index.js";
import { rtensor, type RTensor } from "./tensor.js";

export interface InterpretOptions {
  /** Called with every op result as soon as it is computed (e.g. to collect activation statistics). */
  observe?: (v: Value, t: RTensor, op: Op) => void;
}

type Kernel = (x: readonly RTensor[], a: Attrs) => RTensor;

const ints = (a: Attrs, k: string): number[] => [...(a[k] as readonly number[])];
const num = (a: Attrs, k: string): number => a[k] as number;
/** The clamp part of a fused activation (none for quant, which {@link quantized} applies afterwards). */
const activation = (a: Attrs): K.Activation =>
  a["activation"] === "quant" ? K.NO_ACTIVATION : K.activationOf(a["activation"] as string | undefined, a["clip_min"] as number | undefined, a["clip_max"] as number | undefined);

/** The quantiser of a fused `activation = "quant"` (attributes with their defaults filled in). */
export function quantizerOf(a: Attrs): K.Quantizer {
  return { levels: num(a, "quant_levels"), lambda: num(a, "quant_lambda"), phi: num(a, "quant_phi"), rounding: a["quant_rounding"] as K.Quantizer["rounding"] };
}

/** Apply a fused quant activation to a host's freshly computed float32 result. */
function quantized(a: Attrs, y: RTensor): RTensor {
  if (a["activation"] === "quant") K.quantizeInPlace(y.data as Float32Array, quantizerOf(a));
  return y;
}
const windowParams = (a: Attrs): K.WindowParams => ({
  kernel: ints(a, "kernel_shape"),
  strides: ints(a, "strides"),
  pads: ints(a, "pads"),
  dilations: ints(a, "dilations"),
});
const passThrough: Kernel = ([x]) => x!;

/** x·factor (f32); the tensor itself when factor is 1. */
function scaled(x: RTensor, factor: number): RTensor {
  if (factor === 1 || x.dtype !== "f32") return x;
  const d = x.data as Float32Array;
  const y = new Float32Array(d.length);
  for (let i = 0; i < d.length; i++) y[i] = d[i]! * factor;
  return { shape: x.shape, dtype: x.dtype, data: y };
}

/** Overwrite the padded border of axis-1 channel c with values[c] (mean padding of a folded input normalisation). */
function padChannels(y: RTensor, inShape: readonly number[], pads: readonly number[], values: readonly number[] | undefined): RTensor {
  if (!values || values.length === 0) return y;
  const r = y.shape.length;
  const d = y.data as Float32Array;
  const strides = new Array<number>(r);
  let acc = 1;
  for (let i = r - 1; i >= 0; i--) {
    strides[i] = acc;
    acc *= y.shape[i]!;
  }
  for (let flat = 0; flat < d.length; flat++) {
    let inside = true;
    let c = 0;
    for (let ax = 0; ax < r; ax++) {
      const ix = Math.floor(flat / strides[ax]!) % y.shape[ax]!;
      if (ax === 1) c = ix;
      const src = ix - pads[ax]!;
      if (src < 0 || src >= inShape[ax]!) inside = false;
    }
    if (!inside) d[flat] = values[c]!;
  }
  return y;
}

/** One kernel per `nn` op; operands are already checked for count, attributes have their defaults. */
const KERNELS: Readonly<Record<string, Kernel>> = {
  "nn.conv": ([x, w, b], a) => quantized(a, K.conv(x!, w!, b, { ...windowParams(a), group: num(a, "group"), activation: activation(a) })),
  "nn.gemm": ([x, w, c], a) =>
    quantized(a, K.gemm(x!, w!, c, { alpha: num(a, "alpha"), beta: num(a, "beta"), transA: num(a, "transA") === 1, transB: num(a, "transB") === 1, activation: activation(a) })),
  "nn.matmul": ([x, y], a) => quantized(a, K.matmul(x!, y!, activation(a))),
  "nn.relu": ([x]) => K.relu(x!),
  "nn.clip": ([x], a) => K.clip(x!, num(a, "min"), num(a, "max")),
  "nn.mul": ([x, y]) => K.mul(x!, y!),
  "nn.div": ([x, y]) => K.div(x!, y!),
  "nn.sub": ([x, y]) => K.sub(x!, y!),
  "nn.floor": ([x]) => K.floor(x!),
  "nn.round": ([x]) => K.round(x!),
  "nn.quantize_linear": ([x], a) => K.quantizeLinear(x!, num(a, "scale"), num(a, "zero_point"), a["to"] as "u8" | "i8"),
  "nn.dequantize_linear": ([x], a) => K.dequantizeLinear(x!, num(a, "scale"), num(a, "zero_point")),
  "nn.max_pool": ([x], a) => K.maxPool(x!, { ...windowParams(a), ceilMode: num(a, "ceil_mode") === 1 }),
  "nn.average_pool": ([x], a) =>
    K.averagePool(x!, { ...windowParams(a), ceilMode: num(a, "ceil_mode") === 1, countIncludePad: num(a, "count_include_pad") === 1 }),
  "nn.global_average_pool": ([x]) => K.globalAveragePool(x!),
  "nn.batch_norm": ([x, s, b, m, v], a) => K.batchNorm(x!, s!, b!, m!, v!, num(a, "epsilon")),
  "nn.add": ([x, y], a) => quantized(a, K.add(scaled(x!, num(a, "alpha")), scaled(y!, num(a, "beta")), activation(a))),
  "nn.flatten": ([x], a) => K.flatten(x!, num(a, "axis")),
  "nn.reshape": ([x, s], a) => K.reshape(x!, s!, num(a, "allowzero") === 1),
  "nn.pad": ([x], a) => padChannels(K.pad(x!, ints(a, "pads"), num(a, "value")), x!.shape, ints(a, "pads"), a["channel_values"] as readonly number[] | undefined),
  "nn.dropout": passThrough,
  "nn.identity": passThrough,
  "nn.softmax": ([x], a) => K.softmax(x!, num(a, "axis"), a["coerce_2d"] === true),
  "nn.concat": (xs, a) => K.concat(xs, num(a, "axis")),
  "nn.shape": ([x], a) => K.shapeOf(x!, num(a, "start"), num(a, "end")),
  "nn.gather": ([x, i], a) => K.gather(x!, i!, num(a, "axis")),
  "nn.unsqueeze": ([x], a) => K.unsqueeze(x!, ints(a, "axes")),
  "nn.squeeze": ([x], a) => K.squeeze(x!, ints(a, "axes")),
  "nn.cast": ([x], a) => K.cast(x!, a["to"] as DType),
};

/** True when {@link evaluateOp} can run `op`. */
export function canEvaluate(op: Op): boolean {
  return Object.hasOwn(KERNELS, op.name);
}

/** The run-time tensor of a module constant (shares its data). */
export function constToTensor(c: Const): RTensor {
  if (c.type.shape.includes(BATCH)) throw new Error(`constant '${c.name}' has a batch dimension`);
  return rtensor(c.type.shape, c.type.dtype, c.data);
}

/**
 * Run one op on concrete operands (constant folding, tests). Works on any `nn` op, including the
 * int64 shape-chain ops. Throws ShapeError for operands the op cannot take, a TsccError for valid but
 * unimplemented configurations (3-D windows), and a plain Error for ops without a kernel
 * (check {@link canEvaluate}).
 */
export function evaluateOp(op: Op, operands: readonly RTensor[]): RTensor[] {
  const kernel = KERNELS[op.name];
  if (!Object.hasOwn(KERNELS, op.name) || !kernel) throw new Error(`the reference interpreter has no kernel for '${op.name}'`);
  const defs = op.def.operands;
  const variadic = defs.length > 0 && defs[defs.length - 1]!.variadic === true;
  const min = defs.filter((d) => !d.optional).length;
  if (operands.length < min || (!variadic && operands.length > defs.length)) {
    const want = variadic ? `at least ${min}` : min === defs.length ? `${min}` : `${min} to ${defs.length}`;
    throw new ShapeError(`${op.name} takes ${want} operand${min === 1 && (variadic || min === defs.length) ? "" : "s"}, got ${operands.length}`);
  }
  return [kernel(operands, withDefaults(op.def, op.attrs))];
}

function locOf(op: Op): { loc?: Op["loc"] } {
  return op.loc.kind === "unknown" ? {} : { loc: op.loc };
}

/** User-facing failures of an op during a run get the op's location; anything else is internal. */
function wrapOpError(e: unknown, op: Op): unknown {
  if (e instanceof ShapeError) return new TsccError(fmt(M.InputMismatch, [`${op.name}: ${e.message}`], locOf(op)));
  if (e instanceof TsccError && op.loc.kind !== "unknown") return new TsccError(e.diagnostics.map((d) => (d.loc ? d : { ...d, loc: op.loc })));
  return e;
}

const DATA_CTORS: Record<DType, new (n: number) => TensorData> = {
  f32: Float32Array,
  f64: Float64Array,
  i64: BigInt64Array,
  i32: Int32Array,
  i8: Int8Array,
  u8: Uint8Array,
  bool: Uint8Array,
};

interface BatchPlan {
  /** The batch size of the run (undefined when no input has a batch dimension). */
  readonly batch: number | undefined;
  /** > 1: run the fixed-batch-1 module this many times on slices. */
  readonly loop: number;
  /** Inputs that carry the batch dimension (sliced when looping). */
  readonly batched: ReadonlySet<string>;
}

function checkInputs(m: Module, inputs: Record<string, RTensor>): BatchPlan {
  const problems: Diagnostic[] = [];
  const bad = (text: string, hint?: string): void => {
    problems.push(fmt(M.InputMismatch, [text], hint ? { hint } : {}));
  };
  const names = m.inputs.map((i) => i.name);
  for (const name of Object.keys(inputs)) {
    if (!names.includes(name)) bad(`unknown input '${name}'; the model's inputs are ${names.map((n) => `'${n}'`).join(", ") || "none"}`);
  }
  // Fixed batch 1 with a larger batch given: loop over the samples.
  const first = m.inputs[0];
  const firstGiven = first ? inputs[first.name] : undefined;
  let loop = 0;
  if (first && firstGiven && first.value.type.kind === "tensor") {
    const s = first.value.type.shape;
    if (s.length > 0 && s[0] === 1 && firstGiven.shape.length === s.length && firstGiven.shape[0]! > 1) loop = firstGiven.shape[0]!;
  }
  let batch: { n: number; from: string } | undefined;
  const batched = new Set<string>();
  for (const inp of m.inputs) {
    const t = inp.value.type;
    const v = inputs[inp.name];
    if (t.kind !== "tensor") {
      bad(`input '${inp.name}' has type ${formatType(t)}; the reference interpreter runs nn modules (tensor inputs) only`);
      continue;
    }
    if (!v) {
      bad(`missing input '${inp.name}' (the model expects ${fmtShape(t.shape)} ${t.dtype})`);
      continue;
    }
    if (v.dtype !== t.dtype) {
      bad(`input '${inp.name}' has element type ${v.dtype} but the model expects ${t.dtype}`);
      continue;
    }
    if (!(v.data instanceof DATA_CTORS[v.dtype])) {
      bad(`input '${inp.name}' is declared ${v.dtype} but its data is a ${v.data.constructor.name}`);
      continue;
    }
    const n = v.shape.reduce((p, d) => p * d, 1);
    if (v.data.length !== n) {
      bad(`input '${inp.name}' has ${v.data.length} elements but its shape ${fmtShape(v.shape)} needs ${n}`);
      continue;
    }
    const carriesBatch = t.shape.length > 0 && (t.shape[0] === BATCH || (loop > 0 && t.shape[0] === 1));
    const shapeOk =
      v.shape.length === t.shape.length &&
      t.shape.every((d, i) => (i === 0 && carriesBatch ? Number.isInteger(v.shape[0]) && v.shape[0]! >= 1 : d === v.shape[i]));
    if (!shapeOk) {
      const zeroBatch = carriesBatch && v.shape.length === t.shape.length && v.shape[0] === 0;
      bad(`input '${inp.name}' has shape ${fmtShape(v.shape)} but the model expects ${fmtShape(t.shape)}`, zeroBatch ? "the batch size must be at least 1" : undefined);
      continue;
    }
    if (carriesBatch) {
      batched.add(inp.name);
      const nb = v.shape[0]!;
      if (batch && batch.n !== nb) bad(`input '${inp.name}' has batch size ${nb} but input '${batch.from}' has batch size ${batch.n}`);
      else batch ??= { n: nb, from: inp.name };
    }
  }
  if (problems.length) throw new TsccError(problems);
  return { batch: batch?.n, loop, batched };
}

function checkOps(m: Module): void {
  const problems: Diagnostic[] = [];
  for (const op of m.ops) {
    if (!canEvaluate(op)) {
      problems.push(fmt(M.BackendUnsupported, ["reference interpreter", `op '${op.name}'`, "it runs nn dialect ops only"], locOf(op)));
    }
  }
  if (problems.length) throw new TsccError(problems);
}

function checkResult(op: Op, index: number, t: RTensor, batch: number | undefined): void {
  const ty = op.results[index]!.type;
  const ok =
    ty.kind === "tensor" &&
    ty.dtype === t.dtype &&
    ty.shape.length === t.shape.length &&
    ty.shape.every((d, i) => (d === BATCH ? i === 0 && (batch === undefined || t.shape[0] === batch) : d === t.shape[i]));
  if (!ok) {
    throw new Error(`internal error: ${op.name} computed ${fmtShape(t.shape)} ${t.dtype} but its IR type is ${formatType(ty)} (batch ${batch ?? "none"})`);
  }
}

function runOnce(
  m: Module,
  inputs: Record<string, RTensor>,
  batch: number | undefined,
  consts: Map<Const, RTensor>,
  opts: InterpretOptions,
): Record<string, RTensor> {
  const env = new Map<Value, RTensor>();
  const foreign = new Set<TensorData>();
  for (const inp of m.inputs) {
    const t = inputs[inp.name]!;
    env.set(inp.value, t);
    foreign.add(t.data);
  }
  const outputs = new Set(m.outputs.map((o) => o.value));
  const lastUse = new Map<Value, number>();
  m.ops.forEach((op, i) => op.operands.forEach((v) => lastUse.set(v, i)));

  const lookup = (v: Value): RTensor => {
    const c = v.constant;
    if (c) {
      let t = consts.get(c);
      if (!t) {
        t = constToTensor(c);
        consts.set(c, t);
      }
      foreign.add(t.data);
      return t;
    }
    const t = env.get(v);
    if (!t) throw new Error("internal error: a value is used before it is computed (ops are not in topological order)");
    return t;
  };

  m.ops.forEach((op, i) => {
    const operands = op.operands.map(lookup);
    let results: RTensor[];
    try {
      results = evaluateOp(op, operands);
    } catch (e) {
      throw wrapOpError(e, op);
    }
    if (results.length !== op.results.length) throw new Error(`internal error: ${op.name} produced ${results.length} results, expected ${op.results.length}`);
    results.forEach((t, j) => {
      const v = op.results[j]!;
      checkResult(op, j, t, batch);
      opts.observe?.(v, t, op);
      if (lastUse.has(v) || outputs.has(v)) env.set(v, t);
    });
    // Drop intermediates after their last use.
    for (const v of op.operands) if (lastUse.get(v) === i && !outputs.has(v) && v.def.kind === "op") env.delete(v);
  });

  const out: Record<string, RTensor> = {};
  for (const o of m.outputs) {
    const t = lookup(o.value);
    out[o.name] = foreign.has(t.data) ? rtensor(t.shape, t.dtype, t.data.slice()) : t;
  }
  return out;
}

/**
 * The module attribute `input_levels` = L (set by fuse-quantizers when it removes an input quantiser
 * of a quantisation-aware trained network, which the spike encoder then realises) quantises every f32
 * input to clip(round(x·L), 0, L)/L: floor(x·L + ½) with `input_rounding` = "floor", halves to even
 * with "half_even".
 */
export function quantizeInputs(m: Module, inputs: Record<string, RTensor>): Record<string, RTensor> {
  const levels = m.attrs["input_levels"];
  if (typeof levels !== "number") return inputs;
  const q: K.Quantizer = { levels, lambda: 1, phi: 0.5, rounding: m.attrs["input_rounding"] === "half_even" ? "half_even" : "floor" };
  const out = { ...inputs };
  for (const inp of m.inputs) {
    const t = inputs[inp.name];
    if (!t || t.dtype !== "f32") continue;
    const d = Float32Array.from(t.data as Float32Array);
    K.quantizeInPlace(d, q);
    out[inp.name] = rtensor(t.shape, "f32", d);
  }
  return out;
}

/**
 * Run module `m` on a batch. `inputs` maps every module input name to a tensor whose shape matches
 * the input's type (any batch N ≥ 1 where the type says `?`) and whose dtype is the same; returns the
 * outputs by name. Input mismatches are reported together as one TsccError (TSCC5005).
 */
export function interpret(m: Module, inputs: Record<string, RTensor>, opts: InterpretOptions = {}): Record<string, RTensor> {
  const plan = checkInputs(m, inputs);
  inputs = quantizeInputs(m, inputs);
  checkOps(m);
  const consts = new Map<Const, RTensor>();
  if (plan.loop <= 1) return runOnce(m, inputs, plan.batch, consts, opts);

  const runs: Record<string, RTensor>[] = [];
  for (let s = 0; s < plan.loop; s++) {
    const slice: Record<string, RTensor> = {};
    for (const inp of m.inputs) {
      const t = inputs[inp.name]!;
      if (!plan.batched.has(inp.name)) {
        slice[inp.name] = t;
        continue;
      }
      const per = t.data.length / plan.loop;
      slice[inp.name] = rtensor([1, ...t.shape.slice(1)], t.dtype, t.data.subarray(s * per, (s + 1) * per));
    }
    runs.push(runOnce(m, slice, 1, consts, opts));
  }
  const out: Record<string, RTensor> = {};
  for (const o of m.outputs) {
    const parts = runs.map((r) => r[o.name]!);
    if (parts[0]!.shape.length === 0) {
      throw new TsccError(
        fmt(M.InputMismatch, [`output '${o.name}' is a scalar, so the ${plan.loop} runs of this batch-1 model cannot be stacked; give one sample at a time`]),
      );
    }
    out[o.name] = K.concat(parts, 0);
  }
  return out;
}

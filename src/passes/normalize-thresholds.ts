/**
 * Data-based threshold normalisation (tsc.md §5.2; Rueckauer et al. 2017's robust normalisation):
 * λ_l is the p-th percentile of layer l's positive post-activation values over calibration data;
 * weights and biases are rescaled so every activation is expressed in units of its layer's λ:
 *   W̃ = W·λ_in/λ_out,  b̃ = b/λ_out,  clip bounds / λ_out,  residual shortcut factor λ_x/λ_y.
 * The network's outputs are unchanged (the output layer keeps λ = 1), which the tests check with the
 * interpreter. λ is recorded on each activation as the `lambda` attribute.
 */
import { definePass, fmt, interpret, M, tensorType, type Module, type Op, type PassContext, type Value } from "../../ir/index.js";
import type { RTensor } from "../../ir/interp/tensor.js";
import { loadCalibration } from "../io/calibration.js";

/** One-pass percentile estimator: exact maximum plus a log-spaced histogram (0.45 % relative bins). */
export class PercentileSketch {
  private static readonly PER_DECADE = 512;
  private static readonly LO = -12;
  private static readonly HI = 12;
  private readonly bins = new Float64Array((PercentileSketch.HI - PercentileSketch.LO) * PercentileSketch.PER_DECADE + 2);
  count = 0;
  max = 0;

  add(data: Float32Array): void {
    const per = PercentileSketch.PER_DECADE;
    const lo = PercentileSketch.LO;
    const last = this.bins.length - 1;
    for (let i = 0; i < data.length; i++) {
      const x = data[i]!;
      if (!(x > 0)) continue;
      this.count++;
      if (x > this.max) this.max = x;
      const b = Math.floor((Math.log10(x) - lo) * per) + 1;
      this.bins[b < 0 ? 0 : b > last ? last : b]! += 1;
    }
  }

  /** p in (0, 100]; p = 100 is the exact maximum. 0 when nothing positive was seen. */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    if (p >= 100) return this.max;
    const target = (p / 100) * this.count;
    let acc = 0;
    for (let b = 0; b < this.bins.length; b++) {
      acc += this.bins[b]!;
      if (acc >= target) {
        const upper = 10 ** ((b - 1 + 1) / PercentileSketch.PER_DECADE + PercentileSketch.LO);
        return Math.min(upper, this.max);
      }
    }
    return this.max;
  }
}

/** Ops whose result is a neuron population: an activation (fused or standalone). */
export function isNeuronPoint(op: Op): boolean {
  if (op.name === "nn.relu" || op.name === "nn.clip") return true;
  const act = op.attrs["activation"];
  return act === "relu" || act === "clip";
}

const WEIGHT_OPS = new Set(["nn.conv", "nn.gemm", "nn.matmul"]);
const PASS_THROUGH = new Set(["nn.max_pool", "nn.average_pool", "nn.global_average_pool", "nn.flatten", "nn.reshape", "nn.pad", "nn.identity", "nn.dropout", "nn.concat", "nn.softmax"]);

function report(ctx: PassContext, op: Op | undefined, msg: string): void {
  ctx.diag.report(fmt(M.PassFailed, [`normalize-thresholds: ${msg}`], op ? { loc: op.loc } : {}));
}

/** Calibration statistics: a percentile sketch per neuron-point value. */
export function calibrate(m: Module, points: readonly Value[], data: RTensor, batch: number, log: PassContext["log"]): Map<Value, PercentileSketch> {
  const sketches = new Map<Value, PercentileSketch>(points.map((v) => [v, new PercentileSketch()]));
  const n = data.shape[0]!;
  const per = data.data.length / n;
  const input = m.inputs[0]!;
  for (let start = 0; start < n; start += batch) {
    const count = Math.min(batch, n - start);
    const slice: RTensor = { shape: [count, ...data.shape.slice(1)], dtype: "f32", data: (data.data as Float32Array).subarray(start * per, (start + count) * per) };
    interpret(m, { [input.name]: slice }, {
      observe: (v, t) => {
        const s = sketches.get(v);
        if (s) s.add(t.data as Float32Array);
      },
    });
    log.progress("calibrating", start + count, n);
  }
  return sketches;
}

function scaleConst(m: Module, v: Value, base: string, f: (data: Float32Array) => Float32Array): Value {
  const c = v.constant!;
  return m.addConst(m.uniqueConstName(base), tensorType(c.type.shape), f(c.data as Float32Array)).value;
}

/** Rescale a weight op from input scale sIn to output scale sOut (scalars). */
function rescaleWeights(m: Module, op: Op, sIn: number, sOut: number): void {
  const w = op.operands[1]!;
  const base = (w.constant?.name ?? "w").replace(/\.weight$|\.w$/, "");
  const k = sIn / sOut;
  const mul = (x: number) => (d: Float32Array): Float32Array => d.map((y) => y * x);
  const ops = [...op.operands];
  ops[1] = scaleConst(m, w, `${base}.norm.w`, mul(k));
  if (op.operands[2]) ops[2] = scaleConst(m, op.operands[2], `${base}.norm.b`, mul(1 / sOut));
  op.operands = ops;
}

export const normalizeThresholdsPass = definePass({
  name: "normalize-thresholds",
  summary: "set each layer's activation scale λ from calibration data (p-th percentile) and rescale weights and biases",
  options: {
    calibration: { kind: "str", default: "", doc: "calibration inputs: .npy, a folder of PNG/JPEG images, or example:<name>" },
    percentile: { kind: "float", default: 99.9, doc: "percentile p of positive activations (100 = max normalisation)" },
    batch: { kind: "int", default: 64, doc: "calibration batch size" },
    limit: { kind: "int", default: 0, doc: "use at most this many calibration samples (0 = all)" },
  },
  provides: ["normalized"],
  run(m, ctx) {
    const p = ctx.options["percentile"] as number;
    if (!(p > 0 && p <= 100)) {
      report(ctx, undefined, `percentile must be in (0, 100], got ${p}`);
      return { changed: false };
    }
    if (m.inputs.length !== 1) {
      report(ctx, undefined, `the model has ${m.inputs.length} inputs; calibration supports one`);
      return { changed: false };
    }
    const given = ctx.inputs["calibration"] as RTensor | undefined;
    const spec = ctx.options["calibration"] as string;
    if (!given && !spec) {
      report(ctx, undefined, "no calibration data: pass --calibration <file.npy | image folder | example:name>");
      return { changed: false };
    }
    let data = given ?? loadCalibration(spec, m.inputs[0]!.value.type.shape, { baseDir: ctx.inputs["cwd"] as string | undefined });
    const limit = ctx.options["limit"] as number;
    if (limit > 0 && data.shape[0]! > limit) {
      const per = data.data.length / data.shape[0]!;
      data = { shape: [limit, ...data.shape.slice(1)], dtype: data.dtype, data: data.data.subarray(0, limit * per) as Float32Array };
    }
    const points = m.ops.filter(isNeuronPoint).map((op) => op.result);
    const sketches = calibrate(m, points, data, ctx.options["batch"] as number, ctx.log);

    let negatives = 0;
    for (let i = 0; i < data.data.length; i++) if ((data.data[i] as number) < 0) negatives++;
    if (negatives > 0) {
      report(ctx, undefined, `${negatives} calibration input values are negative; spike codes carry non-negative inputs — declare the input normalisation (--mean/--std) so tscc folds it into layer 1 and feeds raw pixels`);
      return { changed: false };
    }
    // Scale of every f32 value, in ANN units per normalised 1. The input stays in its own units: the
    // encoder's scale (λ₀) is applied when the first synapses are created.
    const scale = new Map<Value, number>();
    scale.set(m.inputs[0]!.value, 1);
    const users = m.users();
    const override = new Map<Op, number>();
    const lambdaOf = (op: Op): number => {
      const o = override.get(op);
      if (o !== undefined) return o;
      const s = sketches.get(op.result)!;
      const lam = s.percentile(p);
      if (!(lam > 0)) {
        ctx.diag.report(fmt(M.PassWarning, [`normalize-thresholds: layer never active on the calibration data; λ set to 1`], { loc: op.loc }));
        return 1;
      }
      return lam;
    };
    /** Output scale of a weight op without activation: that of the neuron it feeds (an add), else 1 (logits). */
    const chargeScale = (op: Op): number | undefined => {
      const us = users.get(op.result) ?? [];
      if (m.isOutput(op.result) || us.every((u) => u.name === "nn.softmax")) return 1;
      if (us.length === 1 && us[0]!.name === "nn.add" && isNeuronPoint(us[0]!)) return lambdaOf(us[0]!);
      return undefined;
    };
    // Branches that meet in a Concat must share one scale: every neuron layer feeding it (through pools and
    // reshapes) takes the largest of their λ (coarser levels for the others, but one code for the result).
    const sourcesOf = (v: Value): Op[] => {
      const op = v.op;
      if (!op) return [];
      if (isNeuronPoint(op) && op.name !== "nn.relu" && op.name !== "nn.clip") return [op];
      if (PASS_THROUGH.has(op.name) || op.name === "nn.relu" || op.name === "nn.clip") return op.operands.filter((x) => !x.constant).flatMap(sourcesOf);
      return [];
    };
    for (const op of m.ops) {
      if (op.name !== "nn.concat") continue;
      const srcs = op.operands.flatMap(sourcesOf);
      if (srcs.length < 2) continue;
      const common = Math.max(...srcs.map(lambdaOf));
      for (const s2 of srcs) override.set(s2, common);
    }
    const failedValues = new Set<Value>();
    let changed = false;
    for (const op of m.ops) {
      if (op.operands.some((v) => failedValues.has(v))) {
        op.results.forEach((r2) => failedValues.add(r2));
        continue;
      }
      const errorsBefore = ctx.diag.hasErrors;
      const r = op.results[0];
      if (!r || r.type.kind !== "tensor" || r.type.dtype !== "f32") continue;
      const inScale = (i: number): number | undefined => {
        const v = op.operands[i]!;
        return v.constant ? 1 : scale.get(v);
      };
      if (WEIGHT_OPS.has(op.name)) {
        const sIn = inScale(0);
        const sOut = isNeuronPoint(op) ? lambdaOf(op) : chargeScale(op);
        if (sIn === undefined || sOut === undefined) {
          report(ctx, op, `cannot determine the activation scale around ${op.name} (its output feeds ${(users.get(r) ?? []).map((u) => u.name).join(", ") || "nothing"})`);
          continue;
        }
        if (!op.operands[1]!.constant || (op.operands[2] && !op.operands[2].constant)) {
          report(ctx, op, "weights must be constants");
          continue;
        }
        rescaleWeights(m, op, sIn, sOut);
        if (isNeuronPoint(op)) {
          op.attrs = { ...op.attrs, lambda: sOut, clip_min: (op.attrs["clip_min"] as number) / sOut, clip_max: (op.attrs["clip_max"] as number) / sOut };
        }
        scale.set(r, sOut);
        changed = true;
      } else if (op.name === "nn.add") {
        const sa = inScale(0);
        const sb = inScale(1);
        const sOut = isNeuronPoint(op) ? lambdaOf(op) : undefined;
        if (sa === undefined || sb === undefined || sOut === undefined) {
          report(ctx, op, "an Add must end in a ReLU (a residual block) to be normalised");
          continue;
        }
        op.attrs = {
          ...op.attrs,
          alpha: (op.attrs["alpha"] as number) * (sa / sOut),
          beta: (op.attrs["beta"] as number) * (sb / sOut),
          lambda: sOut,
          clip_min: (op.attrs["clip_min"] as number) / sOut,
          clip_max: (op.attrs["clip_max"] as number) / sOut,
        };
        scale.set(r, sOut);
        changed = true;
      } else if (op.name === "nn.relu" || op.name === "nn.clip") {
        const sIn = inScale(0);
        if (sIn === undefined) {
          report(ctx, op, "the activation's input has no known scale");
          continue;
        }
        // A standalone activation on an already-normalised value keeps that value's scale.
        if (op.name === "nn.clip") op.attrs = { ...op.attrs, min: op.num("min") / sIn, max: op.num("max") / sIn };
        op.attrs = { ...op.attrs, lambda: sIn };
        scale.set(r, sIn);
      } else if (PASS_THROUGH.has(op.name)) {
        const ins = op.operands.filter((v) => !v.constant).map((v) => scale.get(v));
        if (ins.some((x) => x === undefined) || ins.length === 0) continue;
        if (new Set(ins).size > 1) {
          report(ctx, op, `inputs with different activation scales (${ins.join(", ")}) meet here; per-branch rescaling is not implemented`);
          continue;
        }
        if (op.name === "nn.pad" && (op.num("value") !== 0 || (op.attrs["channel_values"] as number[]).length)) {
          op.attrs = { ...op.attrs, value: op.num("value") / ins[0]!, channel_values: (op.attrs["channel_values"] as number[]).map((x) => x / ins[0]!) };
        }
        if (op.name === "nn.average_pool" || op.name === "nn.global_average_pool") op.attrs = { ...op.attrs, lambda: ins[0]! };
        scale.set(r, ins[0]!);
      }
      if (!errorsBefore && ctx.diag.hasErrors) op.results.forEach((r2) => failedValues.add(r2));
    }
    m.removeDeadCode();
    return { changed };
  },
});

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
import { calibrationSplit, loadCalibration } from "../io/calibration.js";

/** One-pass percentile estimator: exact maximum plus a log-spaced histogram (0.45 % relative bins). */
export class PercentileSketch {
  private static readonly LO = -12;
  private static readonly HI = 12;
  private readonly bins: Float64Array;
  count = 0;
  max = 0;

  /** `perDecade` log bins per decade: 512 gives 0.45 % relative resolution, 128 gives 1.8 %. */
  constructor(private readonly perDecade = 512) {
    this.bins = new Float64Array((PercentileSketch.HI - PercentileSketch.LO) * perDecade + 2);
  }

  add(data: ArrayLike<number>, start = 0, end = data.length): void {
    const per = this.perDecade;
    const lo = PercentileSketch.LO;
    const last = this.bins.length - 1;
    for (let i = start; i < end; i++) {
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
        const upper = 10 ** (b / this.perDecade + PercentileSketch.LO);
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

/** Per-channel statistics of one value: a sketch per channel (axis 1), plus the whole-layer sketch. */
export interface ChannelSketches {
  all: PercentileSketch;
  channels: PercentileSketch[];
}

/** Calibration statistics: a percentile sketch per neuron-point value (and per channel when asked). */
export function calibrate(m: Module, points: readonly Value[], data: RTensor, batch: number, log: PassContext["log"], perChannel = false): Map<Value, ChannelSketches> {
  const sketches = new Map<Value, ChannelSketches>(
    points.map((v) => [v, { all: new PercentileSketch(), channels: perChannel ? Array.from({ length: v.type.shape[1] ?? 1 }, () => new PercentileSketch(128)) : [] }]),
  );
  const n = data.shape[0]!;
  const per = data.data.length / n;
  const input = m.inputs[0]!;
  for (let start = 0; start < n; start += batch) {
    const count = Math.min(batch, n - start);
    const slice: RTensor = { shape: [count, ...data.shape.slice(1)], dtype: "f32", data: (data.data as Float32Array).subarray(start * per, (start + count) * per) };
    interpret(m, { [input.name]: slice }, {
      observe: (v, t) => {
        const s = sketches.get(v);
        if (!s) return;
        const d = t.data as Float32Array;
        s.all.add(d);
        if (s.channels.length) {
          const c = t.shape[1] ?? 1;
          const inner = d.length / (t.shape[0]! * c);
          for (let b = 0; b < t.shape[0]!; b++) for (let ch = 0; ch < c; ch++) s.channels[ch]!.add(d, (b * c + ch) * inner, (b * c + ch + 1) * inner);
        }
      },
    });
    log.progress("calibrating", start + count, n);
  }
  return sketches;
}

/** An activation scale: one λ for the whole value, or one per channel (axis 1; features of a rank-2 value). */
export type Scale = number | Float64Array;

function at(s: Scale, i: number): number {
  return typeof s === "number" ? s : s[i]!;
}

function sameScale(a: Scale, b: Scale): boolean {
  if (typeof a === "number" || typeof b === "number") return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function describeScale(s: Scale): string {
  return typeof s === "number" ? String(s) : `per-channel [${Array.from(s.slice(0, 3), (x) => x.toPrecision(3)).join(", ")}${s.length > 3 ? ", …" : ""}]`;
}

function maxOf(s: Scale): number {
  return typeof s === "number" ? s : Math.max(...s);
}

function scaleConst(m: Module, v: Value, base: string, f: (data: Float32Array) => Float32Array): Value {
  const c = v.constant!;
  return m.addConst(m.uniqueConstName(base), tensorType(c.type.shape), f(c.data as Float32Array)).value;
}

/**
 * Rescale a weight op from input scale sIn to output scale sOut: W̃[o, i] = W[o, i]·sIn[i]/sOut[o] and
 * b̃[o] = b[o]/sOut[o] (scalars or per-channel vectors).
 */
function rescaleWeights(m: Module, op: Op, sIn: Scale, sOut: Scale): void {
  const w = op.operands[1]!;
  const base = (w.constant?.name ?? "w").replace(/\.weight$|\.w$/, "");
  const shape = w.type.shape;
  const ops = [...op.operands];
  let outIndex: (flat: number) => number;
  let inIndex: (flat: number) => number;
  if (op.name === "nn.conv") {
    const [mo, cg] = [shape[0]!, shape[1]!];
    const taps = shape.slice(2).reduce((a, b) => a * b, 1);
    const mg = mo / op.num("group");
    outIndex = (f) => Math.floor(f / (cg * taps));
    inIndex = (f) => {
      const o = Math.floor(f / (cg * taps));
      return Math.floor(o / mg) * cg + (Math.floor(f / taps) % cg);
    };
  } else {
    const transB = op.name === "nn.gemm" && op.num("transB") === 1;
    const cols = shape[1]!;
    // B is [N, K] (transB) or [K, N]; output feature n, input feature k.
    outIndex = transB ? (f) => Math.floor(f / cols) : (f) => f % cols;
    inIndex = transB ? (f) => f % cols : (f) => Math.floor(f / cols);
  }
  ops[1] = scaleConst(m, w, `${base}.norm.w`, (d) => d.map((y, f) => (y * at(sIn, inIndex(f))) / at(sOut, outIndex(f))));
  const bias = op.operands[2];
  if (bias) {
    const n = op.name === "nn.conv" ? shape[0]! : op.result.type.shape[op.result.type.shape.length - 1]!;
    const bd = bias.constant!.data as Float32Array;
    if (typeof sOut === "number" || bd.length === n) ops[2] = scaleConst(m, bias, `${base}.norm.b`, (d) => d.map((y, i) => y / at(sOut, i % n)));
    else {
      // A broadcast bias meets per-channel scales: expand it to one value per output.
      const full = new Float32Array(n);
      for (let i = 0; i < n; i++) full[i] = bd[bd.length === 1 ? 0 : i % bd.length]! / at(sOut, i);
      ops[2] = m.addConst(m.uniqueConstName(`${base}.norm.b`), tensorType([n]), full).value;
    }
  }
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
    holdout: { kind: "int", default: 0, doc: "leave out the last min(holdout, N/2) samples (held out for window tuning)" },
    "per-channel": { kind: "bool", default: true, doc: "one λ per output channel (layers off residual paths and without a finite clip), folded into the weights" },
  },
  provides: ["normalized"],
  run(m, ctx) {
    // Errors reported so far (a layer that fails makes its dependents skip silently, not fail again).
    const reported = { count: 0 };
    const fail = (op: Op | undefined, msg: string): void => {
      reported.count++;
      report(ctx, op, msg);
    };
    const p = ctx.options["percentile"] as number;
    if (!(p > 0 && p <= 100)) {
      fail(undefined, `percentile must be in (0, 100], got ${p}`);
      return { changed: false };
    }
    if (m.inputs.length !== 1) {
      fail(undefined, `the model has ${m.inputs.length} inputs; calibration supports one`);
      return { changed: false };
    }
    const given = ctx.inputs["calibration"] as RTensor | undefined;
    const spec = ctx.options["calibration"] as string;
    if (!given && !spec) {
      fail(undefined, "no calibration data: pass --calibration <file.npy | image folder | example:name>");
      return { changed: false };
    }
    let data = calibrationSplit(given ?? loadCalibration(spec, m.inputs[0]!.value.type.shape, { baseDir: ctx.inputs["cwd"] as string | undefined }), ctx.options["holdout"] as number).fit;
    const limit = ctx.options["limit"] as number;
    if (limit > 0 && data.shape[0]! > limit) {
      const per = data.data.length / data.shape[0]!;
      data = { shape: [limit, ...data.shape.slice(1)], dtype: data.dtype, data: data.data.subarray(0, limit * per) as Float32Array };
    }
    const points = m.ops.filter(isNeuronPoint).map((op) => op.result);
    const perChannel = ctx.options["per-channel"] === true;
    const sketches = calibrate(m, points, data, ctx.options["batch"] as number, ctx.log, perChannel);

    let negatives = 0;
    for (let i = 0; i < data.data.length; i++) if ((data.data[i] as number) < 0) negatives++;
    if (negatives > 0) {
      fail(undefined, `${negatives} calibration input values are negative; spike codes carry non-negative inputs — declare the input normalisation (--mean/--std) so tscc folds it into layer 1 and feeds raw pixels`);
      return { changed: false };
    }
    // Scale of every f32 value, in ANN units per normalised 1. The input stays in its own units: the
    // encoder's scale (λ₀) is applied when the first synapses are created.
    const scale = new Map<Value, Scale>();
    scale.set(m.inputs[0]!.value, 1);
    const users = m.users();
    const sourcesOf = (v: Value): Op[] => {
      const op = v.op;
      if (!op) return [];
      if (isNeuronPoint(op) && op.name !== "nn.relu" && op.name !== "nn.clip") return [op];
      if (PASS_THROUGH.has(op.name) || op.name === "nn.relu" || op.name === "nn.clip") return op.operands.filter((x) => !x.constant).flatMap(sourcesOf);
      return [];
    };
    // Per-channel scales stay off residual paths (the shortcut's factor λx/λy is one number) and off
    // layers with a finite clip (their bound would differ per channel).
    const scalarOnly = new Set<Op>();
    for (const op of m.ops) {
      if (op.name === "nn.add") {
        scalarOnly.add(op);
        op.operands.flatMap(sourcesOf).forEach((x) => scalarOnly.add(x));
      }
      if (op.attrs["activation"] === "clip" && Number.isFinite(op.attrs["clip_max"] as number)) scalarOnly.add(op);
    }
    const override = new Map<Op, number>();
    const warned = new Set<Op>();
    const scalarLambda = (op: Op): number => {
      const o = override.get(op);
      if (o !== undefined) return o;
      const lam = sketches.get(op.result)!.all.percentile(p);
      if (!(lam > 0)) {
        if (!warned.has(op)) ctx.diag.report(fmt(M.PassWarning, [`normalize-thresholds: layer never active on the calibration data; λ set to 1`], { loc: op.loc }));
        warned.add(op);
        return 1;
      }
      return lam;
    };
    const lambdaOf = (op: Op): Scale => {
      const whole = scalarLambda(op);
      const ch = sketches.get(op.result)!.channels;
      if (!perChannel || scalarOnly.has(op) || ch.length === 0 || op.name === "nn.relu" || op.name === "nn.clip") return whole;
      // A channel never active on the calibration data keeps the layer's λ.
      return Float64Array.from(ch, (c) => {
        const lam = c.percentile(p);
        return lam > 0 ? lam : whole;
      });
    };
    /** Output scale of a weight op without activation: that of the neuron it feeds (an add), else 1 (logits). */
    const chargeScale = (op: Op): Scale | undefined => {
      const us = users.get(op.result) ?? [];
      if (m.isOutput(op.result) || us.every((u) => u.name === "nn.softmax")) return 1;
      if (us.length === 1 && us[0]!.name === "nn.add" && isNeuronPoint(us[0]!)) return scalarLambda(us[0]!);
      return undefined;
    };
    if (!perChannel) {
      // Branches that meet in a Concat must share one scale: every neuron layer feeding it (through pools
      // and reshapes) takes the largest of their λ (coarser levels for the others, one code for the result).
      // With per-channel scales the channels of each branch simply keep their own.
      for (const op of m.ops) {
        if (op.name !== "nn.concat") continue;
        const srcs = op.operands.flatMap(sourcesOf);
        if (srcs.length < 2) continue;
        const common = Math.max(...srcs.map(scalarLambda));
        for (const s2 of srcs) override.set(s2, common);
      }
    }
    const failedValues = new Set<Value>();
    let changed = false;
    for (const op of m.ops) {
      if (op.operands.some((v) => failedValues.has(v))) {
        op.results.forEach((r2) => failedValues.add(r2));
        continue;
      }
      const errorsBefore = reported.count;
      const r = op.results[0];
      if (!r || r.type.kind !== "tensor" || r.type.dtype !== "f32") continue;
      const inScale = (i: number): Scale | undefined => {
        const v = op.operands[i]!;
        return v.constant ? 1 : scale.get(v);
      };
      if (WEIGHT_OPS.has(op.name)) {
        const sIn = inScale(0);
        const sOut = isNeuronPoint(op) ? lambdaOf(op) : chargeScale(op);
        if (sIn === undefined || sOut === undefined) {
          fail(op, `cannot determine the activation scale around ${op.name} (its output feeds ${(users.get(r) ?? []).map((u) => u.name).join(", ") || "nothing"})`);
          continue;
        }
        if (!op.operands[1]!.constant || (op.operands[2] && !op.operands[2].constant)) {
          fail(op, "weights must be constants");
          continue;
        }
        rescaleWeights(m, op, sIn, sOut);
        if (isNeuronPoint(op)) {
          // A finite clip bound only ever meets a scalar λ (scalarOnly); an infinite one stays infinite.
          const cs = typeof sOut === "number" ? sOut : 1;
          op.attrs = { ...op.attrs, lambda: maxOf(sOut), clip_min: (op.attrs["clip_min"] as number) / cs, clip_max: (op.attrs["clip_max"] as number) / cs };
        }
        scale.set(r, sOut);
        changed = true;
      } else if (op.name === "nn.add") {
        const sa = inScale(0);
        const sb = inScale(1);
        const sOut = isNeuronPoint(op) ? scalarLambda(op) : undefined;
        if (sa === undefined || sb === undefined || sOut === undefined) {
          fail(op, "an Add must end in a ReLU (a residual block) to be normalised");
          continue;
        }
        if (typeof sa !== "number" || typeof sb !== "number") {
          fail(op, "internal: a per-channel scale reached a residual Add");
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
          fail(op, "the activation's input has no known scale");
          continue;
        }
        if (op.name === "nn.clip") {
          if (typeof sIn !== "number" && (op.num("min") > 0 || Number.isFinite(op.num("max")))) {
            fail(op, "a Clip with finite bounds on a per-channel-scaled value; use per-channel=false");
            continue;
          }
          const cs = typeof sIn === "number" ? sIn : 1;
          op.attrs = { ...op.attrs, min: op.num("min") / cs, max: op.num("max") / cs };
        }
        // A standalone activation on an already-normalised value keeps that value's scale.
        op.attrs = { ...op.attrs, lambda: maxOf(sIn) };
        scale.set(r, sIn);
      } else if (PASS_THROUGH.has(op.name)) {
        const ins = op.operands.filter((v) => !v.constant).map((v) => scale.get(v));
        if (ins.some((x) => x === undefined) || ins.length === 0) continue;
        const first = ins[0]!;
        let out: Scale = first;
        if (op.name === "nn.concat") {
          const axis = op.num("axis");
          const rank = r.type.shape.length;
          if ((axis === 1 || axis === 1 - rank) && !ins.every((x) => sameScale(x!, first))) {
            // Per-channel scales concatenate along the channel axis.
            const parts = op.operands.map((v, i) => {
              const sc = ins[i]!;
              const c = v.type.shape[1]!;
              return typeof sc === "number" ? new Float64Array(c).fill(sc) : sc;
            });
            out = Float64Array.from(parts.flatMap((x) => Array.from(x)));
          } else if (!ins.every((x) => sameScale(x!, first))) {
            fail(op, `inputs with different activation scales (${ins.map((x) => describeScale(x!)).join(", ")}) meet here; per-branch rescaling is not implemented`);
            continue;
          }
        } else if ((op.name === "nn.flatten" || op.name === "nn.reshape") && typeof first !== "number") {
          const inShape = op.operands[0]!.type.shape;
          const outShape = r.type.shape;
          const c = inShape[1]!;
          const inner = inShape.slice(2).reduce((a, b) => a * b, 1);
          if (outShape.length !== 2 || outShape[1] !== c * inner) {
            fail(op, "per-channel scales cannot follow this reshape (only a flatten to [N, C·H·W]); use per-channel=false");
            continue;
          }
          out = Float64Array.from({ length: c * inner }, (_, i) => first[Math.floor(i / inner)]!);
        } else if (op.name === "nn.pad" && (op.num("value") !== 0 || (op.attrs["channel_values"] as number[]).length)) {
          const cv = op.attrs["channel_values"] as number[];
          const c = op.operands[0]!.type.shape[1]!;
          const values = cv.length ? cv : new Array<number>(c).fill(op.num("value"));
          op.attrs = { ...op.attrs, value: 0, channel_values: values.map((x, i) => x / at(first, i)) };
        }
        if (op.name === "nn.average_pool" || op.name === "nn.global_average_pool") op.attrs = { ...op.attrs, lambda: maxOf(first) };
        scale.set(r, out);
      }
      if (reported.count > errorsBefore) op.results.forEach((r2) => failedValues.add(r2));
    }
    m.removeDeadCode();
    return { changed };
  },
});

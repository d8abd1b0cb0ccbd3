/**
 * Per-layer windows chosen by the compiler (`--window auto`, `tscc tune`): the window T_l of every TSC
 * population (and the encoder's) that minimises the end-to-end latency Σ T_l on the longest path (or the
 * synaptic additions) subject to accuracy within a tolerance of the ANN, measured on held-out
 * calibration samples with the closed form (tsc.md §8.4: the SNN is exactly the ANN quantised with each
 * layer's window, so no spike is simulated).
 *
 * The search, on a ladder of windows from T_max down to 1 (every integer up to 8, then steps of about
 * 2^¼):
 * 1. the uniform network at T_max must meet the constraint (else there is nothing to tune);
 * 2. the smallest uniform window on the ladder that meets it (bisection, assuming accuracy does not fall
 *    as a window grows);
 * 3. per population, with every other at T_max, the smallest window that still meets it (bisection,
 *    from the best uniform window down);
 * 4. all populations at those windows together; while that misses the constraint, every population
 *    steps one rung back up (the layers' errors add up);
 * 5. greedy descent from that joint state and from the best uniform window: try each population one rung
 *    lower (largest saving first), keep what still meets the constraint and lowers the objective; a
 *    population whose move failed is not tried again (lowering the others only adds error); repeat until
 *    nothing moves. The cheaper of the two ends is the result, so it is never worse than the best
 *    uniform window.
 * A population whose window the network fixes (a quantisation-aware trained layer, T = L, or its
 * quantised input) keeps that window in every step.
 * Every candidate is one closed-form run over the held-out samples (on onnxruntime when it is installed,
 * else the float64 JavaScript closed form); results are cached per window vector.
 *
 * Constraint: with labels, top-1 accuracy ≥ ANN top-1 − tolerance (points); without labels, agreement
 * with the ANN's top-1 ≥ 100 − tolerance. Both must hold with a margin of `margin` standard errors of the
 * held-out estimate (default 1), so that they carry over to new data rather than to this sample only.
 * When the uniform network at T_max holds the tolerance on the samples but not by the full margin (few
 * samples: at 500, ~20 discordant ones already cost 0.9 points), the margin becomes the one T_max has:
 * the tuned network must be as safely within the tolerance as T_max is.
 * labels: the paired difference (SNN right, ANN wrong − SNN wrong, ANN right)/n minus margin·√(b + c)/n,
 * with b, c those discordant counts; agreement: flips/n plus margin·√flips/n. A network that equals its ANN
 * on every sample (a QAT network at T = L) has no margin to pay.
 */
import { interpret, type Logger, type Module, type PassContext } from "../../../ir/index.js";
import type { RTensor } from "../../../ir/interp/tensor.js";
import { annToOnnx } from "../../../backends/emulator/ann-onnx.js";
import { buildNetwork } from "../../../backends/emulator/build-network.js";
import { closedFormOnnx } from "../../../backends/emulator/onnx-export.js";
import { loadOrt } from "../../../backends/emulator/evaluate.js";
import { argmax } from "../../../backends/emulator/run.js";
import { createOrtSession, runClosedForm, runOnnxClosedForm, schedule, type Network, type OrtModule, type RunResult } from "../../../backends/emulator/runtime/index.js";
import { convertToSnn, type ConvertOptions } from "./convert.js";
import { findCuts, SuffixCache } from "./tune-suffix.js";

const DEFAULT_CACHE_BYTES = 256 * 2 ** 20;

export interface TuneOptions {
  /** The largest window (the search starts from the uniform network at this window). */
  readonly maxWindow: number;
  /** Accuracy points the tuned network may lose against the ANN. */
  readonly tolerance: number;
  /** Standard errors of the held-out estimate the constraint must clear (default 1; 0 = the sample only). */
  readonly margin?: number;
  readonly objective: "latency" | "additions";
  /** Labels of the held-out samples (accuracy constraint); without them, agreement with the ANN. */
  readonly labels?: readonly number[];
  /** Bytes of cached intervals the search may hold to run candidates from a layer boundary (default 256 MiB; 0: whole runs only). */
  readonly cacheBytes?: number;
  /** Force the JavaScript closed form even when onnxruntime is installed (tests). */
  readonly engine?: "auto" | "js";
  readonly log: Logger;
}

export interface TunedLayer {
  /** `#k`: position among the populations (`#0` is the encoder). */
  readonly index: string;
  /** ONNX node name (the model input's name for the encoder); "" when it has none. */
  readonly name: string;
  /** The key the windows map uses: the name when unique and non-empty, else the index. */
  readonly key: string;
  /** Smallest window meeting the constraint with every other population at T_max (step 2). */
  readonly alone: number;
  readonly window: number;
}

export interface Measured {
  readonly latency: number;
  /** Fraction of held-out samples whose prediction equals the ANN's. */
  readonly agreement: number;
  /** Top-1 accuracy on the labels (when given). */
  readonly accuracy?: number;
  /** Synaptic additions per inference (objective "additions" only; else NaN). */
  readonly additions: number;
  /**
   * One standard error of the held-out estimate, in the constraint's terms (fraction of samples): with
   * labels √(b + c)/n of the paired accuracy difference (b, c: samples only one of SNN and ANN gets right),
   * else √flips/n of the disagreement.
   */
  readonly standardError: number;
}

export interface TuneResult {
  readonly layers: readonly TunedLayer[];
  /** Windows by layer key (the form `--layer-windows` reads). */
  readonly windows: ReadonlyMap<string, number>;
  readonly tuned: Measured;
  readonly uniform: Measured;
  readonly annAccuracy?: number;
  readonly samples: number;
  readonly evaluations: number;
  /** Of those, runs that started from cached intervals at a layer boundary (tune-suffix.ts). */
  readonly resumed: number;
  readonly ms: number;
  /** The margin the search held (standard errors): the requested one, or less when T_max holds only that. */
  readonly margin: number;
  /** CPU time of this process during the search (user + system; onnxruntime's threads included). */
  readonly cpuMs: number;
  readonly engine: "onnxruntime" | "js";
}

export class TuneError extends Error {}

/** Windows from T_max down to 1: every integer ≤ 8, above that steps of about 2^¼ (…, 16, 13, 11, 10, 8, 7, …). */
export function windowLadder(max: number): number[] {
  const set = new Set<number>();
  for (let t = Math.min(8, max); t >= 1; t--) set.add(t);
  for (let k = 0; ; k++) {
    const t = Math.round(max * 2 ** (-k / 4));
    if (t <= 8) break;
    set.add(t);
  }
  return [...set].sort((a, b) => b - a);
}

interface Evaluation {
  readonly pred: Int32Array;
  readonly latency: number;
  readonly additions: number;
}

/**
 * Tune the windows of `normalized` (a normalised nn module; not modified) on the held-out samples `x`.
 * `conv` gives the conversion options other than the windows (coding must be TSC).
 */
export async function tuneWindows(normalized: Module, ctx: PassContext, conv: Omit<ConvertOptions, "window" | "windows">, x: RTensor, o: TuneOptions): Promise<TuneResult> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const n = x.shape[0]!;
  if (o.labels && o.labels.length !== n) throw new TuneError(`${o.labels.length} labels for ${n} held-out samples`);
  const snn = normalized.clone();
  const converted = convertToSnn(snn, ctx, { ...conv, window: o.maxWindow });
  if (!converted) throw new TuneError("the network does not convert (see the errors above)");
  const base = buildNetwork(snn).network;
  const pops = base.nodes.flatMap((node, i) => (node.kind === "encode" || node.kind === "tsc" ? [i] : []));
  if (pops.length !== converted.length) throw new Error(`internal: ${pops.length} populations for ${converted.length} converted layers`);
  const names = converted.map((l) => l.name);
  const keys = converted.map((l) => (l.name && names.filter((x2) => x2 === l.name).length === 1 ? l.name : l.index));

  const ort = o.engine === "js" ? undefined : await loadOrt();
  const data = x.data as Float32Array;
  const k = base.values[base.outputs[0]!.value]!.shape.reduce((a, b) => a * b, 1);
  const predictions = (logits: Float32Array): Int32Array => Int32Array.from({ length: n }, (_, i) => argmax(logits, i, k));

  const annPred = predictions(await annLogits(normalized, x, ort));
  const withWindows = (ws: readonly number[]): Network => {
    const nodes = base.nodes.slice();
    pops.forEach((i, j) => (nodes[i] = { ...base.nodes[i]!, window: ws[j]! } as Network["nodes"][number]));
    // The read-out keeps its own window: its logits do not depend on it, only the gain of its synapses.
    return { ...base, nodes };
  };
  const counting = o.objective === "additions";
  const cache = new Map<string, Evaluation>();
  const suffixes = new SuffixCache(findCuts(base, pops), o.cacheBytes ?? DEFAULT_CACHE_BYTES);
  let evaluations = 0;
  const evaluate = async (ws: readonly number[]): Promise<Evaluation> => {
    const key = ws.join(",");
    const hit = cache.get(key);
    if (hit) return hit;
    evaluations++;
    const net = withWindows(ws);
    const p = suffixes.plan(net, ws, n);
    const input = p.input ?? data;
    const wanted = suffixes.wanted(p, ws);
    let r: RunResult;
    if (ort) {
      const session = await createOrtSession(ort, closedFormOnnx(p.net, { counters: counting }), 0);
      r = await runOnnxClosedForm(p.net, ort, session, input, n, { counters: counting, recordIntervals: wanted });
      await session.release?.();
    } else r = runClosedForm(p.net, input, n, { recordIntervals: wanted.length > 0 });
    suffixes.record(p, ws, r);
    const additions = ort && !counting ? NaN : (p.additionsBefore + r.counters.synaptic_additions) / n;
    const e = { pred: predictions(r.outputs[0]!), latency: schedule(net).latency, additions };
    cache.set(key, e);
    return e;
  };
  const measure = (e: Evaluation): Measured => {
    let agree = 0;
    let correct = 0;
    let discordant = 0;
    for (let i = 0; i < n; i++) {
      if (e.pred[i] === annPred[i]) agree++;
      if (o.labels && e.pred[i] === o.labels[i]) correct++;
      if (o.labels && (e.pred[i] === o.labels[i]) !== (annPred[i] === o.labels[i])) discordant++;
    }
    const standardError = Math.sqrt(o.labels ? discordant : n - agree) / n;
    return { latency: e.latency, agreement: agree / n, ...(o.labels ? { accuracy: correct / n } : {}), additions: e.additions, standardError };
  };
  let annCorrect = 0;
  if (o.labels) for (let i = 0; i < n; i++) if (annPred[i] === o.labels[i]) annCorrect++;
  const tol = o.tolerance / 100;
  let z = o.margin ?? 1;
  const feasible = (e: Evaluation): boolean => {
    if (!o.labels) {
      let flips = 0;
      for (let i = 0; i < n; i++) if (e.pred[i] !== annPred[i]) flips++;
      return (flips + z * Math.sqrt(flips)) / n <= tol + 1e-12;
    }
    let gained = 0;
    let lost = 0;
    for (let i = 0; i < n; i++) {
      const s = e.pred[i] === o.labels[i];
      const a = annPred[i] === o.labels[i];
      if (s && !a) gained++;
      else if (a && !s) lost++;
    }
    return (gained - lost - z * Math.sqrt(gained + lost)) / n >= -tol - 1e-12;
  };
  /** The largest margin (in standard errors) by which `e` holds the tolerance. */
  const marginHeld = (e: Evaluation): number => {
    const m = measure(e);
    if (m.standardError === 0) return Infinity;
    const slack = o.labels ? m.accuracy! - annCorrect / n + tol : tol - (1 - m.agreement);
    return Math.max(0, slack / m.standardError);
  };
  const cost = (e: Evaluation): number => (o.objective === "latency" ? e.latency : e.additions);

  const ladder = windowLadder(o.maxWindow);
  const rung = (t: number): number => ladder.indexOf(t);
  const P = pops.length;
  // A population whose window the network fixes (a quantised layer: T = L) keeps it throughout.
  const fixed = converted.map((l) => l.fixed);
  const uniform = converted.map((l) => (l.fixed ? l.window : o.maxWindow));
  const uniformEval = await evaluate(uniform);
  const requested = z;
  if (!feasible(uniformEval)) {
    z = 0;
    if (feasible(uniformEval)) z = Math.min(requested, marginHeld(uniformEval));
    else {
      const m = measure(uniformEval);
      const what = o.labels ? `accuracy ${(100 * m.accuracy!).toFixed(2)}% against the ANN's ${((100 * annCorrect) / n).toFixed(2)}%` : `agreement with the ANN ${(100 * m.agreement).toFixed(2)}%`;
      throw new TuneError(`even with every window at ${o.maxWindow} the network misses the tolerance of ${o.tolerance} points (${what} on ${n} held-out samples); raise --window (the largest window the search may use) or the tolerance`);
    }
  }

  // 2. The smallest uniform window that holds (bisection over the ladder; fixed windows stay): the
  //    search below must beat it, so per-layer windows are never worse than one window for all.
  const bisect = async (at: (r: number) => number[], from = 0): Promise<number> => {
    let lo = from;
    let hi = ladder.length - 1;
    if (feasible(await evaluate(at(hi)))) lo = hi;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (feasible(await evaluate(at(mid)))) lo = mid;
      else hi = mid;
    }
    return lo;
  };
  const allAt = (r: number): number[] => uniform.map((t, q) => (fixed[q] ? t : ladder[r]!));
  const uniformRung = await bisect(allAt);
  const bestUniform = allAt(uniformRung);

  // 3. Each population alone: bisection over the ladder (index lo is feasible, hi is the last rung).
  const alone: number[] = [];
  for (let j = 0; j < P; j++) {
    if (fixed[j]) {
      alone.push(uniform[j]!);
      continue;
    }
    // One layer lowered alone errs no more than all of them together: the best uniform rung holds.
    alone.push(ladder[await bisect((r) => uniform.map((t, q) => (q === j ? ladder[r]! : t)), uniformRung)]!);
    o.log.progress("tuning windows: one layer at a time", j + 1, P);
  }

  // 4. Together; step everything back up one rung until the errors that add up fit the tolerance.
  let joint = alone.slice();
  let jointEval = await evaluate(joint);
  while (!feasible(jointEval)) {
    joint = joint.map((t, j) => (fixed[j] ? t : ladder[Math.max(0, rung(t) - 1)]!));
    jointEval = await evaluate(joint);
  }

  // 5. Greedy descent, largest saving first, from the joint state and from the best uniform window; the
  //    cheaper end wins. A population whose next rung missed the constraint (or did not lower the
  //    objective) is not tried again: lowering others only adds error.
  const descend = async (start: number[]): Promise<{ ws: number[]; e: Evaluation }> => {
    let ws = start;
    let e = await evaluate(ws);
    const blocked = fixed.slice();
    for (let moved = true; moved; ) {
      moved = false;
      const order = ws.map((t, j) => ({ j, save: t - (ladder[rung(t) + 1] ?? t) })).filter((c) => c.save > 0 && !blocked[c.j]).sort((a, b) => b.save - a.save || a.j - b.j);
      for (const { j } of order) {
        const next = ws.map((t, q) => (q === j ? ladder[rung(t) + 1]! : t));
        const ne = await evaluate(next);
        if (feasible(ne) && cost(ne) < cost(e)) {
          ws = next;
          e = ne;
          moved = true;
        } else blocked[j] = true;
      }
    }
    return { ws, e };
  };
  const fromJoint = await descend(joint);
  const fromUniform = await descend(bestUniform);
  const best = cost(fromUniform.e) < cost(fromJoint.e) ? fromUniform : fromJoint;
  const cur = best.ws;
  const curEval = best.e;
  const layers = converted.map((l, j) => ({ index: l.index, name: l.name, key: keys[j]!, alone: alone[j]!, window: cur[j]! }));
  return {
    layers,
    windows: new Map(layers.map((l) => [l.key, l.window])),
    tuned: measure(curEval),
    uniform: measure(uniformEval),
    ...(o.labels ? { annAccuracy: annCorrect / n } : {}),
    samples: n,
    evaluations,
    resumed: suffixes.suffixRuns,
    ms: performance.now() - t0,
    cpuMs: (({ user, system }) => (user + system) / 1000)(process.cpuUsage(cpu0)),
    engine: ort ? "onnxruntime" : "js",
    margin: z,
  };
}

/** The ANN's logits on `x`: onnxruntime on the module's ONNX form when possible, else the interpreter. */
async function annLogits(m: Module, x: RTensor, ort: OrtModule | undefined): Promise<Float32Array> {
  const bytes = ort ? annToOnnx(m) : undefined;
  if (ort && bytes) {
    const session = await createOrtSession(ort, bytes, 0);
    const input = m.inputs[0]!.name;
    const r = await session.run({ [input]: new ort.Tensor("float32", x.data as Float32Array, x.shape) });
    await session.release?.();
    return Float32Array.from(r[m.outputs[0]!.name]!.data as Float32Array);
  }
  const out = interpret(m, { [m.inputs[0]!.name]: x });
  return out[m.outputs[0]!.name]!.data as Float32Array;
}

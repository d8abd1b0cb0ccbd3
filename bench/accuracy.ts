/**
 * Table 1 — accuracy vs window/steps, TSC against the strong rate-coded baseline, on both networks:
 * - TSC (defaults: φ = ½, round encoder, p = 99.9, average pools merged) at T ∈ {4 … 128}, closed form
 *   (its counts equal the event engine's, tested), on `--images` test images;
 * - rate coding (reset by subtraction, same normalisation, constant-current input into layer 1) with
 *   v-init 0.5 and 0 (and, for networks with average pooling, a spiking average pool), on the rate engine
 *   with onnxruntime synapses (rate-onnx.ts; checked against the event engine on the first images of every
 *   run) with `checkpoints` (one run gives every shorter T exactly): a short run up to T = 128 on many
 *   images and a long run up to T = 1024 on fewer; Poisson input as an extra row;
 * - the rate/TSC ratios at equal accuracy: the first T at which each coding is within 0.5 percentage
 *   points of the ANN on the same images (and, more robust, the T from which it stays there), against
 *   the strongest rate variant; the targets of the issue; a per-layer breakdown of the additions.
 */
import type { BenchContext } from "./lib/context.js";
import type { Engine } from "./lib/jobs.js";
import type { Aggregate } from "./lib/pool.js";
import { argmaxes, count, makeRow, markdownTable, matchRate, pct, pts, ratio, type Row } from "./lib/report.js";

export const TSC_WINDOWS = [4, 8, 16, 32, 64, 128];
export const RATE_STEPS = [8, 16, 32, 64, 128, 256, 512, 1024];
/** "Within 0.5%" of the ANN: 0.5 percentage points of top-1 accuracy. */
export const EQUAL_TOL = 0.005;

export interface RateVariant {
  readonly key: string;
  readonly label: string;
  readonly opts: Record<string, string>;
  /** Only for networks with average pooling. */
  readonly avgPoolOnly?: boolean;
}

const RATE = { coding: "rate", reset: "subtract", percentile: "99.9" };

/**
 * The baseline candidates; the ratios use the strongest (fewest synaptic additions at equal accuracy).
 * With average pooling, a spiking average-pool layer is a candidate too: for rate coding it saves more
 * additions (k² fan-out per spike, every step) than it costs in accuracy.
 */
export const RATE_VARIANTS: readonly RateVariant[] = [
  { key: "current-v0.5", label: "rate, current input, v-init 0.5", opts: { ...RATE, "rate-input": "current", "v-init": "0.5", avgpool: "merge" } },
  { key: "current-v0", label: "rate, current input, v-init 0 (SNN Toolbox)", opts: { ...RATE, "rate-input": "current", "v-init": "0", avgpool: "merge" } },
  { key: "current-v0.5-spikepool", label: "rate, current input, v-init 0.5, spiking avg-pool", opts: { ...RATE, "rate-input": "current", "v-init": "0.5", avgpool: "spike" }, avgPoolOnly: true },
];
export const POISSON_VARIANT: RateVariant = { key: "poisson-v0.5", label: "rate, Poisson input, v-init 0.5 (extra row, not the comparison)", opts: { ...RATE, "rate-input": "poisson", "v-init": "0.5", avgpool: "merge" } };

export interface RateCurve {
  readonly variant: RateVariant;
  /**
   * The sweep: T ≤ the short run's T_max from the short run (more images), larger T from the long run
   * (T_max, fewer images). Each row's accuracy is compared with the ANN on that row's own images.
   */
  readonly rows: Row[];
  /** The long run (T up to T_max), every checkpoint. */
  readonly long: Row[];
  /** The short run (T up to rateShortTmax on more images), every checkpoint; empty if not run. */
  readonly short: Row[];
  /** Engine seconds per image of the long run (one core). */
  readonly secondsPerImage: number;
  /** The onnxruntime engine against the event engine: short run (if any), then long run. */
  readonly checks: readonly EngineCheck[];
}

export interface EqualPoint {
  /** First row within EQUAL_TOL of the ANN (undefined: never in the sweep). */
  readonly first?: Row;
  /** First row from which every larger T of the sweep stays within EQUAL_TOL. */
  readonly stays?: Row;
}

/** TSC accuracy on the first `n` images (a rate subset), per T. */
export interface SubsetAccuracy {
  readonly n: number;
  readonly rows: { T: number; accuracy: number; annAccuracy: number }[];
}

export interface ModelAccuracy {
  readonly model: string;
  readonly n: number;
  readonly annFull: number;
  readonly tsc: Row[];
  /** TSC on the rate subsets (the first N images of the same runs). */
  readonly tscOnSubsets: SubsetAccuracy[];
  readonly rate: RateCurve[];
  readonly poisson?: RateCurve;
  readonly tscEqual: EqualPoint;
  readonly rateEqual: Record<string, EqualPoint>;
  /** Key of the rate variant used for the ratios (the strongest), per equal-accuracy definition. */
  readonly baseline: { first?: string; stays?: string };
}

export function equalPoint<R extends { accuracy: number; annAccuracy: number }>(rows: readonly R[]): { first?: R; stays?: R } {
  const ok = rows.map((r) => r.accuracy >= r.annAccuracy - EQUAL_TOL - 1e-12);
  const fi = ok.indexOf(true);
  let si = -1;
  for (let i = ok.length - 1; i >= 0 && ok[i]; i--) si = i;
  return { ...(fi >= 0 ? { first: rows[fi]! } : {}), ...(si >= 0 ? { stays: rows[si]! } : {}) };
}

const TSC_DEFAULTS = { coding: "tsc", phi: "0.5", rounding: "round", percentile: "99.9", avgpool: "merge" };

/** Run a TSC configuration in closed form on the first n images and return its row. */
export async function tscRow(ctx: BenchContext, model: string, opts: Record<string, string>, variant: string, n: number, engine: Engine = "closed"): Promise<{ row: Row; agg: Aggregate }> {
  const key = JSON.stringify([model, { ...TSC_DEFAULTS, ...opts }, n, engine]);
  const hit = ctx.rows.get(key) as { row: Row; agg: Aggregate } | undefined;
  if (hit) return { row: { ...hit.row, variant }, agg: hit.agg };
  const T = Number(opts["window"]);
  const c = await ctx.conv.convert(ctx.model(model), { ...TSC_DEFAULTS, ...opts });
  const agg = await ctx.pool.run(c.network, { engine, start: 0, end: n, chunk: 250, label: `${model} TSC ${variant} T=${T}` });
  const ann = await ctx.annPredictions(model);
  const row = makeRow({ model, coding: "tsc", variant, T, latency: agg.latency, n }, agg.logits, agg.counters, ctx.ds.labels, ann);
  ctx.rows.set(key, { row, agg: { ...agg, checkpoints: undefined } });
  return { row, agg };
}

/** One rate run of `window` steps on the first n images; one row per checkpoint. */
async function rateRun(ctx: BenchContext, model: string, variant: RateVariant, n: number, window: number): Promise<{ rows: Row[]; secondsPerImage: number; check: EngineCheck }> {
  const steps = RATE_STEPS.filter((t) => t <= window);
  const c = await ctx.conv.convert(ctx.model(model), { ...variant.opts, window: String(window) });
  const chunk = Math.max(1, Math.min(window > 256 ? 4 : 25, Math.ceil(n / (4 * Math.max(1, ctx.opts.workers)))));
  const agg = await ctx.pool.run(c.network, { engine: "rate-onnx", start: 0, end: n, chunk, checkpoints: steps, label: `${model} ${variant.key} T=${window} n=${n}` });
  const ann = await ctx.annPredictions(model);
  const rows = agg.checkpoints!.map((cp) => makeRow({ model, coding: "rate", variant: variant.key, T: cp.step, latency: cp.step, n }, cp.logits, cp.counters, ctx.ds.labels, ann));
  // The onnxruntime engine sums charges in float32, the event engine (the reference) in float64: check
  // the two on the first images of every run and report how far they differ.
  const m = Math.min(n, window <= 128 ? 8 : 2);
  const ev = await ctx.pool.run(c.network, { engine: "event", start: 0, end: m, chunk: 1, label: `${model} ${variant.key} T=${window} event check n=${m}` });
  const on = await ctx.pool.run(c.network, { engine: "rate-onnx", start: 0, end: m, chunk: 1 });
  const same = matchRate(argmaxes(on.logits, m), argmaxes(ev.logits, m), m) * m;
  const check: EngineCheck = { images: m, samePredictions: Math.round(same), additionsEvent: ev.counters.synaptic_additions, additionsOnnx: on.counters.synaptic_additions };
  return { rows, secondsPerImage: agg.engineSeconds / n, check };
}

/** How the onnxruntime rate engine compared with the event engine on the first images of a run. */
export interface EngineCheck {
  readonly images: number;
  readonly samePredictions: number;
  /** Synaptic additions over those images: event engine, onnxruntime engine (re-run on the same images). */
  readonly additionsEvent: number;
  readonly additionsOnnx: number;
}

/** The rate sweep of one variant: a long run (T_max, `longN` images) and a short run (T ≤ shortTmax, `shortN` images). */
export async function rateCurve(ctx: BenchContext, model: string, variant: RateVariant, longN: number, shortN: number): Promise<RateCurve> {
  const { rateTmax, rateShortTmax } = ctx.opts;
  const long = await rateRun(ctx, model, variant, longN, rateTmax);
  const shortRun = shortN > longN && rateShortTmax < rateTmax ? await rateRun(ctx, model, variant, shortN, rateShortTmax) : undefined;
  const short = shortRun?.rows ?? [];
  const rows = [...short, ...long.rows.filter((r) => !short.some((s) => s.T === r.T))];
  return { variant, rows, long: long.rows, short, secondsPerImage: long.secondsPerImage, checks: [...(shortRun ? [shortRun.check] : []), long.check] };
}

export async function accuracySuite(ctx: BenchContext): Promise<ModelAccuracy[]> {
  const { opts } = ctx;
  const results: ModelAccuracy[] = [];
  for (const model of opts.models) {
    const n = Math.min(opts.images, ctx.ds.n);
    const longN = Math.min(opts.rateImages[model] ?? 0, ctx.ds.n);
    const shortN = Math.min(opts.rateShortImages[model] ?? 0, ctx.ds.n);
    const poissonN = Math.min(opts.poissonImages[model] ?? 0, ctx.ds.n);
    const ann = await ctx.annPredictions(model);
    const annFull = matchRate(ann, ctx.ds.labels, n);
    // The bench's in-process conversion must equal the public compile() (checked once per model).
    ctx.log.progress(`${model}: checking the conversion against compile()`, 0, 1);
    await ctx.conv.checkAgainstCompile(ctx.model(model), { coding: "tsc", window: "32" }, ctx.ds.images.subarray(0, 16 * ctx.ds.per), 16);
    ctx.log.progress(`${model}: checking the conversion against compile()`, 1, 1);
    const tsc: Row[] = [];
    const subsets = [...new Set([shortN, longN])].filter((m) => m > 0 && m < n).sort((a, b) => b - a);
    const tscOnSubsets: SubsetAccuracy[] = subsets.map((m) => ({ n: m, rows: [] }));
    for (const T of TSC_WINDOWS) {
      const { row, agg } = await tscRow(ctx, model, { window: String(T) }, "default", n);
      tsc.push(row);
      const k = agg.logits.length / n;
      for (const s of tscOnSubsets) {
        const pred = argmaxes(agg.logits.subarray(0, s.n * k), s.n);
        s.rows.push({ T, accuracy: matchRate(pred, ctx.ds.labels, s.n), annAccuracy: matchRate(ann, ctx.ds.labels, s.n) });
      }
    }
    const rate: RateCurve[] = [];
    const pooled = await ctx.conv.hasAveragePool(ctx.model(model));
    if (longN > 0) for (const v of RATE_VARIANTS) if (pooled || !v.avgPoolOnly) rate.push(await rateCurve(ctx, model, v, longN, shortN));
    const poisson = poissonN > 0 ? await rateCurve(ctx, model, POISSON_VARIANT, poissonN, 0) : undefined;
    const rateEqual: Record<string, EqualPoint> = {};
    for (const r of rate) rateEqual[r.variant.key] = equalPoint(r.rows);
    const baseline = { ...strongest(rate, rateEqual, "first"), ...strongest(rate, rateEqual, "stays") };
    const res: ModelAccuracy = { model, n, annFull, tsc, tscOnSubsets, rate, ...(poisson ? { poisson } : {}), tscEqual: equalPoint(tsc), rateEqual, baseline };
    results.push(res);
    printModel(ctx, res);
    ctx.save();
  }
  printTargets(ctx, results);
  return results;
}

/**
 * The strongest rate variant under one equal-accuracy definition: the one reaching the criterion with the
 * fewest synaptic additions (ties: lower latency); none if no variant reaches it.
 */
function strongest(rate: readonly RateCurve[], eq: Record<string, EqualPoint>, which: "first" | "stays"): { first?: string; stays?: string } {
  const reaching = rate.filter((r) => eq[r.variant.key]![which]);
  if (!reaching.length) return {};
  const at = (r: RateCurve): Row => eq[r.variant.key]![which]!;
  const best = reaching.reduce((a, b) => (at(b).ops.synaptic_additions < at(a).ops.synaptic_additions || (at(b).ops.synaptic_additions === at(a).ops.synaptic_additions && at(b).latency < at(a).latency) ? b : a));
  return { [which]: best.variant.key };
}

const N = (x: number): string => x.toLocaleString("en-US");

function printModel(ctx: BenchContext, r: ModelAccuracy): void {
  const { out } = ctx;
  const spec = ctx.model(r.model);
  out.print(`### ${r.model} (${spec.about})`);
  out.print();
  out.print(`ANN (onnxruntime-node, original ONNX): top-1 ${pct(r.annFull)} on the first ${N(r.n)} test images. (Checked: the bench's in-process conversion gives the same closed-form logits as \`compile()\` on 16 images.)`);
  out.print();
  out.print(`**TSC** (φ = ½, round encoder, p = 99.9, average pools merged; closed form, counts exact), ${N(r.n)} images:`);
  out.print();
  out.print(
    markdownTable(
      ["T (per layer)", "N_w", "latency N_w·T", "top-1", "Δ vs ANN (pts)", "agreement", ...r.tscOnSubsets.map((s) => `top-1, first ${N(s.n)}`), "syn. additions", "memory reads", "neuron updates", "spikes"],
      r.tsc.map((x, i) => [
        String(x.T),
        String(x.latency / x.T),
        String(x.latency),
        pct(x.accuracy),
        pts(x.accuracy - x.annAccuracy),
        pct(x.agreement),
        ...r.tscOnSubsets.map((s) => `${pct(s.rows[i]!.accuracy)} (${pts(s.rows[i]!.accuracy - s.rows[i]!.annAccuracy)})`),
        count(x.ops.synaptic_additions),
        count(x.ops.memory_reads),
        count(x.ops.neuron_updates),
        count(x.ops.spikes),
      ]),
    ),
  );
  if (r.tscOnSubsets.length) {
    out.print(`(top-1 on the first N images, with Δ vs the ANN on the same images in pts: the images of the rate runs.)`);
    out.print();
  }
  const curves = [...r.rate, ...(r.poisson ? [r.poisson] : [])];
  for (const c of curves) {
    const longN = c.long[0]!.n;
    const shortN = c.short[0]?.n;
    const tmax = c.long.at(-1)!.T;
    const where = shortN
      ? `T ≤ ${c.short.at(-1)!.T}: one run on the first ${N(shortN)} test images; T > ${c.short.at(-1)!.T}: one run at T = ${tmax} on the first ${N(longN)}`
      : `one run at T = ${tmax} on the first ${N(longN)} test images`;
    const checks = c.checks
      .map((k) => `${k.samePredictions}/${k.images} same predictions, synaptic additions ${k.additionsOnnx === k.additionsEvent ? "identical" : `${(((k.additionsOnnx - k.additionsEvent) / k.additionsEvent) * 100).toFixed(3)}% apart`}`)
      .join("; ");
    out.print(`**${c.variant.label}**, reset by subtraction, p = 99.9${c.variant.opts["avgpool"] === "merge" ? ", average pools merged" : ""}; synapses on onnxruntime (float32 charges), IF dynamics in JavaScript, with checkpoints (${where}; ${c.secondsPerImage.toFixed(2)} s per image at T = ${tmax} on one core). Checked against the event engine (float64) on the first images of each run: ${checks}.`);
    out.print();
    const longAt = new Map(c.long.map((x) => [x.T, x]));
    out.print(
      markdownTable(
        ["T = latency", "images", "top-1", "ANN, same images", "Δ vs ANN (pts)", "agreement", "syn. additions", "memory reads", "neuron updates", "input MACs", "spikes", ...(shortN ? [`top-1 (Δ), first ${N(longN)}`] : [])],
        c.rows.map((x) => {
          const l = longAt.get(x.T)!;
          return [
            String(x.T),
            N(x.n),
            pct(x.accuracy),
            pct(x.annAccuracy),
            pts(x.accuracy - x.annAccuracy),
            pct(x.agreement),
            count(x.ops.synaptic_additions),
            count(x.ops.memory_reads),
            count(x.ops.neuron_updates),
            count(x.ops.input_macs),
            count(x.ops.spikes),
            ...(shortN ? [`${pct(l.accuracy)} (${pts(l.accuracy - l.annAccuracy)})`] : []),
          ];
        }),
      ),
    );
  }
  if (!r.rate.length) return;
  out.print(`**Equal accuracy** (first T within ${100 * EQUAL_TOL} pts of the ANN on the same images; "stays from" = within it for that T and every larger T of the sweep):`);
  out.print();
  const rows: string[][] = [];
  const tscLine = (name: string, images: number, e: { first?: { T: number; accuracy: number; annAccuracy: number }; stays?: { T: number } }): void => {
    const f = e.first ? r.tsc.find((x) => x.T === e.first!.T) : undefined;
    rows.push([name, N(images), e.first ? String(e.first.T) : "never", f ? String(f.latency) : "–", e.stays ? String(e.stays.T) : "never", e.first ? `${pct(e.first.accuracy)} (${pts(e.first.accuracy - e.first.annAccuracy)})` : "–", f ? count(f.ops.synaptic_additions) : "–", f ? count(f.ops.memory_reads) : "–"]);
  };
  tscLine("TSC", r.n, r.tscEqual);
  for (const s of r.tscOnSubsets) tscLine(`TSC, first ${N(s.n)} images`, s.n, equalPoint(s.rows));
  for (const c of r.rate) {
    const e = r.rateEqual[c.variant.key]!;
    const f = e.first;
    const mark = [c.variant.key === r.baseline.first ? "first" : "", c.variant.key === r.baseline.stays ? "stays" : ""].filter(Boolean).join(", ");
    rows.push([`${c.variant.label}${mark ? ` ← baseline (${mark})` : ""}`, f ? N(f.n) : "–", f ? String(f.T) : "never", f ? String(f.latency) : "–", e.stays ? String(e.stays.T) : "never", f ? `${pct(f.accuracy)} (${pts(f.accuracy - f.annAccuracy)})` : "–", f ? count(f.ops.synaptic_additions) : "–", f ? count(f.ops.memory_reads) : "–"]);
  }
  out.print(markdownTable(["coding", "images", "first T", "latency", "stays from T", "top-1 (Δ pts)", "syn. additions", "memory reads"], rows));
  for (const which of ["first", "stays"] as const) {
    const q = equalRatios(r, which);
    const what = which === "first" ? "first T within the tolerance (the issue's definition)" : "T from which each stays within it";
    if (q) {
      out.print(
        `Rate/TSC at equal accuracy, ${what}: baseline ${q.baselineLabel} at T = ${q.rate.T} vs TSC at T = ${q.tsc.T} (N_w·T = ${q.tsc.latency}): ` +
          `synaptic additions **${ratio(q.adds)}**, memory reads ${ratio(q.reads)}, latency **${ratio(q.latency)}**, neuron updates ${ratio(q.neuron)}.`,
      );
    } else out.print(`Rate/TSC at equal accuracy, ${what}: not defined (a coding never gets within the tolerance in the sweep).`);
    out.print();
  }
}

export interface Ratios {
  readonly tsc: Row;
  readonly rate: Row;
  readonly baselineLabel: string;
  readonly adds: number;
  readonly reads: number;
  readonly latency: number;
  readonly neuron: number;
}

export function equalRatios(r: ModelAccuracy, which: "first" | "stays" = "first"): Ratios | undefined {
  const tsc = r.tscEqual[which];
  const curve = r.rate.find((c) => c.variant.key === r.baseline[which]);
  const rate = curve ? r.rateEqual[curve.variant.key]![which] : undefined;
  if (!tsc || !rate || !curve) return undefined;
  return {
    tsc,
    rate,
    baselineLabel: curve.variant.label,
    adds: rate.ops.synaptic_additions / tsc.ops.synaptic_additions,
    reads: rate.ops.memory_reads / tsc.ops.memory_reads,
    latency: rate.latency / tsc.latency,
    neuron: rate.ops.neuron_updates / tsc.ops.neuron_updates,
  };
}

function printTargets(ctx: BenchContext, results: readonly ModelAccuracy[]): void {
  const { out } = ctx;
  out.print("### Targets");
  out.print();
  const rows: string[][] = [];
  for (const r of results) {
    const at = (T: number): Row | undefined => r.tsc.find((x) => x.T === T);
    for (const [T, tol] of [[32, 0.002], [16, 0.01]] as const) {
      const x = at(T);
      if (!x) continue;
      const d = x.accuracy - x.annAccuracy;
      rows.push([r.model, `TSC top-1 within ${100 * tol} pts of the ANN at T = ${T}`, `${pts(d)} pts (${pct(x.accuracy)} vs ${pct(x.annAccuracy)}, ${x.n} images)`, d >= -tol - 1e-12 ? "met" : "missed"]);
    }
    const q = equalRatios(r, "first");
    const qs = equalRatios(r, "stays");
    const both = (f: (x: Ratios) => number): string => `${q ? ratio(f(q)) : "undefined"} (stays: ${qs ? ratio(f(qs)) : "undefined"})`;
    if (r.model === "vgg-bn") {
      rows.push([r.model, "≥ 30× fewer synaptic additions than rate at equal accuracy", both((x) => x.adds), q ? (q.adds >= 30 ? "met" : "missed") : "–"]);
      rows.push([r.model, "≥ 7× lower end-to-end latency than rate at equal accuracy", both((x) => x.latency), q ? (q.latency >= 7 ? "met" : "missed") : "–"]);
    } else if (q) {
      rows.push([r.model, "(no target) rate/TSC synaptic additions at equal accuracy", both((x) => x.adds), "reported"]);
      rows.push([r.model, "(no target) rate/TSC latency at equal accuracy", both((x) => x.latency), "reported"]);
    }
  }
  out.print(markdownTable(["network", "target", "measured", "status"], rows, ["l", "l", "r", "l"]));
  // Where the additions go: per layer, TSC at its equal-accuracy T against the baseline at its T.
  for (const r of results) {
    const q = equalRatios(r, "first");
    if (!q) continue;
    out.print(`Per-layer synaptic additions per inference, ${r.model}: TSC at T = ${q.tsc.T} and ${q.baselineLabel} at T = ${q.rate.T} (synapse layers in network order, named by their first ONNX node; the rate current input's W·x is not a synaptic addition: ${count(q.rate.ops.input_macs)} input MACs, once per image):`);
    out.print();
    const synapses = (x: Row): Row["layers"] => x.layers.filter((l) => l.kind === "conv" || l.kind === "dense" || l.kind === "scale");
    const ts = synapses(q.tsc);
    const rs = synapses(q.rate);
    const rows: string[][] = [];
    // Rows pair layers of the same ONNX node; a layer only one side has (the rate variant's spiking
    // average pools) gets a row of its own.
    for (const [k, [a, b]] of alignByName(ts, rs).entries()) {
      rows.push([
        String(k + 1),
        a ? `${a.name} (${a.kind})` : "",
        a ? count(a.synaptic_additions) : "",
        a ? pct(a.synaptic_additions / q.tsc.ops.synaptic_additions, 1) : "",
        b ? `${b.name} (${b.kind})` : "",
        b ? (b.input_macs > 0 && b.synaptic_additions === 0 ? `(${count(b.input_macs)} input MACs)` : count(b.synaptic_additions)) : "",
        b ? pct(b.synaptic_additions / q.rate.ops.synaptic_additions, 1) : "",
      ]);
    }
    out.print(markdownTable(["#", "TSC synapse layer", "additions", "share", "rate synapse layer", "additions", "share"], rows, ["r", "l", "r", "r", "l", "r", "r"]));
  }
}

/** Pairs two layer sequences in order by name: equal names share a pair, the others pair with undefined. */
export function alignByName<T extends { name: string }>(xs: readonly T[], ys: readonly T[]): [T | undefined, T | undefined][] {
  const out: [T | undefined, T | undefined][] = [];
  let i = 0;
  let j = 0;
  while (i < xs.length || j < ys.length) {
    const x = xs[i];
    const y = ys[j];
    if (x && y && x.name === y.name) {
      out.push([x, y]);
      i++;
      j++;
    } else if (y && (!x || !xs.slice(i).some((z) => z.name === y.name))) {
      out.push([undefined, y]);
      j++;
    } else {
      out.push([x, undefined]);
      i++;
    }
  }
  return out;
}

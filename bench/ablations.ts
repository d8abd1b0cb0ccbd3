/**
 * Table 2 — ablations of the TSC conversion on `--images` test images, on the fast engine (closed-form.onnx
 * on onnxruntime, counts in the graph; checked against the float64 closed form on the defaults):
 * - rounding: φ = ½ with the round encoder (default) vs φ = 0 with the floor encoder (a pure floor code);
 * - normalisation percentile p ∈ {99, 99.9, 99.99, 100};
 * - average pooling merged into the next layer (default) vs a spiking average-pool layer (tsc.md §6.3:
 *   merging costs k² more fan-out, spiking costs one more window and one more floor) — only for
 *   networks with average pools.
 * Every row: top-1, Δ vs the ANN on the same images, synaptic additions, latency.
 */
import { EQUAL_TOL, equalPoint, TSC_WINDOWS, tscRow } from "./accuracy.js";
import type { BenchContext } from "./lib/context.js";
import { argmaxes, count, markdownTable, matchRate, pct, pts, ratio, type Row } from "./lib/report.js";

export const PERCENTILES = [99, 99.9, 99.99, 100];
export const PERCENTILE_WINDOWS = [8, 16, 32, 64];

interface Variant {
  readonly label: string;
  readonly opts: Record<string, string>;
}

export interface Ablation {
  readonly model: string;
  readonly name: string;
  readonly rows: Row[];
}

async function sweep(ctx: BenchContext, model: string, variants: readonly Variant[], windows: readonly number[], n: number): Promise<Row[]> {
  const rows: Row[] = [];
  for (const v of variants) for (const T of windows) rows.push((await tscRow(ctx, model, { ...v.opts, window: String(T) }, v.label, n, "closed-onnx")).row);
  return rows;
}

function printSweep(ctx: BenchContext, title: string, rows: readonly Row[]): void {
  const { out } = ctx;
  out.print(title);
  out.print();
  out.print(
    markdownTable(
      ["variant", "T", "latency N_w·T", "top-1", "Δ vs ANN (pts)", "agreement", "syn. additions", "memory reads", "neuron updates"],
      rows.map((r) => [r.variant, String(r.T), String(r.latency), pct(r.accuracy), pts(r.accuracy - r.annAccuracy), pct(r.agreement), count(r.ops.synaptic_additions), count(r.ops.memory_reads), count(r.ops.neuron_updates)]),
    ),
  );
  // Equal-accuracy summary per variant.
  const byVariant = new Map<string, Row[]>();
  for (const r of rows) byVariant.set(r.variant, [...(byVariant.get(r.variant) ?? []), r]);
  const summary = [...byVariant].map(([v, rs]) => {
    const e = equalPoint(rs);
    const f = e.first;
    return [v, f ? String(f.T) : "never", f ? String(f.latency) : "–", f ? pct(f.accuracy) : "–", f ? count(f.ops.synaptic_additions) : "–", e.stays ? String(e.stays.T) : "never"];
  });
  out.print(`First T within ${100 * EQUAL_TOL} pts of the ANN, per variant:`);
  out.print();
  out.print(markdownTable(["variant", "first T", "latency", "top-1", "syn. additions", "stays from T"], summary));
}

export async function ablationSuite(ctx: BenchContext): Promise<Ablation[]> {
  const { opts, out } = ctx;
  const n = Math.min(opts.images, ctx.ds.n);
  const results: Ablation[] = [];
  // The deeper network first: it is the one the issue asks about.
  const models = [...opts.models].sort((a, b) => (a === "vgg-bn" ? -1 : b === "vgg-bn" ? 1 : 0));
  for (const model of models) {
    out.print(`### Ablations: ${model} (${n.toLocaleString("en-US")} test images; defaults φ = ½, round encoder, p = 99.9, avgpool merge)`);
    out.print();
    // The fast engine computes in float32: check it against the float64 closed form on the defaults.
    const m = Math.min(n, 1000);
    const fast = await tscRow(ctx, model, { window: "32" }, "check", m, "closed-onnx");
    const exact = await tscRow(ctx, model, { window: "32" }, "check", m, "closed");
    const k = exact.agg.logits.length / m;
    const same = matchRate(argmaxes(fast.agg.logits, m), argmaxes(exact.agg.logits, m), m);
    let maxErr = 0;
    for (let i = 0; i < m * k; i++) maxErr = Math.max(maxErr, Math.abs(fast.agg.logits[i]! - exact.agg.logits[i]!));
    const dAdd = (fast.row.ops.synaptic_additions - exact.row.ops.synaptic_additions) / exact.row.ops.synaptic_additions;
    out.print(
      `Engine: the fast engine (closed-form.onnx on onnxruntime, float32, counts in the graph). Against the float64 closed form at T = 32 on the first ${m.toLocaleString("en-US")} images: ` +
        `${pct(same)} same predictions, largest logit difference ${maxErr.toPrecision(3)}, synaptic additions ${dAdd === 0 ? "identical" : `${(dAdd * 100).toFixed(4)}% apart (floor-boundary ties)`}.`,
    );
    out.print();
    const phi = await sweep(
      ctx,
      model,
      [
        { label: "φ=½, round encoder (default)", opts: {} },
        { label: "φ=0, floor encoder", opts: { phi: "0", rounding: "floor" } },
      ],
      TSC_WINDOWS,
      n,
    );
    printSweep(ctx, `**Rounding offset φ** (${model}):`, phi);
    ctx.save();
    results.push({ model, name: "phi", rows: phi });

    const pc = await sweep(ctx, model, PERCENTILES.map((p) => ({ label: `p=${p}${p === 99.9 ? " (default)" : p === 100 ? " (max)" : ""}`, opts: { percentile: String(p) } })), PERCENTILE_WINDOWS, n);
    printSweep(ctx, `**Normalisation percentile p** (${model}):`, pc);
    ctx.save();
    results.push({ model, name: "percentile", rows: pc });

    if (await ctx.conv.hasAveragePool(ctx.model(model))) {
      const ap = await sweep(
        ctx,
        model,
        [
          { label: "avgpool=merge (default)", opts: { avgpool: "merge" } },
          { label: "avgpool=spike", opts: { avgpool: "spike" } },
        ],
        TSC_WINDOWS,
        n,
      );
      printSweep(ctx, `**Average pooling: merged into the next layer vs a spiking average-pool layer** (${model}):`, ap);
      results.push({ model, name: "avgpool", rows: ap });
      const merge = ap.filter((r) => r.variant.startsWith("avgpool=merge"));
      const spike = ap.filter((r) => r.variant.startsWith("avgpool=spike"));
      const lines = merge.map((m, i) => {
        const s = spike[i]!;
        return [String(m.T), pts(s.accuracy - m.accuracy), ratio(s.ops.synaptic_additions / m.ops.synaptic_additions), ratio(s.latency / m.latency)];
      });
      out.print(`Spiking avg-pool relative to merged, per T (accuracy difference, additions ratio, latency ratio):`);
      out.print();
      out.print(markdownTable(["T", "Δ top-1 (pts)", "additions spike/merge", "latency spike/merge"], lines));
      const em = equalPoint(merge).first;
      const es = equalPoint(spike).first;
      if (em && es) {
        out.print(
          `At equal accuracy (first T within ${100 * EQUAL_TOL} pts): merge T = ${em.T} (${count(em.ops.synaptic_additions)} additions, latency ${em.latency}) vs spike T = ${es.T} (${count(es.ops.synaptic_additions)} additions, latency ${es.latency}): ` +
            `spike/merge additions ${ratio(es.ops.synaptic_additions / em.ops.synaptic_additions)}, latency ${ratio(es.latency / em.latency)}.`,
        );
        out.print();
      }
    } else {
      out.print(`(${model} has no average pooling: the avgpool ablation does not apply.)`);
      out.print();
    }
  }
  return results;
}

/**
 * The effective precision the quantiser chose per layer (quantization.json, resource-report.json and
 * .md): the layer scale Θ and its threshold classes Θ/2^k, the weight exponents, how many of the 8
 * mantissa bits each row's largest weight uses, how many non-zero weights became 0, and the channels
 * whose fan-in was split. The accuracy cost of these choices is measured by `tscc run` (bit-accurate
 * registers against the float TSC network).
 */
import type { Pop } from "./model.js";
import { groupScale, quantizeRows, statsOf, weightRows, type QuantStats } from "./quant.js";
import type { State } from "./state.js";

export interface LayerPrecision {
  readonly layer: string;
  readonly theta: number;
  /** [class k, channels] pairs (Θ_c = Θ/2^k); [[0, C]] without classes. */
  readonly threshold_classes: [number, number][];
  readonly theta_min: number;
  /** Distinct weight exponents over the layer's groups. */
  readonly weight_exps: number[];
  /** Bits (sign included) of the largest mantissa of each row: smallest and median over rows with weights. */
  readonly row_mantissa_bits: { readonly min: number; readonly median: number };
  /** Non-zero normalised weights that became 0, over all weights. */
  readonly flushed_fraction: number;
  /** Channels whose fan-in is split, and the integrator compartments they add per neuron (Σ parts − 1). */
  readonly split_channels: number;
  readonly split_extra_cx_per_position: number;
  readonly bound_by: string;
  /** Distinct gains T/T_s of the layer's synapse groups folded into its weights (per-layer windows; [1] otherwise). */
  readonly gains: number[];
  /** Per group: the quantisation statistics (errors in units of each channel's θ). */
  readonly groups: { group: number; stats: QuantStats; exps: number[] }[];
}

function bitsOf(m: number): number {
  return m <= 0 ? 0 : Math.floor(Math.log2(m)) + 2;
}

const cache = new WeakMap<object, LayerPrecision>();

export function layerPrecision(state: State, p: Pop): LayerPrecision | null {
  const pq = state.quant?.pops.get(p);
  if (!pq) return null;
  const hit = cache.get(pq);
  if (hit) return hit;
  const lp = compute(state, p, pq);
  cache.set(pq, lp);
  return lp;
}

function compute(state: State, p: Pop, pq: NonNullable<State["quant"]>["pops"] extends Map<Pop, infer Q> ? Q : never): LayerPrecision {
  const C = p.shape.length === 3 ? p.shape[0]! : p.size;
  const hist = new Map<number, number>();
  for (let c = 0; c < C; c++) {
    const k = pq.shifts ? pq.shifts[c]! : 0;
    hist.set(k, (hist.get(k) ?? 0) + 1);
  }
  const classes = [...hist.entries()].sort((a, b) => a[0] - b[0]);
  const exps = new Set<number>();
  const rowBits: number[] = [];
  let flushed = 0;
  let count = 0;
  const groups: LayerPrecision["groups"] = [];
  for (const g of p.groups) {
    const gq = state.quant!.groups.get(g);
    const wr = weightRows(g);
    if (!gq || !wr) continue;
    for (const e of gq.exps) exps.add(e);
    const stats = statsOf();
    quantizeRows(wr, groupScale(g, pq.scale, pq.shifts), gq.exps, state.prof, stats);
    flushed += stats.flushed_to_zero;
    count += stats.count;
    for (let r = 0; r < wr.rows; r++) {
      let m = 0;
      for (let k = r * wr.rowLen; k < (r + 1) * wr.rowLen; k++) m = Math.max(m, Math.abs(gq.mant[k]!));
      let any = false;
      for (let k = r * wr.rowLen; k < (r + 1) * wr.rowLen && !any; k++) any = wr.w[k] !== 0;
      if (any) rowBits.push(bitsOf(m));
    }
    groups.push({ group: g.id, stats, exps: [...new Set(gq.exps)].sort((a, b) => a - b) });
  }
  rowBits.sort((a, b) => a - b);
  return {
    layer: p.name,
    theta: pq.scale,
    threshold_classes: classes,
    theta_min: pq.scale / 2 ** Math.max(...classes.map((x) => x[0])),
    weight_exps: [...exps].sort((a, b) => a - b),
    row_mantissa_bits: { min: rowBits[0] ?? 0, median: rowBits[Math.floor((rowBits.length - 1) / 2)] ?? 0 },
    flushed_fraction: count > 0 ? flushed / count : 0,
    split_channels: pq.splits.length,
    split_extra_cx_per_position: pq.splits.reduce((a, x) => a + x.parts - 1, 0),
    bound_by: pq.bound_by,
    gains: [...new Set(p.groups.map((g) => g.gain))].sort((a, b) => a - b),
    groups,
  };
}

/** One line per layer for Markdown and the CLI: Θ, classes, exponents, mantissa bits, flushed, splits. */
export function precisionSummary(lp: LayerPrecision): string {
  const cls = lp.threshold_classes.length > 1 ? `Θ/2^${lp.threshold_classes[0]![0]}..${lp.threshold_classes[lp.threshold_classes.length - 1]![0]} (${lp.threshold_classes.length} classes, min ${lp.theta_min})` : "one Θ";
  const split = lp.split_channels ? `, ${lp.split_channels} split ch (+${lp.split_extra_cx_per_position} cx/pos)` : "";
  const gain = lp.gains.some((g) => g !== 1) ? `window gain ${lp.gains.map((g) => Number(g.toPrecision(4))).join("/")} folded, ` : "";
  return `${gain}Θ ${lp.theta}, ${cls}, e ${lp.weight_exps.join("/")}, mantissa bits ${lp.row_mantissa_bits.median} (min ${lp.row_mantissa_bits.min}), ${(100 * lp.flushed_fraction).toFixed(1)}% flushed${split}`;
}

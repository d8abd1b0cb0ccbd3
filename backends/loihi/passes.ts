/**
 * The loihi backend's passes (registered as `loihi:<name>`), run after the TSC conversion:
 *
 *   loihi:quantize   integer scale Θ, threshold, Φ and bias per layer; 8-bit weight mantissas with one
 *                    exponent per layer (exponent=layer) or per channel group of the partition
 *                    (exponent=core, finalised by loihi:partition); overflow DRC
 *   loihi:partition  layers → tiles → cores under every per-core limit; compatibility classes; DRC
 *   loihi:place      cores → chip/tile/slot, minimising hop-weighted traffic; chips DRC
 *   loihi:route      dimension-order routes; traffic summary
 */
import { resolve as resolvePath } from "node:path";
import { definePass, fmt, M, tensorType, type Module, type PassContext } from "../../ir/index.js";
import { runDrc, STAGE_RULES, type LayerQuantInfo, type RuleResult } from "./drc.js";
import type { Group, Pop } from "./model.js";
import { granularities, partitionNetwork } from "./partition.js";
import { placeCores, type Weights } from "./place.js";
import { loadProfile, qMax, uMax, weightMantMax, weightShift, type Profile } from "./profile.js";
import { encodeSplits, groupScale, layerBias, medianTailExponents, partWorst, planSplits, quantizeLayer, quantizeRows, rowExponents, scaleOfRow, weightRows, channelsOf, type ChannelSplit, type RowScale } from "./quant.js";
import { routeAll } from "./route.js";
import { cachePartition, loadState, storePartition, type GroupQuant, type State } from "./state.js";

function cwdOf(ctx: PassContext): string | undefined {
  return ctx.inputs["cwd"] as string | undefined;
}

/** DRC rules whose failure means no threshold class, exponent or fan-in split makes the layer fit. */
export const NO_FIT_RULES: readonly string[] = ["q-overflow", "u-overflow", "threshold-range", "weight-range", "bias-range"];

/** Report a stage's DRC results: errors fail the pass, warnings are shown. */
export function reportDrc(ctx: PassContext, results: readonly RuleResult[], rules: readonly string[], state: State): void {
  const MAX = 8;
  for (const r of results) {
    if (!rules.includes(r.rule) || r.pass) continue;
    const shown = r.violations.slice(0, MAX);
    for (const v of shown) {
      const pop = v.layer ? state.net.placed.find((p) => p.name === v.layer) : undefined;
      const extra = pop ? { loc: pop.op.loc } : {};
      // The numeric rules fail only when the quantiser found no legal configuration (every threshold
      // class and fan-in split tried): their own code, TSCC3101.
      const msg = r.severity !== "error" ? M.PassWarning : NO_FIT_RULES.includes(r.rule) ? M.LoihiNoFit : M.PassFailed;
      ctx.diag.report(fmt(msg, [v.message], extra));
    }
    if (r.violations.length > MAX) ctx.diag.report(fmt(r.severity === "error" ? M.PassFailed : M.PassWarning, [`${r.rule}: ${r.violations.length - MAX} more violation(s) of the same rule`]));
  }
}

/** Per-layer quantisation facts the DRC needs (worst-case sums from the integer weights). */
interface GroupSums {
  readonly w: ArrayLike<number>;
  readonly key: string;
  readonly sp: Float64Array;
  readonly sn: Float64Array;
  readonly clipped: number;
}

/**
 * Per row of a synapse group: Σ positive and Σ negative weights (mantissa × 2^exponent) and how many
 * mantissas would clip. Cached on the mantissa array: the quantize and partition passes and the report
 * all ask, and CIFAR VGG-16 has 15 million weights.
 */
const groupSumsCache = new WeakMap<object, GroupSums>();

function sumsKey(scale: RowScale, shift: number, mantMax: number, exps: readonly number[]): string {
  return `${typeof scale === "number" ? scale : scale.join(",")}|${shift}|${mantMax}|${exps.join(",")}`;
}

function groupSums(gq: GroupQuant, wr: { w: ArrayLike<number>; rows: number; rowLen: number }, scale: RowScale, shift: number, mantMax: number): GroupSums {
  const key = sumsKey(scale, shift, mantMax, gq.exps);
  const hit = groupSumsCache.get(gq.mant);
  if (hit && hit.w === wr.w && hit.key === key) return hit;
  const sp = new Float64Array(wr.rows);
  const sn = new Float64Array(wr.rows);
  let clipped = 0;
  for (let r = 0; r < wr.rows; r++) {
    let p = 0;
    let n = 0;
    const unit = 2 ** (shift + gq.exps[r]!);
    for (let k = 0; k < wr.rowLen; k++) {
      const mnt = gq.mant[r * wr.rowLen + k]!;
      if (mnt > 0) p += mnt * unit;
      else n -= mnt * unit;
      const exact = Math.round((wr.w[r * wr.rowLen + k]! * scaleOfRow(scale, r)) / unit);
      if (Math.abs(exact) > mantMax) clipped++;
    }
    sp[r] = p;
    sn[r] = n;
  }
  const out = { w: wr.w, key, sp, sn, clipped };
  groupSumsCache.set(gq.mant, out);
  return out;
}

export function quantInfo(state: State): LayerQuantInfo[] {
  const out: LayerQuantInfo[] = [];
  if (!state.quant) return out;
  const { prof, net } = state;
  const shift = weightShift(prof);
  const mantMax = weightMantMax(prof);
  for (const p of net.placed) {
    const pq = state.quant.pops.get(p);
    if (!pq) continue;
    const C = channelsOf(p);
    const rows = new Float64Array(C);
    const rowsNeg = new Float64Array(C);
    let clipped = 0;
    let exps: number[] = [];
    for (const g of p.groups) {
      const gq = state.quant.groups.get(g);
      const wr = weightRows(g);
      if (!gq || !wr) continue;
      exps = exps.concat(gq.exps);
      const gi = groupSums(gq, wr, groupScale(g, pq.scale, pq.shifts), shift, mantMax);
      clipped += gi.clipped;
      for (let r = 0; r < wr.rows; r++) {
        if (g.kind === "scale") {
          for (let c = 0; c < rows.length; c++) {
            rows[c]! += gi.sp[r]!;
            rowsNeg[c]! += gi.sn[r]!;
          }
        } else {
          rows[r]! += gi.sp[r]!;
          rowsNeg[r]! += gi.sn[r]!;
        }
      }
    }
    let clippedBias = 0;
    const bias = layerBias(p);
    const biasUnit = prof.tsc.bias === "clock-synapse" ? 2 ** (shift + pq.bias_exp) : 2 ** pq.bias_exp;
    const biasMax = prof.tsc.bias === "clock-synapse" ? mantMax : 2 ** (prof.bias_mant_bits - 1) - 1;
    const rowScale = (c: number): number => (pq.shifts ? pq.scale / 2 ** pq.shifts[c]! : pq.scale);
    // Worst case per integrator compartment: a channel's whole row, or each part of a split channel.
    const splitWorst = splitPartSums(state, p, pq.splits, biasUnit);
    let qWorst = 0;
    let vWorst = 0;
    for (let c = 0; c < C; c++) {
      const b = pq.bias_mant ? Math.abs(pq.bias_mant[c]!) * biasUnit : 0;
      if (bias && Math.abs(Math.round((bias[c]! * rowScale(c)) / biasUnit)) > biasMax) clippedBias++;
      const w = splitWorst.get(c) ?? Math.max(rows[c]!, rowsNeg[c]!) + b;
      qWorst = Math.max(qWorst, w);
      const phiC = Math.abs(pq.shifts ? pq.phi / 2 ** pq.shifts[c]! : pq.phi);
      vWorst = Math.max(vWorst, Math.max(1, p.span) * w + phiC);
    }
    const lim = p.op.attrs["loihi.scale_limit"] as number | undefined;
    let minScale = pq.scale;
    if (pq.shifts) for (const k of pq.shifts) minScale = Math.min(minScale, pq.scale / 2 ** k);
    out.push({
      pop: p,
      scale_limit: lim === undefined || lim < 0 ? Infinity : lim,
      scale: pq.scale,
      vth_mant: pq.vth_mant,
      min_class_scale: minScale,
      class_floor: (p.op.attrs["loihi.scale_floor"] as number | undefined) ?? 2 ** prof.vth_shift,
      clipped_weights: clipped,
      clipped_bias: clippedBias,
      q_worst: qWorst,
      v_worst: vWorst,
      weight_exps: exps.length ? exps : [0],
    });
  }
  return out;
}

/** Worst case of each split channel's largest part (quant.ts partWorst). */
function splitPartSums(state: State, p: Pop, splits: readonly ChannelSplit[], biasUnit: number): Map<number, number> {
  const out = new Map<number, number>();
  const pq = state.quant!.pops.get(p)!;
  const ints = (g: Group) => state.quant!.groups.get(g);
  for (const sp of splits) out.set(sp.channel, Math.max(...partWorst(p, sp.channel, sp.parts, ints, weightShift(state.prof), pq.bias_mant ? Math.abs(pq.bias_mant[sp.channel]!) * biasUnit : 0)));
  return out;
}

function weightsOf(prof: Profile, energy: string): Weights {
  const e = prof.energy[energy] ?? Object.values(prof.energy)[0]!;
  return { ew: e.hop_ew_pj, ns: e.hop_ns_pj, chip: e.chip_crossing_pj };
}

function constName(m: Module, base: string): string {
  return m.uniqueConstName(base);
}

/** (Re)quantise a population's groups with the given exponents per row and store them in the IR. */
export function storeGroupQuant(m: Module, state: { prof: Profile }, p: Pop, layerScale: number, shifts: ArrayLike<number> | null, expsFor: (gId: number, rows: number, natural: number[]) => number[]): void {
  for (const g of p.groups) {
    const wr = weightRows(g);
    if (!wr) continue;
    const scale = groupScale(g, layerScale, shifts);
    const natural = rowExponents(wr, scale, state.prof);
    const exps = expsFor(g.id, wr.rows, natural);
    const sums = { sp: new Float64Array(wr.rows), sn: new Float64Array(wr.rows), clipped: 0 };
    const mant = quantizeRows(wr, scale, exps, state.prof, undefined, sums);
    // The overflow checks' per-row sums come with the mantissas (groupSums would recompute them).
    const prof = state.prof;
    groupSumsCache.set(mant, { w: wr.w, key: sumsKey(scale, weightShift(prof), weightMantMax(prof), exps), sp: sums.sp, sn: sums.sn, clipped: sums.clipped });
    const old = g.op.attrs["loihi.weight_mant"];
    if (typeof old === "string") m.consts.delete(old);
    const wname = g.op.operands[1]?.constant?.name ?? `${p.name}.scale`;
    const name = constName(m, `${wname}.loihi.w`);
    m.addConst(name, tensorType([mant.length]), mant);
    g.op.attrs["loihi.weight_mant"] = name;
    g.op.attrs["loihi.weight_exps"] = exps;
  }
}

export const quantizePass = definePass({
  name: "loihi:quantize",
  summary: "integer Θ, threshold, Φ and bias per layer; 8-bit weight mantissas with a shared exponent per layer or per core; overflow checks",
  options: {
    profile: { kind: "str", default: "loihi1", doc: "chip profile: loihi1, loihi2 or a JSON profile file" },
    exponent: { kind: "enum", choices: ["layer", "core"], default: "layer", doc: "weight exponent shared per layer or per core (channel group)" },
  },
  requires: ["spiking"],
  provides: ["loihi-quantized"],
  run(m, ctx) {
    if (m.attrs["coding"] !== "tsc") {
      ctx.diag.report(fmt(M.PassFailed, ["loihi:quantize maps Temporal-Switch-Coded networks only; this module is rate-coded"]));
      return { changed: false };
    }
    const spec = ctx.options["profile"] as string;
    const prof = loadProfile(spec, cwdOf(ctx));
    const resolved = spec === "loihi1" || spec === "loihi2" ? spec : resolvePath(cwdOf(ctx) ?? process.cwd(), spec);
    m.attrs["loihi.profile"] = resolved;
    m.attrs["loihi.profile_name"] = prof.name;
    m.attrs["loihi.exponent"] = ctx.options["exponent"] as string;
    m.attrs["loihi.realisation"] = prof.tsc.synapse;
    const state0 = loadState(m, cwdOf(ctx));
    const { net } = state0;
    for (const p of net.placed) {
      if (p.kind === "or") continue;
      const phi = p.kind === "tsc" ? p.op.num("phi") : 0;
      const lq = quantizeLayer(p, prof, phi);
      const a = p.op.attrs;
      a["loihi.scale"] = lq.scale;
      a["loihi.vth_mant"] = lq.vth_mant;
      a["loihi.phi"] = lq.phi;
      a["loihi.bias_exp"] = lq.bias_exp;
      a["loihi.bound_by"] = lq.bound_by;
      a["loihi.scale_limit"] = Number.isFinite(lq.scale_limit) ? Number(lq.scale_limit.toPrecision(6)) : -1;
      a["loihi.scale_floor"] = lq.scale_floor;
      if (lq.bias_mant.length) {
        const old = a["loihi.bias_mant"];
        if (typeof old === "string") m.consts.delete(old);
        const name = constName(m, `${p.name.replace(/[^A-Za-z0-9_.-]/g, "_").replace(/^_+/, "")}.loihi.b`);
        m.addConst(name, tensorType([lq.bias_mant.length]), lq.bias_mant);
        a["loihi.bias_mant"] = name;
      }
      if (lq.shifts) a["loihi.theta_shift"] = Array.from(lq.shifts);
      else delete a["loihi.theta_shift"];
      // Layers with threshold classes (rows differing by orders of magnitude): channels above the
      // median exponent keep their own (medianTailExponents); otherwise one exponent per layer.
      storeGroupQuant(m, { prof }, p, lq.scale, lq.shifts, (_g, rows, natural) => (lq.shifts ? medianTailExponents(natural) : new Array<number>(rows).fill(Math.max(...natural))));
      // Channels whose integer worst case still exceeds q or u at their class: split their fan-in.
      const biasUnit = prof.tsc.bias === "clock-synapse" ? 2 ** (weightShift(prof) + lq.bias_exp) : 2 ** lq.bias_exp;
      const splits = planSplits(
        p,
        (g) => {
          const name = g.op.attrs["loihi.weight_mant"];
          const c = typeof name === "string" ? m.consts.get(name) : undefined;
          return c ? { mant: c.data as Float32Array, exps: g.op.attrs["loihi.weight_exps"] as number[] } : undefined;
        },
        weightShift(prof),
        Math.min(qMax(prof), uMax(prof)),
        (c) => (lq.bias_mant.length ? Math.abs(lq.bias_mant[c]!) * biasUnit : 0),
      );
      if (splits.length) a["loihi.fanin_split"] = encodeSplits(splits);
      else delete a["loihi.fanin_split"];
      const notes = [...lq.notes, ...(splits.length ? [`${splits.length} channel(s) split over ${splits.reduce((x, sp) => x + sp.parts, 0)} integrator compartments`] : [])];
      if (notes.length) a["loihi.fit_notes"] = notes.join("; ");
      else delete a["loihi.fit_notes"];
    }
    m.attrs["loihi.quantized"] = true;
    const state = loadState(m, cwdOf(ctx));
    reportDrc(ctx, runDrc({ net: state.net, prof, quant: quantInfo(state) }), STAGE_RULES["quantize"]!, state);
    return { changed: true };
  },
});

export const partitionPass = definePass({
  name: "loihi:partition",
  summary: "split layers into tiles and pack them into cores under every per-core limit (compartments, synapse memory, axons, profile tables), per compatibility class",
  options: {
    granularity: { kind: "int", default: 0, doc: "tile granularity γ (tiles use ≤ 1/γ of every core resource); 0 tries 1 and 2" },
    "cx-granularity": { kind: "int", default: 0, doc: "compartment granularity γ_cx (tiles use ≤ 1/γ_cx of a core's compartments, so compartment-heavy tiles can share cores with out-axon- or memory-heavy ones); 0 tries 1, 2 and 4" },
  },
  requires: ["loihi-quantized"],
  provides: ["loihi-partitioned"],
  run(m, ctx) {
    const state0 = loadState(m, cwdOf(ctx));
    const { net, prof } = state0;
    const g = ctx.options["granularity"] as number;
    const gc = ctx.options["cx-granularity"] as number;
    const part = partitionNetwork(net, prof, { coreExp: state0.exponent === "core", ...(g > 0 || gc > 0 ? { granularities: granularities(g > 0 ? [g] : undefined, gc > 0 ? [gc] : undefined) } : {}) });
    storePartition(m, net, part);
    cachePartition(m, net, part);
    if (state0.exponent === "core" && state0.quant) {
      // One exponent per channel group of the partition (the largest its rows need).
      for (const p of net.placed) {
        const pq = state0.quant.pops.get(p);
        if (!pq) continue;
        const mc = part.tilings.get(p)!.mc;
        storeGroupQuant(m, { prof }, p, pq.scale, pq.shifts, (_g, rows, natural) => {
          if (rows === 1) return natural;
          const out = new Array<number>(rows);
          for (let r0 = 0; r0 < rows; r0 += mc) {
            const e = Math.max(...natural.slice(r0, r0 + mc));
            for (let r = r0; r < Math.min(rows, r0 + mc); r++) out[r] = e;
          }
          return out;
        });
      }
    }
    const state = loadState(m, cwdOf(ctx));
    reportDrc(ctx, runDrc({ net: state.net, prof, part: state.part!, quant: quantInfo(state) }), [...STAGE_RULES["partition"]!, ...(state0.exponent === "core" ? STAGE_RULES["quantize"]! : [])], state);
    return { changed: true };
  },
});

export const placePass = definePass({
  name: "loihi:place",
  summary: "place cores onto chips and tiles minimising hop-weighted spike traffic (compared with naive sequential placement)",
  options: {
    energy: { kind: "str", default: "davies2018", doc: "energy set whose hop and chip-crossing costs weight the traffic" },
    proposals: { kind: "int", default: 0, doc: "swap proposals of the local search (0: automatic)" },
  },
  requires: ["loihi-partitioned"],
  provides: ["loihi-placed"],
  run(m, ctx) {
    const state = loadState(m, cwdOf(ctx));
    const { prof } = state;
    const part = state.part!;
    const w = weightsOf(prof, ctx.options["energy"] as string);
    const proposals = ctx.options["proposals"] as number;
    const pl = placeCores(part, prof, w, proposals > 0 ? proposals : undefined);
    m.attrs["loihi.placement"] = pl.slots.flatMap((s) => [s.chip, s.gx, s.gy, s.k]);
    m.attrs["loihi.chips"] = pl.chips;
    reportDrc(ctx, runDrc({ net: state.net, prof, chips: pl.chips, part }), STAGE_RULES["place"]!, state);
    return { changed: true };
  },
});

export const routePass = definePass({
  name: "loihi:route",
  summary: "dimension-order routes between placed cores: hops (E-W, N-S), chip crossings, link loads, traffic split",
  requires: ["loihi-placed"],
  provides: ["loihi-routed"],
  run(m, ctx) {
    const state = loadState(m, cwdOf(ctx));
    const { summary } = routeAll(state.part!, state.placement!, state.prof);
    m.attrs["loihi.traffic"] = [summary.intra_core, summary.intra_tile, summary.inter_tile, summary.inter_chip, summary.host];
    m.attrs["loihi.hop_weighted"] = summary.hop_weighted;
    m.attrs["loihi.max_link_load"] = summary.max_link_load;
    return { changed: true };
  },
});

export const LOIHI_PASSES = [quantizePass, partitionPass, placePass, routePass];

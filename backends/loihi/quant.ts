/**
 * Integer quantisation of a TSC layer for Loihi-style CUBA compartments (docs/loihi.md).
 *
 * A layer (a tsc or readout population) gets one integer scale s = Θ (the firing quantum θ = 1 in
 * integer units, a threshold vth = vth_mant · 2^vth_shift); every normalised weight W̃ becomes
 * W = w_mant · 2^(shift + e) ≈ W̃·s with an 8-bit mixed-sign mantissa (|w_mant| ≤ 127 on Loihi 1) and an
 * exponent e shared per layer or per core; the per-step bias b̃ becomes B ≈ b̃·s; φ becomes Φ = round(φ·s).
 * The integer TSC neuron then computes d = clip(floor((V + Φ)/Θ), 0, T) with V = T·B + Σ W·d_src; with
 * per-layer windows W ≈ g·W̃·s with the group's gain g = T/T_s folded in (weightRows).
 *
 * s is chosen as large as the hard limits allow: vth_mant range, the largest weight at the largest
 * exponent, and the worst-case per-step input |q| ≤ 2^q_bits − 1 (all ON switches of a row at once,
 * which TSC's common window edges make possible) and current |u| ≤ 2^(u_bits−1) − 1 (u wraps). It
 * also keeps the worst-case membrane path (T·Σ|W| per integration window, Pop.span) within v's range (v saturates) unless that would cost
 * weight precision; the DRC reports the remaining risk. s has at most as many significant bits as a
 * weight mantissa, so the ramp's per-step current Θ is itself an exact synapse weight.
 */
import { biasMantMax, qMax, uMax, vMax, vthMantMax, weightExpMin, weightMantMax, weightShift, type Profile } from "./profile.js";
import type { Group, Pop } from "./model.js";

export interface WeightRows {
  /** Rows = output channels (conv) or output neurons (dense); scale: 1 row. */
  readonly rows: number;
  readonly rowLen: number;
  readonly w: Float32Array;
}

/**
 * The weights a group's integer weights stand for: W̃ times the group's gain T/T_s (per-layer windows,
 * docs/conversion.md), so every bound, exponent and rounding error below is about the folded weights.
 * A gain of 1 returns the IR's own array; others a copy cached per array (the caches keyed on it keep
 * working). A power-of-two gain is exact in float32; any other is rounded once here and again with the
 * weight's mantissa (quantization.json reports the error against these weights).
 */
export function weightRows(g: Group): WeightRows | undefined {
  if (g.kind === "conv") {
    const M = g.geo!.M;
    return { rows: M, rowLen: g.w!.length / M, w: gained(g.w!, g.gain) };
  }
  if (g.kind === "dense") {
    const N = g.target.size;
    return { rows: N, rowLen: g.w!.length / N, w: gained(g.w!, g.gain) };
  }
  if (g.kind === "scale") return { rows: 1, rowLen: 1, w: Float32Array.of(g.factor! * g.gain) };
  return undefined;
}

const gainedCache = new WeakMap<Float32Array, Map<number, Float32Array>>();

function gained(w: Float32Array, gain: number): Float32Array {
  if (gain === 1) return w;
  let byGain = gainedCache.get(w);
  if (!byGain) gainedCache.set(w, (byGain = new Map()));
  let out = byGain.get(gain);
  if (!out) byGain.set(gain, (out = w.map((x) => x * gain)));
  return out;
}

/** Whether folding a gain into weights only shifts their exponent (a power of two, so no extra rounding). */
export function exactGain(gain: number): boolean {
  return Number.isInteger(Math.log2(gain));
}

/** Output channel (row) of neuron j of a population fed by group g. */
export function rowOfNeuron(g: Group, j: number): number {
  if (g.kind === "conv") return Math.floor(j / (g.geo!.OH * g.geo!.OW));
  if (g.kind === "dense") return j;
  return 0;
}

/** Channels (rows of the bias vector) of a population: C for [C, H, W], N for flat. */
export function channelsOf(p: Pop): number {
  return p.shape.length === 3 ? p.shape[0]! : p.size;
}

export function channelOfNeuron(p: Pop, j: number): number {
  return p.shape.length === 3 ? Math.floor(j / (p.shape[1]! * p.shape[2]!)) : j;
}

/** Smallest exponent at which max |x·s| fits the mantissa after rounding. */
export function exponentFor(maxAbs: number, s: number, mantMax: number, shift: number, eMin: number, eMax: number): number {
  for (let e = eMin; e <= eMax; e++) if (Math.round((maxAbs * s) / 2 ** (shift + e)) <= mantMax) return e;
  return eMax;
}

export interface QuantStats {
  /** Largest |W/s − W̃| over the quantised values (units of θ). */
  max_abs_error: number;
  /** max_abs_error / max |W̃|. */
  max_rel_error: number;
  /** Values whose mantissa was clipped at ±mant_max. */
  clipped: number;
  /** Non-zero values that became 0. */
  flushed_to_zero: number;
  count: number;
  max_abs_value: number;
}

function emptyStats(): QuantStats {
  return { max_abs_error: 0, max_rel_error: 0, clipped: 0, flushed_to_zero: 0, count: 0, max_abs_value: 0 };
}

/**
 * Quantise rows of weights with one exponent per row: mantissas (as integers in a Float32Array).
 * With `sums`, also the per-row Σ positive and Σ negative quantised weights (mantissa × 2^(shift + e),
 * summed in weight order) and the clipped count, which the overflow checks need (passes.ts groupSums).
 */
export function quantizeRows(wr: WeightRows, scale: RowScale, exps: readonly number[], p: Profile, stats?: QuantStats, sums?: { sp: Float64Array; sn: Float64Array; clipped: number }): Float32Array {
  const mantMax = weightMantMax(p);
  const shift = weightShift(p);
  const w = wr.w;
  const rowLen = wr.rowLen;
  const out = new Float32Array(w.length);
  // Statistics in locals (object property updates in the loop cost more than the arithmetic).
  let maxAbs = 0;
  let maxErr = stats ? stats.max_abs_error : 0;
  let clipped = 0;
  let flushed = 0;
  for (let r = 0; r < wr.rows; r++) {
    const unit = 2 ** (shift + exps[r]!);
    const s = scaleOfRow(scale, r);
    let sp = 0;
    let sn = 0;
    const i0 = r * rowLen;
    if (!stats) {
      // (x·s)/unit = (x·s)·2^-k exactly (unit is a power of two): the same mantissas, no division.
      const inv = 1 / unit;
      // Integer mantissa sums: every partial sum of mm·unit is an integer multiple of the power of two
      // unit below 2^53, so Σ (mm·unit) in weight order equals unit · Σ mm exactly; Σ positive and
      // Σ |negative| come from Σ mm and Σ |mm| (no branch on the sign). Math.round(v) is
      // floor(v + 0.5), less one where v + 0.5 rounded up across an integer (v = 0.49999999999999994;
      // r − 0.5 is exact while |r| ≤ mantMax): V8's Math.round costs several times more. Values out of
      // the mantissa range (or huge, or NaN) take the original path.
      let tot = 0;
      let abs = 0;
      for (let i = i0; i < i0 + rowLen; i++) {
        const v = w[i]! * s * inv;
        let m = Math.floor(v + 0.5);
        if (m - 0.5 > v) m -= 1;
        if (m > mantMax || m < -mantMax || !(v < 1073741824 && v > -1073741824)) {
          m = Math.round(v);
          if (m > mantMax) {
            m = mantMax;
            clipped++;
          } else if (m < -mantMax) {
            m = -mantMax;
            clipped++;
          }
        }
        const mm = m + 0; // −0 → 0
        out[i] = mm;
        tot += mm;
        abs += Math.abs(mm);
      }
      if (Number.isNaN(tot)) {
        // NaN weights: the original sums (NaN only where it was added).
        for (let i = i0; i < i0 + rowLen; i++) {
          const mm = out[i]!;
          if (mm > 0) sp += mm * unit;
          else sn -= mm * unit;
        }
      } else {
        sp = ((abs + tot) / 2) * unit;
        sn = ((abs - tot) / 2) * unit;
      }
      if (sums) {
        sums.sp[r] = sp;
        sums.sn[r] = sn;
      }
      continue;
    }
    for (let i = i0; i < i0 + rowLen; i++) {
      const x = w[i]!;
      let m = Math.round((x * s) / unit);
      if (m > mantMax || m < -mantMax) {
        m = Math.sign(m) * mantMax;
        clipped++;
      }
      const mm = m === 0 ? 0 : m;
      out[i] = mm;
      if (mm > 0) sp += mm * unit;
      else sn -= mm * unit;
      const err = Math.abs((m * unit) / s - x);
      if (err > maxErr) maxErr = err;
      if (m === 0 && x !== 0) flushed++;
      const ax = Math.abs(x);
      if (ax > maxAbs) maxAbs = ax;
    }
    if (sums) {
      sums.sp[r] = sp;
      sums.sn[r] = sn;
    }
  }
  if (sums) sums.clipped = clipped;
  if (stats) {
    stats.clipped += clipped;
    stats.flushed_to_zero += flushed;
    stats.count += w.length;
    stats.max_abs_error = maxErr;
    stats.max_abs_value = Math.max(stats.max_abs_value, maxAbs);
    stats.max_rel_error = stats.max_abs_value > 0 ? stats.max_abs_error / stats.max_abs_value : 0;
  }
  return out;
}

/**
 * Per-row Σ positive weights, Σ |negative weights| and max |weight| of a weight array, computed once
 * (the scale choice and the exponents both need them; CIFAR VGG-16 has 15 million weights).
 */
interface RowStats {
  readonly rows: number;
  readonly sp: Float64Array;
  readonly sn: Float64Array;
  readonly max: Float64Array;
}

const rowStatsCache = new WeakMap<Float32Array, RowStats>();

function rowStats(wr: WeightRows): RowStats {
  const hit = rowStatsCache.get(wr.w);
  if (hit && hit.rows === wr.rows) return hit;
  const sp = new Float64Array(wr.rows);
  const sn = new Float64Array(wr.rows);
  const max = new Float64Array(wr.rows);
  const w = wr.w;
  for (let r = 0; r < wr.rows; r++) {
    let p = 0;
    let n = 0;
    let m = 0;
    const i0 = r * wr.rowLen;
    for (let i = i0; i < i0 + wr.rowLen; i++) {
      // Selects instead of branches (random signs mispredict); adding or subtracting 0 changes nothing.
      const x = w[i]!;
      p += x > 0 ? x : 0;
      n -= x > 0 ? 0 : x;
      const a = Math.abs(x);
      m = a > m ? a : m;
    }
    sp[r] = p;
    sn[r] = n;
    max[r] = m;
  }
  const out = { rows: wr.rows, sp, sn, max };
  rowStatsCache.set(w, out);
  return out;
}

/** Per-row exponents each row would need on its own. */
export function rowExponents(wr: WeightRows, s: RowScale, p: Profile): number[] {
  const out: number[] = [];
  const st = rowStats(wr);
  for (let r = 0; r < wr.rows; r++) out.push(exponentFor(st.max[r]!, scaleOfRow(s, r), weightMantMax(p), weightShift(p), weightExpMin(p), p.weight_exp_max));
  return out;
}

/**
 * Weight exponents of a layer with threshold classes: the rows at or below the median row's natural
 * exponent share the largest of theirs (one synapse format for most of the layer); each row above
 * keeps its own natural exponent, so a few rows with large integer weights (outliers at the smallest
 * threshold class) do not flush every other row's weights through a shared exponent. Loihi stores a
 * format index per block of ≤ 64 synapse entries, so rows of another exponent cost a synapse format
 * and their own blocks (resources.ts), not their own axons.
 */
export function medianTailExponents(natural: readonly number[]): number[] {
  const sorted = [...natural].sort((a, b) => a - b);
  const med = sorted[Math.floor((sorted.length - 1) / 2)]!;
  let bulk = -Infinity;
  for (const e of natural) if (e <= med) bulk = Math.max(bulk, e);
  return natural.map((e) => (e <= med ? bulk : e));
}

/** The integer scale of a group's rows: one Θ, or Θ_c = Θ / 2^k per row (threshold classes). */
export type RowScale = number | Float64Array;

export function scaleOfRow(s: RowScale, r: number): number {
  return typeof s === "number" ? s : s[r]!;
}

/** Row scales of group g of a layer with scale Θ and per-channel classes (null: one Θ). */
export function groupScale(g: Group, scale: number, shifts: ArrayLike<number> | null): RowScale {
  if (!shifts || g.kind === "scale") return scale;
  const wr = weightRows(g);
  if (!wr) return scale;
  const out = new Float64Array(wr.rows);
  for (let r = 0; r < wr.rows; r++) out[r] = scale / 2 ** shifts[r]!;
  return out;
}

/** Bias grid: the clock synapse's weight format (Loihi 1) or the neuron bias register (Loihi 2). */
export function biasGrid(p: Profile): { mantMax: number; shift: number; eMin: number; eMax: number } {
  return p.tsc.bias === "clock-synapse"
    ? { mantMax: weightMantMax(p), shift: weightShift(p), eMin: weightExpMin(p), eMax: p.weight_exp_max }
    : { mantMax: biasMantMax(p), shift: 0, eMin: 0, eMax: p.bias_exp_max };
}

/** Σ of the groups' biases per channel (the per-step bias b̃ of each neuron's channel), or null. */
export function layerBias(p: Pop): Float64Array | null {
  let b: Float64Array | null = null;
  for (const g of p.groups) {
    if (!g.bias) continue;
    b ??= new Float64Array(channelsOf(p));
    for (let c = 0; c < g.bias.length; c++) b[c]! += g.bias[c]!;
  }
  return b;
}

/**
 * Fan-in split of one channel: its integrator is `parts` compartments (partial sums joined into the
 * comparator). Weight k of the channel's row in each synapse group feeds part k mod parts (part 0 also
 * takes the bias): interleaving keeps each part's positive and negative weights mixed, so the parts'
 * membranes carry shares of V instead of large opposite sums that would saturate.
 */
export interface ChannelSplit {
  readonly channel: number;
  readonly parts: number;
}

export interface LayerQuant {
  /** Integer layer scale Θ (= vth_mant · 2^vth_shift); channel c uses Θ / 2^shifts[c]. */
  readonly scale: number;
  readonly vth_mant: number;
  /** Φ = round(φ·Θ) (a multiple of 2^max shift: channel c uses Φ / 2^shifts[c]). */
  readonly phi: number;
  /** Bias mantissas per channel (at the channel's scale) and their exponent (empty when the layer has no bias). */
  readonly bias_mant: Float32Array;
  readonly bias_exp: number;
  /** Worst-case |Σ W̃| per row over all groups (units of θ), the basis of the overflow bounds. */
  readonly row_abs_sum: number;
  /** Which limit set Θ. */
  readonly bound_by: string;
  /** Whether Θ honours the v-path bound of the channels that use it (no saturation possible). */
  readonly v_safe: boolean;
  /** The smallest scale the hard limits allow a channel (without classes: Θ); below scale_floor the threshold-range rule fails. */
  readonly scale_limit: number;
  /** The smallest scale a channel may use: thetaFloor with classes, one threshold unit 2^vth_shift without. */
  readonly scale_floor: number;
  /** Threshold class per channel (Θ_c = Θ / 2^k); null when every channel uses Θ. */
  readonly shifts: Uint8Array | null;
  /** Why channels were given classes (for quantization.json), empty when none were. */
  readonly notes: readonly string[];
}

/** Largest number ≤ x of the form m·2^k with m < 2^bits and k ≥ minShift (0 if none). */
export function roundDownGrid(x: number, bits: number, minShift: number): number {
  if (x < 2 ** minShift) return 0;
  const k = Math.max(minShift, Math.floor(Math.log2(x)) - bits + 1);
  return Math.floor(x / 2 ** k) * 2 ** k;
}

/** Per-channel facts of a population's synapse groups (units of θ, i.e. normalised weights W̃). */
interface ChannelFacts {
  /** Σ positive and Σ |negative| weights per channel over all groups. */
  readonly pos: Float64Array;
  readonly neg: Float64Array;
  /** Largest |weight| per channel over all groups. */
  readonly wmax: Float64Array;
  /** Per group: largest |weight| per channel (0 where the group has no weights into it). */
  readonly gmax: Float64Array[];
  /** A one-to-one (snn.scale) group feeds the layer: its single factor cannot differ per channel. */
  readonly hasScale: boolean;
}

function channelFacts(pop: Pop): ChannelFacts {
  const C = channelsOf(pop);
  const pos = new Float64Array(C);
  const neg = new Float64Array(C);
  const wmax = new Float64Array(C);
  const gmax: Float64Array[] = [];
  let hasScale = false;
  for (const g of pop.groups) {
    const gm = new Float64Array(C);
    gmax.push(gm);
    const wr = weightRows(g);
    if (!wr) continue;
    const st = rowStats(wr);
    if (g.kind === "scale") hasScale = true;
    for (let r = 0; r < wr.rows; r++) {
      const sp = st.sp[r]!;
      const sn = st.sn[r]!;
      const m = st.max[r]!;
      const c0 = g.kind === "scale" ? 0 : r;
      const c1 = g.kind === "scale" ? C : r + 1;
      for (let c = c0; c < c1; c++) {
        pos[c]! += sp;
        neg[c]! += sn;
        if (m > gm[c]!) gm[c] = m;
        if (m > wmax[c]!) wmax[c] = m;
      }
    }
  }
  return { pos, neg, wmax, gmax, hasScale };
}

/**
 * The smallest threshold a channel may use: the realisation's threshold grid (Loihi 1: Θ is the
 * ramp's clock-synapse weight, any integer ≥ 1; Loihi 2: the microcode threshold vth_mant·2^vth_shift),
 * raised to the first power of two at which φ·Θ is an integer (so Φ stays exact in every class), at
 * most 2^vth_shift.
 */
export function thetaFloor(p: Profile, phi: number): number {
  const top = 2 ** p.vth_shift;
  if (p.tsc.synapse !== "option-a") return top;
  for (let f = 1; f < top; f *= 2) if (Number.isInteger(phi * f)) return f;
  return top;
}

/** Margin on the float worst-case sums: each quantised weight may round up by half a unit. */
const MARGIN = 0.98;

/**
 * Threshold classes a layer may use for the bulk of its channels: Loihi 1 (Θ is a ramp weight) gets as
 * many as one clock-synapse format holds exactly (mantissas 1, 2, …, 2^(weight_bits−2)); Loihi 2 (Θ a
 * threshold profile) half of a core's threshold-profile table, so tiles of other layers still fit.
 */
export function classBudget(p: Profile): number {
  return p.tsc.synapse === "option-a" ? p.weight_bits - 1 : Math.max(1, Math.floor(p.max_vth_profiles / 2));
}

/** A single Θ is kept while every channel's own target scale lies within this many bits of the others'. */
export const SINGLE_SCALE_SPREAD_BITS = 4;

/**
 * Choose the layer scale Θ and the channels' threshold classes, and quantise the bias. Weights are
 * quantised per group (see quantizeRows) at each channel's scale Θ_c; fan-in splits are planned on
 * the integer weights afterwards (planSplits).
 *
 * The rule (docs/loihi.md "Fitting ordinary networks"):
 * 1. Per channel c: its hard limit H_c (the largest Θ at which its worst-case input |q| ≤ 2^q_bits − 1
 *    and current |u| ≤ 2^(u_bits−1) − 1, its largest weight fits the mantissa at the largest exponent
 *    and its bias fits the bias grid), its v-safe scale S_c (no saturation of v) and its precision
 *    scale P_c (its largest weight fills the mantissa at the smallest exponent); its own target is
 *    t_c = min(H_c, max(S_c, P_c)): the single-scale rule applied to that channel alone.
 * 2. When the targets span at most SINGLE_SCALE_SPREAD_BITS bits (or a one-to-one snn.scale group
 *    feeds the layer: the residual shortcut's factor is one number), Θ is the single-scale rule of
 *    earlier versions over all channels.
 * 3. Otherwise (per-channel λ of near-dead channels makes rows differ by orders of magnitude, and a
 *    shared Θ and weight exponent would flush the small rows' weights): channel c uses the threshold
 *    class Θ_c = Θ / 2^k_c with Θ = 2^a, k_c = ⌈log2(Θ / t_c)⌉ clamped to a window of classBudget
 *    classes; a is the window that holds the most targets (ties: the lower one). Exact in hardware (a
 *    per-channel ramp weight on Loihi 1, a threshold profile on Loihi 2).
 * 4. A channel whose hard limit is still below its Θ_c takes further classes down to thetaFloor.
 * 5. (planSplits) A channel whose integer worst case still exceeds q or u is split over P integrator
 *    compartments (interleaved weights, each part's worst case within the limit): exact, P − 1 more
 *    compartments per neuron of the channel. What still does not fit is left to the DRC (no legal
 *    configuration).
 */
export function quantizeLayer(pop: Pop, p: Profile, phi: number): LayerQuant {
  const mantMax = weightMantMax(p);
  const shift = weightShift(p);
  const C = channelsOf(pop);
  const f = channelFacts(pop);
  const bias = layerBias(pop);
  const grid = biasGrid(p);
  // Steps the membrane may integrate a non-zero current (windows × T with one window for all layers).
  const span = Math.max(1, pop.span);
  const wLim = mantMax * 2 ** (shift + p.weight_exp_max);
  const bLim = grid.mantMax * 2 ** (grid.shift + grid.eMax);
  const regLim = Math.min(qMax(p), uMax(p));
  const precUnit = mantMax * 2 ** (shift + weightExpMin(p));
  // Per channel: worst case (θ units), hard limits (all, and the registers' alone), soft and precision scales.
  const worst = new Float64Array(C);
  const hard = new Float64Array(C);
  const hardReg = new Float64Array(C);
  const soft = new Float64Array(C);
  const target = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const b = bias ? Math.abs(bias[c]!) : 0;
    worst[c] = Math.max(f.pos[c]!, f.neg[c]!) + b;
    hardReg[c] = worst[c]! > 0 ? (regLim / worst[c]!) * MARGIN : Infinity;
    hard[c] = Math.min(hardReg[c]!, f.wmax[c]! > 0 ? wLim / f.wmax[c]! : Infinity, b > 0 ? bLim / b : Infinity);
    soft[c] = worst[c]! > 0 ? (vMax(p) / (span * worst[c]! + 1)) * MARGIN : Infinity;
    const prec = f.wmax[c]! > 0 ? precUnit / f.wmax[c]! : 0;
    target[c] = Math.min(hard[c]!, Math.max(soft[c]!, prec));
  }
  const vthLimit = vthMantMax(p) * 2 ** p.vth_shift;
  const rampLimit = p.tsc.synapse === "option-a" ? mantMax * 2 ** (shift + p.weight_exp_max) : Infinity;
  const unit = 2 ** p.vth_shift;
  const floor = thetaFloor(p, phi);

  // The single-scale rule of earlier versions.
  const limits: [string, number][] = [["vth_mant range", vthLimit]];
  let wmaxAll = 0;
  let worstAll = 0;
  let bmax = 0;
  pop.groups.forEach((g, gi) => {
    let gm = 0;
    for (let c = 0; c < C; c++) gm = Math.max(gm, f.gmax[gi]![c]!);
    if (gm > 0) limits.push([`largest weight (${g.op.name})`, wLim / gm]);
    wmaxAll = Math.max(wmaxAll, gm);
  });
  if (Number.isFinite(rampLimit)) limits.push(["ramp current Θ as a synapse weight", rampLimit]);
  for (let c = 0; c < C; c++) {
    worstAll = Math.max(worstAll, worst[c]!);
    if (bias) bmax = Math.max(bmax, Math.abs(bias[c]!));
  }
  if (bmax > 0) limits.push(["largest bias", bLim / bmax]);
  if (worstAll > 0) {
    limits.push(["per-step input q", (qMax(p) / worstAll) * MARGIN]);
    limits.push(["current u", (uMax(p) / worstAll) * MARGIN]);
  }
  let sHard = Infinity;
  let boundBy = "";
  for (const [why, lim] of limits) {
    if (lim < sHard) {
      sHard = lim;
      boundBy = why;
    }
  }
  const sSoft = worstAll > 0 ? (vMax(p) / (span * worstAll + 1)) * MARGIN : Infinity;
  const sPrec = wmaxAll > 0 ? precUnit / wmaxAll : 0;
  let s = Math.min(sHard, Math.max(sSoft, sPrec));
  if (!Number.isFinite(s)) s = vthMantMax(p) * 2 ** p.vth_shift;
  if (s === sSoft && sSoft < sHard) boundBy = "membrane range v (no saturation)";
  s = Math.max(unit, roundDownGrid(s, p.weight_bits - 1, p.vth_shift));

  const logs = [...target].filter((x) => Number.isFinite(x) && x > 0).map(Math.log2);
  const spread = logs.length ? Math.max(...logs) - Math.min(...logs) : 0;
  const classesAllowed = !f.hasScale;
  let shifts: Uint8Array | null = null;
  const notes: string[] = [];
  const kFloor = (top: number): number => Math.max(0, Math.floor(Math.log2(top / floor)));
  if (classesAllowed && spread > SINGLE_SCALE_SPREAD_BITS) {
    // Classes: the window of `budget` power-of-two scales that holds the most targets.
    const budget = classBudget(p);
    const aMax = Math.floor(Math.log2(Math.min(vthLimit, rampLimit)));
    let best = -1;
    let bestA = p.vth_shift;
    for (let a = p.vth_shift; a <= aMax; a++) {
      const lo = a - Math.min(budget - 1, kFloor(2 ** a));
      let n = 0;
      for (const l of logs) if (l >= lo && l < a + 1) n++;
      if (n > best) {
        best = n;
        bestA = a;
      }
    }
    s = 2 ** bestA;
    const K = Math.min(budget - 1, kFloor(s));
    shifts = new Uint8Array(C);
    for (let c = 0; c < C; c++) {
      const t = target[c]!;
      shifts[c] = !(t > 0) ? K : t >= s ? 0 : Math.min(K, Math.ceil(Math.log2(s / t)));
    }
    boundBy = `threshold classes (targets span ${spread.toFixed(1)} bits)`;
    notes.push(`per-channel threshold classes: targets span ${spread.toFixed(1)} bits (> ${SINGLE_SCALE_SPREAD_BITS}); window of ${K + 1} classes holds ${best} of ${logs.length} channels`);
  }
  // Channels whose hard limit their scale exceeds: lower classes down to the floor (needs Θ a power of two).
  if (classesAllowed) {
    const scaleOf = (c: number): number => (shifts ? s / 2 ** shifts[c]! : s);
    let tail = 0;
    for (let c = 0; c < C; c++) if (hard[c]! < scaleOf(c)) tail++;
    if (tail > 0) {
      if (!shifts) {
        s = 2 ** Math.floor(Math.log2(s));
        shifts = new Uint8Array(C);
      }
      const K = kFloor(s);
      for (let c = 0; c < C; c++) while (shifts[c]! < K && s / 2 ** shifts[c]! > hard[c]!) shifts[c]!++;
      notes.push(`${tail} channel(s) below their hard limit moved to lower threshold classes`);
    }
    if (shifts && shifts.every((k) => k === 0)) shifts = null;
  }
  const rowScale = (c: number): number => (shifts ? s / 2 ** shifts[c]! : s);
  // Φ: with classes, a multiple of 2^kmax so that Φ_c = Φ / 2^k is exact in every class.
  let kTop = 0;
  if (shifts) for (const k of shifts) kTop = Math.max(kTop, k);
  const phiInt = kTop > 0 ? 2 ** kTop * Math.round((phi * s) / 2 ** kTop) : Math.round(phi * s);
  // v-safe: no channel's worst-case membrane path exceeds vmax at its scale.
  let vSafe = true;
  for (let c = 0; c < C; c++) if (worst[c]! > 0 && rowScale(c) > soft[c]!) vSafe = false;
  let bmaxInt = 0;
  if (bias) for (let c = 0; c < bias.length; c++) bmaxInt = Math.max(bmaxInt, Math.abs(bias[c]!) * rowScale(c));
  const bias_mant = new Float32Array(bias ? bias.length : 0);
  let bias_exp = grid.eMin;
  if (bias && s > 0) {
    for (let e = grid.eMin; e <= grid.eMax; e++) {
      bias_exp = e;
      if (Math.round(bmaxInt / 2 ** (grid.shift + e)) <= grid.mantMax) break;
    }
    const bunit = 2 ** (grid.shift + bias_exp);
    for (let c = 0; c < bias.length; c++) {
      const m = Math.round((bias[c]! * rowScale(c)) / bunit);
      bias_mant[c] = Math.max(-grid.mantMax, Math.min(grid.mantMax, m));
    }
  }
  // What the DRC's threshold-range rule checks: the smallest scale the weight and bias limits allow a
  // channel (register limits are met by classes and fan-in splits; where a single weight exceeds a
  // register, the q-/u-overflow rules say so), against the smallest scale it may use.
  let scaleLimit = Math.min(vthLimit, rampLimit);
  for (let c = 0; c < C; c++) {
    const b = bias ? Math.abs(bias[c]!) : 0;
    scaleLimit = Math.min(scaleLimit, f.wmax[c]! > 0 ? wLim / f.wmax[c]! : Infinity, b > 0 ? bLim / b : Infinity);
  }
  const scaleFloor = classesAllowed ? floor : unit;
  return { scale: s, vth_mant: s / 2 ** p.vth_shift, phi: phiInt, bias_mant, bias_exp, row_abs_sum: worstAll, bound_by: boundBy, v_safe: vSafe, scale_limit: scaleLimit, scale_floor: scaleFloor, shifts, notes };
}

/** Splits as one flat list of numbers (an IR attribute): channel, parts, channel, parts, … */
export function encodeSplits(splits: readonly ChannelSplit[]): number[] {
  return splits.flatMap((sp) => [sp.channel, sp.parts]);
}

export function decodeSplits(flat: readonly number[] | undefined): ChannelSplit[] {
  const out: ChannelSplit[] = [];
  if (flat) for (let i = 0; i + 1 < flat.length; i += 2) out.push({ channel: flat[i]!, parts: flat[i + 1]! });
  return out;
}

/** Integer weights of a group (mantissas and per-row exponents), as the splits and their checks read them. */
export type GroupInts = (g: Group) => { mant: ArrayLike<number>; exps: readonly number[] } | undefined;

/** Visit channel c's integer weights: for each synapse group, weight k of its row. */
function forEachIntWeight(pop: Pop, c: number, weights: GroupInts, shift: number, visit: (w: number, k: number) => void): void {
  for (const g of pop.groups) {
    const wr = weightRows(g);
    const q = weights(g);
    if (!wr || !q) continue;
    const r = g.kind === "scale" ? 0 : c;
    const unit = 2 ** (shift + q.exps[r]!);
    for (let k = 0; k < wr.rowLen; k++) visit(q.mant[r * wr.rowLen + k]! * unit, k);
  }
}

/**
 * Worst case of each part of channel c split `parts` ways (weight k of each group's row → part k mod
 * parts, the bias in part 0): the larger of the part's Σ positive and Σ negative integer weights.
 */
export function partWorst(pop: Pop, c: number, parts: number, weights: GroupInts, shift: number, biasInt: number): number[] {
  const pos = new Float64Array(parts);
  const neg = new Float64Array(parts);
  pos[0] = biasInt;
  neg[0] = biasInt;
  forEachIntWeight(pop, c, weights, shift, (v, k) => {
    if (v > 0) pos[k % parts]! += v;
    else neg[k % parts]! -= v;
  });
  return Array.from(pos, (x, p) => Math.max(x, neg[p]!));
}

function maxWeight(pop: Pop, c: number, weights: GroupInts, shift: number): number {
  let m = 0;
  forEachIntWeight(pop, c, weights, shift, (v) => {
    m = Math.max(m, Math.abs(v));
  });
  return m;
}

/**
 * Fan-in splits, planned on the integer weights (so the parts' worst cases are exact): every channel
 * whose worst case exceeds `limit` takes the fewest parts whose interleaved shares all fit. A channel
 * with a single weight above the limit cannot be split (the q-/u-overflow rules report it).
 */
export function planSplits(pop: Pop, weights: GroupInts, shift: number, limit: number, biasInt: (c: number) => number): ChannelSplit[] {
  const C = channelsOf(pop);
  const out: ChannelSplit[] = [];
  let rowLen = 0;
  for (const g of pop.groups) rowLen = Math.max(rowLen, weightRows(g)?.rowLen ?? 0);
  for (let c = 0; c < C; c++) {
    const whole = partWorst(pop, c, 1, weights, shift, biasInt(c))[0]!;
    if (whole <= limit) continue;
    // One weight (or the bias) alone above the limit: no split fits.
    if (biasInt(c) > limit || maxWeight(pop, c, weights, shift) > limit) continue;
    for (let parts = Math.max(2, Math.ceil(whole / limit)); parts <= Math.max(2, rowLen); parts++) {
      if (Math.max(...partWorst(pop, c, parts, weights, shift, biasInt(c))) <= limit) {
        out.push({ channel: c, parts });
        break;
      }
    }
  }
  return out;
}

export function statsOf(): QuantStats {
  return emptyStats();
}

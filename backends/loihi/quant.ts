/**
 * Integer quantisation of a TSC layer for Loihi-style CUBA compartments (docs/loihi.md).
 *
 * A layer (a tsc or readout population) gets one integer scale s = Θ (the firing quantum θ = 1 in
 * integer units, a threshold vth = vth_mant · 2^vth_shift); every normalised weight W̃ becomes
 * W = w_mant · 2^(shift + e) ≈ W̃·s with an 8-bit mixed-sign mantissa (|w_mant| ≤ 127 on Loihi 1) and an
 * exponent e shared per layer or per core; the per-step bias b̃ becomes B ≈ b̃·s; φ becomes Φ = round(φ·s).
 * The integer TSC neuron then computes d = clip(floor((V + Φ)/Θ), 0, T) with V = T·B + Σ W·d_src.
 *
 * s is chosen as large as the hard limits allow: vth_mant range, the largest weight at the largest
 * exponent, and the worst-case per-step input |q| ≤ 2^q_bits − 1 (all ON switches of a row at once,
 * which TSC's common window edges make possible) and current |u| ≤ 2^(u_bits−1) − 1 (u wraps). It
 * also keeps the worst-case membrane path T·Σ|W| within v's range (v saturates) unless that would cost
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

export function weightRows(g: Group): WeightRows | undefined {
  if (g.kind === "conv") {
    const M = g.geo!.M;
    return { rows: M, rowLen: g.w!.length / M, w: g.w! };
  }
  if (g.kind === "dense") {
    const N = g.target.size;
    return { rows: N, rowLen: g.w!.length / N, w: g.w! };
  }
  if (g.kind === "scale") return { rows: 1, rowLen: 1, w: Float32Array.of(g.factor!) };
  return undefined;
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
export function quantizeRows(wr: WeightRows, s: number, exps: readonly number[], p: Profile, stats?: QuantStats, sums?: { sp: Float64Array; sn: Float64Array; clipped: number }): Float32Array {
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
export function rowExponents(wr: WeightRows, s: number, p: Profile): number[] {
  const out: number[] = [];
  const st = rowStats(wr);
  for (let r = 0; r < wr.rows; r++) out.push(exponentFor(st.max[r]!, s, weightMantMax(p), weightShift(p), weightExpMin(p), p.weight_exp_max));
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

export interface LayerQuant {
  /** Integer scale s = Θ (= vth_mant · 2^vth_shift). */
  readonly scale: number;
  readonly vth_mant: number;
  /** Φ = round(φ·s). */
  readonly phi: number;
  /** Bias mantissas per channel and their exponent (empty when the layer has no bias). */
  readonly bias_mant: Float32Array;
  readonly bias_exp: number;
  /** Worst-case |Σ W̃| per row over all groups (units of θ), the basis of the overflow bounds. */
  readonly row_abs_sum: number;
  /** Which limit set s. */
  readonly bound_by: string;
  /** Whether s honours the v-path bound (no saturation possible). */
  readonly v_safe: boolean;
  /** The largest s the hard limits allow (below one threshold unit: the threshold-range rule fails). */
  readonly scale_limit: number;
}

/** Largest number ≤ x of the form m·2^k with m < 2^bits and k ≥ minShift (0 if none). */
export function roundDownGrid(x: number, bits: number, minShift: number): number {
  if (x < 2 ** minShift) return 0;
  const k = Math.max(minShift, Math.floor(Math.log2(x)) - bits + 1);
  return Math.floor(x / 2 ** k) * 2 ** k;
}

/** Choose the layer scale and quantise its bias (weights are quantised per group, see quantizeRows). */
export function quantizeLayer(pop: Pop, p: Profile, phi: number, T: number): LayerQuant {
  const mantMax = weightMantMax(p);
  const shift = weightShift(p);
  // Worst-case row sums: the switches of a row that are ON at once hold non-negative intervals, so the
  // current (and any one step's input) is bounded by the larger of the positive and negative weight sums.
  const pos = new Float64Array(channelsOf(pop));
  const neg = new Float64Array(channelsOf(pop));
  const limits: [string, number][] = [["vth_mant range", vthMantMax(p) * 2 ** p.vth_shift]];
  for (const g of pop.groups) {
    const wr = weightRows(g);
    if (!wr) continue;
    let gmax = 0;
    const st = rowStats(wr);
    for (let r = 0; r < wr.rows; r++) {
      const sp = st.sp[r]!;
      const sn = st.sn[r]!;
      if (st.max[r]! > gmax) gmax = st.max[r]!;
      if (g.kind === "scale") {
        for (let c = 0; c < pos.length; c++) {
          pos[c]! += sp;
          neg[c]! += sn;
        }
      } else {
        pos[r]! += sp;
        neg[r]! += sn;
      }
    }
    if (gmax > 0) limits.push([`largest weight (${g.op.name})`, (mantMax * 2 ** (shift + p.weight_exp_max)) / gmax]);
  }
  const rowsum = new Float64Array(pos.length);
  for (let c = 0; c < pos.length; c++) rowsum[c] = Math.max(pos[c]!, neg[c]!);
  if (p.tsc.synapse === "option-a") limits.push(["ramp current Θ as a synapse weight", mantMax * 2 ** (shift + p.weight_exp_max)]);
  const bias = layerBias(pop);
  const grid = biasGrid(p);
  let bmax = 0;
  if (bias) for (let c = 0; c < bias.length; c++) bmax = Math.max(bmax, Math.abs(bias[c]!));
  if (bmax > 0) limits.push(["largest bias", (grid.mantMax * 2 ** (grid.shift + grid.eMax)) / bmax]);
  let worst = 0;
  for (let c = 0; c < rowsum.length; c++) worst = Math.max(worst, rowsum[c]! + (bias ? Math.abs(bias[c]!) : 0));
  if (worst > 0) {
    // A small margin covers rounding up of each quantised weight (≤ half an LSB each).
    limits.push(["per-step input q", (qMax(p) / worst) * 0.98]);
    limits.push(["current u", (uMax(p) / worst) * 0.98]);
  }
  let sHard = Infinity;
  let boundBy = "";
  for (const [why, lim] of limits) {
    if (lim < sHard) {
      sHard = lim;
      boundBy = why;
    }
  }
  const windows = Math.max(1, pop.windows.length);
  const sSoft = worst > 0 ? (vMax(p) / (T * windows * worst + 1)) * 0.98 : Infinity;
  // Below s_prec the largest weight no longer fills the mantissa at the smallest exponent.
  let wmaxAll = 0;
  for (const g of pop.groups) {
    const wr = weightRows(g);
    if (!wr) continue;
    const st = rowStats(wr);
    for (let r = 0; r < wr.rows; r++) wmaxAll = Math.max(wmaxAll, st.max[r]!);
  }
  const sPrec = wmaxAll > 0 ? (mantMax * 2 ** (shift + weightExpMin(p))) / wmaxAll : 0;
  let s = Math.min(sHard, Math.max(sSoft, sPrec));
  if (!Number.isFinite(s)) s = vthMantMax(p) * 2 ** p.vth_shift;
  if (s === sSoft && sSoft < sHard) boundBy = "membrane range v (no saturation)";
  // At least one threshold unit: below it the limits cannot all be met (the DRC names which ones fail).
  s = Math.max(2 ** p.vth_shift, roundDownGrid(s, p.weight_bits - 1, p.vth_shift));
  const vSafe = s <= sSoft;
  const bias_mant = new Float32Array(bias ? bias.length : 0);
  let bias_exp = grid.eMin;
  if (bias && s > 0) {
    for (let e = grid.eMin; e <= grid.eMax; e++) {
      bias_exp = e;
      if (Math.round((bmax * s) / 2 ** (grid.shift + e)) <= grid.mantMax) break;
    }
    const unit = 2 ** (grid.shift + bias_exp);
    for (let c = 0; c < bias.length; c++) {
      const m = Math.round((bias[c]! * s) / unit);
      bias_mant[c] = Math.max(-grid.mantMax, Math.min(grid.mantMax, m));
    }
  }
  return { scale: s, vth_mant: s / 2 ** p.vth_shift, phi: Math.round(phi * s), bias_mant, bias_exp, row_abs_sum: worst, bound_by: boundBy, v_safe: vSafe, scale_limit: sHard };
}

export function statsOf(): QuantStats {
  return emptyStats();
}

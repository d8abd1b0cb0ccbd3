/**
 * loihi:quantize for NIR graphs of leaky neurons (leaky.ts): per population one integer scale Θ =
 * vth_mant·2^vth_shift (the threshold in v's integer units; read-outs: the unit of v), weights
 * W = w_mant·2^(shift + e) ≈ w̃·Θ (the TSC quantiser's own code),
 * the per-neuron bias B = b_mant·2^b_exp ≈ b̃·Θ in the 13-bit bias register. Weight exponents: each row
 * (output channel or neuron) its own smallest one while a group needs at most 4 distinct ones (synapse
 * formats), else quant.ts medianTailExponents.
 *
 * Θ is the largest power of two (≥ 2^vth_shift) the hard limits allow, so the 1/Θ truncation of every
 * decay step is small and dyadic parameters quantise exactly where their mantissas fit:
 *   weights    Θ·max|w̃| ≤ w_mant_max·2^(shift + e_max)
 *   q          Θ·Σ|w̃| ≤ 2^q_bits − 1 (every source spiking in one step)
 *   u          Θ·Σ|w̃|·4096/δu ≤ 2^(u_bits−1) − 1 (the current's geometric sum; δu = 4096: u = q)
 *   bias       Θ·max|b̃| ≤ b_mant_max·2^b_exp_max
 *   v          Θ·(Σ|w̃|·4096/δu + max|b̃|)·4096/δv + Θ ≤ 2^(v_bits−1) − 1 when every δv > 0 (IF and I
 *              integrate without bound: saturation is counted by `tscc run`)
 *   threshold  Θ ≤ vth_mant_max·2^vth_shift
 */
import { fmt, M, tensorType, type Module, type PassContext } from "../../ir/index.js";
import { runDrc, STAGE_RULES } from "./drc.js";
import { leakyParams, leakyProfile, programmedDelay } from "./leaky.js";
import type { Pop } from "./model.js";
import { quantInfo, reportDrc, storeGroupQuant } from "./passes.js";
import { biasMantMax, loadProfile, qMax, uMax, vMax, vthMantMax, weightMantMax, weightShift, type Profile } from "./profile.js";
import { medianTailExponents, weightRows } from "./quant.js";
import { loadState } from "./state.js";

const ONE = 4096;
/** Distinct weight exponents a synapse group may use at its rows' own exponents (synapse formats). */
const EXPONENTS_PER_GROUP = 4;

/** Worst-case Σ|w̃| into one neuron (the sum over groups of each group's largest row) and max |w̃|. */
function fanIn(p: Pop): { sum: number; max: number } {
  let sum = 0;
  let max = 0;
  for (const g of p.groups) {
    const wr = weightRows(g)!;
    let worst = 0;
    for (let r = 0; r < wr.rows; r++) {
      let s = 0;
      for (let k = r * wr.rowLen; k < (r + 1) * wr.rowLen; k++) {
        const a = Math.abs(wr.w[k]!);
        s += a;
        if (a > max) max = a;
      }
      worst = Math.max(worst, s);
    }
    sum += worst;
  }
  return { sum, max };
}

export interface LeakyScale {
  readonly scale: number;
  /** The limit that set Θ, and the largest Θ the limits allow (before rounding to the threshold grid). */
  readonly bound_by: string;
  readonly limit: number;
}

/** Θ of a population (see the file comment). */
export function leakyScale(p: Pop, prof: Profile): LeakyScale {
  const lp = leakyParams(p)!;
  const { sum, max } = fanIn(p);
  let duMin = ONE;
  let dvMin = ONE;
  let bMax = 0;
  for (let j = 0; j < lp.du.length; j++) {
    duMin = Math.min(duMin, lp.du[j]!);
    dvMin = Math.min(dvMin, lp.dv[j]!);
    bMax = Math.max(bMax, Math.abs(lp.bias[j]!));
  }
  const uSum = (sum * ONE) / duMin;
  const limits: [string, number][] = [
    ["threshold", vthMantMax(prof) * 2 ** prof.vth_shift],
    ["weight", max > 0 ? (weightMantMax(prof) * 2 ** (weightShift(prof) + prof.weight_exp_max)) / max : Infinity],
    ["q", sum > 0 ? qMax(prof) / sum : Infinity],
    ["u", uSum > 0 ? uMax(prof) / uSum : Infinity],
    ["bias", bMax > 0 ? (biasMantMax(prof) * 2 ** prof.bias_exp_max) / bMax : Infinity],
  ];
  if (dvMin > 0) limits.push(["v", vMax(prof) / (((uSum + bMax) * ONE) / dvMin + (lp.spiking ? 1 : 0))]);
  let [bound_by, limit] = limits[0]!;
  for (const [k, v] of limits) if (v < limit) [bound_by, limit] = [k, v];
  // A power of two: dyadic weights, thresholds and biases (what most exports hold) stay exact wherever
  // their mantissas fit, for at most one bit of Θ's resolution.
  const scale = limit >= 2 ** prof.vth_shift ? 2 ** Math.floor(Math.log2(limit)) : 0;
  return { scale, bound_by, limit };
}

/** Per-neuron bias mantissas with one exponent for the population: B = b_mant·2^b_exp ≈ b̃·Θ. */
export function leakyBias(bias: Float64Array, scale: number, prof: Profile): { mant: Float32Array; exp: number } {
  let bMax = 0;
  for (const b of bias) bMax = Math.max(bMax, Math.abs(b * scale));
  let exp = 0;
  while (exp < prof.bias_exp_max && Math.round(bMax / 2 ** exp) > biasMantMax(prof)) exp++;
  const mant = new Float32Array(bias.length);
  for (let j = 0; j < bias.length; j++) mant[j] = Math.max(-biasMantMax(prof), Math.min(biasMantMax(prof), Math.round((bias[j]! * scale) / 2 ** exp)));
  return { mant, exp };
}

/** The quantize pass on a module of NIR primitives. */
export function quantizeLeaky(m: Module, ctx: PassContext, spec: string, resolved: string, cwd: string | undefined): { changed: boolean } {
  const prof = leakyProfile(loadProfile(spec, cwd));
  m.attrs["loihi.profile"] = resolved;
  m.attrs["loihi.profile_name"] = prof.name;
  m.attrs["loihi.exponent"] = "layer";
  m.attrs["loihi.realisation"] = "leaky";
  const { net } = loadState(m, cwd);
  for (const g of net.groups) {
    const d = programmedDelay(net, g);
    if (d > prof.delay_max) ctx.diag.report(fmt(M.LoihiLeaky, [`the path into ${g.target.name} needs a synaptic delay of ${d} steps to meet its other inputs, more than delay_max ${prof.delay_max}`], { loc: g.op.loc }));
  }
  let fits = true;
  for (const p of net.placed) {
    const lp = leakyParams(p)!;
    const s = leakyScale(p, prof);
    if (s.scale < 2 ** prof.vth_shift) {
      ctx.diag.report(fmt(M.LoihiNoFit, [`threshold-range the ${s.bound_by} limit allows Θ ≤ ${Number(s.limit.toPrecision(4))}, below one threshold unit 2^${prof.vth_shift} (layer ${p.name}): the weights or bias are too large relative to the threshold for the registers`], { loc: p.op.loc }));
      fits = false;
      continue;
    }
    const a = p.op.attrs;
    a["loihi.scale"] = s.scale;
    a["loihi.vth_mant"] = s.scale / 2 ** prof.vth_shift;
    a["loihi.phi"] = 0;
    a["loihi.bound_by"] = s.bound_by;
    a["loihi.scale_limit"] = Number(s.limit.toPrecision(6));
    a["loihi.scale_floor"] = 2 ** prof.vth_shift;
    const b = leakyBias(lp.bias, s.scale, prof);
    a["loihi.bias_exp"] = b.exp;
    const old = a["loihi.leaky_bias"];
    if (typeof old === "string") m.consts.delete(old);
    const name = m.uniqueConstName(`${p.name.replace(/[^A-Za-z0-9_.-]/g, "_")}.loihi.b`);
    m.addConst(name, tensorType([b.mant.length]), b.mant);
    a["loihi.leaky_bias"] = name;
    // Every row at its own (finest) exponent while a group needs at most EXPONENTS_PER_GROUP of them
    // (each is a synapse format); beyond that, the TSC quantiser's rule for outlier rows.
    storeGroupQuant(m, { prof }, p, s.scale, null, (_g, _rows, natural) => (new Set(natural).size <= EXPONENTS_PER_GROUP ? natural : medianTailExponents(natural)));
  }
  if (!fits) return { changed: false };
  m.attrs["loihi.quantized"] = true;
  const state = loadState(m, cwd);
  reportDrc(ctx, runDrc({ net: state.net, prof, quant: quantInfo(state) }), STAGE_RULES["quantize"]!, state);
  return { changed: true };
}

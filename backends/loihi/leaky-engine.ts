/**
 * Bit-accurate integer engine for NIR graphs mapped as leaky CUBA compartments (leaky.ts), with the
 * clock engine's interface (same input conventions, outputs per graph step) so the run treats both alike.
 *
 * Per chip step s and compartment j of a population at depth d (active for s in [d, d + steps): its
 * graph steps; nothing deeper reads it later):
 *
 *   q = Σ W·spike(source, s − 1 − delay)        |q| > 2^q_bits − 1: counted, wraps past q_bits + sign
 *   u = sign(u)·⌊|u|·(4096 − δu)/4096⌋ + q      wraps to u_bits (counted)
 *   v = sign(v)·⌊|v|·(4096 − δv)/4096⌋ + u + B  clipped to ±(2^(v_bits−1) − 1) (counted)
 *   spiking: v > Θ → spike, v := 0
 *
 * The input population emits frame t at step t (values must be 0 or 1: Loihi's axons carry binary
 * spikes). Graph step t of a population at depth d is chip step t + d: its output is a spike (spiking
 * populations) or v/Θ (read-outs, v in units of Θ). All arithmetic is on integers below 2^53 in float64.
 *
 * Counters (emulator style, per population): synaptic additions = weights delivered, spikes, neuron
 * updates (two per current-based neuron per active step, one otherwise); register events go to
 * `net.events`. (The chip still updates every configured compartment every step: the run reports those
 * compartment updates separately.)
 */
import { Tally } from "../emulator/runtime/counters.js";
import { windowTaps, type ClockResult, type ClockRunOptions } from "../emulator/runtime/clock.js";
import { wrap } from "./engine.js";

export interface LeakyGroupDef {
  readonly source: number;
  /** Steps added to the built-in one (programmed delay plus relays). */
  readonly delay: number;
  readonly kind: "dense" | "conv" | "scale";
  /** Integer weights: dense [N, K], conv [M, C/group, kh, kw]; scale: `factor`. */
  readonly w?: Float32Array;
  readonly factor?: number;
  readonly geo?: { C: number; H: number; W: number; M: number; OH: number; OW: number; kh: number; kw: number; sh: number; sw: number; pt: number; pl: number; dh: number; dw: number; group: number };
}

export interface LeakyPopDef {
  readonly name: string;
  readonly kind: "input" | "lif" | "li";
  readonly size: number;
  readonly depth: number;
  readonly theta: number;
  readonly du?: Float32Array;
  readonly dv?: Float32Array;
  /** Integer bias per neuron (B = b_mant·2^b_exp). */
  readonly bias?: Float32Array;
  readonly current?: boolean;
  readonly groups: readonly LeakyGroupDef[];
}

export interface LeakyNet {
  readonly format: "leaky";
  readonly pops: readonly LeakyPopDef[];
  readonly outputs: readonly { readonly name: string; readonly pop: number }[];
  readonly regs: { readonly qBits: number; readonly uBits: number; readonly vBits: number };
  /** Register events of every run on this network (accumulated). */
  readonly events: { q_overflows: number; u_wraps: number; v_saturations: number };
}

/** A group's synapses per source neuron (CSR): targets and integer weights. */
interface Csr {
  readonly start: Int32Array;
  readonly target: Int32Array;
  readonly weight: Float64Array;
}

function csrOf(g: LeakyGroupDef, K: number, N: number): Csr {
  const lists: number[][] = Array.from({ length: K }, () => []);
  if (g.kind === "scale") for (let k = 0; k < K; k++) lists[k]!.push(k, g.factor!);
  else if (g.kind === "dense") {
    const w = g.w!;
    for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) if (w[j * K + k] !== 0) lists[k]!.push(j, w[j * K + k]!);
  } else {
    const geo = g.geo!;
    const taps = windowTaps([geo.H, geo.W], [geo.OH, geo.OW], [geo.kh, geo.kw], [geo.sh, geo.sw], [geo.pt, geo.pl], [geo.dh, geo.dw]);
    const Cg = geo.C / geo.group;
    const Mg = geo.M / geo.group;
    const kk = geo.kh * geo.kw;
    const IP = geo.H * geo.W;
    const OP = geo.OH * geo.OW;
    for (let c = 0; c < geo.C; c++) {
      const grp = Math.floor(c / Cg);
      const cl = c - grp * Cg;
      for (let pos = 0; pos < IP; pos++) {
        const list = lists[c * IP + pos]!;
        for (let t = taps.start[pos]!; t < taps.start[pos + 1]!; t++)
          for (let mm = grp * Mg; mm < (grp + 1) * Mg; mm++) {
            const w = g.w![(mm * Cg + cl) * kk + taps.k[t]!]!;
            if (w !== 0) list.push(mm * OP + taps.out[t]!, w);
          }
      }
    }
  }
  const start = new Int32Array(K + 1);
  for (let k = 0; k < K; k++) start[k + 1] = start[k]! + lists[k]!.length / 2;
  const target = new Int32Array(start[K]!);
  const weight = new Float64Array(start[K]!);
  lists.forEach((l, k) => {
    for (let i = 0; i < l.length; i += 2) {
      target[start[k]! + i / 2] = l[i]!;
      weight[start[k]! + i / 2] = l[i + 1]!;
    }
  });
  return { start, target, weight };
}

const csrCache = new WeakMap<LeakyGroupDef, Csr>();

/** Decay of an integer register by δ/4096, truncating towards zero (Loihi's sign·⌊|x|·(4096 − δ)/4096⌋). */
export function decayInt(x: number, d: number): number {
  if (x === 0 || d === 0) return x;
  const m = Math.floor((Math.abs(x) * (4096 - d)) / 4096);
  return x < 0 ? 0 - m : m;
}

/** Run `batch` samples; `input` is [steps, batch, size] or (static) [batch, size]; 0/1 values. */
export function runLeaky(net: LeakyNet, input: Float32Array | Float64Array, batch: number, opts: ClockRunOptions = {}): ClockResult {
  const pops = net.pops;
  const inSize = pops[0]!.size;
  const steps = opts.staticInput ? opts.steps! : input.length / (batch * inSize);
  const D = Math.max(...net.outputs.map((o) => pops[o.pop]!.depth));
  const csr = pops.map((p) =>
    p.groups.map((g) => {
      let c = csrCache.get(g);
      if (!c) csrCache.set(g, (c = csrOf(g, pops[g.source]!.size, p.size)));
      return c;
    }),
  );
  // Spike history per population: a ring of the last `lag` steps.
  const lag = pops.map(() => 1);
  for (const p of pops) for (const g of p.groups) lag[g.source] = Math.max(lag[g.source]!, g.delay + 2);
  const qMax = 2 ** net.regs.qBits - 1;
  const uHalf = 2 ** (net.regs.uBits - 1);
  const vMax = 2 ** (net.regs.vBits - 1) - 1;
  const ev = net.events;
  const counted = { nodes: pops.map((p, i) => ({ kind: p.kind, out: i })), values: pops.map((p) => ({ name: p.name })) };
  const total = new Tally(pops.length);
  const sample = new Tally(pops.length);
  const outputs = net.outputs.map((o) => new Float64Array(steps * batch * pops[o.pop]!.size));
  for (let b = 0; b < batch; b++) {
    sample.clear();
    const hist = pops.map((p, i) => new Uint8Array(lag[i]! * p.size));
    const u = pops.map((p) => new Float64Array(p.size));
    const v = pops.map((p) => new Float64Array(p.size));
    const q = pops.map((p) => new Float64Array(p.size));
    const counts = pops.map((p) => new Int32Array(p.size));
    for (let s = 0; s < steps + D; s++) {
      // Input frame s (zeros after the input ends).
      const h0 = hist[0]!;
      const o0 = (s % lag[0]!) * inSize;
      if (s < steps) {
        const off = opts.staticInput ? b * inSize : (s * batch + b) * inSize;
        for (let j = 0; j < inSize; j++) h0[o0 + j] = input[off + j]! === 1 ? 1 : 0;
      } else h0.fill(0, o0, o0 + inSize);
      for (let i = 1; i < pops.length; i++) {
        const p = pops[i]!;
        const hi = hist[i]!;
        const oi = (s % lag[i]!) * p.size;
        hi.fill(0, oi, oi + p.size);
        if (s < p.depth || s >= p.depth + steps) continue;
        const qi = q[i]!;
        qi.fill(0);
        let syn = 0;
        p.groups.forEach((g, gi) => {
          const when = s - 1 - g.delay;
          if (when < 0) return;
          const src = hist[g.source]!;
          const sz = pops[g.source]!.size;
          const base = (when % lag[g.source]!) * sz;
          const { start, target, weight } = csr[i]![gi]!;
          for (let k = 0; k < sz; k++) {
            if (src[base + k] === 0) continue;
            for (let e = start[k]!; e < start[k + 1]!; e++) qi[target[e]!]! += weight[e]!;
            syn += start[k + 1]! - start[k]!;
          }
        });
        sample.syn[i]! += syn;
        sample.neuron[i]! += p.size * (p.current ? 2 : 1);
        const ui = u[i]!;
        const vi = v[i]!;
        const du = p.du!;
        const dv = p.dv!;
        const bias = p.bias;
        let spikes = 0;
        for (let j = 0; j < p.size; j++) {
          let qj = qi[j]!;
          if (qj > qMax || qj < -qMax) {
            ev.q_overflows++;
            qj = wrap(qj, net.regs.qBits + 1);
          }
          let uj = decayInt(ui[j]!, du[j]!) + qj;
          if (uj >= uHalf || uj < -uHalf) {
            ev.u_wraps++;
            uj = wrap(uj, net.regs.uBits);
          }
          ui[j] = uj;
          let vj = decayInt(vi[j]!, dv[j]!) + uj + (bias ? bias[j]! : 0);
          if (vj > vMax || vj < -vMax) {
            ev.v_saturations++;
            vj = vj > 0 ? vMax : -vMax;
          }
          if (p.kind === "lif" && vj > p.theta) {
            vj = 0;
            hi[oi + j] = 1;
            spikes++;
            counts[i]![j]!++;
          }
          vi[j] = vj;
        }
        sample.spikes[i]! += spikes;
      }
      net.outputs.forEach((o, k) => {
        const p = pops[o.pop]!;
        const t = s - p.depth;
        if (t < 0 || t >= steps) return;
        const y = outputs[k]!;
        const off = (t * batch + b) * p.size;
        if (p.kind === "lif") for (let j = 0; j < p.size; j++) y[off + j] = hist[o.pop]![(s % lag[o.pop]!) * p.size + j]!;
        else for (let j = 0; j < p.size; j++) y[off + j] = v[o.pop]![j]! / p.theta;
      });
    }
    for (const c of counts) for (const x of c) if (x > sample.maxPerNeuron) sample.maxPerNeuron = x;
    total.addFrom(sample);
  }
  const spiking = pops.map((p) => (p.kind === "lif" ? p.size : 0));
  return { outputs, steps, counters: total.freeze(counted, batch, spiking) };
}

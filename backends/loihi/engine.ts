/**
 * Bit-accurate emulation of the mapped network: the quantised integer TSC network on Loihi-style CUBA
 * registers, step by step (docs/loihi.md "Bit-accurate run").
 *
 * Input is an emulator `Network` whose weights are the integer synaptic weights W = w_mant·2^(shift+e),
 * biases the integer per-step bias B, and whose tsc nodes carry θ = Θ and φ = Φ (integer units). Timing
 * is Loihi's (model.ts): a spike at t arrives at t + 1; sources of a window ending at E send ON at
 * E − d and OFF at E; a layer of window T compares at F = max E_src + 1 and sends ON at F + k, OFF at
 * F + T. Per-layer windows: every neuron node has its own T (the emulator schedule's `steps`); the gains
 * T/T_s are already folded into the integer weights, so the registers add each weight as it is; the
 * bias window is [F − T, F), and the schedule starts `lead` steps late where that would begin before 0.
 *
 * Per neuron integrator, every step t of its integration: q = Σ weights of the switch events arriving
 * at t (+B at the start and −B at the end of the bias window when the bias is a clock synapse);
 * |q| > 2^q_bits − 1 counts a q overflow (q wraps like the hardware register); u ← wrap(u + q) to
 * u_bits (wraps counted); v ← clip(v + u (+ B for a neuron bias), vmin, vmax) (saturations counted).
 * The fire rule is the ramp comparator: the first k ∈ [0, T) with V + Φ + (k − T)·Θ ≥ 0 sends ON at F + k
 * (interval d = T − k); none: silent. An OR gate sends ON one step after its first input ON and OFF one
 * step after its sources' window end.
 *
 * Counters: synaptic operations (weights delivered), spikes, compartment updates (every configured
 * compartment every step of the run, which is what costs energy on Loihi), the emulator-style neuron
 * updates, and overflow events.
 */
import { planOf, tscInterval, type ConcatPlan, type EncodePlan, type NeuronPlan, type Plan, type SynapsePlan } from "../emulator/runtime/plan.js";
import { deliverList } from "../emulator/runtime/kernels.js";
import type { Network } from "../emulator/runtime/network.js";

export interface EngineConfig {
  readonly qBits: number;
  readonly uBits: number;
  readonly vBits: number;
  /** Bias through a clock switch synapse (into q and u) or the neuron's bias register (into v). */
  readonly biasVia: "clock-synapse" | "neuron";
}

export interface EngineCounters {
  synaptic_ops: number;
  spikes: number;
  /** Emulator-style neuron-state updates (1 + Σ steps of the integration windows + d per tsc neuron). */
  neuron_updates: number;
  q_overflows: number;
  u_wraps: number;
  v_saturations: number;
  /** Per node index: synaptic ops into it and spikes out of it. */
  readonly layer_synaptic_ops: Float64Array;
  readonly layer_spikes: Float64Array;
}

export interface EngineResult {
  readonly logits: Float32Array;
  readonly counters: EngineCounters;
  /** Loihi schedule: the step the output is read (+1 = steps of the run). */
  readonly latency: number;
  /** Intervals per spikes value when recorded (sample-major). */
  readonly intervals?: (Uint16Array | null)[];
}

function wrap(x: number, bits: number): number {
  const m = 2 ** bits;
  const h = m / 2;
  let r = x % m;
  if (r >= h) r -= m;
  else if (r < -h) r += m;
  return r;
}

interface Times {
  on: Int32Array;
  off: Int32Array;
  /** Window end (common OFF time) of the value. */
  E: number;
  /** Steps of the window the value fires in. */
  T: number;
}

/** Loihi-specific fields the integer twin's nodes carry (run.ts loadNetworks). */
interface LoihiNodeExtras {
  /** Extra steps of a relayed group. */
  readonly loihi_delay?: number;
  /** Neuron nodes: threshold class per channel (Θ_c = θ / 2^k, Φ_c = φ / 2^k). */
  readonly loihi_theta_shift?: Float32Array;
  /** Neuron nodes: [channel, parts] pairs of the channels whose integrator is split (weight k of a row → part k mod parts). */
  readonly loihi_fanin_parts?: readonly number[];
}

function extrasOf(n: unknown): LoihiNodeExtras {
  return n as LoihiNodeExtras;
}

/**
 * Split integrators of one neuron node: each split channel's integrator is `parts` compartments; part
 * p integrates the weights k ≡ p (mod parts) of the channel's row in every synapse group. Sub-plans
 * deliver the split channels' part-p weights into a small register file laid out position-major
 * (position · S + slot) for the S split channels.
 */
interface SplitIntegrators {
  /** Slot (index among the split channels) per channel, −1 for unsplit channels. */
  readonly slotOf: Int32Array;
  readonly parts: Int32Array;
  readonly S: number;
  readonly Pmax: number;
  /** Positions per channel (H·W, 1 for flat populations). */
  readonly positions: number;
  /** Per term and part: a synapse plan restricted to the split channels' part-p weights (null: scale term). */
  readonly sub: (SynapsePlan | null)[][];
  /** Per scale term: the part of each split slot's one-to-one synapse. */
  readonly scalePart: (Int32Array | null)[];
}

function buildSplit(net: Network, plan: Plan, nodeIndex: number, np: NeuronPlan): SplitIntegrators | null {
  const pairs = extrasOf(net.nodes[nodeIndex]).loihi_fanin_parts;
  if (!pairs || pairs.length === 0) return null;
  const shape = net.values[(net.nodes[nodeIndex] as { in: number }).in]!.shape;
  const C = shape.length === 3 ? shape[0]! : np.pop.n;
  const positions = np.pop.n / C;
  const slotOf = new Int32Array(C).fill(-1);
  const chans: number[] = [];
  const partsOf: number[] = [];
  for (let k = 0; k + 1 < pairs.length; k += 2) {
    slotOf[pairs[k]!] = chans.length;
    chans.push(pairs[k]!);
    partsOf.push(pairs[k + 1]!);
  }
  const S = chans.length;
  const Pmax = Math.max(...partsOf);
  const sub: (SynapsePlan | null)[][] = [];
  const scalePart: (Int32Array | null)[] = [];
  for (const t of np.terms) {
    const sp = plan.nodes[t.node] as SynapsePlan;
    if (sp.kind === "scale") {
      // A one-to-one synapse is the single weight (k = 0) of its row: part 0.
      sub.push([]);
      scalePart.push(new Int32Array(S));
      continue;
    }
    scalePart.push(null);
    const K = sp.K;
    const w = sp.node.w;
    // Rows of the sub-plan: every input (a conv's input channel × tap, over all channel groups, so a
    // grouped conv's split channels read their own group's inputs through one ungrouped plan).
    const rows = sp.kind === "conv" ? sp.C * sp.kk : K;
    const perPart: SynapsePlan[] = [];
    for (let part = 0; part < Pmax; part++) {
      const wt = new Float32Array(rows * S);
      for (let slot = 0; slot < S; slot++) {
        const c = chans[slot]!;
        if (part >= partsOf[slot]!) continue;
        const base = sp.kind === "conv" ? Math.floor(c / sp.Mg) * K : 0;
        for (let r = part; r < K; r += partsOf[slot]!) wt[(base + r) * S + slot] = w[c * K + r]!;
      }
      perPart.push(sp.kind === "conv" ? { ...sp, group: 1, Cg: sp.C, K: rows, M: S, Mg: S, wt } : { ...sp, N: S, wt });
    }
    sub.push(perPart);
  }
  return { slotOf, parts: Int32Array.from(partsOf), S, Pmax, positions, sub, scalePart };
}

/** Run `batch` samples; `x` is [batch × unpadded input size]. */
export function runLoihi(net: Network, x: Float32Array, batch: number, cfg: EngineConfig, record = false): EngineResult {
  const plan: Plan = planOf(net);
  /** Per node: T of its own window (encode, tsc, decode); per spikes value: T of its firing window. */
  const steps = plan.sched.steps;
  const valueT = plan.sched.spikeWindow.map((w) => w?.steps ?? 0);
  const nodes = net.nodes;
  const sizes = plan.sizes;
  const counters: EngineCounters = { synaptic_ops: 0, spikes: 0, neuron_updates: 0, q_overflows: 0, u_wraps: 0, v_saturations: 0, layer_synaptic_ops: new Float64Array(nodes.length), layer_spikes: new Float64Array(nodes.length) };
  const outNode = plan.outputNodes[0]!;
  const nOut = sizes[nodes[outNode]!.out]!;
  const logits = new Float32Array(batch * nOut);
  const qMax = 2 ** cfg.qBits - 1;
  const uHalf = 2 ** (cfg.uBits - 1);
  const vMax = 2 ** (cfg.vBits - 1) - 1;
  const regs0: Registers = { qMax, uHalf, vMax, cfg, counters };
  const intervals = record ? net.values.map((v, id) => (v.kind === "spikes" ? new Uint16Array(batch * sizes[id]!) : null)) : undefined;
  // Time schedule per spikes value (E) and per neuron node (F).
  const E = new Int32Array(net.values.length).fill(-1);
  const F = new Int32Array(nodes.length).fill(-1);
  const delayOf = (node: number): number => extrasOf(nodes[node]).loihi_delay ?? 0;
  const splits = nodes.map((_, i) => {
    const p = plan.nodes[i]!;
    return p.kind === "tsc" || p.kind === "decode" ? buildSplit(net, plan, i, p as NeuronPlan) : null;
  });
  /** Channel of canonical neuron j of a neuron node ([C, H, W]: j / (H·W); flat: j). */
  const channelDiv = nodes.map((n) => {
    const shape = "in" in n ? (net.values[n.in]?.shape ?? []) : [];
    return shape.length === 3 ? shape[1]! * shape[2]! : 1;
  });
  /** The schedule started `lead` steps late; returns the lead every clock's [F − T, F) needs (model.ts). */
  const scheduleFrom = (lead: number): number => {
    let late = 0;
    nodes.forEach((n, i) => {
      const p = plan.nodes[i]!;
      if (n.kind === "encode") E[n.out] = lead + steps[i]!;
      else if (p.kind === "tsc" || p.kind === "decode") {
        let f = 0;
        for (const t of p.terms) f = Math.max(f, E[t.source]! + 1 + delayOf(t.node));
        F[i] = f;
        if (p.kind === "tsc") E[n.out] = f + steps[i]!;
        if (p.kind === "tsc" || (p as NeuronPlan).bias) late = Math.max(late, steps[i]! - f);
      } else if (n.kind === "maxpool") E[n.out] = E[n.in]! + 1 + delayOf(i);
      else if (n.kind === "reshape") E[n.out] = E[n.in]!;
      else if (n.kind === "concat") E[n.out] = Math.max(...n.ins.map((v) => E[v]!));
    });
    return late;
  };
  const lead = scheduleFrom(0);
  if (lead > 0) scheduleFrom(lead);
  const latency = F[outNode]! + 1;
  const times: (Times | null)[] = net.values.map(() => null);
  nodes.forEach((n) => {
    if (net.values[n.out]!.kind === "spikes" && n.kind !== "reshape") times[n.out] = { on: new Int32Array(sizes[n.out]!), off: new Int32Array(sizes[n.out]!), E: E[n.out]!, T: valueT[n.out]! };
  });
  nodes.forEach((n) => {
    if (n.kind === "reshape") times[n.out] = { ...times[n.in]!, E: E[n.out]! };
  });
  const state = new Map<number, { q: Float64Array; u: Float64Array; v: Float64Array; qs: Float64Array; us: Float64Array; vs: Float64Array; tmp: Float64Array; splitBase: Int32Array | null }>();
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i]!;
      const p = plan.nodes[i]!;
      switch (p.kind) {
        case "encode": {
          const tm = times[n.out]!;
          const ep = p as EncodePlan;
          const T = steps[i]!;
          const end = tm.E;
          let sp = 0;
          for (let j = 0; j < ep.n; j++) {
            const s = ep.src ? ep.src[j]! : j;
            const xv = s >= 0 ? x[b * ep.inSize + s]! : ep.padValue[-1 - s]!;
            const d = tscInterval(xv, T, ep.node.scale, ep.node.rounding);
            if (d > 0) {
              tm.on[j] = end - d;
              tm.off[j] = end;
              sp += 2;
            } else {
              tm.on[j] = -1;
              tm.off[j] = -1;
            }
          }
          counters.spikes += sp;
          counters.layer_spikes[i]! += sp;
          break;
        }
        case "tsc":
        case "decode": {
          const np = p as NeuronPlan;
          const nn = np.pop.n;
          const perm = np.pop.perm;
          const sl = splits[i];
          let st = state.get(i);
          if (!st) {
            const regs = sl ? sl.Pmax * sl.positions * sl.S : 0;
            // Internal index → split slot register base (−1: not split).
            let splitBase: Int32Array | null = null;
            if (sl) {
              splitBase = new Int32Array(nn).fill(-1);
              const div = channelDiv[i]!;
              for (let j = 0; j < nn; j++) {
                const slot = sl.slotOf[Math.floor(j / div)]!;
                if (slot >= 0) splitBase[perm ? perm[j]! : j] = (j % div) * sl.S + slot;
              }
            }
            state.set(i, (st = { q: new Float64Array(nn), u: new Float64Array(nn), v: new Float64Array(nn), qs: new Float64Array(regs), us: new Float64Array(regs), vs: new Float64Array(regs), tmp: new Float64Array(sl ? nn : 0), splitBase }));
          }
          const { q, u, v, qs, us, vs, tmp, splitBase } = st;
          u.fill(0);
          v.fill(0);
          us.fill(0);
          vs.fill(0);
          const f = F[i]!;
          const T = steps[i]!;
          // Events by arrival step, per term.
          const terms = np.terms.map((t) => ({ sp: plan.nodes[t.node] as SynapsePlan, tm: times[t.source]!, node: t.node, delay: delayOf(t.node) }));
          let t0 = f - T;
          for (const tt of terms) t0 = Math.min(t0, tt.tm.E - tt.tm.T + 1 + tt.delay);
          // Steps t0..f: the sources' OFF spikes of the last window arrive at f (they cost synaptic
          // operations and return u to 0, but add nothing to v); the comparator reads v after step f.
          const span = f - t0 + 1;
          // Bucket ON/OFF sources by arrival step (index = arrival − t0).
          const buckets = terms.map((tt) => bucketize(tt.tm, t0 - tt.delay, span));
          const bias = np.bias;
          const biasStart = f - T;
          const regs = sl ? sl.positions * sl.S : 0;
          for (let t = t0; t <= f; t++) {
            q.fill(0);
            if (sl) qs.fill(0);
            const k = t - t0;
            for (let e = 0; e < terms.length; e++) {
              const bk = buckets[e]!;
              const tt = terms[e]!;
              let ops = deliverList(tt.sp, bk.onList, bk.onStart[k]!, bk.onStart[k + 1]!, q, np.pop.perm, 1);
              ops += deliverList(tt.sp, bk.offList, bk.offStart[k]!, bk.offStart[k + 1]!, q, np.pop.perm, -1);
              counters.synaptic_ops += ops;
              counters.layer_synaptic_ops[tt.node]! += ops;
              if (!sl) continue;
              // The split channels' per-part inputs (the same synaptic events, counted once above).
              const sub = sl.sub[e]!;
              for (let part = 0; part < sub.length; part++) {
                const r = qs.subarray(part * regs, (part + 1) * regs);
                deliverList(sub[part]!, bk.onList, bk.onStart[k]!, bk.onStart[k + 1]!, r, null, 1);
                deliverList(sub[part]!, bk.offList, bk.offStart[k]!, bk.offStart[k + 1]!, r, null, -1);
              }
              const sp = sl.scalePart[e];
              if (sp) {
                tmp.fill(0);
                deliverList(tt.sp, bk.onList, bk.onStart[k]!, bk.onStart[k + 1]!, tmp, np.pop.perm, 1);
                deliverList(tt.sp, bk.offList, bk.offStart[k]!, bk.offStart[k + 1]!, tmp, np.pop.perm, -1);
                for (let j = 0; j < nn; j++) {
                  const base = splitBase![j]!;
                  if (base >= 0) qs[sp[base % sl.S]! * regs + base]! += tmp[j]!;
                }
              }
            }
            if (bias && cfg.biasVia === "clock-synapse" && (t === biasStart || t === f)) {
              const sgn = t === f ? -1 : 1;
              for (let j = 0; j < nn; j++) q[j]! += sgn * bias[j]!;
              if (sl) for (let j = 0; j < nn; j++) if (splitBase![j]! >= 0) qs[splitBase![j]!]! += sgn * bias[j]!;
              counters.synaptic_ops += nn;
            }
            const biasOn = t >= biasStart && t < f;
            for (let j = 0; j < nn; j++) {
              if (splitBase && splitBase[j]! >= 0) continue;
              integrate(q, u, v, j, bias && cfg.biasVia === "neuron" && biasOn ? bias[j]! : 0, regs0);
            }
            if (sl) {
              // Split integrators: every part is its own compartment (q, u, v registers); bias in part 0.
              for (let j = 0; j < nn; j++) {
                const base = splitBase![j]!;
                if (base < 0) continue;
                const parts = sl.parts[base % sl.S]!;
                for (let part = 0; part < parts; part++) integrate(qs, us, vs, part * regs + base, part === 0 && bias && cfg.biasVia === "neuron" && biasOn ? bias[j]! : 0, regs0);
              }
            }
          }
          if (sl) {
            // The comparator joins the parts: V = Σ v_part (its own register saturates harmlessly: only
            // the comparison with the ramp matters, and the ramp stays within ±(T + 1)·Θ).
            for (let j = 0; j < nn; j++) {
              const base = splitBase![j]!;
              if (base < 0) continue;
              let V = 0;
              for (let part = 0; part < sl.parts[base % sl.S]!; part++) V += vs[part * regs + base]!;
              v[j] = V;
            }
          }
          // The clock's bias OFF (at the window end) cancels the bias current; u returns to 0.
          counters.neuron_updates += nn * (1 + np.integrationSteps);
          const shifts = extrasOf(n).loihi_theta_shift;
          const div = channelDiv[i]!;
          if (p.kind === "tsc") {
            const { theta, phi } = np.node as { theta: number; phi: number };
            const tm = times[n.out]!;
            let sp = 0;
            let dis = 0;
            for (let j = 0; j < nn; j++) {
              const V = v[perm ? perm[j]! : j]!;
              // Threshold class of the neuron's channel: Θ_c = Θ / 2^k, Φ_c = Φ / 2^k (exact integers).
              const kc = shifts ? shifts[Math.floor(j / div)]! : 0;
              const th = theta / 2 ** kc;
              const ph = phi / 2 ** kc;
              tm.on[j] = -1;
              tm.off[j] = -1;
              // Ramp comparator: first k with V + Φ + (k − T)·Θ ≥ 0.
              for (let k = 0; k < T; k++) {
                if (V + ph + (k - T) * th >= 0) {
                  tm.on[j] = f + k;
                  tm.off[j] = f + T;
                  sp += 2;
                  dis += T - k;
                  break;
                }
              }
            }
            counters.spikes += sp;
            counters.layer_spikes[i]! += sp;
            counters.neuron_updates += dis;
          } else {
            const lambda = (np.node as { lambda: number }).lambda;
            for (let j = 0; j < nn; j++) {
              const kc = shifts ? shifts[Math.floor(j / div)]! : 0;
              logits[b * nn + j] = (lambda * 2 ** kc * v[perm ? perm[j]! : j]!) / T;
            }
          }
          break;
        }
        case "maxpool": {
          const mp = p;
          const src = times[mp.node.in]!;
          const tm = times[n.out]!;
          const P = mp.win.H * mp.win.W;
          const OP = mp.win.OH * mp.win.OW;
          const fs = mp.fwd.start;
          const fp = mp.fwd.pos;
          let relayed = 0;
          for (let c = 0; c < mp.C; c++) {
            for (let o = 0; o < OP; o++) {
              let first = -1;
              for (let r = fs[o]!; r < fs[o + 1]!; r++) {
                const t = src.on[c * P + fp[r]!]!;
                if (t >= 0 && (first < 0 || t < first)) first = t;
              }
              tm.on[c * OP + o] = first >= 0 ? first + 1 + delayOf(i) : -1;
              tm.off[c * OP + o] = first >= 0 ? src.E + 1 + delayOf(i) : -1;
              if (first >= 0) relayed += 2;
            }
          }
          counters.spikes += relayed;
          counters.layer_spikes[i]! += relayed;
          break;
        }
        case "concat": {
          const cp = p as ConcatPlan;
          const tm = times[n.out]!;
          cp.node.ins.forEach((vv, k) => {
            const map = cp.maps[k]!;
            const s = times[vv]!;
            for (let e = 0; e < map.length; e++) {
              tm.on[map[e]!] = s.on[e]!;
              tm.off[map[e]!] = s.off[e]!;
            }
          });
          break;
        }
        default:
          break;
      }
    }
    if (intervals) {
      net.values.forEach((_, id) => {
        const iv = intervals[id];
        const tm = times[id];
        if (!iv || !tm) return;
        const nn = tm.on.length;
        for (let j = 0; j < nn; j++) iv[b * nn + j] = tm.on[j]! >= 0 ? tm.off[j]! - tm.on[j]! : 0;
      });
    }
  }
  return { logits, counters, latency, ...(intervals ? { intervals } : {}) };
}

/** Register limits of one run and its event counters. */
interface Registers {
  readonly qMax: number;
  readonly uHalf: number;
  readonly vMax: number;
  readonly cfg: EngineConfig;
  readonly counters: EngineCounters;
}

/**
 * One step of integrator compartment j: q (wraps past q_bits + sign, counted), u ← wrap(u + q) to
 * u_bits (counted), v ← clip(v + u + b) to ±vmax (saturations counted).
 */
function integrate(q: Float64Array, u: Float64Array, v: Float64Array, j: number, b: number, r: Registers): void {
  let qj = q[j]!;
  if (qj > r.qMax || qj < -r.qMax) {
    r.counters.q_overflows++;
    qj = wrap(qj, r.cfg.qBits + 1);
  }
  let uj = u[j]! + qj;
  if (uj >= r.uHalf || uj < -r.uHalf) {
    r.counters.u_wraps++;
    uj = wrap(uj, r.cfg.uBits);
  }
  u[j] = uj;
  let vj = v[j]! + uj + b;
  if (vj > r.vMax) {
    vj = r.vMax;
    r.counters.v_saturations++;
  } else if (vj < -r.vMax) {
    vj = -r.vMax;
    r.counters.v_saturations++;
  }
  v[j] = vj;
}

/** Sources bucketed by the arrival step (spike time + 1) of their ON and OFF spikes. */
function bucketize(tm: Times, t0: number, span: number): { onStart: Int32Array; onList: Int32Array; offStart: Int32Array; offList: Int32Array } {
  const build = (times: Int32Array): { start: Int32Array; list: Int32Array } => {
    const start = new Int32Array(span + 2);
    let count = 0;
    for (let j = 0; j < times.length; j++) {
      const t = times[j]!;
      if (t < 0) continue;
      const k = t + 1 - t0;
      if (k < 0 || k >= span) continue;
      start[k + 1]!++;
      count++;
    }
    for (let k = 0; k <= span; k++) start[k + 1]! += start[k]!;
    const list = new Int32Array(count);
    const cur = start.slice(0, span + 1);
    for (let j = 0; j < times.length; j++) {
      const t = times[j]!;
      if (t < 0) continue;
      const k = t + 1 - t0;
      if (k < 0 || k >= span) continue;
      list[cur[k]!++] = j;
    }
    return { start, list };
  };
  const a = build(tm.on);
  const o = build(tm.off);
  return { onStart: a.start, onList: a.list, offStart: o.start, offList: o.list };
}

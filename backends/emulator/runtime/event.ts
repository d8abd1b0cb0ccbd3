/**
 * The event engine: the reference implementation of the spec's state machines, one sample at a time,
 * counting every operation. `runEvent` dispatches on the coding: TSC here, rate coding in rate.ts.
 *
 * TSC (tsc.md §2–§4, §6): each spikes value holds, per neuron, its spike-1 and spike-2 times (−1 = silent).
 * Every population has its own window of T steps (per-layer windows; schedule.ts).
 * - encode: d = clamp(round|floor(x·T₀/scale), 0, T₀); d > 0 → spike 1 at 0, spike 2 at d.
 * - A neuron population (tsc or decode, window T) integrates its charge: V ← b̃·T + φ at the start of its
 *   first integration window (1 update per neuron); for every integration window [s, s+T_s) of its
 *   sources: I ← 0, then on each step the switch events of every source firing in that window (ON:
 *   I += W̃ column, OFF: I −= W̃ column, one weight read and one addition per target) and then V += g·I
 *   for every neuron (one update each), with the window's gain g = T/T_s (1 when the windows are equal).
 *   A spike 2 at s + T_s (saturated source, d = T_s) lies outside the window and is dropped at no cost
 *   (§3.4 receiver rule), so I never carries −W̃ into a later window of a residual neuron.
 * - tsc fire phase, literally §3.4: at k = 0 spike 1 if V ≥ θ; then V −= θ per step (one update each)
 *   and spike 2 at s + k + 1 once V < θ or k = T − 1.
 * - decode: logits = λ·V/T at the end of the last integration window (no φ, never fires).
 * - maxpool: OR of switches on events: a counter of ON inputs per output; ON at the first input
 *   spike 1, OFF when the last ON input switches off (inputs' spike 2 at s + T included).
 * - reshape aliases its input's spike arrays; concat copies them through an index map.
 *
 * Integration of a layer only needs its sources' spike times, which are final once their fire phase has
 * run, so each population is simulated over its own windows in node (topological) order; this is
 * equivalent to advancing all layers together step by step.
 */
import type { Network } from "./network.js";
import { Tally } from "./counters.js";
import { decodeValue, encodedValue, planOf, splitInputs, tscInterval, type ConcatPlan, type EncodePlan, type MaxPoolPlan, type NeuronPlan, type Plan, type SynapsePlan } from "./plan.js";
import { deliverList } from "./kernels.js";
import { runRate } from "./rate.js";
import type { RunOptions, RunResult, SpikeTimes } from "./types.js";
import type { ChargeTerm, StepWindow } from "./schedule.js";
import { traceRecorders, type NodeTrace } from "./trace.js";

/** Run `batch` samples through the event engine (TSC or rate, by `net.coding`). */
export function runEvent(net: Network, input: Float32Array | readonly Float32Array[], batch: number, opts: RunOptions = {}): RunResult {
  const plan = planOf(net);
  const inputs = splitInputs(plan, input, batch);
  if (net.coding === "rate") return runRate(plan, inputs, batch, opts);
  if (opts.checkpoints && opts.checkpoints.length > 0) throw new Error("checkpoints are for rate coding; a TSC network has one read-out time");
  return runTscEvents(plan, inputs, batch, opts);
}

/**
 * Deliver the events of bucket slot k (ON first, then OFF; the order is immaterial for exact sums).
 * Returns the weights delivered.
 */
function deliverSlot(sp: SynapsePlan, bk: Buckets, k: number, I: Float64Array, perm: Int32Array | null): number {
  return deliverList(sp, bk.onList, bk.onStart[k]!, bk.onStart[k + 1]!, I, perm, 1) + deliverList(sp, bk.offList, bk.offStart[k]!, bk.offStart[k + 1]!, I, perm, -1);
}

/** Time-bucketed events of one spikes value within [s, s + T] (slot T = spike 2 at s + T). */
class Buckets {
  readonly onStart: Int32Array;
  readonly offStart: Int32Array;
  readonly onList: Int32Array;
  readonly offList: Int32Array;
  private readonly cursor: Int32Array;
  stamp = -1;

  constructor(n: number, readonly T: number) {
    this.onStart = new Int32Array(T + 2);
    this.offStart = new Int32Array(T + 2);
    this.onList = new Int32Array(n);
    this.offList = new Int32Array(n);
    this.cursor = new Int32Array(T + 1);
  }

  build(times: Int32Array, s: number, start: Int32Array, list: Int32Array): void {
    const T = this.T;
    start.fill(0);
    const n = times.length;
    for (let i = 0; i < n; i++) {
      const t = times[i]!;
      if (t < 0) continue;
      const k = t - s;
      if (k < 0 || k > T) throw new Error(`internal: spike at ${t} outside window [${s}, ${s + T}]`);
      start[k + 1]!++;
    }
    for (let k = 0; k <= T; k++) start[k + 1]! += start[k]!;
    const cur = this.cursor;
    cur.set(start.subarray(0, T + 1));
    for (let i = 0; i < n; i++) {
      const t = times[i]!;
      if (t < 0) continue;
      list[cur[t - s]!++] = i;
    }
  }

  fill(on: Int32Array, off: Int32Array, s: number): void {
    this.build(on, s, this.onStart, this.onList);
    this.build(off, s, this.offStart, this.offList);
  }
}


interface PopState {
  readonly V: Float64Array;
  readonly I: Float64Array;
  /** Terms grouped by integration window, in window order, with the window's gain T/T_s. */
  readonly byWindow: readonly { readonly window: StepWindow; readonly gain: number; readonly terms: readonly ChargeTerm[] }[];
}

function runTscEvents(plan: Plan, inputs: Float32Array[], batch: number, opts: RunOptions): RunResult {
  const { net, sched } = plan;
  const nv = net.values.length;
  const sizes = plan.sizes;
  const tally = new Tally(net.nodes.length);

  // Spike arrays per spikes value (reshape shares its input's arrays).
  const on: (Int32Array | null)[] = new Array<Int32Array | null>(nv).fill(null);
  const off: (Int32Array | null)[] = new Array<Int32Array | null>(nv).fill(null);
  const buckets: (Buckets | null)[] = new Array<Buckets | null>(nv).fill(null);
  const pops: (PopState | null)[] = net.nodes.map(() => null);
  net.nodes.forEach((n, i) => {
    if (net.values[n.out]!.kind === "spikes") {
      if (n.kind === "reshape") {
        on[n.out] = on[n.in]!;
        off[n.out] = off[n.in]!;
      } else {
        on[n.out] = new Int32Array(sizes[n.out]!);
        off[n.out] = new Int32Array(sizes[n.out]!);
      }
    }
    const p = plan.nodes[i]!;
    if (p.kind === "tsc" || p.kind === "decode") {
      pops[i] = {
        V: new Float64Array(p.pop.n),
        I: new Float64Array(p.pop.n),
        byWindow: p.windows.map((w) => ({ window: w, gain: p.steps / w.steps, terms: p.terms.filter((t) => t.window.start === w.start && t.window.steps === w.steps) })),
      };
    }
  });
  const bucketsOf = (v: number, sample: number): Buckets => {
    let bk = buckets[v];
    const w = sched.spikeWindow[v]!;
    if (!bk) bk = buckets[v] = new Buckets(sizes[v]!, w.steps);
    if (bk.stamp !== sample) {
      bk.fill(on[v]!, off[v]!, w.start);
      bk.stamp = sample;
    }
    return bk;
  };

  const outputs = plan.outputNodes.map((i) => new Float32Array(batch * sizes[net.nodes[i]!.out]!));
  const intervals = opts.recordIntervals ? net.values.map((v, id) => (v.kind === "spikes" && on[id] ? new Uint16Array(batch * sizes[id]!) : null)) : undefined;
  const spikeTimes: (SpikeTimes | null)[] | undefined = opts.recordSpikeTimes
    ? net.values.map((v, id) => (v.kind === "spikes" && on[id] ? { on: new Int32Array(batch * sizes[id]!), off: new Int32Array(batch * sizes[id]!) } : null))
    : undefined;
  const membrane = opts.recordMembrane ? net.nodes.map((n) => (n.kind === "tsc" || n.kind === "decode" ? new Float64Array(batch * sizes[n.in]!) : null)) : undefined;
  const traces = traceRecorders(net, opts.recordTrace, ["tsc", "decode"], sched.latency, batch);

  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < net.nodes.length; i++) {
      const p = plan.nodes[i]!;
      switch (p.kind) {
        case "encode":
          {
            const sp = encodeSample(p, inputs[p.input]!, b, sched.steps[i]!, on[p.node.out]!, off[p.node.out]!);
            tally.spikes[i]! += sp;
            if (sp > 0 && tally.maxPerNeuron < 2) tally.maxPerNeuron = 2; // each active pixel sends exactly 2
          }
          break;
        case "tsc":
        case "decode": {
          const tr = traces?.[i];
          integrate(plan, p, pops[i]!, b, tally, bucketsOf, i, tr ? (t) => tr.recordV(b, t, pops[i]!.V, p.pop.perm) : undefined);
          const mem = membrane?.[i];
          if (mem) {
            const V = pops[i]!.V;
            const perm = p.pop.perm;
            for (let j = 0; j < p.pop.n; j++) mem[b * p.pop.n + j] = V[perm ? perm[j]! : j]!;
          }
          if (p.kind === "tsc") {
            const w = sched.spikeWindow[p.node.out]!;
            tally.spikes[i]! += fire(p, pops[i]!.V, w.start, w.steps, on[p.node.out]!, off[p.node.out]!, tally, i, tr ?? undefined, b);
          } else {
            const V = pops[i]!.V;
            const out = outputs[plan.outputNodes.indexOf(i)];
            if (out) {
              const n = p.pop.n;
              const perm = p.pop.perm;
              const lambda = p.node.lambda;
              for (let j = 0; j < n; j++) out[b * n + j] = decodeValue(lambda, V[perm ? perm[j]! : j]!, p.steps);
            }
          }
          break;
        }
        case "maxpool": {
          const w = sched.spikeWindow[p.node.in]!;
          tally.relayed[i]! += orPool(p, bucketsOf(p.node.in, b), w.start, w.steps, on[p.node.out]!, off[p.node.out]!);
          break;
        }
        case "concat":
          concatSpikes(p, on, off);
          break;
        default:
          break; // synapses and add are integrated by their consumer; reshape aliases
      }
    }
    for (let v = 0; v < nv; v++) {
      const o = on[v];
      if (!o) continue;
      const f = off[v]!;
      const n = o.length;
      const iv = intervals?.[v];
      if (iv) for (let j = 0; j < n; j++) iv[b * n + j] = o[j]! >= 0 ? f[j]! - o[j]! : 0;
      const st = spikeTimes?.[v];
      if (st) {
        st.on.set(o, b * n);
        st.off.set(f, b * n);
      }
    }
    traces?.forEach((t) => t?.finishSample(b));
  }
  const spiking = net.nodes.map((n) => (n.kind === "encode" || n.kind === "tsc" ? sizes[n.out]! : 0));
  const result: RunResult = {
    outputs,
    counters: tally.freeze(net, batch, spiking),
    latency: sched.latency,
    ...(intervals ? { intervals } : {}),
    ...(spikeTimes ? { spikeTimes } : {}),
    ...(membrane ? { membrane } : {}),
    ...(traces ? { traces: opts.recordTrace!.map((r) => traces[r.node]!.result()) } : {}),
  };
  return result;
}

/** Encode sample b; returns the spikes emitted. */
function encodeSample(ep: EncodePlan, x: Float32Array, b: number, T: number, on: Int32Array, off: Int32Array): number {
  const { scale, rounding } = ep.node;
  let spikes = 0;
  for (let j = 0; j < ep.n; j++) {
    const d = tscInterval(encodedValue(ep, x, b, j), T, scale, rounding);
    if (d > 0) {
      on[j] = 0; // spike 1 at the common window start
      off[j] = d; // spike 2
      spikes += 2;
    } else {
      on[j] = -1;
      off[j] = -1;
    }
  }
  return spikes;
}

/**
 * Integration phase of one population for sample `sample`: bias/φ init, then every window step by step.
 * `onStep(t)` (recordTrace) sees V after the init (t = first window start) and after every step (t = step + 1).
 */
function integrate(plan: Plan, p: NeuronPlan, st: PopState, sample: number, tally: Tally, bucketsOf: (v: number, s: number) => Buckets, node: number, onStep?: (t: number) => void): void {
  const T = p.steps;
  const { V, I } = st;
  const n = p.pop.n;
  const perm = p.pop.perm;
  const phi = p.kind === "tsc" ? (p.node as { phi: number }).phi : 0;
  const bias = p.bias;
  if (bias) for (let q = 0; q < n; q++) V[q] = bias[q]! * T + phi;
  else V.fill(phi);
  tally.neuron[node]! += n;
  onStep?.(st.byWindow[0]!.window.start);
  for (const { window, gain, terms } of st.byWindow) {
    I.fill(0);
    const sps = terms.map((t) => plan.nodes[t.node] as SynapsePlan);
    const bks = terms.map((t) => bucketsOf(t.source, sample));
    const nt = terms.length;
    const Ts = window.steps;
    for (let k = 0; k < Ts; k++) {
      for (let e = 0; e < nt; e++) tally.syn[terms[e]!.node]! += deliverSlot(sps[e]!, bks[e]!, k, I, perm);
      if (gain === 1) for (let q = 0; q < n; q++) V[q]! += I[q]!;
      else for (let q = 0; q < n; q++) V[q]! += gain * I[q]!;
      onStep?.(window.start + k + 1);
    }
    // Slot T_s (spike 2 at the window end, from saturated sources) is outside the window: dropped, no cost.
    tally.neuron[node]! += n * Ts;
  }
}

/** Fire phase of a tsc population (§3.4), window start s. Returns the spikes emitted. `tr`: recordTrace of sample b. */
function fire(p: NeuronPlan, V: Float64Array, s: number, T: number, on: Int32Array, off: Int32Array, tally: Tally, node: number, tr?: NodeTrace, b = 0): number {
  const theta = (p.node as { theta: number }).theta;
  const n = p.pop.n;
  const perm = p.pop.perm;
  let spikes = 0;
  let discharges = 0;
  let maxOwn = 0;
  for (let j = 0; j < n; j++) {
    let v = V[perm ? perm[j]! : j]!;
    let own = 0;
    const q = tr ? tr.slot[j]! : -1;
    on[j] = -1;
    off[j] = -1;
    if (v >= theta) {
      on[j] = s; // spike 1 at k = 0
      own++;
      if (q >= 0) tr!.spike(b, j, s, 1);
      for (let k = 0; k < T; k++) {
        v -= theta;
        discharges++;
        if (q >= 0) tr!.recordOne(b, q, s + k + 1, v);
        if (v < theta || k === T - 1) {
          off[j] = s + k + 1; // spike 2
          own++;
          if (q >= 0) tr!.spike(b, j, s + k + 1, 2);
          break;
        }
      }
    }
    spikes += own;
    if (own > maxOwn) maxOwn = own;
  }
  tally.neuron[node]! += discharges;
  if (maxOwn > tally.maxPerNeuron) tally.maxPerNeuron = maxOwn;
  return spikes;
}

/** Max pool as OR of switches, on events. Returns the relayed switch events. */
function orPool(mp: MaxPoolPlan, bk: Buckets, s: number, T: number, outOn: Int32Array, outOff: Int32Array): number {
  const P = mp.win.H * mp.win.W;
  const OP = mp.win.OH * mp.win.OW;
  const rs = mp.rev.start;
  const rp = mp.rev.pos;
  const cnt = new Int32Array(outOn.length);
  outOn.fill(-1);
  outOff.fill(-1);
  let relayed = 0;
  for (let k = 0; k <= T; k++) {
    const t = s + k;
    for (let e = bk.onStart[k]!; e < bk.onStart[k + 1]!; e++) {
      const i = bk.onList[e]!;
      const c = (i / P) | 0;
      const p = i - c * P;
      for (let r = rs[p]!; r < rs[p + 1]!; r++) {
        const o = c * OP + rp[r]!;
        if (cnt[o]!++ === 0) {
          outOn[o] = t;
          relayed++;
        }
      }
    }
    for (let e = bk.offStart[k]!; e < bk.offStart[k + 1]!; e++) {
      const i = bk.offList[e]!;
      const c = (i / P) | 0;
      const p = i - c * P;
      for (let r = rs[p]!; r < rs[p + 1]!; r++) {
        const o = c * OP + rp[r]!;
        if (--cnt[o]! === 0) {
          outOff[o] = t;
          relayed++;
        }
      }
    }
  }
  for (let o = 0; o < cnt.length; o++) if (cnt[o] !== 0) throw new Error("internal: max-pool switch left ON");
  return relayed;
}

function concatSpikes(cp: ConcatPlan, on: (Int32Array | null)[], off: (Int32Array | null)[]): void {
  const oOn = on[cp.node.out]!;
  const oOff = off[cp.node.out]!;
  cp.node.ins.forEach((v, k) => {
    const map = cp.maps[k]!;
    const iOn = on[v]!;
    const iOff = off[v]!;
    for (let i = 0; i < map.length; i++) {
      oOn[map[i]!] = iOn[i]!;
      oOff[map[i]!] = iOff[i]!;
    }
  });
}


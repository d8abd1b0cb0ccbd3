/**
 * Rate-coded baseline (event engine, `if` neurons): time-stepped for `window` steps, one sample at a time.
 * Each step, in node (topological) order, with no synaptic delay:
 * - encode, mode `poisson`: pixel j spikes with probability clamp(x_j/scale, 0, 1), drawn from a mulberry32
 *   generator seeded per (encoder, seed, sampleOffset + b); one draw per pixel per step. Mode `current`:
 *   the encoded population carries the constant analog value a = x/scale (no spikes); a synapse group
 *   reading it adds W̃·a (computed once per sample: `input_macs`, non-zero a only) to its target's charge
 *   every step. reshape/concat pass analog values through; a max pool directly on them is rejected.
 * - synapses deliver the weights of the neurons that spiked this step (spikes × fan-out additions), plus
 *   b̃ every step (part of the neuron update, not counted as synaptic).
 * - if: V += I; if V ≥ θ: spike, then V −= θ (reset "subtract") or V = 0 ("zero"); ≤ 1 spike per step;
 *   V starts at vInit·θ.
 * - maxpool (SNN-Toolbox rule): cumulative spike counts per input are updated with this step's spikes; each
 *   output passes a spike of this step iff the input with the highest count in its window (ties: lowest
 *   index) spiked this step.
 * - decode: V_out += I every step (starting at 0); logits after t steps = λ·V_out/t.
 * `checkpoints` record logits and counters after the given steps of the same run.
 */
import { Tally } from "./counters.js";
import { addColumn, deliverList } from "./kernels.js";
import { decodeValue, inputRate, type EncodePlan, type MaxPoolPlan, type NeuronPlan, type Plan, type SynapsePlan, type TapTable } from "./plan.js";
import type { Checkpoint, RunOptions, RunResult } from "./types.js";
import { traceRecorders } from "./trace.js";

/** mulberry32: the runtime's own seeded generator (floats in [0, 1)). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Seed of the Poisson stream of encoder `enc` (node index) for global sample index `sample`. */
export function poissonSeed(seed: number, enc: number, sample: number): number {
  let h = (seed ^ Math.imul(sample + 1, 0x9e3779b1) ^ Math.imul(enc + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** This step's spikes of a value: canonical indices idx[0..count). */
interface SpikeList {
  readonly idx: Int32Array;
  count: number;
}

interface RatePop {
  readonly V: Float64Array;
  readonly I: Float64Array;
  /** Per-step constant charge: bias + W̃·a of analog sources (per sample). */
  readonly base: Float64Array;
}

export function runRate(plan: Plan, inputs: Float32Array[], batch: number, opts: RunOptions): RunResult {
  const { net, sched } = plan;
  const W = net.window;
  const nodes = net.nodes;
  const sizes = plan.sizes;
  const nv = net.values.length;
  if (opts.recordSpikeTimes) throw new Error("recordSpikeTimes is for TSC networks");
  const cps = [...new Set(opts.checkpoints ?? [])].sort((a, b) => a - b);
  for (const c of cps) if (!Number.isInteger(c) || c < 1 || c > W) throw new Error(`checkpoint ${c} is not a step in [1, ${W}]`);
  const cpIndex = new Int32Array(W + 1).fill(-1);
  cps.forEach((c, k) => (cpIndex[c] = k));
  const offset = opts.sampleOffset ?? 0;

  // Per value: spike list (reshape aliases) or analog values (current-mode encoder and its relabelings).
  const lists: (SpikeList | null)[] = new Array<SpikeList | null>(nv).fill(null);
  const analog: (Float64Array | null)[] = new Array<Float64Array | null>(nv).fill(null);
  const counts: (Int32Array | null)[] = nodes.map(() => null); // spike counts per neuron (spiking pops)
  const pops: (RatePop | null)[] = nodes.map(() => null);
  const pools: ({ cum: Int32Array; last: Int32Array; seen: Int32Array } | null)[] = nodes.map(() => null);
  nodes.forEach((n, i) => {
    const p = plan.nodes[i]!;
    switch (n.kind) {
      case "encode":
        if (n.mode === "current") analog[n.out] = new Float64Array(sizes[n.out]!);
        else {
          lists[n.out] = { idx: new Int32Array(sizes[n.out]!), count: 0 };
          counts[i] = new Int32Array(sizes[n.out]!);
        }
        break;
      case "reshape":
        lists[n.out] = lists[n.in]!;
        analog[n.out] = analog[n.in]!;
        break;
      case "concat": {
        const an = n.ins.map((v) => analog[v] !== null);
        if (an.some((x) => x) && !an.every((x) => x)) throw new Error(`concat ${net.values[n.out]!.name}: mixes analog (current-mode input) and spiking values`);
        if (an[0]) analog[n.out] = new Float64Array(sizes[n.out]!);
        else lists[n.out] = { idx: new Int32Array(sizes[n.out]!), count: 0 };
        break;
      }
      case "maxpool":
        if (analog[n.in]) throw new Error(`maxpool ${net.values[n.out]!.name}: a max pool directly on a current-mode input is not supported`);
        lists[n.out] = { idx: new Int32Array(sizes[n.out]!), count: 0 };
        pools[i] = { cum: new Int32Array(sizes[n.in]!), last: new Int32Array(sizes[n.in]!), seen: new Int32Array(sizes[n.out]!) };
        break;
      case "if":
      case "decode": {
        const np = p as NeuronPlan;
        pops[i] = { V: new Float64Array(np.pop.n), I: new Float64Array(np.pop.n), base: new Float64Array(np.pop.n) };
        if (n.kind === "if") {
          lists[n.out] = { idx: new Int32Array(sizes[n.out]!), count: 0 };
          counts[i] = new Int32Array(sizes[n.out]!);
        }
        break;
      }
      default:
        break;
    }
  });

  const outputs = plan.outputNodes.map((i) => new Float32Array(batch * sizes[nodes[i]!.out]!));
  const cpOut = cps.map(() => plan.outputNodes.map((i) => new Float32Array(batch * sizes[nodes[i]!.out]!)));
  const membrane = opts.recordMembrane ? nodes.map((n) => (n.kind === "if" || n.kind === "decode" ? new Float64Array(batch * sizes[n.in]!) : null)) : undefined;
  const traces = traceRecorders(net, opts.recordTrace, ["if", "decode"], W, batch);
  const total = new Tally(nodes.length);
  const sample = new Tally(nodes.length);
  const cpTally = cps.map(() => new Tally(nodes.length));
  const maxCount = (): number => {
    let m = 0;
    for (const c of counts) if (c) for (let j = 0; j < c.length; j++) if (c[j]! > m) m = c[j]!;
    return m;
  };
  const readOut = (outs: Float32Array[], b: number, t: number): void => {
    plan.outputNodes.forEach((i, k) => {
      const np = plan.nodes[i] as NeuronPlan;
      const V = pops[i]!.V;
      const n = np.pop.n;
      const perm = np.pop.perm;
      const out = outs[k]!;
      for (let j = 0; j < n; j++) out[b * n + j] = decodeValue(np.node.lambda, V[perm ? perm[j]! : j]!, t);
    });
  };

  for (let b = 0; b < batch; b++) {
    sample.clear();
    const rngs: ((() => number) | null)[] = nodes.map(() => null);
    // Per-sample initialisation.
    nodes.forEach((n, i) => {
      const p = plan.nodes[i]!;
      counts[i]?.fill(0);
      const pl = pools[i];
      if (pl) {
        pl.cum.fill(0);
        pl.last.fill(-1);
        pl.seen.fill(-1);
      }
      if (p.kind === "encode") {
        const x = inputs[p.input]!;
        const a = analog[n.out];
        if (a) for (let j = 0; j < p.n; j++) a[j] = inputRate(p, x, b, j);
        else rngs[i] = mulberry32(poissonSeed(p.node.seed, i, offset + b));
      } else if (n.kind === "concat" && analog[n.out]) {
        const cp = plan.nodes[i] as { maps: readonly Int32Array[] };
        const out = analog[n.out]!;
        n.ins.forEach((v, k) => {
          const map = cp.maps[k]!;
          const src = analog[v]!;
          for (let j = 0; j < map.length; j++) out[map[j]!] = src[j]!;
        });
      } else if (p.kind === "if" || p.kind === "decode") {
        const st = pops[i]!;
        st.V.fill(p.kind === "if" ? (p.node as { vInit: number }).vInit * (p.node as { theta: number }).theta : 0);
        traces?.[i]?.recordV(b, 0, st.V, p.pop.perm);
        const base = st.base;
        if (p.bias) base.set(p.bias);
        else base.fill(0);
        for (const t of p.terms) {
          const a = analog[t.source];
          if (!a) continue;
          const sp = plan.nodes[t.node] as SynapsePlan;
          let macs = 0;
          for (let j = 0; j < a.length; j++) if (a[j] !== 0) macs += addColumn(sp, j, a[j]!, base, p.pop.perm);
          sample.macs[t.node]! += macs;
        }
      }
    });

    for (let t = 1; t <= W; t++) {
      for (let i = 0; i < nodes.length; i++) {
        const p = plan.nodes[i]!;
        switch (p.kind) {
          case "encode": {
            const rng = rngs[i];
            if (!rng) break;
            sample.spikes[i]! += poissonStep(p, inputs[p.input]!, b, rng, lists[p.node.out]!, counts[i]!);
            break;
          }
          case "if":
          case "decode": {
            const st = pops[i]!;
            const I = st.I;
            I.set(st.base);
            for (const term of p.terms) {
              const l = lists[term.source];
              if (!l) continue; // analog source: already in base
              sample.syn[term.node]! += deliverList(plan.nodes[term.node] as SynapsePlan, l.idx, 0, l.count, I, p.pop.perm, 1);
            }
            const n = p.pop.n;
            const V = st.V;
            if (p.kind === "decode") {
              for (let q = 0; q < n; q++) V[q]! += I[q]!;
            } else {
              const node = p.node as { theta: number; reset: "subtract" | "zero" };
              sample.spikes[i]! += ifStep(V, I, node.theta, node.reset === "zero", p.pop.inv, lists[p.node.out]!, counts[i]!);
            }
            sample.neuron[i]! += n;
            const tr = traces?.[i];
            if (tr) {
              tr.recordV(b, t, V, p.pop.perm);
              const l = lists[p.node.out];
              if (p.kind === "if" && l) for (let e = 0; e < l.count; e++) tr.spike(b, l.idx[e]!, t, 1);
            }
            break;
          }
          case "maxpool":
            sample.relayed[i]! += poolStep(p, lists[p.node.in]!, lists[p.node.out]!, pools[i]!, t);
            break;
          case "concat": {
            const out = lists[p.node.out];
            if (!out) break;
            out.count = 0;
            p.node.ins.forEach((v, k) => {
              const l = lists[v]!;
              const map = p.maps[k]!;
              for (let e = 0; e < l.count; e++) out.idx[out.count++] = map[l.idx[e]!]!;
            });
            break;
          }
          default:
            break;
        }
      }
      const k = cpIndex[t]!;
      if (k >= 0) {
        readOut(cpOut[k]!, b, t);
        sample.maxPerNeuron = maxCount();
        cpTally[k]!.addFrom(sample);
      }
    }
    readOut(outputs, b, W);
    if (membrane) {
      nodes.forEach((_, i) => {
        const mem = membrane[i];
        if (!mem) return;
        const np = plan.nodes[i] as NeuronPlan;
        const V = pops[i]!.V;
        const perm = np.pop.perm;
        for (let j = 0; j < np.pop.n; j++) mem[b * np.pop.n + j] = V[perm ? perm[j]! : j]!;
      });
    }
    sample.maxPerNeuron = maxCount();
    total.addFrom(sample);
    traces?.forEach((tr) => tr?.finishSample(b));
  }

  const spiking = nodes.map((n) => (n.kind === "if" || (n.kind === "encode" && n.mode !== "current") ? sizes[n.out]! : 0));
  const checkpoints: Checkpoint[] | undefined = cps.length
    ? cps.map((step, k) => ({ step, outputs: cpOut[k]!, counters: cpTally[k]!.freeze(net, batch, spiking) }))
    : undefined;
  return {
    outputs,
    counters: total.freeze(net, batch, spiking),
    latency: sched.latency,
    ...(checkpoints ? { checkpoints } : {}),
    ...(membrane ? { membrane } : {}),
    ...(traces ? { traces: opts.recordTrace!.map((r) => traces[r.node]!.result()) } : {}),
  };
}

function poissonStep(ep: EncodePlan, x: Float32Array, b: number, rng: () => number, out: SpikeList, counts: Int32Array): number {
  let c = 0;
  for (let j = 0; j < ep.n; j++) {
    const r = rng();
    if (r < inputRate(ep, x, b, j)) {
      out.idx[c++] = j;
      counts[j]!++;
    }
  }
  out.count = c;
  return c;
}

/** IF update over the internal layout; spikes are recorded by canonical index. */
function ifStep(V: Float64Array, I: Float64Array, theta: number, zero: boolean, inv: Int32Array | null, out: SpikeList, counts: Int32Array): number {
  const n = V.length;
  let c = 0;
  for (let q = 0; q < n; q++) {
    let v = V[q]! + I[q]!;
    if (v >= theta) {
      v = zero ? 0 : v - theta;
      const j = inv ? inv[q]! : q;
      out.idx[c++] = j;
      counts[j]!++;
    }
    V[q] = v;
  }
  out.count = c;
  return c;
}

/**
 * The max-pool rule of rate coding (SNN Toolbox): output position `op` of a channel (its inputs start at
 * `base`) passes the spikes of the input with the highest spike count so far (`cum`; the first such input
 * on ties). Returns that input's index, −1 for a window with no input.
 */
export function poolWinner(fwd: TapTable, cum: Int32Array, op: number, base: number): number {
  let best = -1;
  let bestCount = -1;
  for (let f = fwd.start[op]!; f < fwd.start[op + 1]!; f++) {
    const ii = base + fwd.pos[f]!;
    if (cum[ii]! > bestCount) {
      bestCount = cum[ii]!;
      best = ii;
    }
  }
  return best;
}

function poolStep(mp: MaxPoolPlan, input: SpikeList, out: SpikeList, st: { cum: Int32Array; last: Int32Array; seen: Int32Array }, t: number): number {
  const P = mp.win.H * mp.win.W;
  const OP = mp.win.OH * mp.win.OW;
  const { cum, last, seen } = st;
  for (let e = 0; e < input.count; e++) {
    const i = input.idx[e]!;
    cum[i]!++;
    last[i] = t;
  }
  let c = 0;
  const rs = mp.rev.start;
  for (let e = 0; e < input.count; e++) {
    const i = input.idx[e]!;
    const ch = (i / P) | 0;
    const p = i - ch * P;
    for (let r = rs[p]!; r < rs[p + 1]!; r++) {
      const op = mp.rev.pos[r]!;
      const o = ch * OP + op;
      if (seen[o] === t) continue;
      seen[o] = t;
      if (last[poolWinner(mp.fwd, cum, op, ch * P)] === t) out.idx[c++] = o;
    }
  }
  out.count = c;
  return c;
}


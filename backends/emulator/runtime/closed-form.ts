/**
 * The closed-form (fast) engine for TSC networks: the theorem of tsc.md §8.4, batched.
 *
 *   d_0 = clamp(round|floor(x·T₀/scale), 0, T₀)
 *   charge = g·W̃ d (conv: im2col + GEMM, dense: GEMM, scale: factor·d; add: sum of the two charges),
 *            with the synapse group's gain g = T/T_s (per-layer windows; 1 when they are equal, and with
 *            opts.foldedGains, where the weights already include it)
 *   tsc:    V = (Σ b̃)·T + φ + charge,  d = clip(floor(V/θ), 0, T)
 *   maxpool = max of the intervals in the window; reshape/concat relabel
 *   decode: logits = λ·(charge + (Σ b̃)·T)/T
 * All sums are float64 (float32 weights), so on dyadic data they are exact and bit-equal to the event engine.
 *
 * Counters are derived analytically from the intervals with exactly the event engine's rules:
 * - synaptic additions (= memory reads) of a synapse group feeding a population: Σ over source neurons
 *   with d ≥ 1 of fanout · (2 if d < T_s, else 1: a spike 2 at s + T_s is dropped by the receiver, §3.4);
 * - neuron updates: per neuron 1 + (Σ steps of its integration windows) + d (tsc discharge steps);
 *   decode: the same without d;
 * - spikes: 2 per neuron with d ≥ 1 (encoder and tsc); max pools: 2 relayed switch events per active output.
 * `ties` (per value id): tsc neurons whose u = V/θ lies within 1e-9·max(1, |u|) of an integer in [1, T].
 *
 * Samples are processed in chunks (`opts.chunk`, default 64) to bound memory.
 */
import type { Network } from "./network.js";
import { Tally } from "./counters.js";
import { convForward, denseForward } from "./gemm.js";
import { decodeValue, encodedValue, fanout, planOf, splitInputs, tscInterval, type MaxPoolPlan, type NeuronPlan, type Plan, type SynapsePlan } from "./plan.js";
import type { RunOptions, RunResult } from "./types.js";
import { nodeInputs } from "./network.js";

export function runClosedForm(net: Network, input: Float32Array | readonly Float32Array[], batch: number, opts: RunOptions = {}): RunResult {
  if (net.coding !== "tsc") {
    throw new Error(`runClosedForm: no closed form exists for ${net.coding}-coded networks (integration and firing overlap); use runEvent`);
  }
  if (opts.recordSpikeTimes || opts.recordMembrane) throw new Error("runClosedForm: recordSpikeTimes and recordMembrane need the event engine (runEvent)");
  if (opts.checkpoints && opts.checkpoints.length > 0) throw new Error("checkpoints are for rate coding");
  const plan = planOf(net);
  const inputs = splitInputs(plan, input, batch);
  const chunk = Math.max(1, Math.floor(opts.chunk ?? 64));
  const sizes = plan.sizes;
  const outputs = plan.outputNodes.map((i) => new Float32Array(batch * sizes[net.nodes[i]!.out]!));
  const intervals = opts.recordIntervals ? net.values.map((v, id) => (v.kind === "spikes" ? new Uint16Array(batch * sizes[id]!) : null)) : undefined;
  const ties = new Array<number>(net.values.length).fill(0);
  const tally = new Tally(net.nodes.length);
  for (let b0 = 0; b0 < batch; b0 += chunk) {
    runChunk(plan, inputs, b0, Math.min(chunk, batch - b0), outputs, intervals, ties, tally, opts.foldedGains === true);
  }
  const spiking = net.nodes.map((n) => (n.kind === "encode" || n.kind === "tsc" ? sizes[n.out]! : 0));
  return {
    outputs,
    counters: tally.freeze(net, batch, spiking),
    latency: plan.sched.latency,
    ties,
    ...(intervals ? { intervals } : {}),
  };
}

function runChunk(plan: Plan, inputs: Float32Array[], b0: number, B: number, outputs: Float32Array[], intervals: (Uint16Array | null)[] | undefined, ties: number[], tally: Tally, foldedGains: boolean): void {
  const { net, sched } = plan;
  const gain = (i: number): number => (foldedGains ? 1 : sched.gain[i]!);
  const sizes = plan.sizes;
  const nodes = net.nodes;
  const vals: (Float64Array | null)[] = new Array<Float64Array | null>(net.values.length).fill(null);
  // A value is released after the last node that needs it: its direct readers and, for spike sources,
  // the populations whose synapse counts (countSynapses) read their intervals.
  const lastNeed = new Int32Array(net.values.length).fill(-1);
  nodes.forEach((n, i) => {
    for (const v of nodeInputs(n)) lastNeed[v] = Math.max(lastNeed[v]!, i);
    const p = plan.nodes[i]!;
    if (p.kind === "tsc" || p.kind === "decode") for (const t of p.terms) lastNeed[t.source] = Math.max(lastNeed[t.source]!, i);
  });
  const releaseAfter: number[][] = nodes.map(() => []);
  lastNeed.forEach((i, v) => i >= 0 && releaseAfter[i]!.push(v));

  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!;
    const p = plan.nodes[i]!;
    const nOut = sizes[n.out]!;
    switch (p.kind) {
      case "encode": {
        const d = new Float64Array(B * nOut);
        const x = inputs[p.input]!;
        const { scale, rounding } = p.node;
        const T = sched.steps[i]!;
        let active = 0;
        for (let b = 0; b < B; b++) {
          for (let j = 0; j < nOut; j++) {
            const v = tscInterval(encodedValue(p, x, b0 + b, j), T, scale, rounding);
            d[b * nOut + j] = v;
            if (v > 0) active++;
          }
        }
        tally.spikes[i]! += 2 * active;
        vals[n.out] = d;
        break;
      }
      case "conv": {
        const out = new Float64Array(B * nOut);
        convForward(p, vals[p.node.in]!, B, out);
        scaleBy(out, gain(i));
        vals[n.out] = out;
        break;
      }
      case "dense": {
        const out = new Float64Array(B * nOut);
        denseForward(p, vals[p.node.in]!, B, out);
        scaleBy(out, gain(i));
        vals[n.out] = out;
        break;
      }
      case "scale": {
        const src = vals[p.node.in]!;
        const f = p.node.factor * gain(i);
        const out = new Float64Array(B * nOut);
        for (let j = 0; j < out.length; j++) out[j] = f * src[j]!;
        vals[n.out] = out;
        break;
      }
      case "add": {
        const node = n as { a: number; b: number };
        const a = vals[node.a]!;
        const c = vals[node.b]!;
        const out = new Float64Array(B * nOut);
        for (let j = 0; j < out.length; j++) out[j] = a[j]! + c[j]!;
        vals[n.out] = out;
        break;
      }
      case "tsc":
      case "decode": {
        countSynapses(plan, p, vals, B, tally);
        const charge = vals[p.node.in]!;
        const n1 = p.pop.n;
        const perm = p.pop.perm;
        const bias = p.bias;
        const T = p.steps;
        tally.neuron[i]! += B * n1 * (1 + p.integrationSteps);
        if (p.kind === "tsc") {
          const { theta, phi } = p.node as { theta: number; phi: number };
          // V at the start of integration, canonical order: b̃·T + φ.
          const init = new Float64Array(n1).fill(phi);
          if (bias) for (let j = 0; j < n1; j++) init[j] = bias[perm ? perm[j]! : j]! * T + phi;
          const d = new Float64Array(B * n1);
          const { active, discharges, ties: nt } = quantise(charge, init, theta, T, B, d);
          ties[n.out]! += nt;
          tally.neuron[i]! += discharges;
          tally.spikes[i]! += 2 * active;
          vals[n.out] = d;
        } else {
          const k = plan.outputNodes.indexOf(i);
          const out = outputs[k];
          if (out) {
            const lambda = p.node.lambda;
            for (let b = 0; b < B; b++) {
              for (let j = 0; j < n1; j++) {
                const init = bias ? bias[perm ? perm[j]! : j]! * T : 0;
                out[(b0 + b) * n1 + j] = decodeValue(lambda, init + charge[b * n1 + j]!, T);
              }
            }
          }
        }
        break;
      }
      case "maxpool": {
        const out = new Float64Array(B * nOut);
        tally.relayed[i]! += 2 * maxPool(p, vals[p.node.in]!, B, out);
        vals[n.out] = out;
        break;
      }
      case "concat": {
        const out = new Float64Array(B * nOut);
        p.node.ins.forEach((v, k) => {
          const src = vals[v]!;
          const map = p.maps[k]!;
          const nIn = map.length;
          for (let b = 0; b < B; b++) for (let j = 0; j < nIn; j++) out[b * nOut + map[j]!] = src[b * nIn + j]!;
        });
        vals[n.out] = out;
        break;
      }
      case "reshape": {
        vals[n.out] = vals[(n as { in: number }).in]!;
        break;
      }
    }
    const rec = intervals?.[n.out];
    const produced = vals[n.out];
    if (rec && produced) for (let j = 0; j < produced.length; j++) rec[b0 * nOut + j] = produced[j]!;
    for (const v of releaseAfter[i]!) vals[v] = null;
  }
  // Any active spiking neuron emits exactly 2 spikes.
  for (let i = 0; i < nodes.length; i++) if ((nodes[i]!.kind === "encode" || nodes[i]!.kind === "tsc") && tally.spikes[i]! > 0) tally.maxPerNeuron = 2;
}

/**
 * d = clip(floor((init + charge)/θ), 0, T) for B samples, canonical order. Returns the active neurons,
 * Σd (discharge steps) and the floor-boundary ties (u within 1e-9·max(1, |u|) of an integer in [1, T]).
 */
function quantise(charge: Float64Array, init: Float64Array, theta: number, T: number, B: number, d: Float64Array): { active: number; discharges: number; ties: number } {
  const n = init.length;
  let active = 0;
  let discharges = 0;
  let ties = 0;
  for (let b = 0; b < B; b++) {
    const o = b * n;
    for (let j = 0; j < n; j++) {
      const u = (init[j]! + charge[o + j]!) / theta;
      const f = Math.floor(u);
      const v = f > 0 ? (f < T ? f : T) : 0;
      d[o + j] = v;
      if (v > 0) {
        active++;
        discharges += v;
      }
      const k = Math.round(u);
      if (k >= 1 && k <= T) {
        const e = u - k;
        const a = u < 0 ? -u : u;
        if ((e < 0 ? -e : e) <= 1e-9 * (a > 1 ? a : 1)) ties++;
      }
    }
  }
  return { active, discharges, ties };
}

/** Max of the intervals in each window (padding is silent). Returns the active outputs. */
function maxPool(p: MaxPoolPlan, src: Float64Array, B: number, out: Float64Array): number {
  const P = p.win.H * p.win.W;
  const OP = p.win.OH * p.win.OW;
  const fs = p.fwd.start;
  const fp = p.fwd.pos;
  let active = 0;
  for (let bc = 0; bc < B * p.C; bc++) {
    const ib = bc * P;
    const ob = bc * OP;
    for (let o = 0; o < OP; o++) {
      let m = 0;
      for (let f = fs[o]!; f < fs[o + 1]!; f++) {
        const v = src[ib + fp[f]!]!;
        if (v > m) m = v;
      }
      out[ob + o] = m;
      if (m > 0) active++;
    }
  }
  return active;
}

/** charge ·= gain (a synapse group's T/T_s; nothing to do when the windows are equal). */
function scaleBy(x: Float64Array, gain: number): void {
  if (gain !== 1) for (let j = 0; j < x.length; j++) x[j]! *= gain;
}

/** Analytic synaptic additions of every term feeding population p (event engine's rule). */
export function countSynapses(plan: Plan, p: NeuronPlan, vals: readonly (ArrayLike<number> | null)[], B: number, tally: Tally): void {
  for (const t of p.terms) {
    const T = t.window.steps;
    const sp = plan.nodes[t.node] as SynapsePlan;
    const d = vals[t.source]!;
    const n = plan.sizes[t.source]!;
    let total = 0;
    if (sp.kind === "conv") {
      const P = sp.win.H * sp.win.W;
      const rs = sp.rev.start;
      for (let b = 0; b < B; b++) {
        for (let j = 0; j < n; j++) {
          const v = d[b * n + j]!;
          if (v <= 0) continue;
          const pos = j % P;
          total += (rs[pos + 1]! - rs[pos]!) * (v < T ? 2 : 1);
        }
      }
      total *= sp.Mg;
    } else {
      const f = fanout(sp, 0);
      let events = 0;
      for (let j = 0; j < B * n; j++) {
        const v = d[j]!;
        if (v > 0) events += v < T ? 2 : 1;
      }
      total = events * f;
    }
    tally.syn[t.node]! += total;
  }
}

/**
 * `recordTrace`: the membrane potential V of chosen neurons at every step, and their spikes, for plots
 * and tests (the event engines only; opt-in, nothing is recorded without it).
 *
 * Time index t = 0..steps is the boundary before step t: v[t] is V after steps 0..t−1 have run (switch
 * events, then V += I; in a TSC fire phase, the discharge). TSC: steps = the schedule's latency, V is NaN
 * before the population's first integration window starts and holds its last value between and after its
 * windows; spikes[t] = 1 for spike 1 (switch ON) at step t, 2 for spike 2 (OFF). Rate: steps = the
 * window, v[0] = the initial potential, v[t] = V after the run's t-th step, spikes[t] = 1 when the neuron
 * fired in that step.
 */
import type { Network } from "./network.js";
import type { Trace, TraceRequest } from "./types.js";

/** The recording of one population (tsc, if or decode node). */
export class NodeTrace {
  /** Canonical neuron index → its slot in `neurons`, −1 when not traced. */
  readonly slot: Int32Array;
  readonly v: Float64Array;
  readonly spikes: Uint8Array;
  private readonly len: number;

  constructor(
    readonly node: number,
    readonly neurons: readonly number[],
    size: number,
    readonly steps: number,
    batch: number,
  ) {
    this.len = steps + 1;
    this.slot = new Int32Array(size).fill(-1);
    neurons.forEach((j, q) => (this.slot[j] = q));
    this.v = new Float64Array(batch * neurons.length * this.len).fill(NaN);
    this.spikes = new Uint8Array(batch * neurons.length * this.len);
  }

  private at(b: number, q: number, t: number): number {
    return (b * this.neurons.length + q) * this.len + t;
  }

  /** V of every traced neuron at time t; `perm` maps canonical → internal index of `V`. */
  recordV(b: number, t: number, V: Float64Array, perm: Int32Array | null): void {
    if (t > this.steps) return;
    this.neurons.forEach((j, q) => (this.v[this.at(b, q, t)] = V[perm ? perm[j]! : j]!));
  }

  /** V of the neuron in slot q at time t. */
  recordOne(b: number, q: number, t: number, v: number): void {
    if (t <= this.steps) this.v[this.at(b, q, t)] = v;
  }

  /** A spike of canonical neuron j at step t (kind 1 = ON / rate spike, 2 = OFF). */
  spike(b: number, j: number, t: number, kind: 1 | 2): void {
    const q = this.slot[j]!;
    if (q >= 0 && t >= 0 && t <= this.steps) this.spikes[this.at(b, q, t)] = kind;
  }

  /** After sample b: V holds between updates (forward fill from the first recorded value). */
  finishSample(b: number): void {
    for (let q = 0; q < this.neurons.length; q++) {
      const o = this.at(b, q, 0);
      for (let t = 1; t < this.len; t++) if (Number.isNaN(this.v[o + t]!)) this.v[o + t] = this.v[o + t - 1]!;
    }
  }

  result(): Trace {
    return { node: this.node, neurons: [...this.neurons], steps: this.steps, v: this.v, spikes: this.spikes };
  }
}

/** One NodeTrace per requested population (by node index), after checking the requests. */
export function traceRecorders(net: Network, requests: readonly TraceRequest[] | undefined, kinds: readonly string[], steps: number, batch: number): (NodeTrace | null)[] | undefined {
  if (!requests || requests.length === 0) return undefined;
  const out: (NodeTrace | null)[] = net.nodes.map(() => null);
  for (const r of requests) {
    const n = net.nodes[r.node];
    if (!n || !kinds.includes(n.kind)) throw new Error(`recordTrace: node ${r.node} is ${n ? `a ${n.kind} node` : "not in the network"}; traces are of ${kinds.join(", ")} populations`);
    if (out[r.node]) throw new Error(`recordTrace: node ${r.node} is requested twice`);
    const size = net.values[n.out]!.shape.reduce((a, c) => a * c, 1);
    const seen = new Set<number>();
    for (const j of r.neurons) {
      if (!Number.isInteger(j) || j < 0 || j >= size) throw new Error(`recordTrace: neuron ${j} of node ${r.node} is outside [0, ${size})`);
      if (seen.has(j)) throw new Error(`recordTrace: neuron ${j} of node ${r.node} is requested twice`);
      seen.add(j);
    }
    out[r.node] = new NodeTrace(r.node, r.neurons, size, steps, batch);
  }
  return out;
}

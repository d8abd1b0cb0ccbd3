/**
 * Reusing activations in the window search: the closed form of a TSC network up to a population depends
 * only on the windows up to it, so a candidate that differs from an evaluated one only downstream of a
 * cut runs the network from that cut, fed with the cached intervals there.
 *
 * A cut is a spikes value v (of an encoder, a population or a max pool) that is the only value crossing
 * from the nodes up to its producer to the nodes after it (every layer boundary of a chain network; none
 * inside a residual block). The suffix network starts with an encoder of window T_v and scale T_v fed
 * with the cached intervals d ∈ {0..T_v}: it reproduces them exactly (floor(d·T_v/T_v + ½) = d), and
 * every later node, gain and count is the full network's. Synaptic additions upstream of the cut are
 * cached with the intervals, so the additions objective can use suffixes too.
 *
 * Cached intervals are held up to a byte budget, least recently used first out; a candidate with no
 * usable cut runs the whole network, so eviction costs time, never correctness.
 */
import type { Network, Node } from "../../../backends/emulator/runtime/network.js";
import { nodeInputs } from "../../../backends/emulator/runtime/network.js";
import type { RunResult } from "../../../backends/emulator/runtime/types.js";
import { schedule } from "../../../backends/emulator/runtime/schedule.js";

export interface Cut {
  /** Index of the node producing the cut value. */
  readonly node: number;
  readonly value: number;
  /** Populations (encode/tsc nodes, in node order) at or before `node`: the windows the cut depends on. */
  readonly pops: number;
}

interface Entry {
  readonly intervals: Uint16Array;
  /** Synaptic additions over all samples of the synapse nodes before the cut. */
  readonly additions: number;
}

/** A run from `cut` (undefined: the whole network), and what it needs. */
export interface SuffixPlan {
  readonly cut?: Cut;
  readonly net: Network;
  /** The suffix's input (the cut's intervals as float32), when it starts at a cut. */
  readonly input?: Float32Array;
  /** Additions before the cut (0 for a whole run). */
  readonly additionsBefore: number;
  /** Node k of `net` is node k + offset of the full network (the suffix's encoder stands at the cut node). */
  readonly offset: number;
}

/** The cuts of a single-input network, in node order. */
export function findCuts(net: Network, pops: readonly number[]): Cut[] {
  if (net.inputs.length !== 1) return [];
  const outputs = new Set(net.outputs.map((o) => o.value));
  // lastUse[v]: the last node reading v.
  const lastUse = new Map<number, number>();
  net.nodes.forEach((n, i) => nodeInputs(n).forEach((v) => lastUse.set(v, i)));
  const cuts: Cut[] = [];
  for (let p = 0; p < net.nodes.length - 1; p++) {
    const n = net.nodes[p]!;
    if (!(n.kind === "encode" || n.kind === "tsc" || n.kind === "maxpool") || outputs.has(n.out)) continue;
    // Only n.out may be read after p.
    let crossing = false;
    for (let i = 0; i <= p && !crossing; i++) {
      const v = net.nodes[i]!.out;
      if (v !== n.out && (lastUse.get(v) ?? -1) > p) crossing = true;
    }
    if (!crossing) cuts.push({ node: p, value: n.out, pops: pops.filter((q) => q <= p).length });
  }
  return cuts;
}

function remap(n: Node, id: (v: number) => number): Node {
  const m = { ...n } as Record<string, unknown>;
  for (const k of ["in", "out", "a", "b"]) if (typeof m[k] === "number") m[k] = id(m[k] as number);
  if (Array.isArray(m["ins"])) m["ins"] = (m["ins"] as number[]).map(id);
  return m as unknown as Node;
}

/** The network from `cut` on: an encoder reproducing the cut's intervals, then the nodes after it. */
export function suffixNetwork(net: Network, cut: Cut): Network {
  const steps = schedule(net).spikeWindow[cut.value]!.steps;
  const ids = new Map<number, number>();
  const values: Network["values"][number][] = [];
  const id = (v: number): number => {
    let k = ids.get(v);
    if (k === undefined) {
      ids.set(v, (k = values.length));
      values.push(net.values[v]!);
    }
    return k;
  };
  const encoder: Node = { kind: "encode", out: id(cut.value), window: steps, scale: steps, rounding: "round", mode: "current", seed: 0, pads: [], padValues: [] };
  const nodes = [encoder, ...net.nodes.slice(cut.node + 1).map((n) => remap(n, id))];
  return { coding: net.coding, window: net.window, values, nodes, inputs: [{ name: "cut", value: id(cut.value) }], outputs: net.outputs.map((o) => ({ name: o.name, value: id(o.value) })) };
}

export class SuffixCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  /** Runs that started at a cut. */
  suffixRuns = 0;

  constructor(
    private readonly cuts: readonly Cut[],
    private readonly budgetBytes: number,
  ) {}

  private key(cut: Cut, ws: readonly number[]): string {
    return `${cut.node}|${ws.slice(0, cut.pops).join(",")}`;
  }

  private get(key: string): Entry | undefined {
    const e = this.entries.get(key);
    if (e) {
      // Most recently used last.
      this.entries.delete(key);
      this.entries.set(key, e);
    }
    return e;
  }

  /** The shortest run for windows `ws` of the full network `net`. */
  plan(net: Network, ws: readonly number[], n: number): SuffixPlan {
    for (let c = this.cuts.length - 1; c >= 0; c--) {
      const cut = this.cuts[c]!;
      const e = this.get(this.key(cut, ws));
      if (!e) continue;
      this.suffixRuns++;
      if (e.intervals.length % n !== 0) throw new Error("internal: cached intervals do not match the sample count");
      return { cut, net: suffixNetwork(net, cut), input: Float32Array.from(e.intervals), additionsBefore: e.additions, offset: cut.node };
    }
    return { net, additionsBefore: 0, offset: 0 };
  }

  /** Values (of `p.net`) whose intervals a run of `p` should return: the cuts after its start not cached yet. */
  wanted(p: SuffixPlan, ws: readonly number[]): number[] {
    if (this.budgetBytes <= 0) return [];
    const start = p.cut?.node ?? -1;
    return this.cuts.filter((c) => c.node > start && !this.entries.has(this.key(c, ws))).map((c) => p.net.nodes[c.node - p.offset]!.out);
  }

  /** Keep the intervals `r` (a run of plan `p`, recordIntervals) at every cut after its start. */
  record(p: SuffixPlan, ws: readonly number[], r: RunResult): void {
    if (!r.intervals) return;
    const start = p.cut?.node ?? -1;
    const addsBefore = (fullNode: number): number => {
      let s = p.additionsBefore;
      for (const l of r.counters.layers) if (l.node + p.offset <= fullNode) s += l.synaptic_additions;
      return s;
    };
    for (const cut of this.cuts) {
      if (cut.node <= start) continue;
      const key = this.key(cut, ws);
      if (this.entries.has(key)) continue;
      const d = r.intervals[p.net.nodes[cut.node - p.offset]!.out];
      if (!d) continue;
      this.entries.set(key, { intervals: d, additions: addsBefore(cut.node) });
      this.bytes += d.byteLength;
      for (const [k, e] of this.entries) {
        if (this.bytes <= this.budgetBytes) break;
        this.entries.delete(k);
        this.bytes -= e.intervals.byteLength;
      }
    }
  }
}

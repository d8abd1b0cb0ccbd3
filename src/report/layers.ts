/**
 * The report's per-layer table: one row per population of the spiking network (input encoder, TSC / IF
 * neurons, max-pool OR gates, output read-out), with the synapses that feed it. Fan-in and fan-out are the
 * largest per neuron, from the engines' own window tables; operation counts are per inference (the
 * counters of a run: synaptic additions and weight reads of the incoming synapses, spikes of the
 * population); the energy share is the row's energy over the network's.
 */
import type { LayerCounters } from "../../backends/emulator/runtime/types.js";
import { nodeInputs, type Network, type Node } from "../../backends/emulator/runtime/network.js";
import { planOf, type NodePlan } from "../../backends/emulator/runtime/plan.js";

export interface LayerRow {
  readonly node: number;
  readonly name: string;
  /** encode, tsc, if, maxpool, decode. */
  readonly kind: string;
  readonly shape: readonly number[];
  readonly neurons: number;
  readonly fanIn: number | null;
  readonly fanOut: number | null;
  /** Steps [first, last] in which the population fires (encode/tsc/if/maxpool) or integrates (decode). */
  readonly steps: readonly [number, number];
  /** Per inference; null without a run. maxpool: switch events relayed. */
  readonly spikes: number | null;
  readonly additions: number | null;
  readonly reads: number | null;
  readonly energyPj: number | null;
  readonly energyShare: number | null;
}

export const POPULATIONS = new Set(["encode", "tsc", "if", "maxpool", "decode"]);

/** Largest number of synapses into one target neuron (per synapse node). */
function maxFanIn(p: NodePlan): number {
  switch (p.kind) {
    case "conv": {
      let m = 0;
      for (let o = 0; o + 1 < p.fwd.start.length; o++) m = Math.max(m, p.fwd.start[o + 1]! - p.fwd.start[o]!);
      return p.Cg * m;
    }
    case "dense":
      return p.K;
    case "scale":
      return 1;
    case "maxpool": {
      let m = 0;
      for (let o = 0; o + 1 < p.fwd.start.length; o++) m = Math.max(m, p.fwd.start[o + 1]! - p.fwd.start[o]!);
      return m;
    }
    default:
      return 0;
  }
}

/** Largest number of targets of one source neuron through a synapse node or pool. */
function maxFanOut(p: NodePlan): number {
  switch (p.kind) {
    case "conv":
    case "maxpool": {
      let m = 0;
      for (let i = 0; i + 1 < p.rev.start.length; i++) m = Math.max(m, p.rev.start[i + 1]! - p.rev.start[i]!);
      return p.kind === "conv" ? p.Mg * m : m;
    }
    case "dense":
      return p.N;
    case "scale":
      return 1;
    default:
      return 0;
  }
}

export interface OpCountsPerInference {
  readonly synaptic_additions: number;
  readonly memory_reads: number;
  readonly neuron_updates: number;
  readonly input_macs: number;
}

/**
 * Rows of `net`. `layers`: per-node counters per inference (a run's `layers`), or undefined for a
 * table without a run; `energyOf(counts, node)` prices one row's counts.
 */
export function layerRows(net: Network, layers: readonly LayerCounters[] | undefined, energyOf: (c: OpCountsPerInference, node: number) => number): LayerRow[] {
  const plan = planOf(net);
  const { sched } = plan;
  const T = net.window;
  // Readers of each value, with reshape/concat seen through (they relabel spikes, no synapses).
  const readers: number[][] = net.values.map(() => []);
  net.nodes.forEach((n, i) => nodeInputs(n).forEach((v) => readers[v]!.push(i)));
  const consumers = (v: number): number[] => readers[v]!.flatMap((i) => (net.nodes[i]!.kind === "reshape" || net.nodes[i]!.kind === "concat" ? consumers(net.nodes[i]!.out) : [i]));
  const incoming = (n: Node): number[] => (n.kind === "tsc" || n.kind === "if" || n.kind === "decode" ? (sched.charge[n.in]?.terms ?? []).map((t) => t.node) : []);
  const rows: LayerRow[] = [];
  const energies: number[] = [];
  net.nodes.forEach((n, i) => {
    if (!POPULATIONS.has(n.kind)) return;
    const syn = incoming(n);
    const fanIn = n.kind === "maxpool" ? maxFanIn(plan.nodes[i]!) : syn.length ? syn.reduce((a, s) => a + maxFanIn(plan.nodes[s]!), 0) : null;
    const outs = n.kind === "decode" ? [] : consumers(n.out);
    const fanOut = n.kind === "decode" ? null : outs.reduce((a, c) => a + maxFanOut(plan.nodes[c]!), 0);
    let steps: [number, number];
    if (net.coding === "rate") steps = [1, T];
    else if (n.kind === "decode") {
      const w = sched.charge[n.in]!.windows;
      steps = [w[0]!.start, w[w.length - 1]!.start + w[w.length - 1]!.steps - 1];
    } else {
      const w = sched.spikeWindow[n.out]!;
      steps = [w.start, w.start + w.steps];
    }
    let c: OpCountsPerInference | undefined;
    if (layers) {
      const own = layers[i]!;
      const add = (k: keyof OpCountsPerInference): number => syn.reduce((a, s) => a + layers[s]![k], 0);
      c = { synaptic_additions: add("synaptic_additions"), memory_reads: add("memory_reads"), neuron_updates: own.neuron_updates, input_macs: add("input_macs") };
    }
    const energy = c ? energyOf(c, i) : null;
    if (energy !== null) energies.push(energy);
    rows.push({
      node: i,
      name: net.values[n.out]!.name,
      kind: n.kind,
      shape: net.values[n.out]!.shape,
      neurons: plan.sizes[n.out]!,
      fanIn,
      fanOut,
      steps,
      spikes: layers ? (n.kind === "maxpool" ? layers[i]!.relayed_spikes : layers[i]!.spikes) : null,
      additions: c ? c.synaptic_additions : null,
      reads: c ? c.memory_reads : null,
      energyPj: energy,
      energyShare: null,
    });
  });
  const total = energies.reduce((a, b) => a + b, 0);
  return rows.map((r) => ({ ...r, energyShare: r.energyPj !== null && total > 0 ? r.energyPj / total : null }));
}

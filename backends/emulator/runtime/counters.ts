/** Mutable per-node operation tallies, frozen into {@link Counters} at the end of a run. */
import type { Counters, LayerCounters, OpCounts } from "./types.js";

/** What freezing needs of a network: each node's kind and the name of its output value. */
export interface CountedNetwork {
  readonly nodes: readonly { readonly kind: string; readonly out: number }[];
  readonly values: readonly { readonly name: string }[];
}

export class Tally {
  readonly syn: Float64Array;
  readonly neuron: Float64Array;
  readonly spikes: Float64Array;
  readonly macs: Float64Array;
  readonly relayed: Float64Array;
  /** Max spikes of one neuron seen so far. */
  maxPerNeuron = 0;

  constructor(readonly nodes: number) {
    this.syn = new Float64Array(nodes);
    this.neuron = new Float64Array(nodes);
    this.spikes = new Float64Array(nodes);
    this.macs = new Float64Array(nodes);
    this.relayed = new Float64Array(nodes);
  }

  /** Add `o` into this tally. */
  addFrom(o: Tally): void {
    for (let i = 0; i < this.nodes; i++) {
      this.syn[i]! += o.syn[i]!;
      this.neuron[i]! += o.neuron[i]!;
      this.spikes[i]! += o.spikes[i]!;
      this.macs[i]! += o.macs[i]!;
      this.relayed[i]! += o.relayed[i]!;
    }
    if (o.maxPerNeuron > this.maxPerNeuron) this.maxPerNeuron = o.maxPerNeuron;
  }

  clear(): void {
    this.syn.fill(0);
    this.neuron.fill(0);
    this.spikes.fill(0);
    this.macs.fill(0);
    this.relayed.fill(0);
    this.maxPerNeuron = 0;
  }

  /**
   * Freeze. `spikingNeurons[i]` is the per-sample neuron count of node i if it is a spiking population
   * counted in the spike statistics, else 0.
   */
  freeze(net: CountedNetwork, batch: number, spikingNeurons: readonly number[]): Counters {
    const layers: LayerCounters[] = net.nodes.map((n, i) => ({
      node: i,
      kind: n.kind,
      name: net.values[n.out]!.name,
      neurons: spikingNeurons[i]!,
      synaptic_additions: this.syn[i]!,
      memory_reads: this.syn[i]!,
      neuron_updates: this.neuron[i]!,
      spikes: this.spikes[i]!,
      input_macs: this.macs[i]!,
      relayed_spikes: this.relayed[i]!,
    }));
    const spiking = spikingNeurons.reduce((s, x) => s + x, 0);
    const totals = sumOpCounts(layers);
    const spikes = totals.spikes;
    return {
      batch,
      ...totals,
      spiking_neurons: spiking,
      spikes_per_neuron_max: this.maxPerNeuron,
      spikes_per_neuron_mean: spiking > 0 && batch > 0 ? spikes / (spiking * batch) : 0,
      layers,
    };
  }
}

/** Sum the counters of runs over disjoint sample sets of one network (batches, worker shards). */
export function sumCounters(parts: readonly Counters[]): Counters {
  const first = parts[0]!;
  if (parts.length === 1) return first;
  const batch = parts.reduce((s, c) => s + c.batch, 0);
  const totals = sumOpCounts(parts);
  const spikes = totals.spikes;
  return {
    batch,
    ...totals,
    spiking_neurons: first.spiking_neurons,
    spikes_per_neuron_max: Math.max(...parts.map((c) => c.spikes_per_neuron_max)),
    spikes_per_neuron_mean: first.spiking_neurons > 0 ? spikes / (first.spiking_neurons * batch) : 0,
    layers: first.layers.map((l, i) => {
      const same = parts.map((c) => c.layers[i]!);
      return { ...l, ...sumOpCounts(same), relayed_spikes: same.reduce((s, x) => s + x.relayed_spikes, 0) };
    }),
  };
}

/** Field-wise sums of operation counts, each in list order from 0. */
function sumOpCounts(list: readonly OpCounts[]): OpCounts {
  const t = { synaptic_additions: 0, memory_reads: 0, neuron_updates: 0, spikes: 0, input_macs: 0 };
  for (const c of list) {
    t.synaptic_additions += c.synaptic_additions;
    t.memory_reads += c.memory_reads;
    t.neuron_updates += c.neuron_updates;
    t.spikes += c.spikes;
    t.input_macs += c.input_macs;
  }
  return t;
}

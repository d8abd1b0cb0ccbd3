/**
 * Options and results of the emulator engines (see index.ts for the engines themselves).
 *
 * Inputs: one Float32Array per network input (in `net.inputs` order; a single array is accepted for a
 * one-input network), each [batch × per-sample size of the *unpadded* input], row-major. The encoder adds
 * its own border (`EncodeNode.pads`).
 *
 * Outputs: one Float32Array per network output (`net.outputs` order), [batch × size].
 */

export interface RunOptions {
  /** TSC: return the interval d of every neuron of every spikes value ({@link RunResult.intervals}). */
  readonly recordIntervals?: boolean;
  /** TSC, event engine only: return spike-1 / spike-2 times of every neuron ({@link RunResult.spikeTimes}). */
  readonly recordSpikeTimes?: boolean;
  /**
   * Rate coding only: steps t ∈ [1, window] after which the logits λ·V/t (and the counters so far) are also
   * recorded. One run at T_max then gives the outputs of every shorter run exactly.
   */
  readonly checkpoints?: readonly number[];
  /**
   * Global index of the first sample of this batch (default 0). The Poisson encoder seeds its generator per
   * sample from (seed, sampleOffset + b), so a sample draws the same spikes whichever batch it is run in.
   */
  readonly sampleOffset?: number;
  /**
   * Event engines: return the membrane potential V of every neuron population (tsc, if, decode) per node
   * ({@link RunResult.membrane}). TSC: V at the end of integration, before the fire phase (the value that
   * fixes d; decode: the V read out). Rate: V after the last step.
   */
  readonly recordMembrane?: boolean;
  /** Closed form: samples per internal chunk, bounding memory (default 64). */
  readonly chunk?: number;
  /**
   * Closed form, per-layer windows: the synapse weights already include each group's gain T/T_s (a chip's
   * integer network, where it is folded into the quantised weights), so none is applied here.
   */
  readonly foldedGains?: boolean;
  /** Event engines: V of the given neurons of the given populations at every step ({@link RunResult.traces}, trace.ts). */
  readonly recordTrace?: readonly TraceRequest[];
}

/** Neurons (canonical indices) of one tsc, if or decode population (node index) to trace. */
export interface TraceRequest {
  readonly node: number;
  readonly neurons: readonly number[];
}

/** The recording of one {@link TraceRequest} (time conventions: trace.ts). */
export interface Trace {
  readonly node: number;
  readonly neurons: readonly number[];
  /** Time points per neuron and sample: steps + 1 (t = 0..steps). */
  readonly steps: number;
  /** [batch × neurons × (steps + 1)]: V at the boundary before step t. */
  readonly v: Float64Array;
  /** Same layout: 0 none; TSC 1 = spike 1 (ON), 2 = spike 2 (OFF); rate 1 = a spike. */
  readonly spikes: Uint8Array;
}

/** Operation totals (tsc.md §7.2). All are exact integer counts held in doubles. */
export interface OpCounts {
  /** Synaptic additions: one per weight delivered (TSC switch event × targets; rate: spike × fan-out). */
  readonly synaptic_additions: number;
  /** Weight reads. Equal to synaptic_additions: every delivered weight is read once (bias and the
   *  current-mode input products are not counted here; see input_macs and neuron_updates). */
  readonly memory_reads: number;
  /**
   * Neuron-state additions. TSC: per neuron 1 (V ← b̃T + φ) + T per integration window (V += I) + one per
   * discharge step of the fire phase (= d). Output (decode) neurons: 1 + T per window. Rate: every IF and
   * output neuron every step (the per-step bias is part of that update).
   */
  readonly neuron_updates: number;
  /** Spikes emitted by spiking populations: encoder (not in rate/current mode), tsc and if neurons. */
  readonly spikes: number;
  /** Rate coding with a current-mode encoder: multiply-adds of W̃·x, computed once per sample (non-zero x only). */
  readonly input_macs: number;
}

/** Counts of one node (layer). Synaptic counts go to the synapse node, neuron updates to the neuron node. */
export interface LayerCounters extends OpCounts {
  /** Index in `net.nodes`. */
  readonly node: number;
  readonly kind: string;
  /** Name of the node's output value. */
  readonly name: string;
  /** Per-sample neurons of a spiking population (encode, tsc, if), else 0. */
  readonly neurons: number;
  /** Max pool: switch events relayed by the OR gates / the rate pool (not neuron spikes, not in `spikes`). */
  readonly relayed_spikes: number;
}

export interface Counters extends OpCounts {
  /** Samples counted. */
  readonly batch: number;
  /** Per-sample neurons of the spiking populations (encoder except rate/current, tsc, if). */
  readonly spiking_neurons: number;
  /** Max over samples and spiking neurons of the spikes one neuron emitted. */
  readonly spikes_per_neuron_max: number;
  /** spikes / (spiking_neurons · batch). */
  readonly spikes_per_neuron_mean: number;
  /** One entry per node, in node order (zeros for nodes that do nothing). Totals are their sums. */
  readonly layers: readonly LayerCounters[];
}

/** Spike times of one spikes value, [batch × size] sample-major; −1 = no spike. */
export interface SpikeTimes {
  /** Spike-1 time (absolute step). */
  readonly on: Int32Array;
  /** Spike-2 time; for d = T this is s + T (emitted, but dropped by receivers, tsc.md §3.4). */
  readonly off: Int32Array;
}

/** Rate coding: outputs and counters after `step` steps. */
export interface Checkpoint {
  readonly step: number;
  readonly outputs: Float32Array[];
  readonly counters: Counters;
}

export interface RunResult {
  /** Per network output, [batch × size]. */
  readonly outputs: Float32Array[];
  readonly counters: Counters;
  /** End-to-end latency in steps (schedule). */
  readonly latency: number;
  /** TSC with recordIntervals: per value id, the intervals d [batch × size] of a spikes value; null for charges. */
  readonly intervals?: (Uint16Array | null)[];
  /** TSC event engine with recordSpikeTimes: per value id; null for charges. */
  readonly spikeTimes?: (SpikeTimes | null)[];
  /** recordMembrane: per node index, [batch × size] canonical order, for tsc/if/decode nodes; null otherwise. */
  readonly membrane?: (Float64Array | null)[];
  /**
   * Closed form only: per value id, how many neurons (over the batch) of a tsc output had a membrane
   * value u = V/θ within 1e-9·max(1, |u|) of an integer k ∈ [1, T], where another float summation order
   * could floor differently (0 for other values).
   */
  readonly ties?: number[];
  /** Rate with checkpoints: one entry per requested step, ascending. */
  readonly checkpoints?: Checkpoint[];
  /** recordTrace: one entry per request, in request order. */
  readonly traces?: Trace[];
}

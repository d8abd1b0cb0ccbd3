/**
 * The numbers `tscc run` reports for an emulator artifact, in two steps: exact counts of an evaluation
 * (hits, agreements, operation totals per layer; backends/counts.ts), then the metrics derived from them
 * (accuracy = hits / samples, operations per inference, energy). `tscc merge` applies the second step to
 * the summed counts of n shards and so reports exactly what one run over all samples reports.
 */
import type { CountGroup, RunCounts } from "../counts.js";
import type { Counters } from "./runtime/types.js";
import { ENERGY_SETS, energyPj } from "./energy.js";
import type { Manifest } from "./manifest.js";
import { sumCounters } from "./runtime/counters.js";
import type { ChunkResult } from "./evaluate.js";
import { compareLogits } from "./run.js";

const LAYER_SUMS = ["synaptic_additions", "memory_reads", "neuron_updates", "spikes", "input_macs", "relayed_spikes"] as const;

/** Counts of chunks [0, n) in order; `logits`/`ref` are their outputs concatenated, `labels` theirs. */
export function emulatorCounts(
  man: Manifest,
  run: { engine: string; energy: string; window: number; latency: number; fastImpl?: string; referenceBy?: string },
  chunks: readonly ChunkResult[],
  logits: Float32Array,
  ref: Float32Array | undefined,
  labels: readonly number[] | undefined,
): RunCounts {
  const n = chunks.reduce((s, c) => s + c.end - c.start, 0);
  const k = logits.length / Math.max(1, n);
  const counters = sumCounters(chunks.map((c) => c.counters));
  const { correct, refCorrect, agree, errMax } = compareLogits(logits, ref, labels, n, k);
  const ops = operationCounts(counters);
  const sums: Record<string, number> = { ...ops.sums };
  const maxima: Record<string, number> = { ...ops.maxima };
  if (labels) sums["correct"] = correct;
  if (ref) {
    if (labels) sums["ann_correct"] = refCorrect;
    sums["agree"] = agree;
    maxima["logit_error_max"] = errMax;
  }
  if (run.fastImpl === "js") sums["floor_boundary_ties"] = chunks.reduce((s, c) => s + c.ties, 0);
  if (chunks.some((c) => c.check)) for (const key of Object.keys(chunks[0]!.check!)) sums[`engine_check.${key}`] = chunks.reduce((s, c) => s + c.check![key]!, 0);
  return {
    samples: n,
    sums,
    maxima,
    fixed: {
      coding: man.coding,
      engine: run.engine,
      window: run.window,
      spiking_layers: man.spiking_layers,
      latency_steps: run.latency,
      reference: run.referenceBy ?? "",
      energy_params: run.energy,
      fast_engine: run.fastImpl ?? "",
      spiking_neurons: counters.spiking_neurons,
    },
    layers: ops.layers,
  };
}

/** The operation counts of an engine's counters (totals, per layer), in the mergeable form. */
function operationCounts(counters: Counters): { sums: Record<string, number>; maxima: Record<string, number>; layers: CountGroup[] } {
  const sums: Record<string, number> = {};
  for (const key of ["synaptic_additions", "memory_reads", "neuron_updates", "spikes", "input_macs"] as const) sums[key] = counters[key];
  return {
    sums,
    maxima: { spikes_per_neuron_max: counters.spikes_per_neuron_max },
    layers: counters.layers.map((l) => ({
      sums: Object.fromEntries(LAYER_SUMS.map((key) => [key, l[key]])),
      fixed: { node: l.node, kind: l.kind, name: l.name, neurons: l.neurons },
    })),
  };
}

/**
 * Operations per inference, energy and the per-layer breakdown of `n` samples from an engine's counters
 * (a run without the emulator's reference comparison, e.g. a NIR graph on the clock engine).
 */
export function counterMetrics(counters: Counters, n: number, energy: string): Record<string, unknown> {
  const ops = operationCounts(counters);
  const name = (ENERGY_SETS[energy] ?? ENERGY_SETS["horowitz45-fp32"]!).name;
  return operationMetrics({ samples: n, ...ops }, counters.spiking_neurons, name);
}

/** The metrics of `tscc run` (all but the wall-clock ones) from counts of one run or of merged shards. */
export function emulatorMetrics(c: RunCounts): Record<string, unknown> {
  const n = c.samples;
  const f = c.fixed!;
  const s = c.sums;
  const mx = c.maxima!;
  const metrics: Record<string, unknown> = {
    coding: f["coding"],
    engine: f["engine"],
    samples: n,
    window: f["window"],
    spiking_layers: f["spiking_layers"],
    latency_steps: f["latency_steps"],
  };
  if (f["reference"]) metrics["reference"] = f["reference"];
  if ("correct" in s) metrics["accuracy"] = s["correct"]! / n;
  if ("agree" in s) {
    if ("ann_correct" in s) metrics["ann_accuracy"] = s["ann_correct"]! / n;
    metrics["agreement"] = s["agree"]! / n;
    metrics["logit_error_max"] = mx["logit_error_max"];
  }
  Object.assign(metrics, operationMetrics(c, f["spiking_neurons"] as number, f["energy_params"] as string));
  if ("floor_boundary_ties" in s) metrics["floor_boundary_ties"] = s["floor_boundary_ties"];
  if (f["fast_engine"]) metrics["fast_engine"] = f["fast_engine"];
  const checks = Object.keys(s).filter((key) => key.startsWith("engine_check."));
  if (checks.length) metrics["engine_check"] = Object.fromEntries(checks.map((key) => [key.slice("engine_check.".length), s[key]]));
  return metrics;
}

/** Spikes, operations and energy per inference from operation counts (sums and maxima of `operationCounts`). */
function operationMetrics(c: RunCounts, spiking: number, energyParams: string): Record<string, unknown> {
  const n = c.samples;
  const s = c.sums;
  const mx = c.maxima!;
  const perInf = (x: number): number => x / n;
  const metrics: Record<string, unknown> = {};
  Object.assign(metrics, {
    spikes_per_neuron_max: mx["spikes_per_neuron_max"],
    spikes_per_neuron_mean: spiking > 0 && n > 0 ? s["spikes"]! / (spiking * n) : 0,
    synaptic_additions_per_inference: perInf(s["synaptic_additions"]!),
    memory_reads_per_inference: perInf(s["memory_reads"]!),
    neuron_updates_per_inference: perInf(s["neuron_updates"]!),
    spikes_per_inference: perInf(s["spikes"]!),
  });
  if (s["input_macs"]) metrics["input_macs_per_inference"] = perInf(s["input_macs"]);
  const params = ENERGY_SETS[energyParams]!;
  const e = energyPj({ synaptic_additions: s["synaptic_additions"]!, memory_reads: s["memory_reads"]!, neuron_updates: s["neuron_updates"]!, input_macs: s["input_macs"]! }, params);
  metrics["energy_per_inference_pj"] = e.total / n;
  metrics["energy_params"] = params.name;
  metrics["layers"] = (c.layers ?? []).map((l) => ({ ...l.fixed, ...Object.fromEntries(LAYER_SUMS.map((key) => [key, perInf(l.sums[key]!)])) }));
  return metrics;
}

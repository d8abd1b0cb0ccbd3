/**
 * Window sweeps of an emulator artifact (`tscc run <artifact> --windows 8,16,32`).
 *
 * The artifact's normalised weights W̃, b̃ and thresholds do not depend on the window T (tsc.md §5: θ is
 * one quantum of λ/T, so with θ = 1 the same network quantises to T levels for any T), so the network can
 * run at another window by overriding it: `-O window=T` (TSC: T steps for every layer, per-layer
 * windows included; rate: a run of T steps). A sweep is one such run per T through the same engine, input set and reference ANN as the plain
 * run, each summarised as a point (accuracy, agreement with the ANN, synaptic additions, latency). Rate
 * coding gives the same numbers as its `checkpoints` option would from one long run (the Poisson encoder
 * is seeded per sample, not per run); separate runs cost at most twice the longest one for doubling T,
 * and keep the sweep on the exact code path of a plain run.
 */
import { fmt, M, TsccError } from "../../ir/index.js";
import type { RunReport, RunRequest } from "../api.js";
import type { Manifest } from "./manifest.js";
import type { Network } from "./runtime/network.js";

export const SWEEP_FORMAT = "tscc-sweep";
export const SWEEP_VERSION = 1;

/** Equal accuracy: within this many accuracy points (0.005 = 0.5 %) of the reference ANN. */
export const EQUAL_ACCURACY_TOLERANCE = 0.005;

export interface SweepPoint {
  readonly window: number;
  readonly accuracy?: number;
  readonly agreement?: number;
  readonly synaptic_additions_per_inference: number;
  readonly memory_reads_per_inference: number;
  readonly spikes_per_inference: number;
  readonly energy_per_inference_pj: number;
  readonly latency_steps: number;
}

export interface Sweep {
  readonly format: typeof SWEEP_FORMAT;
  readonly version: number;
  readonly source: string;
  readonly coding: "tsc" | "rate";
  readonly engine: string;
  readonly compiled_window: number;
  readonly samples: number;
  readonly ann_accuracy?: number;
  /** The first window whose accuracy is within {@link EQUAL_ACCURACY_TOLERANCE} of the ANN's (null: none). */
  readonly equal_accuracy_window: number | null;
  readonly points: readonly SweepPoint[];
}

function usage(text: string): never {
  throw new TsccError(fmt(M.Usage, [text]));
}

/** The largest TSC window: intervals are recorded as Uint16 (runtime/schedule.ts). */
const TSC_WINDOW_MAX = 65535;

/** One window value (`-O window=T`, an entry of `--windows`), checked for the artifact's coding. */
export function parseWindow(text: string, coding: Manifest["coding"]): number {
  const t = Number(text.trim());
  if (!/^\s*\d+\s*$/.test(text) || !Number.isInteger(t) || t < 1) usage(`window '${text}' is not an integer ≥ 1`);
  if (coding === "tsc" && t > TSC_WINDOW_MAX) usage(`window ${t} exceeds ${TSC_WINDOW_MAX}, the largest TSC window`);
  return t;
}

/** The network with every layer at window T (per-layer windows included: a sweep runs all layers at T). */
export function withWindow(net: Network, T: number): Network {
  return { ...net, window: T, nodes: net.nodes.map((n) => ((n.kind === "encode" || n.kind === "tsc" || n.kind === "decode") && n.window !== undefined ? { ...n, window: T } : n)) };
}

/** `--windows 8,16,32`: distinct windows, ascending. */
export function parseWindows(text: string, coding: Manifest["coding"]): number[] {
  const items = text.split(",").filter((s) => s.trim() !== "");
  if (items.length === 0) usage(`--windows '${text}' lists no window`);
  return [...new Set(items.map((s) => parseWindow(s, coding)))].sort((a, b) => a - b);
}

/** The first point (ascending T) within the tolerance of the ANN's accuracy, or null. */
export function equalAccuracyWindow(points: readonly SweepPoint[], annAccuracy: number | undefined): number | null {
  if (annAccuracy === undefined) return null;
  for (const p of [...points].sort((a, b) => a.window - b.window)) if (p.accuracy !== undefined && p.accuracy >= annAccuracy - EQUAL_ACCURACY_TOLERANCE - 1e-12) return p.window;
  return null;
}

function pointOf(window: number, m: Readonly<Record<string, unknown>>): SweepPoint {
  const num = (k: string): number => m[k] as number;
  return {
    window,
    ...(typeof m["accuracy"] === "number" ? { accuracy: num("accuracy") } : {}),
    ...(typeof m["agreement"] === "number" ? { agreement: num("agreement") } : {}),
    synaptic_additions_per_inference: num("synaptic_additions_per_inference"),
    memory_reads_per_inference: num("memory_reads_per_inference"),
    spikes_per_inference: num("spikes_per_inference"),
    energy_per_inference_pj: num("energy_per_inference_pj"),
    latency_steps: num("latency_steps"),
  };
}

/**
 * The plain run, plus `metrics.sweep` when `options.windows` is given: one run per window through `run`
 * (the artifact runner) with `-O window=T`.
 */
export async function runWithSweep(dir: string, req: RunRequest, man: Manifest, run: (dir: string, req: RunRequest) => Promise<RunReport>): Promise<RunReport> {
  const { windows: text, ...options } = req.options;
  const main = await run(dir, { ...req, options });
  if (text === undefined) return main;
  const windows = parseWindows(text, man.coding);
  const points: SweepPoint[] = [];
  for (const window of windows) points.push(pointOf(window, (await run(dir, { ...req, options: { ...options, window: String(window) } })).metrics));
  const ann = main.metrics["ann_accuracy"] as number | undefined;
  const sweep: Sweep = {
    format: SWEEP_FORMAT,
    version: SWEEP_VERSION,
    source: man.source,
    coding: man.coding,
    engine: String(main.metrics["engine"]),
    compiled_window: man.window,
    samples: main.metrics["samples"] as number,
    ...(ann !== undefined ? { ann_accuracy: ann } : {}),
    equal_accuracy_window: equalAccuracyWindow(points, ann),
    points,
  };
  return { ...main, metrics: { ...main.metrics, sweep } };
}

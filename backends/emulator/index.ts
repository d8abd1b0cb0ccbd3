/**
 * The `emulator` backend: converts the ANN into a spiking network (TSC by default, or the rate-coded
 * baseline) and writes a self-contained artifact that `tscc run` executes spike by spike (event
 * engine) or in closed form (fast engine), counting what a chip would spend.
 */
import { fmt, M, type OptionSchema } from "../../ir/index.js";
import { defineBackend, type BackendOptions } from "../api.js";
import { manifestFor } from "./manifest.js";
import { ENERGY_SETS } from "./energy.js";
import { emitArtifact } from "./emit.js";
import { emitClockArtifact } from "./clock-artifact.js";
import { isSpikingModule } from "../../ir/index.js";
import { legalizeForSnn, legalizeSpiking } from "./legalize.js";
import { emulatorMetrics } from "./metrics.js";
import { artifactInputs, readArtifactManifest, readManifest, runArtifact } from "./run.js";
import { runWithSweep } from "./sweep.js";

function q(v: string): string {
  return /^[A-Za-z0-9_./+-]*$/.test(v) && v !== "" ? v : JSON.stringify(v);
}

/** The window: as given, else the coding's default (32 steps per TSC layer, 256 for a rate-coded run). */
export function windowOf(o: BackendOptions): number {
  const w = o["window"] as number | undefined;
  return w !== undefined ? w : o["coding"] === "rate" ? 256 : 32;
}

/** The conversion pipeline for these options (the backend half of `tscc compile`). */
export function emulatorPipeline(o: BackendOptions): string {
  const parts: string[] = [];
  const mean = o["mean"] as string;
  const std = o["std"] as string;
  parts.push(`fold-input-normalization{scale=${o["input-scale"]}${mean ? `,mean=${q(mean)}` : ""}${std ? `,std=${q(std)}` : ""}}`);
  const cal = o["calibration"] as string;
  const windows = String(o["layer-windows"] ?? "");
  const auto = windows.trim() === "auto" && o["coding"] !== "rate";
  // Window tuning holds the last calibration samples out of threshold normalisation.
  const holdout = auto ? `,holdout=${o["holdout"]}` : "";
  parts.push(`normalize-thresholds{${cal ? `calibration=${q(cal)},` : ""}${holdout ? holdout.slice(1) + "," : ""}${o["per-channel"] === false ? "per-channel=false," : ""}percentile=${o["percentile"]}${(o["calibration-limit"] as number) > 0 ? `,limit=${o["calibration-limit"]}` : ""}}`);
  if (o["coding"] === "rate") {
    parts.push(`insert-rate-encoding{avgpool=${o["avgpool"]},input=${o["rate-input"]},reset=${o["reset"]},v-init=${o["v-init"]},window=${windowOf(o)}}`);
  } else {
    const labels = String(o["calibration-labels"] ?? "");
    const tuning = auto ? `,${cal ? `calibration=${q(cal)},` : ""}${labels ? `calibration-labels=${q(labels)},` : ""}holdout=${o["holdout"]},objective=${o["objective"]},tolerance=${o["tolerance"]},margin=${o["margin"]}` : "";
    parts.push(`insert-tsc-encoding{avgpool=${o["avgpool"]},phi=${o["phi"]},rounding=${o["rounding"]},window=${windowOf(o)}${windows ? `,windows=${q(windows)}` : ""}${tuning}}`);
  }
  return parts.join(",");
}

/**
 * Options of the conversion pipeline that emulatorPipeline reads besides coding and window: every
 * backend whose pipeline builds on it (the Loihi backend) declares the same schema.
 */
export const CONVERSION_OPTIONS = {
  calibration: { kind: "str", default: "", doc: "calibration inputs (.npy, image folder, or example:<name>) for threshold normalisation" },
  percentile: { kind: "float", default: 99.9, doc: "activation percentile that sets each layer's λ (100 = max)" },
  "calibration-limit": { kind: "int", default: 0, doc: "use at most this many calibration samples (0 = all)" },
  "per-channel": { kind: "bool", default: true, doc: "one activation scale λ per channel (off residual paths); false for one λ per layer" },
  phi: { kind: "float", default: 0.5, doc: "TSC rounding offset φ (0.5 rounds, 0 floors)" },
  "layer-windows": { kind: "str", default: "", doc: "TSC per-layer windows: layer=T,… or a JSON file (as `tscc tune` writes it); layers without one get --window; auto: tuned on held-out calibration samples (--window is then the largest)" },
  tolerance: { kind: "float", default: 0.5, doc: "windows=auto: accuracy points the SNN may lose against the ANN on the held-out samples" },
  margin: { kind: "float", default: 1, doc: "windows=auto: standard errors of the held-out estimate the tolerance must hold by (0: on the held-out samples only)" },
  objective: { kind: "enum", choices: ["latency", "additions"], default: "latency", doc: "windows=auto: minimise the end-to-end latency Σ T_l or the synaptic additions" },
  holdout: { kind: "int", default: 500, doc: "windows=auto: the last min(holdout, N/2) calibration samples are held out of normalisation and tune the windows" },
  "calibration-labels": { kind: "str", default: "", doc: "windows=auto: labels (.npy) of the calibration inputs (constraint on top-1 accuracy instead of agreement with the ANN)" },
  rounding: { kind: "enum", choices: ["round", "floor"], default: "round", doc: "TSC input encoder rounding" },
  avgpool: { kind: "enum", choices: ["merge", "spike"], default: "merge", doc: "average pooling merged into the next layer, or a spiking layer" },
  "input-scale": { kind: "float", default: 1, doc: "raw input range [0, scale]" },
  mean: { kind: "str", default: "", doc: "per-channel input mean(s) the model expects subtracted (comma-separated)" },
  std: { kind: "str", default: "", doc: "per-channel input std(s) the model expects divided by (comma-separated)" },
} satisfies OptionSchema;

export const emulatorBackend = defineBackend({
  name: "emulator",
  apiVersion: 1,
  summary: "spiking network (TSC or rate-coded) run spike by spike or in closed form, with operation counts and energy",
  options: {
    coding: { kind: "enum", choices: ["tsc", "rate"], default: "tsc", doc: "spike coding: Temporal-Switch Coding, or the rate-coded baseline" },
    window: { kind: "int", doc: "TSC: steps per layer window T (default 32); rate: steps of the run (default 256)" },
    ...CONVERSION_OPTIONS,
    "rate-input": { kind: "enum", choices: ["current", "poisson"], default: "current", doc: "rate coding: constant-current or Poisson input" },
    reset: { kind: "enum", choices: ["subtract", "zero"], default: "subtract", doc: "rate coding: reset by subtraction or to zero" },
    "v-init": { kind: "float", default: 0.5, doc: "rate coding: initial membrane potential (units of θ)" },
    energy: { kind: "enum", choices: Object.keys(ENERGY_SETS), default: "horowitz45-fp32", doc: "energy parameter set for the report" },
    dt: { kind: "float", default: 0, doc: "NIR graphs: the time step in the graph's time unit (default: the graph's metadata 'dt')" },
  },
  pipeline: emulatorPipeline,
  spikingPipeline: () => "",
  legalize(m, diag, options) {
    if (isSpikingModule(m)) return legalizeSpiking(m, diag, "emulator", options["dt"] as number);
    if (options["layer-windows"] && options["coding"] === "rate") diag.report(fmt(M.BackendUnsupported, ["emulator", "per-layer windows with rate coding", "a rate-coded network runs every layer for the whole run; drop --layer-windows, or use --coding tsc"]));
    legalizeForSnn(m, diag, "emulator");
  },
  async emit(m, ctx) {
    if (m.ops.some((op) => op.name.startsWith("nir."))) return emitClockArtifact(m, ctx);
    const header = [
      `Generated by tscc ${ctx.toolVersion ?? ""} from ${ctx.source}: ${m.attrs["coding"] === "rate" ? "rate-coded" : "Temporal-Switch-Coded"} SNN, window ${m.attrs["window"]}.`,
      "Do not edit: recompile with tscc instead.",
      'Use: import { load, runClosedForm, runEvent } from "./model.js"; const net = load(); runClosedForm(net, x, batch).',
    ].join("\n");
    await emitArtifact(m, ctx, (built) => manifestFor(m, ctx, built), header);
  },
  describe() {
    return { energy: ENERGY_SETS };
  },
  run: (dir, req) => {
    const man = readArtifactManifest(dir);
    // A NIR graph has no window to sweep: its run is the clock engine's.
    return man.coding === "nir" && req.options["windows"] === undefined ? runArtifact(dir, req) : runWithSweep(dir, req, readManifest(dir), runArtifact);
  },
  artifactInputs,
  metricsFromCounts: emulatorMetrics,
});

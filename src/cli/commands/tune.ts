/**
 * `tscc tune model.onnx --calibration … [--calibration-labels …] -o windows.json`: choose every TSC
 * population's window (src/passes/snn/tune.ts) and write them for `tscc compile --layer-windows windows.json`.
 * The same search runs inside `tscc compile --window auto`.
 */
import { resolve } from "node:path";
import type { Command } from "commander";
import { compile, createRegistry } from "../../driver/compile.js";
import { writeFileAtomic } from "../../driver/output.js";
import type { TuneResult } from "../../passes/snn/tune.js";
import { collect, type Io } from "../main.js";
import { progressLogger } from "../progress.js";
import { table } from "../ui.js";
import { UsageError } from "../usage.js";
import { parseKeyValues, SNN_FLAGS, snnOptions } from "./compile.js";

interface TuneFlags {
  out?: string;
  option?: string[];
  plugin?: string[];
  json?: boolean;
  holdout?: string;
  [snnFlag: string]: unknown;
}

const pct = (x: number | undefined): string => (x === undefined ? "–" : `${(100 * x).toFixed(2)}%`);

/** The windows file: what `--layer-windows` reads, plus what was measured (deterministic: no timings). */
export function windowsFile(r: TuneResult, o: { tolerance: number; objective: string; maxWindow: number }): string {
  const summary = {
    tolerance: o.tolerance,
    objective: o.objective,
    max_window: o.maxWindow,
    held_out_samples: r.samples,
    latency: r.tuned.latency,
    uniform_latency: r.uniform.latency,
    agreement: r.tuned.agreement,
    ...(r.tuned.accuracy !== undefined ? { accuracy: r.tuned.accuracy, ann_accuracy: r.annAccuracy } : {}),
  };
  return JSON.stringify({ windows: Object.fromEntries(r.windows), tuned: summary, layers: r.layers }, null, 2) + "\n";
}

export function tuneCommand(program: Command, io: Io): void {
  program
    .command("tune")
    .description("choose each TSC layer's window on held-out calibration samples (minimum latency within a tolerance of the ANN)")
    .argument("<model>", "the model file (ONNX, .tir or .tir.json)")
    .option("-o, --out <file>", "write the windows as JSON (for `tscc compile --layer-windows <file>`)")
    .option("--holdout <n>", "tune on the last min(n, N/2) calibration samples; normalisation uses the rest (default 500)")
    .option("--plugin <spec>", "load a plugin (path or npm package); repeatable", collect)
    .option("-O, --option <key=value>", "conversion option; repeatable", collect)
    .option("--json", "print the result as JSON on stdout");
  const cmd = program.commands[program.commands.length - 1]!;
  for (const [flag, option, help] of SNN_FLAGS) if (option !== "layer-windows" && option !== "coding") cmd.option(flag, help);
  cmd.action(async (model: string, f: TuneFlags) => {
    const cwd = io.cwd;
    const opts = { ...parseKeyValues(f.option), ...snnOptions(f) };
    if (opts["window"] === "auto") delete opts["window"];
    if (f.holdout !== undefined) opts["holdout"] = f.holdout;
    if (opts["coding"] === "rate") throw new UsageError("tscc tune chooses TSC windows; a rate-coded network has one run length");
    opts["layer-windows"] = "auto";
    let result: TuneResult | undefined;
    const reg = await createRegistry(f.plugin ?? [], cwd);
    const log = progressLogger(process.stderr, io.tty && !f.json);
    const r = await compile(
      { model: resolve(cwd, model), displayName: model, target: "emulator", backendOptions: opts, inputs: { onTune: (t: TuneResult) => (result = t) }, log, cwd },
      reg,
    ).finally(log.stop);
    if (!result) throw new Error("internal: the tuner reported no result");
    const t = result as TuneResult;
    const settings = { tolerance: Number(opts["tolerance"] ?? 0.5), objective: opts["objective"] ?? "latency", maxWindow: Number(r.module.attrs["window"]) };
    const file = windowsFile(t, settings);
    if (f.out) writeFileAtomic(resolve(cwd, f.out), file, f.out);
    if (f.json) {
      io.stdout(JSON.stringify({ ...JSON.parse(file), evaluations: t.evaluations, resumed: t.resumed, ms: Math.round(t.ms), engine: t.engine, margin: t.margin }, null, 2) + "\n");
      return;
    }
    io.stdout(
      table(
        ["layer", "name", "alone", "window"],
        t.layers.map((l) => [l.index, l.name || "–", l.alone, l.window]),
        ["l", "l", "r", "r"],
      ),
    );
    io.stdout(
      table(
        ["", "latency (steps)", "agreement", "accuracy", "± 1 s.e. (pts)"],
        [
          [`uniform T = ${settings.maxWindow}`, t.uniform.latency, pct(t.uniform.agreement), pct(t.uniform.accuracy), (100 * t.uniform.standardError).toFixed(2)],
          ["tuned", t.tuned.latency, pct(t.tuned.agreement), pct(t.tuned.accuracy), (100 * t.tuned.standardError).toFixed(2)],
          ...(t.annAccuracy !== undefined ? [["ANN", "–", "–", pct(t.annAccuracy), "–"]] : []),
        ],
      ),
    );
    const margin = Number.isFinite(t.margin) ? `, tolerance held by a margin of ${t.margin.toFixed(2)} standard errors` : "";
    io.stdout(`${t.evaluations} closed-form runs on ${t.samples} held-out samples (${t.engine}; ${t.resumed} resumed from a layer boundary), ${(t.ms / 1000).toFixed(1)} s${margin}${f.out ? `; windows written to ${f.out}` : ""}\n`);
  });
}

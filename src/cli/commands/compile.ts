import { basename, extname, resolve } from "node:path";
import type { Command } from "commander";
import { printPipeline } from "../../../ir/index.js";
import { compile, createRegistry, resolvePipeline, backendOptions } from "../../driver/compile.js";
import { dumpInstrumentation, resolveDumpList } from "../../driver/dump.js";
import { modelKind } from "../../driver/load-model.js";
import { collect, diagnosticsFormat, reportDiagnostics, type Io } from "../main.js";
import { progressLogger } from "../progress.js";
import { formatNumber } from "../ui.js";
import { UsageError } from "../usage.js";

export function parseKeyValues(list: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list) {
    const i = kv.indexOf("=");
    if (i <= 0) throw new UsageError(`expected key=value, got '${kv}'`);
    out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

export function splitList(v: string | undefined): string[] | undefined {
  return v === undefined ? undefined : v.split(",").map((s) => s.trim()).filter(Boolean);
}

interface CompileFlags {
  target: string;
  out?: string;
  passes?: string;
  plugin?: string[];
  option?: string[];
  dumpIrAfter?: string;
  dumpIrBefore?: string;
  dumpDir?: string;
  printPipeline?: boolean;
  timing?: boolean;
  json?: boolean;
  quiet?: boolean;
  [snnFlag: string]: unknown;
}

/** Shorthand flags for the spiking backends' options (each is the same as -O <name>=<value>). */
export const SNN_FLAGS: readonly [flag: string, option: string, help: string][] = [
  ["--calibration <path>", "calibration", "calibration inputs: .npy, a folder of PNG/JPEG images, or example:<name>"],
  ["--percentile <p>", "percentile", "activation percentile that sets each layer's scale λ (default 99.9; 100 = max)"],
  ["--window <T>", "window", "TSC: steps per layer window (default 32); rate: steps of the run (default 256)"],
  ["--coding <coding>", "coding", "tsc (default) or rate (the rate-coded baseline)"],
  ["--input-scale <s>", "input-scale", "raw input range [0, s] (default 1)"],
  ["--mean <list>", "mean", "per-channel mean the model expects subtracted (comma-separated)"],
  ["--std <list>", "std", "per-channel std the model expects divided by (comma-separated)"],
  ["--phi <phi>", "phi", "TSC rounding offset φ (default 0.5; 0 floors)"],
  ["--layer-windows <spec>", "layer-windows", "TSC per-layer windows: layer=T,… or a JSON file from `tscc tune` (other layers get --window), or auto"],
  ["--tolerance <pts>", "tolerance", "with --window auto: accuracy points the SNN may lose against the ANN (default 0.5)"],
  ["--margin <z>", "margin", "with --window auto: standard errors of the held-out estimate the tolerance must hold by (default 1; 0: on the held-out samples only)"],
  ["--objective <what>", "objective", "with --window auto: latency (default) or additions"],
  ["--calibration-labels <file>", "calibration-labels", "with --window auto: labels of the calibration inputs (.npy)"],
  ["--avgpool <mode>", "avgpool", "merge (default) average pooling into the next layer, or spike"],
  ["--dt <step>", "dt", "NIR graphs: the time step, in the graph's time unit (default: the graph's metadata)"],
];

/** `--window auto`: per-layer windows tuned by the compiler, searching windows up to 32 (or --layer-windows auto with --window T). */
export function autoWindow(opts: Record<string, string>): void {
  if (opts["window"] !== "auto") return;
  if (opts["layer-windows"] && opts["layer-windows"] !== "auto") throw new UsageError("--window auto chooses every layer's window; it cannot be combined with --layer-windows");
  opts["layer-windows"] = "auto";
  delete opts["window"];
}

function camel(flag: string): string {
  return flag
    .replace(/^--/, "")
    .replace(/ .*$/, "")
    .replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** The backend options given through the SNN shorthand flags (commander's parsed flags → option names). */
export function snnOptions(flags: Record<string, unknown>): Record<string, string> {
  const opts: Record<string, string> = {};
  for (const [flag, option] of SNN_FLAGS) {
    const v = flags[camel(flag)];
    if (typeof v === "string") opts[option] = v;
  }
  return opts;
}

export function compileCommand(program: Command, io: Io): void {
  program
    .command("compile")
    .description("compile a model (ONNX, .tir or .tir.json) for a target backend")
    .argument("<model>", "the model file")
    .option("-t, --target <name>", "backend to compile for (see `tscc backends`)", "ir")
    .option("-o, --out <dir>", "output folder (default: <model>-<target> in the current folder)")
    .option("--passes <pipeline>", "replace the front pipeline (default: canonicalize)")
    .option("--plugin <spec>", "load a plugin (path or npm package); repeatable", collect)
    .option("-O, --option <key=value>", "backend option; repeatable", collect)
    .option("--dump-ir-after <passes>", "print the IR after these passes (comma-separated, or all)")
    .option("--dump-ir-before <passes>", "print the IR before these passes (comma-separated, or all)")
    .option("--dump-dir <dir>", "write dumps as numbered .tir files into this folder instead of stderr")
    .option("--print-pipeline", "print the resolved pipeline and exit")
    .option("--timing", "print how long each pass took")
    .option("--json", "print a JSON summary on stdout")
    .option("-q, --quiet", "no progress bars (they are drawn on a terminal only)");
  const cmd = program.commands[program.commands.length - 1]!;
  for (const [flag, , help] of SNN_FLAGS) cmd.option(flag, `${help} [emulator, loihi, nir]`);
  cmd.action(async (model: string, f: CompileFlags, command: Command) => {
      const cwd = io.cwd;
      const modelPath = resolve(cwd, model);
      const reg = await createRegistry(f.plugin ?? [], cwd);
      const opts = { ...parseKeyValues(f.option), ...snnOptions(f) };
      autoWindow(opts);
      if (f.printPipeline) {
        const backend = reg.backend(f.target);
        const { front, back } = resolvePipeline(reg, backend, backendOptions(backend, opts), f.passes, modelKind(modelPath) === "nir");
        io.stdout(printPipeline([...front, ...back]) + "\n");
        return;
      }
      if (f.dumpDir && !f.dumpIrAfter && !f.dumpIrBefore) throw new UsageError("--dump-dir needs --dump-ir-after or --dump-ir-before");
      const stem = basename(model, extname(model)).replace(/\.tir$/, "");
      // A single-file backend (nir) writes <model>.<ext>, or <model>-<target>.<ext> if that is the input.
      const single = reg.backend(f.target).outputFile;
      const dflt = single ? (resolve(cwd, `${stem}${single.extension}`) === modelPath ? `${stem}-${f.target}${single.extension}` : `${stem}${single.extension}`) : `${stem}-${f.target}`;
      const outDir = resolve(cwd, f.out ?? dflt);
      const instrumentation =
        f.dumpIrAfter || f.dumpIrBefore
          ? [
              dumpInstrumentation({
                after: resolveDumpList(splitList(f.dumpIrAfter), reg.passes),
                before: resolveDumpList(splitList(f.dumpIrBefore), reg.passes),
                dir: f.dumpDir ? resolve(cwd, f.dumpDir) : undefined,
                write: io.stderr,
              }),
            ]
          : [];
      const log = progressLogger(process.stderr, io.tty && !f.quiet && !f.json);
      const r = await compile({ model: modelPath, displayName: model, target: f.target, outDir, passes: f.passes, backendOptions: opts, instrumentation, log, cwd }, reg).finally(log.stop);
      if (r.warnings.items.length) reportDiagnostics(io, r.warnings.items, diagnosticsFormat(command));
      if (f.timing) for (const t of r.timings) io.stderr(`${t.pass.padEnd(28)} ${t.ms.toFixed(1).padStart(9)} ms${t.changed ? "" : "  (no change)"}\n`);
      const files = [...r.files.keys()].sort();
      if (f.json) {
        io.stdout(JSON.stringify({ target: f.target, out: outDir, pipeline: r.pipeline, files }, null, 2) + "\n");
      } else {
        const top = [...new Set(files.map((x) => (x.includes("/") ? x.slice(0, x.indexOf("/") + 1) : x)))];
        io.stdout(`compiled ${basename(model)} for ${f.target} → ${outDir}\n  pipeline: ${r.pipeline}\n  files: ${top.join(", ")}\n`);
        const ops = r.module.ops.length;
        io.stdout(`  ${formatNumber(ops)} ops\n`);
      }
    });
}

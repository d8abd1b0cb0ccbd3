import { existsSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import type { Command } from "commander";
import { fmt, M, PassManager, silentLogger, TsccError, type Module } from "../../../ir/index.js";
import { interpret } from "../../../ir/interp/interpreter.js";
import type { RTensor } from "../../../ir/interp/tensor.js";
import { createRegistry, verifyLoaded } from "../../driver/compile.js";
import { loadModel, modelKind } from "../../driver/load-model.js";
import { outputTarget, writeFileAtomic } from "../../driver/output.js";
import { encodeNpy } from "../../io/npy.js";
import { readTensorFile } from "../../io/tensors.js";
import { countsFile } from "../../run/counts-file.js";
import { argmaxAccuracy, toModelInput } from "../../run/inputs.js";
import { collect, type Io } from "../main.js";
import { metricsText } from "../metrics.js";
import { progressLogger } from "../progress.js";
import { formatNumber, shapeText, table } from "../ui.js";
import { UsageError } from "../usage.js";
import { parseKeyValues } from "./compile.js";
import type { Sweep } from "../../../backends/emulator/sweep.js";

interface RunFlags {
  input?: string[];
  labels?: string;
  saveOutput?: string[];
  passes: string;
  option?: string[];
  plugin?: string[];
  json?: boolean;
  engine?: string;
  batch?: string;
  jobs?: string;
  shard?: string;
  saveCounts?: string;
  quiet?: boolean;
  energy?: string;
  windows?: string;
}

/**
 * `--input x.npy` (the only input) or `--input name=path`. With `names` undefined (an artifact whose
 * backend does not say what its inputs are called), any `name=path` whose path exists is taken as
 * named, and a single plain path goes to `fallback`.
 */
function namedFiles(list: readonly string[], names: readonly string[] | undefined, what: string, cwd: string, fallback = "input"): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of list) {
    const i = item.indexOf("=");
    const key = i > 0 ? item.slice(0, i) : undefined;
    const isNamed = key !== undefined && (names ? names.includes(key) : !existsSync(resolve(cwd, item)) && existsSync(resolve(cwd, item.slice(i + 1))));
    if (isNamed) {
      if (out.has(key)) throw new UsageError(`${what} '${key}' is given twice`);
      out.set(key, item.slice(i + 1));
    } else if (list.length === 1 && (!names || names.length >= 1)) out.set(names?.[0] ?? fallback, item);
    else throw new UsageError(`${what} '${item}': use name=path${names ? ` with one of ${names.join(", ")}` : ""}`);
  }
  return out;
}

export function runCommand(program: Command, io: Io): void {
  program
    .command("run")
    .description("run a model (ONNX / .tir, on the reference interpreter) or a compiled artifact folder")
    .argument("<model>", "ONNX, .tir, .tir.json, or a folder written by `tscc compile`")
    .option("-i, --input <path>", "input tensor (.npy or ONNX .pb); name=path for multi-input models; repeatable", collect)
    .option("--labels <path>", "integer class labels (.npy), one per sample, to report accuracy")
    .option("--save-output <path>", "write an output to .npy (name=path to choose the output); repeatable", collect)
    .option("--passes <pipeline>", "passes to run before interpreting an ONNX/IR model", "none")
    .option("-O, --option <key=value>", "backend run option; repeatable", collect)
    .option("--engine <engine>", "emulator: event (spike by spike, the reference) or fast (closed form, TSC only)")
    .option("--batch <n>", "samples per engine call")
    .option("-j, --jobs <n>", "emulator: worker threads evaluating in parallel (default: the cores; results do not depend on it)")
    .option("--shard <i/n>", "evaluate only shard i of n (0-based) of the inputs, for `tscc merge`")
    .option("--save-counts <file>", "write the exact counts of this run (or shard) as JSON, for `tscc merge`")
    .option("--energy <set>", "emulator: energy parameter set for the report")
    .option("--windows <list>", "emulator: also run at these windows T (e.g. 8,16,32): accuracy, agreement, additions per T (`sweep` in --json, read by `tscc report --sweep`)")
    .option("--plugin <spec>", "load a plugin; repeatable", collect)
    .option("--json", "print the report as JSON")
    .option("-q, --quiet", "no progress bars (they are drawn on a terminal only)")
    .action(async (model: string, f: RunFlags) => {
      const path = resolve(io.cwd, model);
      if (!f.input?.length) throw new UsageError("run needs --input");
      const reg = await createRegistry(f.plugin ?? [], io.cwd);
      const isArtifact = existsSync(path) && statSync(path).isDirectory();
      let outputs: Record<string, RTensor>;
      let metrics: Record<string, unknown> = {};
      const labels = f.labels ? readTensorFile(resolve(io.cwd, f.labels)) : undefined;
      const t0 = performance.now();
      let samples = 0;
      if (isArtifact) {
        const target = outputTarget(path, model);
        const backend = reg.backend(target);
        if (!backend.run) throw new TsccError(fmt(M.BackendUnsupported, [target, model, "this backend's artifacts cannot be run"]));
        const described = backend.artifactInputs?.(path);
        const files = namedFiles(f.input, described?.length ? described : undefined, "--input", io.cwd);
        const inputs: Record<string, RTensor> = {};
        for (const [name, file] of files) inputs[name] = toModelInput(readTensorFile(resolve(io.cwd, file)), name, file);
        const options = parseKeyValues(f.option);
        for (const k of ["engine", "batch", "energy", "windows"] as const) if (f[k] !== undefined) options[k] = f[k]!;
        if (f.windows !== undefined && target !== "emulator") throw new UsageError(`--windows needs an emulator artifact; ${model} is a ${target} artifact`);
        if (f.windows !== undefined && (f.shard !== undefined || f.saveCounts !== undefined)) throw new UsageError("--windows sweeps do not combine with --shard/--save-counts: run a sharded evaluation per window (-O window=T)");
        if ((f.shard !== undefined || f.saveCounts !== undefined) && !backend.metricsFromCounts) {
          throw new UsageError(`--shard and --save-counts need a backend that reports counts; '${target}' does not`);
        }
        const resultOptions = { ...options };
        options["jobs"] = f.jobs ?? String(availableParallelism());
        if (f.shard !== undefined) options["shard"] = f.shard;
        const log = progressLogger(process.stderr, io.tty && !f.quiet && !f.json);
        const r = await backend.run(path, { inputs, labels, options, log }).finally(log.stop);
        outputs = { ...r.outputs };
        metrics = { ...r.metrics };
        samples = r.shard ? r.shard.end - r.shard.start : (Object.values(inputs)[0]?.shape[0] ?? 0);
        if (f.saveCounts !== undefined) {
          if (!r.counts) throw new UsageError(`--save-counts: backend '${target}' reported no counts`);
          const inputFiles = Object.fromEntries([...files].map(([name, file]) => [name, resolve(io.cwd, file)]));
          const saved = countsFile({ target, artifact: model, artifactDir: path, inputs: inputFiles, shownInputs: Object.fromEntries(files), labels: f.labels, labelsPath: f.labels ? resolve(io.cwd, f.labels) : undefined, options: resultOptions, total: Object.values(inputs)[0]?.shape[0] ?? 0, shard: r.shard, counts: r.counts });
          writeFileAtomic(resolve(io.cwd, f.saveCounts), JSON.stringify(saved, null, 1) + "\n", f.saveCounts);
        }
        // Backends that only compute outputs get the same top-1 accuracy as the interpreter path.
        const first = Object.values(outputs)[0];
        if (labels && first && !("accuracy" in metrics)) metrics["accuracy"] = argmaxAccuracy(first, labels, f.labels!);
      } else {
        if (modelKind(path) === "nir") throw new UsageError(`a NIR graph runs in the emulator: tscc compile ${model} --target emulator -o <dir>, then tscc run <dir>`);
        if (f.shard !== undefined || f.saveCounts !== undefined) throw new UsageError("--shard and --save-counts evaluate compiled artifacts (tscc compile … -o dir), not models");
        const loaded = loadModel(path, reg.ops);
        verifyLoaded(loaded, model);
        const m: Module = loaded.module;
        if (f.passes !== "none" && f.passes !== "") {
          const pm = new PassManager(reg.passes);
          await pm.run(pm.parse(f.passes), m, { ops: reg.ops, log: silentLogger, inputs: { metadata: loaded.metadata, modelFile: path } });
        }
        const files = namedFiles(
          f.input,
          m.inputs.map((i) => i.name),
          "--input",
          io.cwd,
        );
        const inputs: Record<string, RTensor> = {};
        for (const inp of m.inputs) {
          const file = files.get(inp.name);
          if (!file) throw new UsageError(`missing --input for model input '${inp.name}'`);
          inputs[inp.name] = toModelInput(readTensorFile(resolve(io.cwd, file)), inp.name, file);
        }
        outputs = interpret(m, inputs);
        samples = Object.values(inputs)[0]?.shape[0] ?? 0;
        const first = Object.values(outputs)[0];
        if (labels && first) metrics["accuracy"] = argmaxAccuracy(first, labels, f.labels!);
      }
      const seconds = (performance.now() - t0) / 1000;
      if (!("images_per_second" in metrics) && seconds > 0) metrics["images_per_second"] = samples / seconds;
      for (const item of f.saveOutput ?? []) {
        const names = Object.keys(outputs);
        const [[name, file]] = [...namedFiles([item], names, "--save-output", io.cwd)];
        writeFileAtomic(resolve(io.cwd, file!), encodeNpy(outputs[name!]!), file);
      }
      const outInfo = Object.fromEntries(Object.entries(outputs).map(([k, t]) => [k, { shape: t.shape, dtype: t.dtype }]));
      if (f.json) {
        io.stdout(JSON.stringify({ samples, outputs: outInfo, ...metrics }, null, 2) + "\n");
        return;
      }
      const rows = Object.entries(outputs).map(([k, t]) => [k, shapeText(t.shape), t.dtype]);
      io.stdout(table(["output", "shape", "dtype"], rows, ["l", "l", "l"]));
      const text = metricsText(metrics);
      if (text) io.stdout("\n" + text);
      const sweep = metrics["sweep"] as Sweep | undefined;
      if (sweep) {
        const pct = (x: number | undefined): string => (x === undefined ? "" : `${(100 * x).toFixed(1)}%`);
        const srows = sweep.points.map((p) => [p.window, pct(p.accuracy), pct(p.agreement), formatNumber(p.synaptic_additions_per_inference), p.latency_steps]);
        const eq = sweep.equal_accuracy_window;
        io.stdout(`\nwindow sweep (${sweep.coding}, ${sweep.engine} engine):\n` + table(["T", "accuracy", "agreement", "synaptic adds", "latency"], srows) + (sweep.ann_accuracy !== undefined ? `equal accuracy (within 0.5 pts of the ANN's ${pct(sweep.ann_accuracy)}): ${eq === null ? "not reached" : `T = ${eq}`}\n` : ""));
      }
    });
}

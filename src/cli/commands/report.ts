import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Option, type Command } from "commander";
import { fmt, M, TsccError } from "../../../ir/index.js";
import type { RTensor } from "../../../ir/interp/tensor.js";
import { SWEEP_FORMAT, SWEEP_VERSION, type Sweep } from "../../../backends/emulator/sweep.js";
import { createRegistry } from "../../driver/compile.js";
import { commitFile, commitOutput } from "../../driver/output.js";
import { readTensorFile } from "../../io/tensors.js";
import { loadArtifact } from "../../report/artifact.js";
import { buildReport, type ReportInputs } from "../../report/index.js";
import { svgToPng } from "../../report/render.js";
import { labelValues, toModelInput } from "../../run/inputs.js";
import { VERSION } from "../../version.js";
import { collect, type Io } from "../main.js";
import { terminalLogger } from "../ui.js";
import { UsageError } from "../usage.js";

interface ReportFlags {
  input?: string;
  labels?: string;
  sample: string;
  limit?: string;
  sweep?: string[];
  format: "html" | "png";
  output?: string;
  engine?: string;
  plugin?: string[];
}

function count(text: string, what: string, min: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min) throw new UsageError(`${what} must be an integer ≥ ${min}, got '${text}'`);
  return Number(text);
}

/** A sweep from `tscc run --windows … --json` output (its `sweep`) or a bare sweep object. */
function readSweep(file: string, shown: string): Sweep {
  if (!existsSync(file)) throw new TsccError(fmt(M.FileNotFound, [shown]));
  let j: unknown;
  try {
    j = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new TsccError(fmt(M.DataFile, [shown, (e as Error).message]));
  }
  const s = (j && typeof j === "object" && "sweep" in j ? (j as { sweep: unknown }).sweep : j) as Partial<Sweep> | undefined;
  if (!s || s.format !== SWEEP_FORMAT || !Array.isArray(s.points)) throw new TsccError(fmt(M.DataFile, [shown, "no window sweep in it (write one with `tscc run <artifact> --windows 8,16,32 --json`)"]));
  if (s.version !== SWEEP_VERSION) throw new TsccError(fmt(M.DataFile, [shown, `sweep version ${s.version}; this tscc reads version ${SWEEP_VERSION}`]));
  return s as Sweep;
}

/** The first `n` samples of a [N, ...] tensor. */
function head(t: RTensor, n: number): RTensor {
  if (n >= t.shape[0]!) return t;
  const per = t.data.length / t.shape[0]!;
  return { ...t, shape: [n, ...t.shape.slice(1)], data: (t.data as Float32Array).subarray(0, n * per) } as RTensor;
}

export function reportCommand(program: Command, io: Io): void {
  program
    .command("report")
    .description("one self-contained HTML page (or PNG figures) about compiled artifacts: network graph, per-layer table, one input spike by spike, window sweeps, Loihi mapping")
    .argument("<artifact...>", "one or two folders written by `tscc compile --target emulator|loihi` (e.g. a TSC and a rate network, side by side)")
    .option("-i, --input <path>", "inputs (.npy): accuracy, per-layer counts and one input spike by spike")
    .option("--labels <path>", "integer class labels (.npy) for the accuracy")
    .option("--sample <i>", "the input shown spike by spike", "0")
    .option("--limit <n>", "evaluate only the first n inputs")
    .option("--sweep <file>", "a window sweep: the --json output of `tscc run <artifact> --windows 8,16,32`; repeatable (one per coding)", collect)
    .option("--engine <engine>", "emulator engine for the evaluation (as tscc run)")
    .addOption(new Option("-f, --format <format>", "html: one page; png: the page's figures as PNG files in a folder").choices(["html", "png"]).default("html"))
    .option("-o, --output <path>", "the page (default report.html) or, with --format png, the folder (default report-figures)")
    .option("--plugin <spec>", "load a plugin; repeatable", collect)
    .action(async (artifacts: string[], f: ReportFlags) => {
      if (artifacts.length > 2) throw new UsageError(`tscc report takes one or two artifacts, got ${artifacts.length}`);
      const sample = count(f.sample, "--sample", 0);
      const limit = f.limit !== undefined ? count(f.limit, "--limit", 1) : undefined;
      if (f.labels && !f.input) throw new UsageError("--labels needs --input");
      const loaded = [];
      for (const a of artifacts) loaded.push(await loadArtifact(resolve(io.cwd, a), a));
      let inputs: ReportInputs | undefined;
      if (f.input) {
        let x = toModelInput(readTensorFile(resolve(io.cwd, f.input)), "input", f.input);
        if (limit !== undefined) x = head(x, limit);
        const n = x.shape[0]!;
        if (sample >= n) throw new UsageError(`--sample ${sample}: the inputs hold ${n} sample(s)`);
        const labels = f.labels ? labelValues(head(readTensorFile(resolve(io.cwd, f.labels)), limit ?? Infinity), f.labels, n) : undefined;
        inputs = { x, file: f.input, ...(labels ? { labels, labelsFile: f.labels! } : {}) };
      }
      const sweeps = (f.sweep ?? []).map((file) => ({ file, sweep: readSweep(resolve(io.cwd, file), file) }));
      for (const coding of ["tsc", "rate"]) if (sweeps.filter((s) => s.sweep.coding === coding).length > 1) throw new UsageError(`give at most one ${coding} sweep`);
      const reg = await createRegistry(f.plugin ?? [], io.cwd);
      const log = terminalLogger(process.stderr, !io.tty);
      const result = await buildReport({
        artifacts: loaded,
        ...(inputs ? { inputs } : {}),
        sample,
        sweeps,
        log: { info: () => {}, progress: log.progress },
        version: VERSION,
        run: async (a, x, labels) => {
          const backend = reg.backend(a.target);
          const name = backend.artifactInputs?.(a.dir)[0] ?? "input";
          const r = await backend.run!(a.dir, { inputs: { [name]: x }, ...(labels ? { labels } : {}), options: f.engine ? { engine: f.engine } : {}, log });
          return { ...r.metrics };
        },
      });
      if (f.format === "png") {
        const out = f.output ?? "report-figures";
        const files = new Map<string, Uint8Array>();
        for (const fig of result.figures) files.set(`${fig.name}.png`, await svgToPng(fig.svg));
        commitOutput(resolve(io.cwd, out), files, "report");
        io.stdout(`report: wrote ${files.size} figures to ${out}/\n`);
        return;
      }
      const out = f.output ?? "report.html";
      commitFile(resolve(io.cwd, out), new TextEncoder().encode(result.html));
      io.stdout(`report: wrote ${out} (${Math.round(Buffer.byteLength(result.html) / 1024)} KB, ${result.figures.length} figures)\n`);
    });
}

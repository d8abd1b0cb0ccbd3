/**
 * One compilation: load (ONNX or IR) → front pipeline (canonicalize, or `--passes`) → the backend's
 * legality check (all problems at once) → the backend's pipeline → emit through the virtual writer →
 * write the output folder only if everything succeeded.
 */
import { basename } from "node:path";
import {
  DiagnosticBag,
  isSpikingModule,
  isTsccError,
  fmt,
  M,
  PassManager,
  printPipeline,
  silentLogger,
  TsccError,
  verifyModule,
  type Logger,
  type Module,
  type OptionValue,
  type PassInstrumentation,
  type PipelineEntry,
} from "../../ir/index.js";
import { convertOptionValue, resolveOptions } from "../../ir/pass.js";
import type { Backend, BackendOptions } from "../../backends/api.js";
import { CANONICALIZE } from "../passes/index.js";
import { VERSION } from "../version.js";
import { loadModelAsync, type LoadedIr } from "./load-model.js";
import { commitFile, commitOutput } from "./output.js";
import { loadPlugin } from "./plugin-loader.js";
import { Registry } from "./registry.js";

export interface CompileRequest {
  model: string;
  target: string;
  outDir?: string;
  /** Replaces the front half of the pipeline (default: canonicalize). */
  passes?: string;
  /** Backend options as text (`-O key=value`), converted by the backend's schema. */
  backendOptions?: Record<string, string>;
  plugins?: readonly string[];
  instrumentation?: readonly PassInstrumentation[];
  /** Compile inputs handed to passes (e.g. calibration data). */
  inputs?: Record<string, unknown>;
  log?: Logger;
  cwd?: string;
  /** How diagnostics name the model (the path as the user typed it); default `model`. */
  displayName?: string;
}

export interface CompileResult {
  module: Module;
  pipeline: string;
  files: Map<string, Uint8Array>;
  backend: Backend;
  warnings: DiagnosticBag;
  timings: { pass: string; ms: number; changed: boolean }[];
}

export async function createRegistry(plugins: readonly string[] = [], cwd = process.cwd()): Promise<Registry> {
  const reg = new Registry();
  for (const spec of plugins) await loadPlugin(spec, reg, cwd);
  return reg;
}

export function backendOptions(backend: Backend, given: Record<string, string> = {}): BackendOptions {
  const out: Record<string, OptionValue> = {};
  for (const [k, v] of Object.entries(given)) out[k] = convertOptionValue(`target ${backend.name}`, backend.options, k, v);
  return resolveOptions({ name: backend.name, summary: "", options: backend.options, run: () => ({ changed: false }) }, out);
}

/**
 * The full pipeline text a compile will run (what `--print-pipeline` shows). A module that is already a
 * spiking network (imported from NIR) skips the front pipeline and takes the backend's spikingPipeline.
 */
export function resolvePipeline(reg: Registry, backend: Backend, options: BackendOptions, front?: string, spiking = false): { front: PipelineEntry[]; back: PipelineEntry[] } {
  const pm = new PassManager(reg.passes);
  if (spiking) {
    if (!backend.spikingPipeline) throw new TsccError(fmt(M.BackendUnsupported, [backend.name, "a spiking network (imported from NIR or already converted)", "this backend compiles ANNs only"]));
    return { front: pm.parse(front ?? ""), back: pm.parse(backend.spikingPipeline(options)) };
  }
  return { front: pm.parse(front ?? CANONICALIZE), back: pm.parse(backend.pipeline(options)) };
}

export function verifyLoaded(loaded: LoadedIr, file: string): void {
  const problems = verifyModule(loaded.module, { positions: loaded.positions });
  if (problems.length) throw new TsccError(problems.map((d) => ({ ...d, file })));
}

/** Diagnostics name the model as the user wrote it, not by its resolved absolute path. */
export function renamed(e: unknown, abs: string, shown: string): unknown {
  if (!isTsccError(e) || abs === shown) return e;
  return new TsccError(e.diagnostics.map((d) => (d.file === abs ? { ...d, file: shown } : d)));
}

export async function compile(req: CompileRequest, reg?: Registry): Promise<CompileResult> {
  try {
    return await compileInner(req, reg);
  } catch (e) {
    throw renamed(e, req.model, req.displayName ?? req.model);
  }
}

async function compileInner(req: CompileRequest, reg?: Registry): Promise<CompileResult> {
  const shown = req.displayName ?? req.model;
  const registry = reg ?? (await createRegistry(req.plugins, req.cwd));
  const backend = registry.backend(req.target);
  const options = backendOptions(backend, req.backendOptions);
  const loaded = await loadModelAsync(req.model, registry.ops);
  verifyLoaded(loaded, req.model);
  const m = loaded.module;
  const spiking = isSpikingModule(m);
  const { front, back } = resolvePipeline(registry, backend, options, req.passes, spiking);
  const pm = new PassManager(registry.passes);
  for (const i of req.instrumentation ?? []) pm.addInstrumentation(i);
  const warnings = new DiagnosticBag(shown);
  for (const n of loaded.notes ?? []) warnings.report(n);
  const base = { ops: registry.ops, log: req.log ?? silentLogger, inputs: { ...req.inputs, metadata: loaded.metadata, modelFile: req.model, cwd: req.cwd ?? process.cwd() }, diag: warnings };
  // A failure keeps the warnings reported so far: they often say why (an unfused quantiser, fuse-quantizers).
  const failing = (e: unknown): unknown => {
    if (!isTsccError(e)) return e;
    const bag = new DiagnosticBag(shown);
    for (const d of [...warnings.items.filter((w) => w.severity !== "error"), ...e.diagnostics]) bag.report(d);
    return new TsccError(bag.items);
  };
  const r1 = await pm.run(front, m, base).catch((e: unknown) => Promise.reject(failing(e)));
  const legal = new DiagnosticBag(shown);
  backend.legalize(m, legal, options);
  if (legal.hasErrors) throw failing(new TsccError(legal.items));
  const frontModule = m.clone();
  const r2 = await pm.run(back, m, base).catch((e: unknown) => Promise.reject(failing(e)));
  const files = new Map<string, Uint8Array>();
  const emitDiag = new DiagnosticBag(shown);
  await backend.emit(m, {
    options,
    diag: emitDiag,
    log: req.log ?? silentLogger,
    source: basename(req.model),
    sourcePath: req.model,
    // The ANN the network was converted from (the emulator ships it as the accuracy reference); an
    // imported spiking network has none.
    frontModule: spiking ? undefined : frontModule,
    toolVersion: VERSION,
    writeFile(rel, data) {
      if (files.has(rel)) throw new Error(`backend '${backend.name}' wrote '${rel}' twice`);
      files.set(rel, typeof data === "string" ? new TextEncoder().encode(data) : data);
    },
  });
  if (emitDiag.hasErrors) throw new TsccError(emitDiag.items);
  if (req.outDir) {
    if (backend.outputFile) commitFile(req.outDir, files.get(backend.outputFile.name) ?? new Uint8Array(0));
    else commitOutput(req.outDir, files, backend.name);
  }
  return { module: m, pipeline: printPipeline([...front, ...back]), files, backend, warnings, timings: [...r1.timings, ...r2.timings] };
}

export { fmt, M };

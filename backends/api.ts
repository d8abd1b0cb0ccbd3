/**
 * The backend and plugin API (`tscc/backend`). A backend contributes the tail of the compile
 * pipeline, checks that it can compile every op before anything is lowered, and emits files
 * through a virtual writer (the driver writes them to disk only if the whole compile succeeded).
 * Backends import only from `ir/`.
 */
import type { Diagnostic, DiagnosticSink, Logger, Module, OpDef, OptionSchema, OptionValue, Pass } from "../ir/index.js";
import type { RTensor } from "../ir/interp/tensor.js";
import type { RunCounts } from "./counts.js";

export const BACKEND_API_VERSION = 1;

export type BackendOptions = Readonly<Record<string, OptionValue>>;

export interface EmitContext {
  /** Backend options (defaults merged with `-O key=value` from the command line). */
  readonly options: BackendOptions;
  readonly diag: DiagnosticSink;
  readonly log: Logger;
  /** Name of the model file the compile started from (basename, for deterministic output). */
  readonly source: string;
  /** Path of that file (to hash or re-read it; never written into artifacts). */
  readonly sourcePath?: string;
  /** Record an output file (a path relative to the output directory). */
  writeFile(rel: string, data: string | Uint8Array): void;
  /** The module as it was after the front pipeline, before the backend's own passes (e.g. the ANN). */
  readonly frontModule?: Module;
  /** The tscc version (for artifacts that record which compiler wrote them). */
  readonly toolVersion?: string;
}

export interface Backend {
  readonly name: string;
  readonly apiVersion: 1;
  readonly summary: string;
  readonly options?: OptionSchema;
  /** Backend-private passes, registered as `<backend>:<pass>`. */
  passes?(): readonly Pass[];
  /** Backend-private ops (`<backend>.<op>`). */
  ops?(): readonly OpDef[];
  /** The backend's part of the default pipeline, run after the front half. */
  pipeline(options: BackendOptions): string;
  /**
   * The backend's pipeline for a module that is already a spiking network (imported from NIR, or a
   * converted .tir); the front pipeline is skipped too. A backend without it refuses such modules.
   */
  spikingPipeline?(options: BackendOptions): string;
  /**
   * The backend writes exactly this one file, and `-o` names the file rather than a folder (default:
   * the model's name with `extension`).
   */
  readonly outputFile?: { readonly name: string; readonly extension: string };
  /** Report every op or attribute the backend cannot compile (all of them, not the first). */
  legalize(m: Module, diag: DiagnosticSink, options: BackendOptions): void;
  emit(m: Module, ctx: EmitContext): void | Promise<void>;
  /** Extra data for `tscc backends --json` (chip profiles, limits). */
  describe?(): Record<string, unknown>;
  /** Run an artifact this backend wrote (`tscc run <dir>`). */
  run?(artifactDir: string, req: RunRequest): Promise<RunReport>;
  /** Input names of an artifact this backend wrote (for `--input name=path`). */
  artifactInputs?(artifactDir: string): string[];
  /**
   * The metrics of `run` from (merged) counts: a backend that returns `RunReport.counts` and honours
   * the `shard` run option gives this, and `tscc run --shard/--save-counts` and `tscc merge` work for it.
   */
  metricsFromCounts?(counts: RunCounts): Record<string, unknown>;
}

export interface RunRequest {
  /** Input tensors by model input name. */
  readonly inputs: Readonly<Record<string, RTensor>>;
  /** Class labels (integers), one per sample, when accuracy is wanted. */
  readonly labels?: RTensor;
  /**
   * Backend run options (`-O key=value`, plus flags such as --engine, --batch, --jobs (worker threads;
   * results must not depend on it) and --shard (`i/n`: evaluate only that shard of the samples)).
   */
  readonly options: Readonly<Record<string, string>>;
  readonly log: Logger;
}

export interface RunReport {
  readonly outputs: Readonly<Record<string, RTensor>>;
  /** Numbers for the table and for `--json` (accuracy, spikes, additions, ...). */
  readonly metrics: Readonly<Record<string, unknown>>;
  /** Exact counts behind the metrics, mergeable across shards (see `Backend.metricsFromCounts`). */
  readonly counts?: RunCounts;
  /** With the `shard` option: which samples [start, end) were evaluated (outputs hold only those). */
  readonly shard?: { readonly index: number; readonly count: number; readonly start: number; readonly end: number };
}

export interface PluginApi {
  registerBackend(b: Backend): void;
  registerPass(p: Pass): void;
  registerOp(def: OpDef): void;
}

export interface TsccPlugin {
  readonly apiVersion: 1;
  readonly name: string;
  register(api: PluginApi): void;
}

export function defineBackend(b: Backend): Backend {
  return b;
}

export function definePlugin(p: TsccPlugin): TsccPlugin {
  return p;
}

/** An in-memory EmitContext (for tests and for plugin authors' unit tests). */
export function createMemoryEmitContext(
  options: BackendOptions = {},
  source = "model.onnx",
): EmitContext & { files: Map<string, Uint8Array>; diagnostics: Diagnostic[] } {
  const files = new Map<string, Uint8Array>();
  const diagnostics: Diagnostic[] = [];
  return {
    options,
    source,
    files,
    diagnostics,
    diag: {
      report: (d) => diagnostics.push(d),
      get hasErrors() {
        return diagnostics.some((d) => d.severity === "error");
      },
    },
    log: { info() {}, progress() {} },
    writeFile(rel, data) {
      if (files.has(rel)) throw new Error(`file '${rel}' written twice`);
      files.set(rel, typeof data === "string" ? new TextEncoder().encode(data) : data);
    },
  };
}

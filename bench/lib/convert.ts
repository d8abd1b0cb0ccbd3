/**
 * Compile ONNX models into emulator networks in-process, exactly as `tscc compile --target emulator`
 * does (same registry, same backend option schema, same pipeline text from `emulatorPipeline`), but
 * without emitting an artifact, and with the expensive half (import, canonicalize, fold the input
 * normalisation, calibrate the thresholds) cached per (model, percentile): the coding pass
 * (`insert-tsc-encoding` / `insert-rate-encoding`) then runs on a clone for every configuration.
 *
 * `checkAgainstCompile` verifies once per run that this shortcut produces the same network as the public
 * `compile()` API (same closed-form logits on a few samples).
 */
import { isAbsolute, join } from "node:path";
import { DiagnosticBag, PassManager, printPipeline, silentLogger, TsccError, type Module } from "../../ir/index.js";
import { buildNetwork } from "../../backends/emulator/build-network.js";
import type { Network } from "../../backends/emulator/runtime/network.js";
import { runClosedForm } from "../../backends/emulator/runtime/index.js";
import { backendOptions, compile, resolvePipeline } from "../../src/driver/compile.js";
import { loadModel } from "../../src/driver/load-model.js";
import { Registry } from "../../src/driver/registry.js";

export const ROOT = join(import.meta.dirname, "..", "..");
export const FM_DIR = join(ROOT, "examples", "fashion-mnist");
/** Calibration data: 1000 training-set images shipped with tscc (never the test set). */
export const CALIBRATION = join(FM_DIR, "calib-images.npy");

export interface ModelSpec {
  readonly name: string;
  readonly file: string;
  readonly about: string;
}

export const MODELS: Readonly<Record<string, ModelSpec>> = {
  "cnn-small": { name: "cnn-small", file: join(FM_DIR, "cnn-small.onnx"), about: "2 conv + 2 FC, max pooling, raw [0,1] input" },
  "vgg-bn": { name: "vgg-bn", file: join(FM_DIR, "vgg-bn.onnx"), about: "7 conv + BN + 2 FC, average pooling, mean/std folded from the ONNX metadata" },
};

/** Emulator backend options, as text (the `-O key=value` / CLI flag values of `tscc compile`). */
export type EmulatorOptions = Record<string, string>;

export interface Converted {
  readonly network: Network;
  /** The pipeline text of the whole compile (front + back), as `--print-pipeline` would show it. */
  readonly pipeline: string;
  readonly options: EmulatorOptions;
}

function absolute(file: string): string {
  return isAbsolute(file) ? file : join(ROOT, file);
}

export class Converter {
  private readonly registry = new Registry();
  private readonly backend = this.registry.backend("emulator");
  private readonly cache = new Map<string, { module: Module; metadata: Record<string, string> }>();

  constructor(private readonly calibration = CALIBRATION) {}

  /** Backend options of `tscc compile --target emulator --calibration <calib> …`. */
  options(extra: EmulatorOptions): EmulatorOptions {
    return { calibration: this.calibration, ...extra };
  }

  /** The normalised ANN (after fold-input-normalization and normalize-thresholds), cached. */
  private async normalized(model: ModelSpec, opts: EmulatorOptions): Promise<{ module: Module; metadata: Record<string, string> }> {
    const resolved = backendOptions(this.backend, opts);
    const { front, back } = resolvePipeline(this.registry, this.backend, resolved);
    const head = back.filter((e) => e.pass.name !== "insert-tsc-encoding" && e.pass.name !== "insert-rate-encoding");
    if (head.length !== back.length - 1) throw new Error(`unexpected emulator pipeline: ${this.backend.pipeline(resolved)}`);
    const key = `${model.file}|${printPipeline(head)}`;
    let hit = this.cache.get(key);
    if (!hit) {
      const loaded = loadModel(model.file, this.registry.ops);
      const m = loaded.module;
      const pm = new PassManager(this.registry.passes);
      const diag = new DiagnosticBag(model.file);
      const ctx = { ops: this.registry.ops, log: silentLogger, inputs: { metadata: loaded.metadata, modelFile: model.file, cwd: ROOT }, diag };
      await pm.run(front, m, ctx);
      const legal = new DiagnosticBag(model.file);
      this.backend.legalize(m, legal, resolved);
      if (legal.hasErrors) throw new TsccError(legal.items);
      await pm.run(head, m, ctx);
      if (diag.hasErrors) throw new TsccError(diag.items);
      hit = { module: m, metadata: loaded.metadata };
      this.cache.set(key, hit);
    }
    return hit;
  }

  /** Whether the canonical (normalised) ANN of `model` has average pooling (the avgpool option matters). */
  async hasAveragePool(model: ModelSpec): Promise<boolean> {
    const { module } = await this.normalized(model, this.options({}));
    return module.ops.some((op) => op.name === "nn.average_pool" || op.name === "nn.global_average_pool");
  }

  /** Convert `model` with emulator options `opts` (e.g. {coding: "tsc", window: "32", phi: "0.5"}); `inputs` go to the passes (e.g. onTune). */
  async convert(model: ModelSpec, opts: EmulatorOptions, inputs: Record<string, unknown> = {}): Promise<Converted> {
    const options = this.options(opts);
    const resolved = backendOptions(this.backend, options);
    const base = await this.normalized(model, options);
    const { front, back } = resolvePipeline(this.registry, this.backend, resolved);
    const tail = back.filter((e) => e.pass.name === "insert-tsc-encoding" || e.pass.name === "insert-rate-encoding");
    const m = base.module.clone();
    const pm = new PassManager(this.registry.passes);
    const diag = new DiagnosticBag(model.file);
    await pm.run(tail, m, { ops: this.registry.ops, log: silentLogger, inputs: { ...inputs, metadata: base.metadata, modelFile: model.file, cwd: ROOT }, diag });
    if (diag.hasErrors) throw new TsccError(diag.items);
    return { network: buildNetwork(m).network, pipeline: printPipeline([...front, ...back]), options };
  }

  /**
   * Cross-check the cached shortcut against the public `compile()` (outDir undefined: files in memory) on
   * `x` (a few samples): the closed-form logits must be identical. Throws if they differ.
   */
  async checkAgainstCompile(model: ModelSpec, opts: EmulatorOptions, x: Float32Array, batch: number): Promise<void> {
    const options = this.options(opts);
    const viaCompile = await compile({ model: model.file, target: "emulator", backendOptions: options, cwd: ROOT }, this.registry);
    const a = runClosedForm(buildNetwork(viaCompile.module).network, x, batch).outputs[0]!;
    const b = runClosedForm((await this.convert(model, opts)).network, x, batch).outputs[0]!;
    for (let i = 0; i < a.length; i++) {
      if (a[i] !== b[i]) throw new Error(`bench conversion differs from compile() for ${model.name} ${JSON.stringify(opts)} at output ${i}: ${b[i]} vs ${a[i]}`);
    }
  }
}

export { absolute };

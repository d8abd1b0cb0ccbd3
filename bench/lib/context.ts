/** What every suite gets: options, the data set, the conversion cache, the worker pool, ANN predictions. */
import type { Logger } from "../../ir/index.js";
import { annLogits } from "./ann.js";
import { Converter, MODELS, type ModelSpec } from "./convert.js";
import type { Dataset } from "./fashion-mnist.js";
import type { Pool } from "./pool.js";
import { argmaxes, Out } from "./report.js";

export interface BenchOptions {
  /** `--full`: the configuration recorded in docs/benchmarks.md. */
  readonly full: boolean;
  readonly models: readonly string[];
  /** Images (first n of the test set) for the TSC closed-form runs and the ANN. */
  readonly images: number;
  /** Per model: images of the long rate-coded runs (current input, T up to rateTmax). */
  readonly rateImages: Readonly<Record<string, number>>;
  /** Per model: images of the short rate-coded runs (T up to rateShortTmax); more images where it matters. */
  readonly rateShortImages: Readonly<Record<string, number>>;
  /** Per model: images for the Poisson-input rate row. */
  readonly poissonImages: Readonly<Record<string, number>>;
  /** Steps of the long rate runs; checkpoints give every shorter T. */
  readonly rateTmax: number;
  /** Steps of the short rate runs. */
  readonly rateShortTmax: number;
  readonly workers: number;
}

export class BenchContext {
  readonly conv = new Converter();
  readonly out = new Out();
  private readonly ann = new Map<string, Int32Array>();
  /** Measured rows by configuration (a TSC configuration is run once per bench process). */
  readonly rows = new Map<string, unknown>();
  /** Called by suites after each finished part (writes the results so far). */
  save: () => void = () => {};

  constructor(
    readonly opts: BenchOptions,
    readonly ds: Dataset,
    readonly pool: Pool,
    readonly log: Logger,
  ) {}

  model(name: string): ModelSpec {
    const m = MODELS[name];
    if (!m) throw new Error(`unknown model '${name}' (known: ${Object.keys(MODELS).join(", ")})`);
    return m;
  }

  /** ANN (onnxruntime-node, original ONNX model) top-1 predictions on the whole loaded data set. */
  async annPredictions(name: string): Promise<Int32Array> {
    let p = this.ann.get(name);
    if (!p) {
      const logits = await annLogits(this.model(name).file, this.ds.images, this.ds.n, this.ds.shape);
      p = argmaxes(logits, this.ds.n);
      this.ann.set(name, p);
    }
    return p;
  }
}

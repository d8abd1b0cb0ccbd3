/**
 * Evaluating an emulator artifact chunk by chunk. One chunk is one engine call on samples [start, end)
 * (global sample indices: the Poisson encoder seeds per sample index) plus the reference ANN on the same
 * samples. The main thread (`--jobs 1`) and every worker thread (eval-worker.ts) run the same `run` on
 * the same chunk boundaries, with single-threaded onnxruntime sessions unless -O threads is given, so
 * the results do not depend on the number of jobs, bit for bit.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { builtinOps, fmt, interpret, M, parseModule, readWeights, TsccError, verifyModule, type Module as IrModule } from "../../ir/index.js";
import { artifactFile, importModelJs, isNetworkError } from "./artifact-files.js";
import { annToOnnx } from "./ann-onnx.js";
import { closedFormOnnx } from "./onnx-export.js";
import { schedule } from "./runtime/schedule.js";
import { withWindow } from "./sweep.js";
import type { Manifest } from "./manifest.js";
import type { Network } from "./runtime/network.js";
import type { OrtModule, OrtSession } from "./runtime/onnx-engine.js";
import type { Counters, RunOptions, RunResult } from "./runtime/types.js";
import { argmax } from "./run.js";

/** The generated model.js of an artifact: its network loader and the engines of its own runtime copy. */
interface ArtifactModule {
  load(dir?: string): Network;
  runEvent(net: Network, input: Float32Array | readonly Float32Array[], batch: number, opts?: RunOptions): RunResult;
  runClosedForm(net: Network, input: Float32Array | readonly Float32Array[], batch: number, opts?: RunOptions): RunResult;
  createOrtSession(ort: OrtModule, model: Uint8Array, threads?: number): Promise<OrtSession>;
  runOnnxClosedForm(net: Network, ort: OrtModule, session: OrtSession, input: Float32Array | readonly Float32Array[], batch: number, opts?: { counters?: boolean; recordIntervals?: boolean }): Promise<RunResult>;
  runRateOnnx(net: Network, ort: OrtModule, input: Float32Array | readonly Float32Array[], batch: number, opts?: RunOptions, threads?: number): Promise<RunResult>;
}

/** onnxruntime-node, when installed (an optional dependency of tscc). */
export async function loadOrt(): Promise<OrtModule | undefined> {
  try {
    const mod = (await import("onnxruntime-node")) as unknown as OrtModule & { default?: OrtModule };
    return mod.InferenceSession ? mod : mod.default;
  } catch {
    return undefined;
  }
}

/** What decides the numbers of an evaluation (and travels to the worker threads as plain data). */
export interface EvalSettings {
  readonly dir: string;
  readonly manifest: Manifest;
  readonly engine: "event" | "fast";
  /** -O fast: "js" forces the float64 JavaScript closed form, "ort" requires onnxruntime. */
  readonly fast?: string;
  /** onnxruntime intra-op threads of every session (1 unless -O threads is given). */
  readonly threads: number;
  /** Fast engine on onnxruntime: compute the operation counts (default true). */
  readonly counters: boolean;
  /** Run the event engine beside the fast one and explain every difference (-O check=1). */
  readonly check: boolean;
  /** "interpreter" forces tscc's reference interpreter for the ANN even when onnxruntime is installed. */
  readonly reference?: string;
  /** -O window=T: run every layer at window T (sweep.ts; the closed-form ONNX is rebuilt for it). */
  readonly window?: number;
}

export interface ChunkResult {
  readonly start: number;
  readonly end: number;
  readonly logits: Float32Array;
  /** The reference ANN's logits on the same samples (when the artifact ships the reference). */
  readonly ref?: Float32Array;
  readonly counters: Counters;
  /** JavaScript closed form: floor-boundary ties. */
  readonly ties: number;
  readonly check?: Record<string, number>;
  /**
   * How the chunk was computed: the network's window and latency in steps (after -O window), the fast
   * engine's implementation and the reference ANN's runner.
   */
  readonly impl: { readonly window: number; readonly latency: number; readonly fastImpl?: string; readonly referenceBy?: string };
}

const REF_HINT = "recompile the model, or use -O reference=interpreter";

/** reference/model.tir (+ weights.bin), checked to be a valid module taking the manifest's input and giving its output. */
function readReference(dir: string, file: string, man: Manifest): IrModule {
  const wfile = artifactFile(join(dir, "reference"), "weights.bin", "an emulator");
  let wf: ReturnType<typeof readWeights> | undefined;
  const m = parseModule(readFileSync(file, "utf8"), { file, registry: builtinOps(), loadBlob: (ref, type) => (wf ??= readWeights(readFileSync(wfile), wfile)).load(ref, type) });
  const problems = verifyModule(m);
  if (problems.length) throw new TsccError(problems.map((d) => ({ ...d, file })));
  const input = m.inputs[0]?.value.type;
  const fits = m.inputs.length === 1 && input?.kind === "tensor" && input.shape.length === man.input.shape.length + 1 && input.shape.slice(1).every((d, i) => d === man.input.shape[i]);
  if (!fits || !m.outputs.some((o) => o.name === man.outputs[0])) {
    throw new TsccError(fmt(M.DataFile, [file, `the reference model does not take input [N, ${man.input.shape.join(", ")}] or give output '${man.outputs[0]}' as manifest.json says`], { hint: "recompile the model" }));
  }
  // Weights are loaded lazily: load (and check) them now, before any input is run.
  for (const c of m.consts.values()) void c.data;
  return m;
}


/**
 * The artifact's network, checked by its own runtime (the structure, and weights.bin against every
 * layer) and against the manifest, before any input is run.
 */
function loadNetwork(dir: string, mod: ArtifactModule, man: Manifest): Network {
  let net: Network;
  try {
    net = mod.load(dir);
    // A zero-sample run plans the network, which validates it; the plan is cached for the real run.
    if (man.coding === "tsc") mod.runClosedForm(net, new Float32Array(0), 0);
    else mod.runEvent(net, new Float32Array(0), 0);
  } catch (e) {
    throw new TsccError(fmt(M.DataFile, [dir, (e as Error).message], { hint: "recompile the model" }));
  }
  const enc = net.nodes.find((n) => n.kind === "encode" && n.out === net.inputs[0]?.value);
  const shape = enc ? net.values[enc.out]!.shape : [];
  const p = enc?.kind === "encode" && enc.pads.length === 4 ? enc.pads : [0, 0, 0, 0];
  const inSize = shape.length === 3 ? shape[0]! * (shape[1]! - p[0]! - p[2]!) * (shape[2]! - p[1]! - p[3]!) : shape.reduce((a, b) => a * b, 1);
  const want = man.input.shape.reduce((a, b) => a * b, 1);
  if (net.coding !== man.coding || net.window !== man.window || !enc || inSize !== want || net.outputs.length === 0) {
    throw new TsccError(fmt(M.DataFile, [dir, `manifest.json (${man.coding}, window ${man.window}, input [${man.input.shape.join(", ")}]) does not describe the network in model.js`], { hint: "recompile the model" }));
  }
  return net;
}

/** onnxruntime loading or running the artifact's closed-form.onnx: its failures are about that file. */
async function onnxruntimeCall<T>(file: string, f: () => Promise<T>, hint = "recompile the model, or use -O fast=js"): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof Error && e.constructor === Error && !isNetworkError(e)) throw new TsccError(fmt(M.DataFile, [file, `onnxruntime cannot run it: ${e.message}`], { hint }));
    throw e;
  }
}

/** The reference ANN shipped in the artifact (reference/model.tir), on onnxruntime or the interpreter. */
class ReferenceAnn {
  private constructor(
    private readonly man: Manifest,
    private readonly m: ReturnType<typeof parseModule>,
    private readonly ort: OrtModule | undefined,
    private readonly session: OrtSession | undefined,
    readonly by: "onnxruntime" | "interpreter",
    private readonly file: string,
  ) {}

  static async open(dir: string, man: Manifest, ort: OrtModule | undefined, threads: number): Promise<ReferenceAnn | undefined> {
    const file = join(dir, "reference", "model.tir");
    if (!existsSync(file)) return undefined;
    const m = readReference(dir, file, man);
    const bytes = ort ? annToOnnx(m) : undefined;
    if (ort && bytes) return new ReferenceAnn(man, m, ort, await onnxruntimeCall(file, () => ort.InferenceSession.create(bytes, { intraOpNumThreads: threads }), REF_HINT), "onnxruntime", file);
    return new ReferenceAnn(man, m, undefined, undefined, "interpreter", file);
  }

  /** Logits of `n` raw samples (preprocessed as the model expects: scale, mean, std). */
  async logits(x: Float32Array, n: number): Promise<Float32Array | undefined> {
    const man = this.man;
    const c = man.input.shape[0] ?? 1;
    const per = x.length / n;
    const inner = per / c;
    const xin = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const ch = Math.floor((i % per) / inner);
      const mu = man.input.mean[man.input.mean.length === 1 ? 0 : ch] ?? 0;
      const sd = man.input.std[man.input.std.length === 1 ? 0 : ch] ?? 1;
      xin[i] = (x[i]! / man.input.scale - mu) / sd;
    }
    const name = this.m.inputs[0]!.name;
    if (this.session && this.ort) {
      const session = this.session;
      const input = new this.ort.Tensor("float32", xin, [n, ...man.input.shape]);
      const r = await onnxruntimeCall(this.file, () => session.run({ [name]: input }), REF_HINT);
      return Float32Array.from(r[man.outputs[0]!]!.data as Float32Array);
    }
    return interpret(this.m, { [name]: { shape: [n, ...man.input.shape], dtype: "f32", data: xin } })[man.outputs[0]!]?.data as Float32Array | undefined;
  }

  async close(): Promise<void> {
    await this.session?.release?.();
  }
}

export class Evaluator {
  private constructor(
    readonly s: EvalSettings,
    private readonly mod: ArtifactModule,
    readonly net: Network,
    private readonly ort: OrtModule | undefined,
    private readonly session: OrtSession | undefined,
    private readonly reference: ReferenceAnn | undefined,
    /** How the fast engine runs: the JavaScript closed form or onnxruntime (undefined for the event engine). */
    readonly fastImpl: "js" | "onnxruntime" | undefined,
    /** End-to-end latency of the network in steps (its schedule). */
    readonly latency: number,
  ) {}

  /** Load the artifact's module and network, the onnxruntime sessions and the reference ANN. */
  static async open(s: EvalSettings): Promise<Evaluator> {
    const { dir, manifest: man, engine } = s;
    const mod = await importModelJs<ArtifactModule>(dir);
    let net = loadNetwork(dir, mod, man);
    if (s.window !== undefined) net = withWindow(net, s.window);
    // The fast engine runs closed-form.onnx in onnxruntime when it is installed (-O fast=js forces the
    // float64 JavaScript closed form, which also counts floor-boundary ties).
    const ort = await loadOrt();
    let session: OrtSession | undefined;
    const onnxFile = join(dir, "closed-form.onnx");
    if (engine === "fast" && man.coding === "tsc" && s.fast !== "js" && existsSync(onnxFile)) {
      if (ort) session = await onnxruntimeCall(onnxFile, () => mod.createOrtSession(ort, s.window !== undefined ? closedFormOnnx(net) : readFileSync(onnxFile), s.threads));
      else if (s.fast === "ort") throw new TsccError(fmt(M.Usage, ["-O fast=ort needs the onnxruntime-node package, which is not installed"]));
    }
    if (engine === "fast" && man.coding === "rate" && !ort) {
      throw new TsccError(fmt(M.Usage, ["the fast engine for rate coding needs onnxruntime-node (the closed form exists for TSC only); use --engine event"]));
    }
    const fastImpl = engine === "fast" ? (session || man.coding === "rate" ? "onnxruntime" : "js") : undefined;
    const reference = await ReferenceAnn.open(dir, man, s.reference === "interpreter" ? undefined : ort, s.threads);
    return new Evaluator(s, mod, net, ort, session, reference, fastImpl, s.window !== undefined ? schedule(net).latency : man.latency_steps);
  }

  /** Run one chunk: `x` holds samples [start, end) of the data set. */
  async run(x: Float32Array, start: number, end: number): Promise<ChunkResult> {
    const { mod, net, s } = this;
    const n = end - start;
    const r =
      s.engine === "event"
        ? mod.runEvent(net, x, n, { sampleOffset: start })
        : net.coding === "rate"
          ? await mod.runRateOnnx(net, this.ort!, x, n, { sampleOffset: start }, s.threads)
          : this.session
            ? await onnxruntimeCall(join(s.dir, "closed-form.onnx"), () => mod.runOnnxClosedForm(net, this.ort!, this.session!, x, n, { counters: s.counters, recordIntervals: s.check }))
            : mod.runClosedForm(net, x, n, { sampleOffset: start, recordIntervals: s.check });
    let check: Record<string, number> | undefined;
    if (s.check) {
      const ev = mod.runEvent(net, x, n, { sampleOffset: start, recordIntervals: true, recordMembrane: true });
      check = checkEngines(net, ev, r, n, this.session ? 1e-4 : 1e-9);
    }
    const ref = await this.reference?.logits(x, n);
    const impl = { window: net.window, latency: this.latency, ...(this.fastImpl ? { fastImpl: this.fastImpl } : {}), ...(this.reference ? { referenceBy: this.reference.by } : {}) };
    return { start, end, logits: r.outputs[0]!, ...(ref ? { ref } : {}), counters: r.counters, ties: (r.ties ?? []).reduce((a, b) => a + b, 0), ...(check ? { check } : {}), impl };
  }

  async close(): Promise<void> {
    await this.session?.release?.();
    await this.reference?.close();
  }
}

/**
 * Run the event engine beside the fast one and explain every difference: per sample, the first layer
 * where an interval differs must differ only at floor-boundary ties (the event engine's float64 V/θ within
 * `tol` of an integer), where two correct summation orders (float64 event order vs float32 onnxruntime or
 * float64 im2col) may floor apart; later layers then differ as a consequence. Anything else is a bug.
 */
function checkEngines(net: Network, event: RunResult, fast: RunResult, batch: number, tol: number): Record<string, number> {
  const populations = net.nodes.map((n, i) => ({ n, i })).filter(({ n }) => n.kind === "tsc");
  let compared = 0;
  let mismatched = 0;
  let samplesDiverging = 0;
  let explained = 0;
  let unexplained = 0;
  for (let b = 0; b < batch; b++) {
    let first = true;
    for (const { n, i } of populations) {
      const size = net.values[n.out]!.shape.reduce((a, c) => a * c, 1);
      const de = event.intervals![n.out]!;
      const df = fast.intervals![n.out]!;
      const mem = event.membrane![i]!;
      const theta = (n as { theta: number }).theta;
      let here = 0;
      let ties = 0;
      for (let j = 0; j < size; j++) {
        compared++;
        if (de[b * size + j] === df[b * size + j]) continue;
        here++;
        const u = mem[b * size + j]! / theta;
        if (Math.abs(u - Math.round(u)) <= tol * Math.max(1, Math.abs(u))) ties++;
      }
      mismatched += here;
      if (here > 0 && first) {
        first = false;
        samplesDiverging++;
        if (ties === here) explained++;
        else unexplained++;
      }
    }
  }
  let predictions = 0;
  const k = event.outputs[0]!.length / batch;
  for (let b = 0; b < batch; b++) if (argmax(event.outputs[0]!, b, k) !== argmax(fast.outputs[0]!, b, k)) predictions++;
  return { intervals_compared: compared, intervals_differing: mismatched, samples_diverging: samplesDiverging, samples_explained_by_ties: explained, samples_unexplained: unexplained, prediction_differences: predictions };
}

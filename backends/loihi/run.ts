/**
 * `tscc run <loihi artifact>`: the bit-accurate run. Reads network.json + weights.bin, runs the integer
 * network on Loihi-style registers (engine.ts; `--engine fast` uses the integer closed form instead) and
 * the float TSC network with the emulator's closed-form engine on the same inputs, and reports accuracy,
 * `float_tsc_accuracy`, `accuracy_delta`, agreement, overflow events and the same counters as the
 * emulator, with energy per inference from the measured counts.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { fmt, M, TsccError, yieldToEventLoop } from "../../ir/index.js";
import { artifactFile, isNetworkError, readArtifactJson, shapeSchema } from "../emulator/artifact-files.js";
import { parseWeights } from "../emulator/runtime/weights-file.js";
import type { RunReport, RunRequest } from "../api.js";
import { compareLogits, labelsOf } from "../emulator/run.js";
import { runClosedForm } from "../emulator/runtime/closed-form.js";
import type { Network, Node } from "../emulator/runtime/network.js";
import { planOf } from "../emulator/runtime/plan.js";
import { schedule } from "../emulator/runtime/schedule.js";
import { runLoihi } from "./engine.js";
import { LOIHI_FORMAT, LOIHI_VERSION } from "./emit.js";

const valueRef = z.number().int().min(0);
const pair = z.tuple([z.number().int().min(1), z.number().int().min(1)]);
const pads4 = z.tuple([z.number().int().min(0), z.number().int().min(0), z.number().int().min(0), z.number().int().min(0)]);
/** Integer-twin fields of a node (quantisation results), by reference to blobs of weights.bin. */
const intSchema = z
  .looseObject({ w: z.string(), factor: z.number(), theta: z.number().positive(), phi: z.number(), lambda: z.number(), delay: z.number().int().min(0).max(255), bias_per_channel: z.string() })
  .partial()
  .optional();
/** The emulator node kinds a Loihi network holds (runtime/network.ts), with weights named by blob. */
const nodeSchema = z.discriminatedUnion("kind", [
  z.looseObject({ kind: z.literal("encode"), out: valueRef, scale: z.number().positive(), rounding: z.enum(["round", "floor"]), mode: z.enum(["current", "poisson"]), seed: z.number(), pads: z.union([z.tuple([]), pads4]), padValues: z.array(z.number()) }),
  z.looseObject({ kind: z.literal("conv"), in: valueRef, out: valueRef, w: z.string(), b: z.string().optional(), wShape: z.tuple([z.number().int().min(1), z.number().int().min(1), z.number().int().min(1), z.number().int().min(1)]), strides: pair, pads: pads4, dilations: pair, group: z.number().int().min(1), int: intSchema }),
  z.looseObject({ kind: z.literal("dense"), in: valueRef, out: valueRef, w: z.string(), b: z.string().optional(), int: intSchema }),
  z.looseObject({ kind: z.literal("scale"), in: valueRef, out: valueRef, factor: z.number(), int: intSchema }),
  z.looseObject({ kind: z.literal("add"), a: valueRef, b: valueRef, out: valueRef }),
  z.looseObject({ kind: z.literal("tsc"), in: valueRef, out: valueRef, theta: z.number().positive(), phi: z.number(), lambda: z.number(), int: intSchema }),
  z.looseObject({ kind: z.literal("maxpool"), in: valueRef, out: valueRef, kernel: pair, strides: pair, pads: pads4, dilations: pair, int: intSchema }),
  z.looseObject({ kind: z.literal("reshape"), in: valueRef, out: valueRef }),
  z.looseObject({ kind: z.literal("concat"), ins: z.array(valueRef).min(1), out: valueRef, axis: z.number().int().min(0) }),
  z.looseObject({ kind: z.literal("decode"), in: valueRef, out: valueRef, lambda: z.number(), int: intSchema }),
]);
const io = z.array(z.object({ name: z.string(), value: valueRef }));
/** network.json as `tscc run` reads it: checked before any network is built from it. */
const netSchema = z.looseObject({
  window: z.number().int().min(1).max(65535),
  values: z.array(z.object({ kind: z.enum(["spikes", "charge"]), shape: shapeSchema, name: z.string() })),
  nodes: z.array(nodeSchema),
  inputs: io.length(1),
  outputs: io.min(1),
  engine: z.object({ q_bits: z.number().int().min(1).max(52), u_bits: z.number().int().min(1).max(52), v_bits: z.number().int().min(1).max(52), bias_via: z.enum(["clock-synapse", "neuron"]) }),
});
interface NetFile {
  window: number;
  values: Network["values"];
  nodes: (Record<string, unknown> & { kind: string; int?: Record<string, unknown> })[];
  inputs: Network["inputs"];
  outputs: Network["outputs"];
  engine: { q_bits: number; u_bits: number; v_bits: number; bias_via: "clock-synapse" | "neuron" };
}

const manifestSchema = z.looseObject({
  tscc: z.string().optional(),
  profile: z.string(),
  window: z.number().int().min(1),
  cores: z.number().int().min(0),
  chips: z.number().int().min(0),
  latency_steps: z.number().int().min(0),
  /** Per-layer windows (absent when every layer has `window`). */
  layer_windows: z.record(z.string(), z.number().int().min(1)).optional(),
  input: z.looseObject({ name: z.string(), shape: shapeSchema, scale: z.number().positive() }),
  outputs: z.array(z.string()).min(1),
  energy: z.string(),
});
type Manifest = z.infer<typeof manifestSchema>;

/** What the run reads from resource-report.json and hw-profile.json (energy from measured counts). */
const reportSchema = z.looseObject({
  per_core: z.array(z.looseObject({ used: z.looseObject({ compartments: z.number().int().min(0) }) })),
  energy_per_inference_pj: z.looseObject({ synaptic_ops_count: z.number().min(0).optional(), messages: z.number().optional(), static: z.number().optional() }),
});
const energySetSchema = z.looseObject({ name: z.string(), update_inactive_pj: z.number(), synop_pj: z.number() });
const hwProfileSchema = z.looseObject({ energy: z.record(z.string(), energySetSchema).refine((e) => Object.keys(e).length > 0, { message: "holds no energy set" }) });

const KIND = "a loihi";

export function readLoihiManifest(dir: string): Manifest {
  const m = readArtifactJson(dir, "manifest.json", KIND, z.looseObject({ format: z.unknown(), version: z.unknown() }));
  if (m.format !== LOIHI_FORMAT || m.version !== LOIHI_VERSION) {
    throw new TsccError(fmt(M.DataFile, [dir, `artifact format ${String(m.format)} version ${String(m.version)}; this tscc reads ${LOIHI_FORMAT} version ${LOIHI_VERSION}`], { hint: "recompile the model with this tscc" }));
  }
  return readArtifactJson(dir, "manifest.json", KIND, manifestSchema);
}

export function loihiArtifactInputs(dir: string): string[] {
  return [readLoihiManifest(dir).input.name];
}

/** The runtime's validation (structure, geometry, every weight blob against its layer); the plan is cached for the run. */
function validated(dir: string, net: Network): void {
  try {
    planOf(net);
  } catch (e) {
    if (isNetworkError(e)) throw new TsccError(fmt(M.DataFile, [join(dir, "network.json"), (e as Error).message], { hint: "recompile the model" }));
    throw e;
  }
}

/** The float network and its integer twin from network.json + weights.bin. */
export function loadNetworks(dir: string): { float: Network; int: Network; twin: Network; file: NetFile } {
  const file = readArtifactJson(dir, "network.json", KIND, netSchema) as unknown as NetFile;
  const wpath = artifactFile(dir, "weights.bin", KIND);
  let wf: ReturnType<typeof parseWeights>;
  try {
    wf = parseWeights(readFileSync(wpath), wpath);
  } catch (e) {
    throw new TsccError(fmt(M.DataFile, [wpath, (e as Error).message]));
  }
  const blob = (name: unknown): Float32Array => {
    try {
      return wf.get(name as string);
    } catch (e) {
      throw new TsccError(fmt(M.DataFile, [wpath, (e as Error).message]));
    }
  };
  const floatNodes: Node[] = file.nodes.map((n) => {
    const { int: _int, ...rest } = n;
    const o: Record<string, unknown> = { ...rest };
    if (typeof rest["w"] === "string") o["w"] = blob(rest["w"]);
    if (typeof rest["b"] === "string") o["b"] = blob(rest["b"]);
    return o as unknown as Node;
  });
  const float: Network = { coding: "tsc", window: file.window, values: file.values, nodes: floatNodes, inputs: file.inputs, outputs: file.outputs };
  validated(dir, float);
  // Integer twin: integer weights, the quantised per-step bias on the first synapse term of each neuron.
  const sch = schedule(float);
  const intNodes: Record<string, unknown>[] = file.nodes.map((n) => {
    const { int, ...rest } = n;
    const o: Record<string, unknown> = { ...rest };
    if (typeof o["b"] === "string") delete o["b"];
    if (int?.["w"]) o["w"] = blob(int["w"]);
    else if (typeof rest["w"] === "string") o["w"] = blob(rest["w"]);
    if (int?.["factor"] !== undefined) o["factor"] = int["factor"];
    if (int?.["theta"] !== undefined) o["theta"] = int["theta"];
    if (int?.["phi"] !== undefined) o["phi"] = int["phi"];
    if (int?.["lambda"] !== undefined) o["lambda"] = int["lambda"];
    if (int?.["delay"] !== undefined) o["loihi_delay"] = int["delay"];
    if (int?.["theta_shift"] !== undefined) o["loihi_theta_shift"] = blob(int["theta_shift"]);
    if (int?.["fanin_parts"] !== undefined) o["loihi_fanin_parts"] = int["fanin_parts"];
    return o;
  });
  file.nodes.forEach((n, i) => {
    const bname = n.int?.["bias_per_channel"];
    if (!bname) return;
    const inp = (n as unknown as { in: number }).in;
    const terms = sch.charge[inp]?.terms ?? [];
    const t = terms.find((x) => file.nodes[x.node]!.kind !== "scale");
    if (!t) throw new TsccError(fmt(M.DataFile, [dir, `network.json: node ${i} has a bias but no conv/dense input`]));
    intNodes[t.node]!["b"] = blob(bname);
  });
  const int: Network = { ...float, nodes: intNodes as unknown as Node[] };
  validated(dir, int);
  return { float, int, twin: closedFormTwin(int, sch), file };
}

/**
 * The integer network in the emulator's terms (one θ and φ per neuron node), for the integer closed
 * form (run it with `foldedGains`: per-layer windows' gains are already in the integer weights): a channel of threshold class k (Θ_c = Θ/2^k, Φ_c = Φ/2^k) computes
 * floor((V_c + Φ_c)/Θ_c) = floor((2^k·V_c + Φ)/Θ), so its incoming weights and bias are scaled by 2^k
 * (exact: powers of two) and the read-out's 2^k·V_c/Θ = V_c/Θ_c. Split integrators sum to the same V.
 */
export function closedFormTwin(int: Network, sch: ReturnType<typeof schedule>): Network {
  const nodes = int.nodes.map((n) => ({ ...n }) as Record<string, unknown>);
  int.nodes.forEach((n, i) => {
    const shifts = (n as { loihi_theta_shift?: Float32Array }).loihi_theta_shift;
    if (!shifts || (n.kind !== "tsc" && n.kind !== "decode")) return;
    for (const t of sch.charge[n.in]?.terms ?? []) {
      const src = int.nodes[t.node]!;
      if (src.kind === "scale") throw new TsccError(fmt(M.DataFile, ["network.json", `node ${i}: threshold classes with a one-to-one synapse term`]));
      if (src.kind !== "conv" && src.kind !== "dense") continue;
      const rows = shifts.length;
      const rowLen = src.w.length / rows;
      const w = Float32Array.from(src.w);
      for (let r = 0; r < rows; r++) {
        const f = 2 ** shifts[r]!;
        if (f !== 1) for (let k = r * rowLen; k < (r + 1) * rowLen; k++) w[k] = w[k]! * f;
      }
      nodes[t.node]!["w"] = w;
      if (src.b) nodes[t.node]!["b"] = src.b.map((x, r) => x * 2 ** shifts[r]!);
    }
  });
  return { ...int, nodes: nodes as unknown as Node[] };
}

export async function runLoihiArtifact(dir: string, req: RunRequest): Promise<RunReport> {
  const man = readLoihiManifest(dir);
  const given = req.inputs[man.input.name] ?? (Object.keys(req.inputs).length === 1 ? Object.values(req.inputs)[0] : undefined);
  if (!given) throw new TsccError(fmt(M.InputMismatch, [`${dir}: no input named '${man.input.name}'`]));
  const want = man.input.shape;
  if (given.shape.length !== want.length + 1 || given.shape.slice(1).some((d, i) => d !== want[i])) {
    throw new TsccError(fmt(M.InputMismatch, [`${dir}: input '${man.input.name}' has shape [${given.shape.join(", ")}] but the network takes [N, ${want.join(", ")}]`]));
  }
  if (given.dtype !== "f32") throw new TsccError(fmt(M.InputMismatch, [`${dir}: input '${man.input.name}' has dtype ${given.dtype}; float32 expected`]));
  const x = given.data as Float32Array;
  const batch = given.shape[0]!;
  const engine = req.options["engine"] ?? "event";
  if (engine !== "event" && engine !== "fast") throw new TsccError(fmt(M.Usage, [`--engine must be event (bit-accurate registers) or fast (integer closed form), got '${engine}'`]));
  const { float, int, twin, file } = loadNetworks(dir);
  const prof = readArtifactJson(dir, "hw-profile.json", KIND, hwProfileSchema);
  const cfg = { qBits: file.engine.q_bits, uBits: file.engine.u_bits, vBits: file.engine.v_bits, biasVia: file.engine.bias_via };
  const t0 = performance.now();
  const outSize = int.values[int.outputs[0]!.value]!.shape.reduce((a, b) => a * b, 1);
  let logits: Float32Array;
  let counters: ReturnType<typeof runLoihi>["counters"] | undefined;
  if (engine === "event") {
    const chunk = Math.max(1, Number(req.options["batch"] ?? 64));
    logits = new Float32Array(batch * outSize);
    const per = x.length / batch;
    for (let s = 0; s < batch; s += chunk) {
      const n = Math.min(chunk, batch - s);
      const r = runLoihi(int, x.subarray(s * per, (s + n) * per), n, cfg);
      logits.set(r.logits, s * outSize);
      if (!counters) counters = r.counters;
      else {
        for (const k of ["synaptic_ops", "spikes", "neuron_updates", "q_overflows", "u_wraps", "v_saturations"] as const) counters[k] += r.counters[k];
      }
      req.log.progress("loihi engine", s + n, batch);
      await yieldToEventLoop();
    }
  } else {
    // The integer weights hold the gains T/T_s (per-layer windows): the closed form must not apply them again.
    logits = runClosedForm(twin, x, batch, { foldedGains: true }).outputs[0]!;
  }
  const seconds = (performance.now() - t0) / 1000;
  const fl = runClosedForm(float, x, batch);
  const flogits = fl.outputs[0]!;
  const labels = req.labels ? labelsOf(req.labels, batch) : undefined;
  const { correct, refCorrect: fcorrect, agree, errMax } = compareLogits(logits, flogits, labels, batch, outSize);
  const metrics: Record<string, unknown> = { target: "loihi", profile: man.profile, engine: engine === "event" ? "bit-accurate (registers)" : "integer closed form", samples: batch, window: man.window, ...(man.layer_windows ? { layer_windows: man.layer_windows } : {}), latency_steps: man.latency_steps, cores: man.cores, chips: man.chips };
  if (labels) {
    metrics["accuracy"] = correct / batch;
    metrics["float_tsc_accuracy"] = fcorrect / batch;
    metrics["accuracy_delta"] = (correct - fcorrect) / batch;
  }
  metrics["agreement_with_float_tsc"] = agree / batch;
  metrics["logit_error_max"] = errMax;
  const per = (v: number): number => v / batch;
  const report = readArtifactJson(dir, "resource-report.json", KIND, reportSchema);
  const cx = report.per_core.reduce((s, c) => s + c.used.compartments, 0);
  if (counters) {
    metrics["spikes_per_inference"] = per(counters.spikes);
    metrics["synaptic_ops_per_inference"] = per(counters.synaptic_ops);
    metrics["synaptic_additions_per_inference"] = per(counters.synaptic_ops);
    metrics["memory_reads_per_inference"] = per(counters.synaptic_ops);
    metrics["neuron_updates_per_inference"] = per(counters.neuron_updates);
    metrics["compartment_updates_per_inference"] = cx * man.latency_steps;
    metrics["q_overflows"] = counters.q_overflows;
    metrics["u_wraps"] = counters.u_wraps;
    metrics["v_saturations"] = counters.v_saturations;
    // Energy from measured counts: updates of every configured compartment every step, synaptic ops,
    // and messages scaled from the mapping's worst case by the measured share of spiking sources.
    const e = report.energy_per_inference_pj;
    const worstSyn = e.synaptic_ops_count ?? 1;
    const set = prof.energy[req.options["energy"] ?? man.energy] ?? Object.values(prof.energy)[0]!;
    const activity = worstSyn > 0 ? per(counters.synaptic_ops) / worstSyn : 0;
    const energy = cx * man.latency_steps * set.update_inactive_pj + per(counters.synaptic_ops) * set.synop_pj + (e["messages"] ?? 0) * activity + (e["static"] ?? 0);
    metrics["energy_per_inference_pj"] = energy;
    metrics["energy_params"] = set.name;
  }
  metrics["float_tsc_synaptic_additions_per_inference"] = per(fl.counters.synaptic_additions);
  metrics["float_tsc_spikes_per_inference"] = per(fl.counters.spikes);
  metrics["images_per_second"] = batch / Math.max(seconds, 1e-9);
  return { outputs: { [man.outputs[0]!]: { shape: [batch, outSize], dtype: "f32", data: logits } }, metrics };
}

/**
 * The artifact part and the run of a NIR graph mapped as leaky compartments (leaky.ts):
 *
 *   leaky.json   the integer compartments (Θ, δu, δv, bias and integer weights per population, depths,
 *                programmed delays) and the graph's float clock network (the emulator's reading of NIR,
 *                runtime/clock.ts), both with their arrays in weights.bin
 *
 * `tscc run` feeds both the same input with the clock engine's conventions (spike trains [steps, N, …],
 * or a static [N, …] frame for -O steps=T / the graph's metadata; outputs summed over the run or the
 * last step's, -O readout=): the integer engine (leaky-engine.ts) against the float clock engine.
 */
import { Module as IrModule, fmt, M, tensorType, TsccError, writeWeights, type Module } from "../../ir/index.js";
import { readFileSync } from "node:fs";
import { z } from "zod";
import type { RunReport, RunRequest } from "../api.js";
import { artifactFile, readArtifactJson, shapeSchema } from "../emulator/artifact-files.js";
import { runClockArtifact, type ClockManifest, type ClockModule } from "../emulator/clock-artifact.js";
import { buildClockNetwork } from "../emulator/clock-network.js";
import { compareLogits, labelsOf } from "../emulator/run.js";
import { runClock, type ClockNetwork } from "../emulator/runtime/clock.js";
import { parseWeights } from "../emulator/runtime/weights-file.js";
import { leakyParams, programmedDelay } from "./leaky.js";
import { runLeaky, type LeakyNet, type LeakyPopDef } from "./leaky-engine.js";
import { weightShift } from "./profile.js";
import type { State } from "./state.js";

export const LEAKY_FORMAT = "tscc-loihi-leaky";

type Arr = Float32Array | Float64Array | Int32Array;

/** leaky.json + weights.bin. */
export function leakyNetworkFiles(state: State, m: Module): { json: Record<string, unknown>; weights: Uint8Array } {
  const { net, prof } = state;
  const wm = new IrModule("loihi-weights");
  const put = (name: string, data: Arr): string => {
    const d = data instanceof Int32Array ? Float64Array.from(data) : data;
    wm.addConst(name, tensorType([d.length], d instanceof Float64Array ? "f64" : "f32"), d);
    return name;
  };
  const shift = weightShift(prof);
  const pops = net.pops.map((p) => {
    if (p.kind === "input") return { name: p.name, kind: "input", shape: [...p.shape], size: p.size, depth: 0, theta: 1, groups: [] };
    const lp = leakyParams(p)!;
    const a = p.op.attrs;
    const theta = a["loihi.scale"] as number;
    const bm = m.consts.get(a["loihi.leaky_bias"] as string)!.data as Float32Array;
    const bias = bm.map((x) => x * 2 ** (a["loihi.bias_exp"] as number));
    const groups = p.groups.map((g) => {
      const mant = m.consts.get(g.op.attrs["loihi.weight_mant"] as string)!.data as Float32Array;
      const exps = g.op.attrs["loihi.weight_exps"] as number[];
      const rowLen = mant.length / exps.length;
      const w = mant.map((x, k) => x * 2 ** (shift + exps[Math.floor(k / rowLen)]!));
      const src = net.resolve(g.source)[0]!.pop;
      return {
        source: src.id,
        delay: programmedDelay(net, g) + g.delay,
        kind: g.kind,
        ...(g.kind === "scale" ? { factor: w[0]! } : { w: put(`p${p.id}.g${g.id}.w`, w) }),
        ...(g.geo ? { geo: g.geo } : {}),
      };
    });
    return {
      name: p.name,
      kind: p.kind,
      shape: [...p.shape],
      size: p.size,
      depth: p.F,
      theta,
      current: lp.current,
      du: put(`p${p.id}.du`, Float32Array.from(lp.du)),
      dv: put(`p${p.id}.dv`, Float32Array.from(lp.dv)),
      bias: put(`p${p.id}.bias`, bias),
      groups,
    };
  });
  const dt = (m.attrs["nir.dt"] as number | undefined) ?? 1;
  const clock = buildClockNetwork(m, dt);
  const nodes = clock.nodes.map((n, i) =>
    Object.fromEntries(Object.entries(n).map(([k, v]) => (ArrayBuffer.isView(v) ? [k, { blob: put(`c${i}.${k}`, v as Arr), int: v instanceof Int32Array }] : [k, v]))),
  );
  const input = m.inputs[0]!;
  return {
    json: {
      format: LEAKY_FORMAT,
      version: 1,
      dt,
      steps: (m.attrs["nir.steps"] as number | undefined) ?? 0,
      readout: m.attrs["nir.readout"] === "last" ? "last" : "sum",
      input: { name: input.name, shape: input.value.type.shape.slice(1), scale: 1 },
      outputs: m.outputs.map((o) => {
        const p = net.placed.find((q) => q.op.result === o.value)!;
        return { name: o.name, pop: p.id, shape: [...p.shape] };
      }),
      pops,
      engine: { q_bits: prof.q_bits, u_bits: prof.u_bits, v_bits: prof.v_bits },
      clock: { dt, values: clock.values, nodes, inputs: clock.inputs, outputs: clock.outputs },
      timing: "a spike at step s arrives at s + 1; a population at depth d computes the graph's step t at chip step t + d (its bias starts then); groups from shallower sources carry a programmed delay",
    },
    weights: writeWeights(wm),
  };
}

const blobRef = z.object({ blob: z.string(), int: z.boolean() });
const leakySchema = z.looseObject({
  format: z.literal(LEAKY_FORMAT),
  version: z.literal(1),
  dt: z.number().positive(),
  steps: z.number().int().min(0),
  readout: z.enum(["sum", "last"]),
  input: z.object({ name: z.string(), shape: shapeSchema, scale: z.number() }),
  outputs: z.array(z.object({ name: z.string(), pop: z.number().int().min(1), shape: shapeSchema })).min(1),
  pops: z
    .array(
      z.looseObject({
        name: z.string(),
        kind: z.enum(["input", "lif", "li"]),
        size: z.number().int().min(1),
        depth: z.number().int().min(0),
        theta: z.number().positive(),
        current: z.boolean().optional(),
        du: z.string().optional(),
        dv: z.string().optional(),
        bias: z.string().optional(),
        groups: z.array(z.looseObject({ source: z.number().int().min(0), delay: z.number().int().min(0), kind: z.enum(["dense", "conv", "scale"]), w: z.string().optional(), factor: z.number().optional() })),
      }),
    )
    .min(2),
  engine: z.object({ q_bits: z.number().int().min(1).max(52), u_bits: z.number().int().min(1).max(52), v_bits: z.number().int().min(1).max(52) }),
  clock: z.looseObject({ dt: z.number(), values: z.array(z.object({ shape: shapeSchema, name: z.string() })), nodes: z.array(z.looseObject({ kind: z.string() })), inputs: z.array(z.object({ name: z.string(), value: z.number().int() })), outputs: z.array(z.object({ name: z.string(), value: z.number().int() })) }),
});
type LeakyFile = z.infer<typeof leakySchema>;

const KIND = "a loihi";

/** The integer network and the float clock network of a leaky artifact. */
export function loadLeaky(dir: string): { file: LeakyFile; net: LeakyNet; clock: ClockNetwork } {
  const file = readArtifactJson(dir, "leaky.json", KIND, leakySchema);
  const wpath = artifactFile(dir, "weights.bin", KIND);
  const bad = (why: string): never => {
    throw new TsccError(fmt(M.DataFile, [wpath, why]));
  };
  let ws: ReturnType<typeof parseWeights>;
  try {
    ws = parseWeights(readFileSync(wpath), wpath);
  } catch (e) {
    return bad((e as Error).message);
  }
  const arr = (name: unknown): Float32Array | Float64Array | Int32Array => {
    try {
      return ws.getArray(name as string);
    } catch (e) {
      return bad((e as Error).message);
    }
  };
  const f32 = (name: unknown, n: number): Float32Array => {
    const a = arr(name);
    if (a.length !== n) bad(`blob '${String(name)}' holds ${a.length} values, expected ${n}`);
    return Float32Array.from(a);
  };
  const pops: LeakyPopDef[] = file.pops.map((p, i) => {
    const groups = (p.groups as Record<string, unknown>[]).map((g) => {
      const src = file.pops[g["source"] as number];
      if (!src || (g["source"] as number) >= i) bad(`leaky.json: population ${i} reads population ${String(g["source"])}, which is not an earlier one`);
      const K = src!.size;
      const geo = g["geo"] as LeakyPopDef["groups"][number]["geo"];
      const n = g["kind"] === "dense" ? K * p.size : geo ? geo.M * (geo.C / geo.group) * geo.kh * geo.kw : 0;
      return { ...(g as object), ...(typeof g["w"] === "string" ? { w: f32(g["w"], n) } : {}) } as LeakyPopDef["groups"][number];
    });
    if (p.kind === "input") return { name: p.name, kind: p.kind, size: p.size, depth: 0, theta: 1, groups: [] };
    return { name: p.name, kind: p.kind, size: p.size, depth: p.depth, theta: p.theta, current: p.current ?? false, du: f32(p.du, p.size), dv: f32(p.dv, p.size), bias: f32(p.bias, p.size), groups };
  });
  for (const o of file.outputs) if (!file.pops[o.pop] || file.pops[o.pop]!.kind === "input") bad(`leaky.json: output '${o.name}' names no population`);
  const net: LeakyNet = { format: "leaky", pops, outputs: file.outputs, regs: { qBits: file.engine.q_bits, uBits: file.engine.u_bits, vBits: file.engine.v_bits }, events: { q_overflows: 0, u_wraps: 0, v_saturations: 0 } };
  const nodes = file.clock.nodes.map((n) =>
    Object.fromEntries(
      Object.entries(n).map(([k, v]) => {
        if (v && typeof v === "object" && "blob" in (v as object)) {
          const r = blobRef.parse(v);
          const a = arr(r.blob);
          return [k, r.int ? Int32Array.from(a) : a];
        }
        return [k, v];
      }),
    ),
  );
  const clock = { format: "clock", dt: file.clock.dt, values: file.clock.values, nodes, inputs: file.clock.inputs, outputs: file.clock.outputs } as unknown as ClockNetwork;
  return { file, net, clock };
}

/** Energy of one inference from measured counts (docs/loihi.md "Bit-accurate run"), shared with the TSC run. */
export function measuredEnergy(e: { synaptic_ops_count?: number | undefined; messages?: number | undefined; static?: number | undefined }, set: { update_inactive_pj: number; synop_pj: number }, compartmentUpdates: number, synops: number): number {
  const worstSyn = e.synaptic_ops_count ?? 1;
  const activity = worstSyn > 0 ? synops / worstSyn : 0;
  return compartmentUpdates * set.update_inactive_pj + synops * set.synop_pj + (e.messages ?? 0) * activity + (e.static ?? 0);
}

/**
 * Accuracy against labels (of the run and of its reference `ref`), top-1 agreement and the largest output
 * difference, as metrics named for the reference (shared with the TSC run).
 */
export function agreementMetrics(out: Float32Array, refOut: Float32Array, labels: readonly number[] | undefined, batch: number, k: number, ref: string, errKey: string): Record<string, number> {
  const { correct, refCorrect, agree, errMax } = compareLogits(out, refOut, labels, batch, k);
  const m: Record<string, number> = {};
  if (labels) {
    m["accuracy"] = correct / batch;
    m[`${ref}_accuracy`] = refCorrect / batch;
    m["accuracy_delta"] = (correct - refCorrect) / batch;
  }
  m[`agreement_with_${ref}`] = agree / batch;
  m[errKey] = errMax;
  return m;
}

export interface LeakyRunContext {
  readonly profile: string;
  readonly cores: number;
  readonly chips: number;
  readonly energy: string;
  readonly tscc?: string | undefined;
  /** Compartments configured on the chip, and the energy figures of the resource report and profile. */
  readonly compartments: number;
  readonly report: { synaptic_ops_count?: number | undefined; messages?: number | undefined; static?: number | undefined };
  readonly sets: Record<string, { name: string; update_inactive_pj: number; synop_pj: number }>;
}

/** `tscc run` on a leaky Loihi artifact: the integer engine against the float clock engine. */
export async function runLeakyArtifact(dir: string, req: RunRequest, ctx: LeakyRunContext): Promise<RunReport> {
  const { file, net, clock } = loadLeaky(dir);
  const given = req.inputs[file.input.name] ?? (Object.keys(req.inputs).length === 1 ? Object.values(req.inputs)[0] : undefined);
  if (given && (given.dtype === "f32" || given.dtype === "f64")) {
    const d = given.data as Float32Array;
    for (let i = 0; i < d.length; i++)
      if (d[i] !== 0 && d[i] !== 1)
        throw new TsccError(fmt(M.InputMismatch, [`${dir}: input '${file.input.name}' holds ${d[i]} at index ${i}; Loihi's input axons carry binary spikes, so the input must be 0/1 spike trains [steps, N, …] or a static 0/1 frame [N, …]`], { hint: "encode the input as spikes, or run the graph with --target emulator" }));
  }
  const man: ClockManifest = {
    format: "tscc-artifact" as ClockManifest["format"],
    version: 0,
    tscc: ctx.tscc ?? "unknown",
    source: dir,
    coding: "nir",
    dt: file.dt,
    steps: file.steps,
    readout: file.readout,
    input: { name: file.input.name, shape: file.input.shape },
    outputs: file.outputs.map((o) => ({ name: o.name, shape: o.shape })),
    energy: ctx.energy,
    layers: [],
  };
  const chip = await runClockArtifact(dir, man, req, { load: () => net, runClock: runLeaky } as unknown as ClockModule);
  const float = await runClockArtifact(dir, man, req, { load: () => clock, runClock } as ClockModule);
  const name = file.outputs[0]!.name;
  const out = chip.outputs[name]!.data as Float32Array;
  const ref = float.outputs[name]!.data as Float32Array;
  const batch = chip.batch;
  const k = out.length / batch;
  const labels = req.labels ? labelsOf(req.labels, batch) : undefined;
  const depth = Math.max(...file.outputs.map((o) => file.pops[o.pop]!.depth));
  const chipSteps = chip.steps + depth;
  const per = (v: number): number => v / batch;
  const c = chip.counters;
  const metrics: Record<string, unknown> = { target: "loihi", profile: ctx.profile, engine: "bit-accurate (leaky CUBA registers)", samples: batch, steps: chip.steps, readout: chip.readout, latency_steps: chipSteps, cores: ctx.cores, chips: ctx.chips, ...agreementMetrics(out, ref, labels, batch, k, "float_clock", "output_error_max") };
  metrics["spikes_per_inference"] = per(c.spikes);
  metrics["synaptic_ops_per_inference"] = per(c.synaptic_additions);
  metrics["neuron_updates_per_inference"] = per(c.neuron_updates);
  metrics["compartment_updates_per_inference"] = ctx.compartments * chipSteps;
  metrics["q_overflows"] = net.events.q_overflows;
  metrics["u_wraps"] = net.events.u_wraps;
  metrics["v_saturations"] = net.events.v_saturations;
  const set = ctx.sets[req.options["energy"] ?? ctx.energy] ?? Object.values(ctx.sets)[0]!;
  metrics["energy_per_inference_pj"] = measuredEnergy(ctx.report, set, ctx.compartments * chipSteps, per(c.synaptic_additions));
  metrics["energy_params"] = set.name;
  metrics["float_clock_synaptic_ops_per_inference"] = per(float.counters.synaptic_additions + float.counters.input_macs);
  metrics["float_clock_spikes_per_inference"] = per(float.counters.spikes);
  metrics["images_per_second"] = batch / Math.max(chip.seconds, 1e-9);
  return { outputs: chip.outputs, metrics };
}

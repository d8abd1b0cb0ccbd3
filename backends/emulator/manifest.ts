/** manifest.json of an emulator artifact: what the network is, as data for tools and for `tscc run`. */
import type { Module } from "../../ir/index.js";
import type { EmitContext } from "../api.js";
import { ENERGY_SETS } from "./energy.js";
import { ARTIFACT_FORMAT, ARTIFACT_VERSION } from "./emit.js";
import type { BuiltNetwork } from "./build-network.js";
import { schedule } from "./runtime/schedule.js";

export interface Manifest {
  format: typeof ARTIFACT_FORMAT;
  version: number;
  tscc: string;
  source: string;
  coding: "tsc" | "rate";
  window: number;
  input: { name: string; shape: number[]; scale: number; mean: number[]; std: number[] };
  outputs: string[];
  softmax_removed: boolean;
  latency_steps: number;
  /** Weight layers on the longest path (TSC), or IF populations (rate). */
  spiking_layers: number;
  energy: string;
  options: Record<string, unknown>;
  /**
   * Per node; spiking populations also give their firing window: `window` = weight layers before it on
   * the longest path (the encoder's is 0), `start` and `steps` = the steps [start, start + steps) (TSC).
   */
  layers: { node: number; kind: string; name: string; shape: number[]; window: number; start?: number; steps?: number }[];
}

export function manifestFor(m: Module, ctx: EmitContext, built: BuiltNetwork): Manifest {
  const net = built.network;
  const sch = schedule(net);
  const input = m.inputs[0]!;
  const mean = (m.attrs["input_mean"] as number[] | undefined) ?? [];
  const std = (m.attrs["input_std"] as number[] | undefined) ?? [];
  return {
    format: ARTIFACT_FORMAT,
    version: ARTIFACT_VERSION,
    tscc: ctx.toolVersion ?? "unknown",
    source: ctx.source,
    coding: net.coding,
    window: net.window,
    input: { name: input.name, shape: input.value.type.shape.slice(1), scale: (m.attrs["input_scale"] as number | undefined) ?? 1, mean, std },
    outputs: m.outputs.map((o) => o.name),
    softmax_removed: m.attrs["softmax_removed"] === true,
    latency_steps: sch.latency,
    spiking_layers: net.coding === "tsc" ? Math.max(...sch.outputDepth) : net.nodes.filter((n) => n.kind === "if").length,
    energy: (ctx.options["energy"] as string | undefined) ?? Object.keys(ENERGY_SETS)[0]!,
    options: { ...ctx.options },
    layers: net.nodes.map((n, i) => {
      const w = net.coding === "tsc" ? sch.spikeWindow[n.out] : null;
      return { node: i, kind: n.kind, name: net.values[n.out]!.name, shape: [...net.values[n.out]!.shape], window: net.coding === "tsc" || sch.spikeDepth[n.out]! < 0 ? sch.spikeDepth[n.out]! : 0, ...(w ? { start: w.start, steps: w.steps } : {}) };
    }),
  };
}

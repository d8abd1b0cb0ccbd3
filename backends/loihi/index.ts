/**
 * The `loihi` backend: maps the Temporal-Switch-Coded network onto Loihi-style neuromorphic cores and
 * answers "will it fit, and what will it cost?" (docs/loihi.md). Pipeline: the emulator's TSC conversion,
 * then loihi:quantize, loihi:partition, loihi:place, loihi:route. The artifact holds the mapping
 * (mapping.json, routes.json, quantization.json), the resource report with lower bounds, DRC and a
 * picture, the chip profile, and the integer network that `tscc run` emulates bit-accurately.
 */
import { isSpikingModule, isTsccError, fmt, M } from "../../ir/index.js";
import { defineBackend, type BackendOptions } from "../api.js";
import { CONVERSION_OPTIONS, emulatorPipeline } from "../emulator/index.js";
import { legalizeForSnn } from "../emulator/legalize.js";
import { emitLoihi } from "./emit.js";
import { LOIHI_PASSES } from "./passes.js";
import { BUILTIN_PROFILES, loadProfile, profileJson } from "./profile.js";
import { loihiArtifactInputs, runLoihiArtifact } from "./run.js";
import { loadState } from "./state.js";

function q(v: string): string {
  return /^[A-Za-z0-9_./+-]*$/.test(v) && v !== "" ? v : JSON.stringify(v);
}

export function loihiPipeline(o: BackendOptions): string {
  return `${emulatorPipeline({ ...o, coding: "tsc" })},${loihiMappingPipeline(o)}`;
}

/** The mapping passes alone: for a network that is already converted (e.g. restored from tscc's NIR export). */
export function loihiMappingPipeline(o: BackendOptions): string {
  return `loihi:quantize{exponent=${o["exponent"] ?? "layer"},profile=${q(String(o["profile"] ?? "loihi1"))}},loihi:partition{granularity=${o["granularity"] ?? 0},cx-granularity=${o["cx-granularity"] ?? 0}},loihi:place{energy=${q(String(o["energy"] ?? "davies2018"))}},loihi:route`;
}

export const loihiBackend = defineBackend({
  name: "loihi",
  apiVersion: 1,
  summary: "Loihi-style neuromorphic mapping of the TSC network: quantise, partition, place, route; resource report with lower bounds and DRC; bit-accurate run",
  options: {
    profile: { kind: "str", default: "loihi1", doc: "chip profile: loihi1 (default), loihi2 (low confidence) or a JSON profile file" },
    exponent: { kind: "enum", choices: ["layer", "core"], default: "layer", doc: "weight exponent shared per layer or per core (channel group)" },
    energy: { kind: "str", default: "davies2018", doc: "energy parameter set of the profile (davies2018, sana-fe)" },
    coding: { kind: "enum", choices: ["tsc", "rate"], default: "tsc", doc: "spike coding: only tsc maps (rate is refused)" },
    window: { kind: "int", doc: "TSC steps per layer window T (default 32)" },
    granularity: { kind: "int", default: 0, doc: "tile granularity γ: tiles use ≤ 1/γ of every core resource (0: try 1 and 2, keep the fewest cores)" },
    "cx-granularity": { kind: "int", default: 0, doc: "compartment granularity γ_cx: tiles use ≤ 1/γ_cx of a core's compartments, so compartment-heavy tiles can share cores with out-axon- or memory-heavy ones (0: try 1, 2 and 4)" },
    ...CONVERSION_OPTIONS,
    dt: { kind: "float", default: 0, doc: "NIR graphs: the time step (unused: the Loihi backend maps tscc's own TSC networks)" },
  },
  passes: () => LOIHI_PASSES,
  pipeline: loihiPipeline,
  spikingPipeline: loihiMappingPipeline,
  legalize(m, diag, options) {
    if (isSpikingModule(m)) {
      // A spiking network from NIR: tscc's own TSC export (restored) maps; NIR primitives do not (yet).
      const nir = m.ops.find((op) => op.name.startsWith("nir."));
      if (nir) diag.report(fmt(M.BackendUnsupported, ["loihi", "a graph of NIR primitives", "the Loihi mapping takes Temporal-Switch-Coded networks; LIF/CubaLIF graphs from other tools are not mapped yet (docs/interop.md, 'Loihi'); run them with --target emulator"], { loc: nir.loc }));
      else if (m.attrs["coding"] !== "tsc") diag.report(fmt(M.BackendUnsupported, ["loihi", "a rate-coded network", "the Loihi backend maps Temporal-Switch-Coded networks only"]));
      return;
    }
    if (options["coding"] === "rate") {
      diag.report(fmt(M.BackendUnsupported, ["loihi", "a rate-coded network", "the Loihi backend maps Temporal-Switch-Coded networks only (two spikes per neuron on switch synapses); drop --coding rate, or use --target emulator for the rate-coded baseline"]));
    }
    const spec = String(options["profile"] ?? "loihi1");
    try {
      loadProfile(spec);
    } catch (e) {
      if (!isTsccError(e)) throw e;
      // A relative path is resolved against the compile's folder in loihi:quantize; report only real problems here.
      if (!(e.diagnostics.length === 1 && /neither a built-in profile/.test(e.diagnostics[0]!.message) && !spec.startsWith("/"))) e.diagnostics.forEach((d) => diag.report(d));
    }
    legalizeForSnn(m, diag, "loihi");
  },
  async emit(m, ctx) {
    m.attrs["loihi.energy"] = String(ctx.options["energy"] ?? "davies2018");
    const state = loadState(m);
    if (!state.prof.energy[m.attrs["loihi.energy"] as string]) {
      ctx.diag.report(fmt(M.EmitFailed, [`energy set '${m.attrs["loihi.energy"]}' is not in profile ${state.prof.name} (sets: ${Object.keys(state.prof.energy).join(", ")})`]));
      return;
    }
    await emitLoihi(m, ctx, state);
  },
  describe() {
    return { profiles: Object.fromEntries(Object.entries(BUILTIN_PROFILES).map(([k, p]) => [k, profileJson(p)])), default_profile: "loihi1" };
  },
  run: runLoihiArtifact,
  artifactInputs: loihiArtifactInputs,
});

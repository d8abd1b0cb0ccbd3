/**
 * What `tscc report` reads from an artifact folder: its kind (emulator or loihi), the spiking network as
 * the emulator runtime describes it (both backends ship one), the energy model of its counts, and for a
 * Loihi mapping the resource report, routes and mapping files.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { fmt, M, TsccError } from "../../ir/index.js";
import { importModelJs } from "../../backends/emulator/artifact-files.js";
import { ENERGY_SETS, type EnergyParams } from "../../backends/emulator/energy.js";
import { readManifest } from "../../backends/emulator/run.js";
import type { Network } from "../../backends/emulator/runtime/network.js";
import type { CoreReport } from "../../backends/loihi/report.js";
import { loadNetworks, readLoihiManifest } from "../../backends/loihi/run.js";
import { OUTPUT_MARKER } from "../driver/output.js";

/** The Loihi files the report draws (resource-report.json, routes.json, hw-profile.json). */
export interface LoihiFiles {
  readonly report: LoihiReport;
  readonly routes: LoihiRoutes;
  readonly profile: { readonly name: string; readonly energy: Record<string, { readonly name: string; readonly synop_pj: number; readonly update_inactive_pj: number }> };
  readonly energySet: string;
  /** Per core (by id): compartments of each layer on it, from mapping.json (relay compartments as "(relays)"). */
  readonly coreLayers: ReadonlyMap<number, readonly { readonly layer: string; readonly cx: number }[]>;
}

interface MappingCore {
  readonly core: number;
  readonly compartments: {
    readonly layout: readonly { readonly layer: string; readonly neurons: number; readonly cx_per_neuron: number }[];
    readonly clocks: readonly { readonly layer: string; readonly cx: number }[];
    readonly relays: readonly { readonly cx: number }[];
  };
}

/** Compartments per layer on each core (a layer's clock compartments count as the layer's). */
function coreLayersOf(cores: readonly MappingCore[]): Map<number, { layer: string; cx: number }[]> {
  const out = new Map<number, { layer: string; cx: number }[]>();
  for (const c of cores) {
    const m = new Map<string, number>();
    const add = (layer: string, cx: number): void => void m.set(layer, (m.get(layer) ?? 0) + cx);
    for (const t of c.compartments.layout) add(t.layer, t.neurons * t.cx_per_neuron);
    for (const k of c.compartments.clocks) add(k.layer, k.cx);
    for (const r of c.compartments.relays) add("(relays)", r.cx);
    out.set(c.core, [...m.entries()].map(([layer, cx]) => ({ layer, cx })));
  }
  return out;
}

export interface LoihiClassBound {
  readonly cls: string;
  readonly cores: number;
  readonly binding: string;
}

export interface LoihiReport {
  readonly profile: string;
  readonly cores: number;
  readonly chips: number;
  readonly window: number;
  readonly latency_steps: number;
  readonly lower_bound: { readonly cores: number; readonly chips: number; readonly gap: number; readonly per_class: LoihiClassBound[]; readonly tightened: { readonly cores: number; readonly gap: number; readonly per_class: LoihiClassBound[] } };
  readonly compat_classes: Record<string, { readonly cores: number }>;
  readonly per_core: CoreReport[];
  readonly per_layer: LoihiLayer[];
  readonly traffic: { readonly messages: Record<string, number>; readonly hop_weighted: number; readonly chip_crossings: number; readonly vs_naive: number };
  readonly energy_per_inference_pj: Record<string, number | string>;
  readonly drc: { readonly rule: string; readonly description: string; readonly severity: string; readonly pass: boolean; readonly worst_ratio: number; readonly hint: string; readonly violations: string[] }[];
}

export interface LoihiLayer {
  readonly layer: string;
  readonly kind: string;
  readonly shape: number[];
  readonly neurons: number;
  readonly compartments: number;
  readonly cores: number;
  /** Steps on the chip: the fire window [fire_start, window_end] (−1: none) and integration window ends. */
  readonly window: { readonly fire_start: number; readonly window_end: number; readonly integration_window_ends: number[] };
}

export interface LoihiRoutes {
  readonly route_count: number;
  /** Core-pair routes (src −1 = host), or null when routes.json sums them per chip pair. */
  readonly routes: { readonly src: number; readonly dst: number; readonly messages: number }[] | null;
  readonly chip_routes?: { readonly src_chip: number; readonly dst_chip: number; readonly messages: number }[];
}

export interface ReportArtifact {
  /** As given on the command line (never an absolute path in the report). */
  readonly label: string;
  readonly dir: string;
  readonly target: "emulator" | "loihi";
  readonly coding: "tsc" | "rate";
  readonly source: string;
  readonly window: number;
  /** The (float) spiking network; for Loihi the float TSC twin of the integer network. */
  readonly net: Network;
  /** Energy per operation of the emulator's counts (emulator artifacts). */
  readonly energy?: EnergyParams;
  readonly loihi?: LoihiFiles;
}

function readJson<T>(file: string): T {
  if (!existsSync(file)) throw new TsccError(fmt(M.DataFile, [file, "missing"]));
  try {
    return JSON.parse(readFileSync(file, "utf8")) as T;
  } catch (e) {
    throw new TsccError(fmt(M.DataFile, [file, (e as Error).message]));
  }
}

/** Load an artifact written by `tscc compile --target emulator|loihi`. */
export async function loadArtifact(dir: string, label: string): Promise<ReportArtifact> {
  if (!existsSync(dir)) throw new TsccError(fmt(M.FileNotFound, [label]));
  const marker = join(dir, OUTPUT_MARKER);
  if (!statSync(dir).isDirectory() || !existsSync(marker)) throw new TsccError(fmt(M.DataFile, [label, "not a folder written by `tscc compile`"]));
  const target = readJson<{ target?: string }>(marker).target;
  if (target === "emulator") {
    const man = readManifest(dir);
    let net: Network;
    try {
      const mod = await importModelJs<{ load(dir: string): Network }>(dir);
      net = mod.load(dir);
    } catch (e) {
      throw new TsccError(fmt(M.DataFile, [label, (e as Error).message]));
    }
    return { label, dir, target, coding: man.coding, source: man.source, window: man.window, net, energy: ENERGY_SETS[man.energy] ?? ENERGY_SETS["horowitz45-fp32"]! };
  }
  if (target === "loihi") {
    const man = readLoihiManifest(dir);
    if ((man as { leaky?: unknown }).leaky === true) throw new TsccError(fmt(M.DataFile, [label, "a NIR graph of leaky neurons mapped onto Loihi: tscc report reads TSC networks; see its resource-report.md, and `tscc run` for the measured run"]));
    const { float } = loadNetworks(dir);
    const loihi: LoihiFiles = {
      report: readJson<LoihiReport>(join(dir, "resource-report.json")),
      routes: readJson<LoihiRoutes>(join(dir, "routes.json")),
      profile: readJson(join(dir, "hw-profile.json")),
      energySet: man.energy,
      coreLayers: coreLayersOf(readJson<{ cores: MappingCore[] }>(join(dir, "mapping.json")).cores),
    };
    return { label, dir, target, coding: "tsc", source: basename(String((readJson<{ source?: string }>(join(dir, "manifest.json")).source ?? label))), window: man.window, net: float, loihi };
  }
  throw new TsccError(fmt(M.DataFile, [label, `written for target '${target ?? "unknown"}'; tscc report reads emulator and loihi artifacts`]));
}

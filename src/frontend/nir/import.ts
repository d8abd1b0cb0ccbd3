/**
 * `.nir` files (HDF5 in NIR's own layout) → a tscc module:
 * - a graph tscc exported, unchanged since: the converted `snn` network it came from (round trip,
 *   backends/nir/roundtrip.ts), so the emulator and the Loihi backend run exactly the original network;
 * - any other NIR graph: one `nir.*` op per node (graph-to-ir.ts), run by the emulator's clock engine.
 * The time step comes from the graph metadata (`dt`), or later from `-O dt=…`.
 */
import { fmt, M, TsccError, type Diagnostic, type Module, type OpRegistry } from "../../../ir/index.js";
import { readNirFile, type NirMeta } from "../../../backends/nir/format.js";
import { hdf5Ready } from "../../../backends/nir/hdf5.js";
import { restoreRoundTrip } from "../../../backends/nir/roundtrip.js";
import { nirGraphToModule } from "./graph-to-ir.js";

export interface NirImportResult {
  module: Module;
  /** Notes for the user (why a tscc-made graph was imported as primitives). */
  notes: Diagnostic[];
  /** NIR version string of the file. */
  version: string;
  /** tscc's own export restored (true) or NIR primitives (false). */
  restored: boolean;
}

/** Load h5wasm (once); the importer below is synchronous afterwards. */
export const nirReady = hdf5Ready;

/** The time step a NIR graph declares in its metadata (`dt`, or tscc's `tscc.dt`). */
export function metadataDt(meta: NirMeta | undefined): number | undefined {
  const v = meta?.["dt"] ?? (meta?.["tscc"] as NirMeta | undefined)?.["dt"];
  return typeof v === "number" && v > 0 && Number.isFinite(v) ? v : undefined;
}

export function importNirFile(file: string, registry: OpRegistry, shown = file): NirImportResult {
  const f = readNirFile(file, shown);
  const notes: Diagnostic[] = [];
  const r = restoreRoundTrip(f.graph, registry, shown);
  if (r.module) return { module: r.module, notes, version: f.version, restored: true };
  if (r.why) notes.push(fmt(M.NirNote, [`written by tscc but imported as NIR primitives: ${r.why}`], { file: shown }));
  const dt = metadataDt(f.graph.metadata);
  const attrs: Record<string, string | number> = { "nir.version": f.version, ...(dt !== undefined ? { "nir.dt": dt } : {}) };
  const readout = (f.graph.metadata?.["tscc"] as NirMeta | undefined)?.["readout"];
  if (readout === "last" || readout === "sum") attrs["nir.readout"] = readout;
  const steps = (f.graph.metadata?.["tscc"] as NirMeta | undefined)?.["steps"];
  if (typeof steps === "number" && Number.isInteger(steps) && steps > 0) attrs["nir.steps"] = steps;
  try {
    return { module: nirGraphToModule(f.graph, registry, shown, attrs), notes, version: f.version, restored: false };
  } catch (e) {
    if (e instanceof TsccError) throw e;
    throw e;
  }
}

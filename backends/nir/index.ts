/**
 * The `nir` backend: `tscc compile model.onnx --target nir -o model.nir` converts the ANN exactly as the
 * emulator does (TSC by default, `--coding rate` for the rate-coded baseline) and writes one HDF5 file in
 * the layout of NIR's own nir.write (format.ts), built from NIR primitives only (export.ts); a module
 * imported from NIR exports again (a converted network with its round-trip metadata, or the nir.* ops
 * one node each).
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readSync } from "node:fs";
import { isSpikingModule } from "../../ir/index.js";
import { defineBackend } from "../api.js";
import { CONVERSION_OPTIONS, emulatorPipeline } from "../emulator/index.js";
import { legalizeForSnn } from "../emulator/legalize.js";
import { NIR_FORMAT_VERSION } from "./export.js";
import { nirFileTree, readNirFile, type NirMeta } from "./format.js";
import { isNirModule, nirModuleToGraph } from "./from-ir.js";
import { hdf5Ready, writeHdf5 } from "./hdf5.js";
import { exportWithRoundTrip } from "./roundtrip.js";

export const NIR_FILE = "model.nir";

/** SHA-256 of a file, read in 4 MiB pieces (a CIFAR VGG-16 is 135 MB: no second copy of it in memory). */
function sha256File(path: string): string {
  const h = createHash("sha256");
  const buf = Buffer.allocUnsafe(1 << 22);
  const fd = openSync(path, "r");
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest("hex");
}

/**
 * Who made the network: the source model's name and SHA-256 and the tscc version. A network restored from
 * a tscc-written .nir keeps the origin recorded there, so that re-exporting it gives the same file.
 */
function originOf(path: string | undefined, source: string, toolVersion: string): { toolVersion: string; source: string; sourceSha256: string } {
  if (path && /\.nir$/i.test(path) && existsSync(path)) {
    const t = readNirFile(path).graph.metadata?.["tscc"] as NirMeta | undefined;
    if (t && typeof t["source"] === "string") return { toolVersion: String(t["version"] ?? ""), source: t["source"], sourceSha256: String(t["source_sha256"] ?? "") };
  }
  return { toolVersion, source, sourceSha256: path && existsSync(path) ? sha256File(path) : "" };
}

export const nirBackend = defineBackend({
  name: "nir",
  apiVersion: 1,
  summary: "export the spiking network (TSC or rate-coded) as a NIR graph (.nir, HDF5) of NIR primitives, for snnTorch, Norse, Sinabs, Lava, …",
  outputFile: { name: NIR_FILE, extension: ".nir" },
  options: {
    coding: { kind: "enum", choices: ["tsc", "rate"], default: "tsc", doc: "spike coding: Temporal-Switch Coding, or the rate-coded baseline" },
    window: { kind: "int", doc: "TSC: steps per layer window T (default 32); rate: steps of the run (default 256)" },
    ...CONVERSION_OPTIONS,
    "rate-input": { kind: "enum", choices: ["current"], default: "current", doc: "rate coding: constant-current input (Poisson input is random and has no NIR form)" },
    reset: { kind: "enum", choices: ["subtract"], default: "subtract", doc: "rate coding: reset by subtraction (reset to zero has no exact NIR form)" },
    "v-init": { kind: "float", default: 0.5, doc: "rate coding: initial membrane potential (units of θ)" },
    dt: { kind: "float", default: 0, doc: "NIR graphs: the time step to record in the metadata (default: the one they came with)" },
  },
  pipeline: emulatorPipeline,
  spikingPipeline: () => "",
  legalize(m, diag) {
    if (!isSpikingModule(m)) legalizeForSnn(m, diag, "nir");
  },
  async emit(m, ctx) {
    await hdf5Ready();
    let graph;
    const dt = (ctx.options["dt"] as number) > 0 ? (ctx.options["dt"] as number) : (m.attrs["nir.dt"] as number | undefined);
    if (isNirModule(m)) graph = nirModuleToGraph(m, dt !== undefined ? { dt } : undefined);
    else graph = exportWithRoundTrip(m, originOf(ctx.sourcePath, ctx.source, ctx.toolVersion ?? "unknown")).graph;
    ctx.writeFile(NIR_FILE, writeHdf5(nirFileTree({ version: NIR_FORMAT_VERSION, graph })));
  },
});

/** Loading a model for any command: ONNX, textual IR (`.tir`) or JSON IR (`.tir.json`). */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fmt, M, moduleFromJson, type Diagnostic, parseModuleWithPositions, readWeights, TsccError, type BlobRef, type Loc, type Module, type Op, type OpRegistry, type TensorType, type WeightsFile } from "../../ir/index.js";
import { importOnnxFile } from "../frontend/onnx/import.js";
import { importNirFile, nirReady } from "../frontend/nir/import.js";
import { fileInside } from "../io/paths.js";

export type ModelKind = "onnx" | "tir" | "json" | "nir";

export interface LoadedIr {
  module: Module;
  kind: ModelKind;
  metadata: Record<string, string>;
  /** For .tir files: where each op is in the text (diagnostics point there). */
  positions?: Map<Op, Loc>;
  /** Notes from the import (NIR: why a tscc-made graph came back as primitives). */
  notes?: Diagnostic[];
}

export function modelKind(file: string): ModelKind {
  if (/\.tir\.json$/i.test(file) || /\.json$/i.test(file)) return "json";
  if (/\.tir$/i.test(file)) return "tir";
  if (/\.nir$/i.test(file)) return "nir";
  return "onnx";
}

/** Lazily opened weights sidecar named by the module's `weights_file` attribute. */
function sidecarLoader(file: string, getModule: () => Module | undefined): (ref: BlobRef, type: TensorType) => ReturnType<WeightsFile["load"]> {
  let wf: WeightsFile | undefined;
  return (ref, type) => {
    if (!wf) {
      const name = getModule()?.attrs["weights_file"];
      if (typeof name !== "string") throw new TsccError(fmt(M.WeightsError, [`${file}: constants refer to blobs but the module names no weights_file`]));
      const inside = fileInside(dirname(file), name);
      if ("error" in inside) throw new TsccError(fmt(M.WeightsError, [`${file}: weights_file ${inside.error}`]));
      const path = inside.path;
      if (!existsSync(path)) throw new TsccError(fmt(M.WeightsError, [`${file}: weights file '${name}' not found next to it`]));
      wf = readWeights(readFileSync(path), path);
    }
    return wf.load(ref, type);
  };
}

export function loadModel(file: string, registry: OpRegistry): LoadedIr {
  const kind = modelKind(file);
  if (!existsSync(file)) throw new TsccError(fmt(M.FileNotFound, [file]));
  if (kind === "onnx") {
    const r = importOnnxFile(file, { registry });
    return { module: r.module, kind, metadata: r.metadata };
  }
  if (kind === "nir") {
    const r = importNirFile(file, registry);
    return { module: r.module, kind, metadata: {}, notes: r.notes };
  }
  const text = readFileSync(file, "utf8");
  let module: Module | undefined;
  let positions: Map<Op, Loc> | undefined;
  const loadBlob = sidecarLoader(file, () => module);
  if (kind === "tir") {
    const r = parseModuleWithPositions(text, { file, registry, loadBlob });
    module = r.module;
    positions = r.positions;
  } else {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new TsccError(fmt(M.ParseError, [`${file}: not valid JSON: ${(e as Error).message}`]));
    }
    module = moduleFromJson(raw, { file, registry, loadBlob });
  }
  return { module, kind, metadata: {}, positions };
}

/** loadModel, after loading what the format needs (h5wasm for .nir files, about half a second). */
export async function loadModelAsync(file: string, registry: OpRegistry): Promise<LoadedIr> {
  if (modelKind(file) === "nir" && existsSync(file)) await nirReady();
  return loadModel(file, registry);
}

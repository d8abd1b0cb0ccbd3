/**
 * ONNX's backend operator tests as Debian's `libonnx-testdata` ships them:
 * `<root>/test_<name>/model.onnx` and `test_data_set_N/{input_K.pb, output_K.pb}` (serialised
 * TensorProtos, inputs in the order of the graph's inputs, outputs in the order of its outputs).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import { describeLoc, M, type Diagnostic, type Module } from "../../ir/index.js";
import type { RTensor } from "../../ir/interp/tensor.js";
import { decodeOnnx, loadOnnxFile, readTensorProtoFile, type LoadedModel } from "../../src/frontend/onnx/load.js";

const { onnx } = onnxProto;

export const ONNX_NODE_TESTS = "/usr/share/libonnx-testdata/data/node";

export interface NodeTest {
  name: string;
  dir: string;
  model: string;
  /** Op types of the graph's nodes, as `domain:OpType` for ops outside the default domain. */
  ops: string[];
  dataSets: string[];
}

/** Every test directory under `root`, sorted by name. */
export function listNodeTests(root = ONNX_NODE_TESTS): NodeTest[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name.startsWith("test_"))
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const dir = join(root, name);
      const model = join(dir, "model.onnx");
      const nodes = loadOnnxFile(model).proto.graph?.node ?? [];
      const ops = [...new Set(nodes.map((n) => (n.domain && n.domain !== "ai.onnx" ? `${n.domain}:${n.opType}` : (n.opType ?? ""))))];
      const dataSets = readdirSync(dir)
        .filter((f) => f.startsWith("test_data_set_"))
        .sort()
        .map((f) => join(dir, f));
      return { name, dir, model, ops, dataSets };
    });
}

/** The graph's run-time inputs (ONNX IR < 4 also lists initializers as inputs). */
function runtimeInputs(loaded: LoadedModel): string[] {
  const g = loaded.proto.graph!;
  const inits = new Set((g.initializer ?? []).map((t) => t.name));
  return (g.input ?? []).map((i) => i.name ?? "").filter((n) => !inits.has(n));
}

export function graphOutputs(loaded: LoadedModel): string[] {
  return (loaded.proto.graph!.output ?? []).map((o) => o.name ?? "");
}

/** Whether the model's first run-time input is float32 (tscc's only kind of model input). */
export function firstInputIsFloat(loaded: LoadedModel): boolean {
  const g = loaded.proto.graph!;
  const first = runtimeInputs(loaded)[0];
  return (g.input ?? []).find((i) => i.name === first)?.type?.tensorType?.elemType === onnx.TensorProto.DataType.FLOAT;
}

/** The data set's inputs keyed by graph input name, and its expected outputs by graph output name. */
export function readDataSet(loaded: LoadedModel, dataSet: string): { inputs: Record<string, RTensor>; outputs: Record<string, RTensor> } {
  const read = (f: string): RTensor => {
    const t = readTensorProtoFile(join(dataSet, f));
    return { shape: t.dims, dtype: t.dtype, data: t.data };
  };
  const inputs: Record<string, RTensor> = {};
  runtimeInputs(loaded).forEach((name, k) => (inputs[name] = read(`input_${k}.pb`)));
  const outputs: Record<string, RTensor> = {};
  graphOutputs(loaded).forEach((name, k) => (outputs[name] = read(`output_${k}.pb`)));
  return { inputs, outputs };
}

/**
 * The model with the data set's values for its run-time inputs turned into initializers, as an
 * exporter writes a Reshape target or Clip bounds; with `keepFirst` the first input stays a
 * run-time input (the activation).
 */
export function withInputsAsInitializers(model: string, dataSet: string, keepFirst: boolean): LoadedModel {
  const bytes = readFileSync(model);
  const loaded: LoadedModel = { proto: decodeOnnx(bytes, model), file: model, bytes };
  const names = runtimeInputs(loaded);
  const g = loaded.proto.graph!;
  names.forEach((name, k) => {
    if (k === 0 && keepFirst) return;
    const t = onnx.TensorProto.decode(readFileSync(join(dataSet, `input_${k}.pb`)));
    t.name = name;
    g.initializer = [...(g.initializer ?? []), t];
  });
  const baked = new Set(names.filter((_, k) => !(k === 0 && keepFirst)));
  g.input = (g.input ?? []).filter((i) => !baked.has(i.name ?? ""));
  return loaded;
}

/** `TSCC1005 NonFloatInput`: a diagnostic's code and message name, to group skips by. */
export function reasonOf(d: Diagnostic): string {
  const key = Object.entries(M).find(([, m]) => m.code === d.code)?.[0] ?? "?";
  return `TSCC${d.code} ${key}`;
}

/** One line for a skip note: code, node and message, without the file path. */
export function describeDiagnostic(d: Diagnostic): string {
  const where = d.loc ? describeLoc(d.loc) : "";
  return `TSCC${d.code}: ${where ? where + ": " : ""}${d.message}`;
}

/** The module's inputs from a data set (dropping values the module does not take as inputs). */
export function moduleInputs(m: Module, all: Record<string, RTensor>): Record<string, RTensor> {
  const out: Record<string, RTensor> = {};
  for (const i of m.inputs) out[i.name] = all[i.name]!;
  return out;
}

/**
 * ONNX graph → `nn` dialect module. Every unsupported op is reported in one run (with node name, op
 * type, domain and opset) before anything else is attempted; node-level problems are collected too,
 * skipping only the nodes that depend on a failed one.
 */
import { basename } from "node:path";
import {
  Builder,
  builtinOps,
  DiagnosticBag,
  fmt,
  isTsccError,
  M,
  Module,
  onnxLoc,
  ShapeError,
  tensorType,
  BATCH,
  type Diagnostic,
  type Loc,
  type OpRegistry,
  TsccError,
  type Value,
} from "../../../ir/index.js";
import { decodeTensor, loadOnnxFile, modelDirOf, onnxDtypeName, toInt, type LoadedModel, type NodeProto, type TensorProto } from "./load.js";
import { findImporter, ImportError, MAX_OPSET, MIN_OPSET, type ImportContext } from "./ops.js";

export interface ImportOptions {
  registry?: OpRegistry;
  /** Allow the in-place realignment of tensor payloads inside the file buffer (default true). */
  inPlace?: boolean;
}

export interface ImportResult {
  module: Module;
  /** ONNX metadata_props (e.g. `tscc.input_mean`). */
  metadata: Record<string, string>;
  opset: number;
}

export function importOnnxFile(file: string, opts: ImportOptions = {}): ImportResult {
  return importOnnxModel(loadOnnxFile(file), opts);
}

/** Activations a spiking conversion cannot carry (negative or saturating non-ReLU shapes). */
const NON_RELU_ACTIVATIONS = new Set(["Sigmoid", "Tanh", "LeakyRelu", "PRelu", "Elu", "Selu", "Celu", "Gelu", "HardSigmoid", "HardSwish", "Softplus", "Softsign", "Mish", "ThresholdedRelu"]);

export function nodeName(node: NodeProto, index: number): string {
  return node.name ? node.name : `${node.opType ?? "Node"}_${index}`;
}

function sanitizeModuleName(s: string): string {
  const n = s.replace(/\.onnx$/i, "").replace(/[^A-Za-z0-9_.$-]/g, "_");
  return /^[A-Za-z_]/.test(n) ? n : `m_${n}`;
}

export function importOnnxModel(loaded: LoadedModel, opts: ImportOptions = {}): ImportResult {
  const { proto, file } = loaded;
  const graph = proto.graph!;
  const registry = opts.registry ?? builtinOps();
  const diag = new DiagnosticBag(file);
  const modelDir = modelDirOf(file);

  // Opsets.
  let opset = 0;
  const domains = new Map<string, number>();
  for (const o of proto.opsetImport ?? []) {
    const d = o.domain === "ai.onnx" ? "" : o.domain ?? "";
    domains.set(d, toInt(o.version));
  }
  if (!domains.has("")) domains.set("", toInt(proto.irVersion) < 3 ? 1 : 0);
  opset = domains.get("")!;
  if (opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new TsccError(fmt(M.UnsupportedOpset, [opset, "ai.onnx"], { file }));
  }

  const nodes = graph.node ?? [];
  // 1. Every unsupported op at once.
  nodes.forEach((node, index) => {
    const domain = node.domain === "ai.onnx" ? "" : node.domain ?? "";
    const version = domains.get(domain) ?? 0;
    if (!findImporter(node.opType ?? "", domain, version)) {
      const act = NON_RELU_ACTIVATIONS.has(node.opType ?? "");
      diag.report(
        fmt(M.UnsupportedOnnxOp, [node.opType ?? "", domain || "ai.onnx", version], {
          loc: onnxLoc(nodeName(node, index), index, node.opType ?? ""),
          ...(act ? { hint: `tscc converts ReLU networks (ReLU, or Clip with min 0 such as ReLU6): a ${node.opType} activation has no spike-time code; retrain with ReLU` } : {}),
        }),
      );
    }
  });
  diag.throwIfErrors();

  const m = new Module(sanitizeModuleName(graph.name && graph.name !== "torch_jit" && graph.name !== "main_graph" ? graph.name : basename(file)), {
    opset,
    source: basename(file),
  });
  if (proto.producerName) m.attrs["producer"] = `${proto.producerName}${proto.producerVersion ? " " + proto.producerVersion : ""}`;

  // 2. Initializers, decoded lazily on first use (each exactly once).
  const initializers = new Map<string, TensorProto>();
  for (const t of graph.initializer ?? []) initializers.set(t.name ?? "", t);
  const values = new Map<string, Value>();
  const failed = new Set<string>();
  const constFor = (name: string, t: TensorProto, loc?: Loc): Value => {
    const dec = decodeTensor(t, { file, modelDir, inPlace: opts.inPlace ?? true });
    if (dec.dtype === "f32") {
      const data = dec.data as Float32Array;
      let bad = 0;
      for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) bad++;
      if (bad) diag.report(fmt(M.NonFiniteWeight, [name, bad], loc ? { loc } : {}));
    }
    const c = m.addConst(m.uniqueConstName(name || "const"), tensorType(dec.dims, dec.dtype), dec.data);
    return c.value;
  };
  /** `loc`: the node that first uses the value (named by diagnostics about an initializer). */
  const lookup = (name: string, loc?: Loc): Value | undefined => {
    const v = values.get(name);
    if (v) return v;
    const t = initializers.get(name);
    if (t) {
      const cv = constFor(name, t, loc);
      values.set(name, cv);
      return cv;
    }
    return undefined;
  };

  // 3. Graph inputs (ONNX IR < 4 also lists initializers as inputs: those are constants).
  for (const vi of graph.input ?? []) {
    const name = vi.name ?? "";
    if (initializers.has(name)) continue;
    const tt = vi.type?.tensorType;
    if (!tt) {
      diag.report(fmt(M.UnsupportedConstruct, [`input '${name}' is not a tensor (sequence, map or optional inputs are not supported)`]));
      failed.add(name);
      continue;
    }
    const elem = tt.elemType ?? 0;
    if (elem !== 1) {
      diag.report(fmt(M.NonFloatInput, [name, onnxDtypeName(elem)]));
      failed.add(name);
      continue;
    }
    if (!tt.shape) {
      diag.report(fmt(M.MissingShape, [name]));
      failed.add(name);
      continue;
    }
    const shape: number[] = [];
    let ok = true;
    (tt.shape.dim ?? []).forEach((d, axis) => {
      const hasValue = d.dimValue !== null && d.dimValue !== undefined && toInt(d.dimValue) > 0;
      if (hasValue) shape.push(toInt(d.dimValue));
      else if (axis === 0) shape.push(BATCH);
      else {
        diag.report(fmt(M.DynamicDimension, [name, d.dimParam || "?", axis]));
        ok = false;
      }
    });
    if (!ok) {
      failed.add(name);
      continue;
    }
    values.set(name, m.addInput(name, tensorType(shape, "f32")));
  }

  // 4. Nodes, in order (ONNX graphs are topologically sorted).
  const b = new Builder(m, registry);
  nodes.forEach((node, index) => {
    const opType = node.opType ?? "";
    const domain = node.domain === "ai.onnx" ? "" : node.domain ?? "";
    const version = domains.get(domain) ?? 0;
    const name = nodeName(node, index);
    const loc = onnxLoc(name, index, opType);
    const inputs = node.input ?? [];
    const outputs = node.output ?? [];
    if (inputs.some((i) => failed.has(i))) {
      outputs.forEach((o) => failed.add(o));
      return;
    }
    const operands: (Value | undefined)[] = [];
    for (const i of inputs) {
      if (i === "") {
        operands.push(undefined);
        continue;
      }
      const v = lookup(i, loc);
      if (!v) {
        diag.report(fmt(M.UndefinedValue, [i], { loc }));
        outputs.forEach((o) => failed.add(o));
        return;
      }
      operands.push(v);
    }
    const importer = findImporter(opType, domain, version)!;
    b.loc = loc;
    const ctx: ImportContext = {
      node,
      opset: version,
      inputs: operands,
      b,
      module: m,
      loc,
      file,
      modelDir,
      bind: (i, v) => {
        const outName = outputs[i];
        if (outName) values.set(outName, v);
      },
      outputUsed: (i) => {
        const o = outputs[i];
        if (!o) return false;
        return nodes.some((n, j) => j > index && (n.input ?? []).includes(o)) || (graph.output ?? []).some((go) => go.name === o);
      },
      tensorConst: (t: TensorProto, hint: string) => {
        const dec = decodeTensor(t, { file, modelDir, inPlace: false });
        return m.addConst(m.uniqueConstName(hint), tensorType(dec.dims, dec.dtype), dec.data).value;
      },
    };
    try {
      importer(ctx);
    } catch (e) {
      outputs.forEach((o) => failed.add(o));
      if (e instanceof ImportError) diag.report({ ...e.diagnostic, loc });
      else if (e instanceof ShapeError) diag.report(fmt(M.ShapeInference, [e.message], { loc }));
      else if (isTsccError(e)) e.diagnostics.forEach((d: Diagnostic) => diag.report({ ...d, loc: d.loc ?? loc }));
      else throw e;
    }
  });

  // 5. Graph outputs.
  for (const go of graph.output ?? []) {
    const name = go.name ?? "";
    if (failed.has(name)) continue;
    const v = lookup(name);
    if (!v) {
      diag.report(fmt(M.UndefinedValue, [name]));
      continue;
    }
    const declared = go.type?.tensorType;
    if (declared && declared.elemType && declared.elemType !== 1 && v.type.kind === "tensor" && v.type.dtype === "f32") {
      diag.report(fmt(M.UnsupportedConstruct, [`output '${name}' is declared ${onnxDtypeName(declared.elemType)}, but computes f32`]));
    }
    m.outputs.push({ name, value: v });
  }
  diag.throwIfErrors();
  // Shape and pad computations whose results were absorbed into attributes leave dead ops behind.
  m.removeDeadCode();
  if (m.outputs.length === 0) throw new TsccError(fmt(M.UnsupportedConstruct, ["the model has no outputs"], { file }));
  const metadata: Record<string, string> = {};
  for (const p of proto.metadataProps ?? []) metadata[p.key ?? ""] = p.value ?? "";
  return { module: m, metadata, opset };
}

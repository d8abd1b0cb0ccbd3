/**
 * Build ONNX models in code (with onnx-proto, ONNX 1.10 schema) and run them in onnxruntime-node.
 * Shared by the interpreter's and the importer's tests.
 *
 *     const bytes = buildModel({
 *       opset: 13,
 *       inputs: [{ name: "x", shape: ["N", 3, 8, 8] }],          // a string is a symbolic dim
 *       initializers: [{ name: "w", dims: [4, 3, 3, 3], data: w }],
 *       nodes: [{ op: "Conv", inputs: ["x", "w"], outputs: ["y"], attrs: { pads: [1, 1, 1, 1], group: attr.int(1) } }],
 *       outputs: ["y"],
 *     });
 *     const out = await runOnnx(bytes, { x: { dims: [2, 3, 8, 8], data } });
 *
 * Attribute shorthand: an integer number is an INT, any other number a FLOAT, a string a STRING, an
 * array of numbers INTS (FLOATS if any element is not an integer), an array of strings STRINGS. A float
 * attribute with an integral value (alpha = 1) must be written `attr.float(1)`, a float list with
 * integral values `attr.floats([...])`.
 */
import onnxProto from "onnx-proto";
import * as ort from "onnxruntime-node";

const { onnx } = onnxProto;

/** Element types by their onnxruntime-node names. */
export type OnnxElemType = "float32" | "float64" | "int64" | "int32" | "int8" | "uint8" | "bool";

/** A dimension: a number, or a string for a symbolic dimension (`dim_param`). */
export type Dim = number | string;

export type TensorDataLike = Float32Array | Float64Array | BigInt64Array | Int32Array | Int8Array | Uint8Array;

const ELEM_CODE: Record<OnnxElemType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float64: onnx.TensorProto.DataType.DOUBLE,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  int8: onnx.TensorProto.DataType.INT8,
  uint8: onnx.TensorProto.DataType.UINT8,
  bool: onnx.TensorProto.DataType.BOOL,
};

/** A graph input, output or value_info entry. */
export interface ValueSpec {
  name: string;
  /** Default float32. */
  dtype?: OnnxElemType;
  /** Omitted: the rank is unknown (no shape in the type). */
  shape?: readonly Dim[];
}

/** Tensor contents for initializers and tensor attributes. */
export interface TensorSpec {
  dims: readonly number[];
  data: TensorDataLike;
  /** Default: from the array type (Uint8Array is uint8; pass "bool" for booleans). */
  dtype?: OnnxElemType;
  /** "raw" (default, what exporters write) stores raw_data; "typed" uses float_data/int64_data/... */
  encoding?: "raw" | "typed";
}

export interface InitializerSpec extends TensorSpec {
  name: string;
}

export type AttrSpec =
  | { readonly kind: "int"; readonly value: number | bigint }
  | { readonly kind: "float"; readonly value: number }
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "ints"; readonly value: readonly (number | bigint)[] }
  | { readonly kind: "floats"; readonly value: readonly number[] }
  | { readonly kind: "strings"; readonly value: readonly string[] }
  | { readonly kind: "tensor"; readonly value: TensorSpec };

/** Explicitly typed attributes (needed for floats with integral values). */
export const attr = {
  int: (value: number | bigint): AttrSpec => ({ kind: "int", value }),
  float: (value: number): AttrSpec => ({ kind: "float", value }),
  string: (value: string): AttrSpec => ({ kind: "string", value }),
  ints: (value: readonly (number | bigint)[]): AttrSpec => ({ kind: "ints", value }),
  floats: (value: readonly number[]): AttrSpec => ({ kind: "floats", value }),
  strings: (value: readonly string[]): AttrSpec => ({ kind: "strings", value }),
  tensor: (value: TensorSpec): AttrSpec => ({ kind: "tensor", value }),
};

export type AttrInput = AttrSpec | number | string | readonly number[] | readonly string[];

export interface NodeSpec {
  op: string;
  /** Node inputs; "" (or null) skips an optional input. */
  inputs: readonly (string | null)[];
  outputs: readonly string[];
  attrs?: Record<string, AttrInput>;
  name?: string;
  domain?: string;
}

export interface ModelSpec {
  name?: string;
  /** ai.onnx opset (default 13). */
  opset?: number;
  /** Default: the lowest IR version that supports `opset`. */
  irVersion?: number;
  extraOpsets?: readonly { domain: string; version: number }[];
  producerName?: string;
  inputs: readonly ValueSpec[];
  /** Output names (float32, unknown shape) or full specs. */
  outputs: readonly (ValueSpec | string)[];
  initializers?: readonly InitializerSpec[];
  nodes: readonly NodeSpec[];
  valueInfo?: readonly ValueSpec[];
  /** Also list every initializer as a graph input (what IR < 4 exporters did). */
  initializersAsInputs?: boolean;
}

/** Lowest IR version for an opset (onnx/helper.py's VERSION_TABLE). */
export function irVersionFor(opset: number): number {
  if (opset <= 8) return 3;
  if (opset === 9) return 4;
  if (opset === 10) return 5;
  if (opset === 11) return 6;
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

/** protobufjs writes int64 from numbers (when safe) or {low, high} pairs. */
function int64(v: number | bigint): number {
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) throw new RangeError(`int64 value ${v} is not a safe integer; pass a bigint`);
    return v;
  }
  const x = BigInt.asIntN(64, v);
  if (x >= BigInt(Number.MIN_SAFE_INTEGER) && x <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(x);
  const bits = { low: Number(BigInt.asUintN(32, x)) | 0, high: Number(BigInt.asUintN(32, x >> 32n)) | 0, unsigned: false };
  return bits as unknown as number;
}

function elemTypeOf(data: TensorDataLike): OnnxElemType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof BigInt64Array) return "int64";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof Int8Array) return "int8";
  return "uint8";
}

export function tensorProto(t: TensorSpec, name = ""): onnxProto.onnx.ITensorProto {
  const dtype = t.dtype ?? elemTypeOf(t.data);
  const n = t.dims.reduce((p, d) => p * d, 1);
  if (n !== t.data.length) throw new RangeError(`tensor '${name}': ${t.data.length} elements for dims [${t.dims.join(", ")}]`);
  const proto: onnxProto.onnx.ITensorProto = { name, dims: t.dims.map((d) => int64(d)), dataType: ELEM_CODE[dtype] };
  if ((t.encoding ?? "raw") === "raw") {
    proto.rawData = new Uint8Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength));
    return proto;
  }
  switch (dtype) {
    case "float32":
      proto.floatData = Array.from(t.data as Float32Array);
      break;
    case "float64":
      proto.doubleData = Array.from(t.data as Float64Array);
      break;
    case "int64":
      proto.int64Data = Array.from(t.data as BigInt64Array, (v) => int64(v));
      break;
    default:
      // int32, int8, uint8 and bool all go to int32_data.
      proto.int32Data = Array.from(t.data as Int32Array | Int8Array | Uint8Array);
  }
  return proto;
}

function attrSpec(v: AttrInput): AttrSpec {
  if (typeof v === "number") return Number.isInteger(v) ? attr.int(v) : attr.float(v);
  if (typeof v === "string") return attr.string(v);
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === "string")) return attr.strings(v as string[]);
    const nums = v as number[];
    return nums.every((x) => Number.isInteger(x)) ? attr.ints(nums) : attr.floats(nums);
  }
  return v as AttrSpec;
}

function attributeProto(name: string, v: AttrInput): onnxProto.onnx.IAttributeProto {
  const a = attrSpec(v);
  const T = onnx.AttributeProto.AttributeType;
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
  switch (a.kind) {
    case "int":
      return { name, type: T.INT, i: int64(a.value) };
    case "float":
      return { name, type: T.FLOAT, f: a.value };
    case "string":
      return { name, type: T.STRING, s: enc(a.value) };
    case "ints":
      return { name, type: T.INTS, ints: a.value.map((x) => int64(x)) };
    case "floats":
      return { name, type: T.FLOATS, floats: [...a.value] };
    case "strings":
      return { name, type: T.STRINGS, strings: a.value.map(enc) };
    case "tensor":
      return { name, type: T.TENSOR, t: tensorProto(a.value) };
  }
}

function valueInfo(v: ValueSpec | string): onnxProto.onnx.IValueInfoProto {
  const spec: ValueSpec = typeof v === "string" ? { name: v } : v;
  const tensorType: onnxProto.onnx.TypeProto.ITensor = { elemType: ELEM_CODE[spec.dtype ?? "float32"] };
  if (spec.shape) tensorType.shape = { dim: spec.shape.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) };
  return { name: spec.name, type: { tensorType } };
}

/** Serialise a model. */
export function buildModel(spec: ModelSpec): Uint8Array {
  const opset = spec.opset ?? 13;
  const inits = spec.initializers ?? [];
  const graphInputs: (ValueSpec | string)[] = [...spec.inputs];
  if (spec.initializersAsInputs) {
    for (const i of inits) graphInputs.push({ name: i.name, dtype: i.dtype ?? elemTypeOf(i.data), shape: i.dims });
  }
  const model = onnx.ModelProto.create({
    irVersion: spec.irVersion ?? irVersionFor(opset),
    producerName: spec.producerName ?? "tscc-tests",
    opsetImport: [{ domain: "", version: opset }, ...(spec.extraOpsets ?? []).map((o) => ({ domain: o.domain, version: o.version }))],
    graph: {
      name: spec.name ?? "g",
      input: graphInputs.map(valueInfo),
      output: spec.outputs.map(valueInfo),
      initializer: inits.map((i) => tensorProto(i, i.name)),
      valueInfo: (spec.valueInfo ?? []).map(valueInfo),
      node: spec.nodes.map((n, k) => ({
        name: n.name ?? `${n.op.toLowerCase()}_${k}`,
        opType: n.op,
        domain: n.domain ?? "",
        input: n.inputs.map((s) => s ?? ""),
        output: [...n.outputs],
        attribute: Object.entries(n.attrs ?? {}).map(([key, v]) => attributeProto(key, v)),
      })),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** An operand of {@link singleNodeModel}: a graph input (no data) or an initializer (data). */
export type NodeOperand = ValueSpec | InitializerSpec | null;

/**
 * A model with one node. `operands` are the node's inputs in order: entries with `data` become
 * initializers, the others graph inputs; null skips an optional input.
 */
export function singleNodeModel(o: {
  op: string;
  operands: readonly NodeOperand[];
  attrs?: Record<string, AttrInput>;
  /** Output names (default ["y"]). */
  outputs?: readonly (ValueSpec | string)[];
  opset?: number;
}): Uint8Array {
  const inputs: ValueSpec[] = [];
  const initializers: InitializerSpec[] = [];
  for (const x of o.operands) {
    if (x === null) continue;
    if ("data" in x) initializers.push(x);
    else inputs.push(x);
  }
  const outputs = o.outputs ?? ["y"];
  return buildModel({
    ...(o.opset !== undefined ? { opset: o.opset } : {}),
    inputs,
    initializers,
    outputs,
    nodes: [
      {
        op: o.op,
        inputs: o.operands.map((x) => (x === null ? "" : x.name)),
        outputs: outputs.map((x) => (typeof x === "string" ? x : x.name)),
        ...(o.attrs ? { attrs: o.attrs } : {}),
      },
    ],
  });
}

export interface OrtValue {
  dims: readonly number[];
  data: TensorDataLike;
  /** Needed only to tell bool from uint8 data. */
  dtype?: OnnxElemType;
}

/** Run a serialised model in onnxruntime-node and return every graph output. */
export async function runOnnx(model: Uint8Array, feeds: Record<string, OrtValue>): Promise<Record<string, OrtValue>> {
  // Severity 3: errors only (no warnings about unused initializers and the like).
  const session = await ort.InferenceSession.create(model, { logSeverityLevel: 3 });
  try {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, v] of Object.entries(feeds)) {
      const dtype = v.dtype ?? elemTypeOf(v.data);
      ortFeeds[name] = new ort.Tensor(dtype, v.data, [...v.dims]);
    }
    const results = await session.run(ortFeeds);
    const out: Record<string, OrtValue> = {};
    for (const [name, t] of Object.entries(results)) {
      out[name] = { dims: [...t.dims], data: t.data as TensorDataLike, dtype: t.type as OnnxElemType };
    }
    return out;
  } finally {
    await session.release();
  }
}

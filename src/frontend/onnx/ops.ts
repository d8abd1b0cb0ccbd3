/**
 * Per-op ONNX importers, resolved by (op type, domain, opset) as onnxruntime's web backend does.
 * Each importer normalises the opset-specific spelling (attributes vs constant inputs, auto_pad,
 * defaults) into one `nn` op.
 */
import {
  autoPads,
  fmt,
  knownValue,
  M,
  type Attrs,
  type Message,
  type TensorType,
  type Value,
} from "../../../ir/index.js";
import { CONST_ONLY_OPS, importConstOnly } from "./const-eval.js";
import { ImportError, type ImportContext } from "./context.js";
import { attrMap, decodeString, toInt, type AttributeProto, type NodeProto, type TensorProto } from "./load.js";
import { formatFloat32 } from "../../../ir/index.js";

export { ImportError, type ImportContext };

export const MIN_OPSET = 7;
export const MAX_OPSET = 21;

function err(m: Message, args: (string | number)[]): never {
  throw new ImportError(fmt(m, args));
}

type Importer = (ctx: ImportContext) => void;

// ----------------------------------------------------------------------------------------------------
// Attribute and operand helpers

class Attr {
  private readonly map: Map<string, AttributeProto>;
  constructor(private readonly node: NodeProto) {
    this.map = attrMap(node);
  }
  has(name: string): boolean {
    return this.map.has(name);
  }
  int(name: string, def: number): number {
    const a = this.map.get(name);
    return a ? toInt(a.i) : def;
  }
  /** ONNX float attributes are float32: keep the decimal the author wrote (1e-5, not 9.99999974e-6). */
  float(name: string, def: number): number {
    const a = this.map.get(name);
    return a ? Number(formatFloat32(a.f ?? 0)) : def;
  }
  ints(name: string): number[] | undefined {
    const a = this.map.get(name);
    return a ? (a.ints ?? []).map(toInt) : undefined;
  }
  str(name: string, def: string): string {
    const a = this.map.get(name);
    return a ? decodeString(a.s) : def;
  }
  raw(name: string): AttributeProto | undefined {
    return this.map.get(name);
  }
  names(): string[] {
    return [...this.map.keys()];
  }
}

function input(ctx: ImportContext, i: number, what: string): Value {
  const v = ctx.inputs[i];
  if (!v) err(M.UnsupportedConstruct, [`${ctx.node.opType} needs input ${i} (${what})`]);
  return v;
}

function tensorOf(v: Value, what: string): TensorType {
  if (v.type.kind !== "tensor") err(M.UnsupportedConstruct, [`${what} must be a tensor`]);
  return v.type;
}

/** A constant (or compile-time-known) integer vector operand. */
function constInts(ctx: ImportContext, i: number, what: string): number[] {
  const v = input(ctx, i, what);
  const k = knownValue(v);
  if (!k || k.some((d) => typeof d !== "number")) err(M.NonConstantOperand, [ctx.node.input![i]!, what]);
  return k as number[];
}

/** A constant scalar float operand, or `def` when the optional input is absent. */
function constScalar(ctx: ImportContext, i: number, what: string, def: number): number {
  const v = ctx.inputs[i];
  if (!v) return def;
  const c = v.constant;
  if (!c) err(M.NonConstantOperand, [ctx.node.input![i]!, what]);
  if (c.data.length !== 1) err(M.UnsupportedConstruct, [`${what} must be a scalar, got ${c.data.length} values`]);
  const x = c.data[0]!;
  return typeof x === "bigint" ? Number(x) : x;
}

function spatialRank(ctx: ImportContext, x: Value): number {
  const t = tensorOf(x, "input");
  const n = t.shape.length - 2;
  if (n < 1) err(M.UnsupportedInputRank, [`${ctx.node.opType} needs an input with at least one spatial axis, got rank ${t.shape.length}`]);
  if (n > 2) err(M.UnsupportedInputRank, [`${n}-D ${ctx.node.opType} is not supported (1-D and 2-D are)`]);
  return n;
}

/** kernel_shape, strides, dilations and explicit pads, with auto_pad resolved for the static input. */
function windowAttrs(ctx: ImportContext, a: Attr, x: Value, kernel: number[], allowDilations: boolean): Attrs {
  const n = kernel.length;
  const strides = a.ints("strides") ?? new Array<number>(n).fill(1);
  const dilations = (allowDilations ? a.ints("dilations") : undefined) ?? new Array<number>(n).fill(1);
  const mode = a.str("auto_pad", "NOTSET");
  let pads: number[];
  if (mode === "NOTSET") pads = a.ints("pads") ?? new Array<number>(2 * n).fill(0);
  else if (mode === "VALID") pads = new Array<number>(2 * n).fill(0);
  else if (mode === "SAME_UPPER" || mode === "SAME_LOWER") pads = autoPads(mode, tensorOf(x, "input").shape.slice(2), kernel, strides, dilations);
  else err(M.UnsupportedAttribute, ["auto_pad", `"${mode}"`, "expected NOTSET, VALID, SAME_UPPER or SAME_LOWER"]);
  if (strides.length !== n || dilations.length !== n || pads.length !== 2 * n) {
    err(M.UnsupportedAttribute, ["strides/dilations/pads", `[${strides}]/[${dilations}]/[${pads}]`, `need ${n}, ${n} and ${2 * n} entries`]);
  }
  return { kernel_shape: kernel, strides, pads, dilations };
}

function rejectUsedExtraOutputs(ctx: ImportContext, from: number, what: string): void {
  const outs = ctx.node.output ?? [];
  for (let i = from; i < outs.length; i++) {
    if (ctx.outputUsed(i)) err(M.UnsupportedConstruct, [`${ctx.node.opType} output ${i} ('${outs[i]}', ${what}) is used; tscc supports inference outputs only`]);
  }
}

// ----------------------------------------------------------------------------------------------------
// Importers

const conv: Importer = (ctx) => {
  const a = new Attr(ctx.node);
  const x = input(ctx, 0, "X");
  const w = input(ctx, 1, "W");
  const n = spatialRank(ctx, x);
  const wt = tensorOf(w, "W");
  const kernel = a.ints("kernel_shape") ?? wt.shape.slice(2);
  if (kernel.length !== n) err(M.UnsupportedAttribute, ["kernel_shape", `[${kernel}]`, `expected ${n} entries`]);
  const attrs = { ...windowAttrs(ctx, a, x, kernel, true), group: a.int("group", 1) };
  const operands = ctx.inputs[2] ? [x, w, ctx.inputs[2]] : [x, w];
  ctx.bind(0, ctx.b.value("nn.conv", operands, attrs));
};

const gemm: Importer = (ctx) => {
  const a = new Attr(ctx.node);
  const operands = [input(ctx, 0, "A"), input(ctx, 1, "B")];
  if (ctx.inputs[2]) operands.push(ctx.inputs[2]);
  ctx.bind(
    0,
    ctx.b.value("nn.gemm", operands, {
      alpha: a.float("alpha", 1),
      beta: a.float("beta", 1),
      transA: a.int("transA", 0),
      transB: a.int("transB", 0),
    }),
  );
};

const matmul: Importer = (ctx) => ctx.bind(0, ctx.b.value("nn.matmul", [input(ctx, 0, "A"), input(ctx, 1, "B")]));

const relu: Importer = (ctx) => ctx.bind(0, ctx.b.value("nn.relu", [input(ctx, 0, "X")]));

const clip: Importer = (ctx) => {
  const a = new Attr(ctx.node);
  let min: number;
  let max: number;
  if (ctx.opset < 11) {
    min = a.float("min", -Infinity);
    max = a.float("max", Infinity);
  } else {
    min = constScalar(ctx, 1, "min", -Infinity);
    max = constScalar(ctx, 2, "max", Infinity);
  }
  ctx.bind(0, ctx.b.value("nn.clip", [input(ctx, 0, "input")], { min, max }));
};

const maxPool: Importer = (ctx) => {
  const a = new Attr(ctx.node);
  const x = input(ctx, 0, "X");
  spatialRank(ctx, x);
  rejectUsedExtraOutputs(ctx, 1, "Indices");
  const kernel = a.ints("kernel_shape") ?? err(M.UnsupportedAttribute, ["kernel_shape", "missing", "MaxPool needs kernel_shape"]);
  const attrs = { ...windowAttrs(ctx, a, x, kernel, ctx.opset >= 10), ceil_mode: a.int("ceil_mode", 0) };
  ctx.bind(0, ctx.b.value("nn.max_pool", [x], attrs));
};

const averagePool: Importer = (ctx) => {
  const a = new Attr(ctx.node);
  const x = input(ctx, 0, "X");
  spatialRank(ctx, x);
  const kernel = a.ints("kernel_shape") ?? err(M.UnsupportedAttribute, ["kernel_shape", "missing", "AveragePool needs kernel_shape"]);
  const attrs = {
    ...windowAttrs(ctx, a, x, kernel, ctx.opset >= 19),
    ceil_mode: a.int("ceil_mode", 0),
    count_include_pad: a.int("count_include_pad", 0),
  };
  ctx.bind(0, ctx.b.value("nn.average_pool", [x], attrs));
};

const globalAveragePool: Importer = (ctx) => {
  const x = input(ctx, 0, "X");
  spatialRank(ctx, x);
  ctx.bind(0, ctx.b.value("nn.global_average_pool", [x]));
};

const batchNorm: Importer = (ctx) => {
  const a = new Attr(ctx.node);
  if (ctx.opset < 9 && a.int("spatial", 1) !== 1) err(M.UnsupportedAttribute, ["spatial", 0, "per-activation batch normalisation is not supported"]);
  if (ctx.opset >= 14 && a.int("training_mode", 0) !== 0) err(M.UnsupportedAttribute, ["training_mode", 1, "tscc imports inference graphs"]);
  rejectUsedExtraOutputs(ctx, 1, "training statistics");
  const operands = [0, 1, 2, 3, 4].map((i) => input(ctx, i, ["X", "scale", "B", "mean", "var"][i]!));
  ctx.bind(0, ctx.b.value("nn.batch_norm", operands, { epsilon: a.float("epsilon", 1e-5) }));
};

const add: Importer = (ctx) => ctx.bind(0, ctx.b.value("nn.add", [input(ctx, 0, "A"), input(ctx, 1, "B")]));

/**
 * Mul, Div and Sub: evaluated at import when both operands are known (shape and pad arithmetic), an
 * `nn` op on float32 run-time data (the scalar arithmetic of quantisation-aware activations).
 */
function arithmetic(op: "nn.mul" | "nn.div" | "nn.sub"): Importer {
  return (ctx) => {
    const a = input(ctx, 0, "A");
    const b = input(ctx, 1, "B");
    const isF32 = (v: Value): boolean => v.type.kind === "tensor" && v.type.dtype === "f32";
    if ((knownValue(a) && knownValue(b)) || !isF32(a) || !isF32(b)) return importConstOnly(ctx);
    ctx.bind(0, ctx.b.value(op, [a, b]));
  };
}

const floor: Importer = (ctx) => ctx.bind(0, ctx.b.value("nn.floor", [input(ctx, 0, "X")]));
const round: Importer = (ctx) => ctx.bind(0, ctx.b.value("nn.round", [input(ctx, 0, "X")]));

/** A per-tensor quantisation parameter: a constant holding one value (a scalar or a 1-element vector). */
function quantParam(ctx: ImportContext, i: number, what: string): { value: number; dtype: string } | undefined {
  const v = ctx.inputs[i];
  if (!v) return undefined;
  const c = v.constant;
  if (!c) err(M.NonConstantOperand, [ctx.node.input![i]!, what]);
  if (c.data.length !== 1) err(M.QuantPerAxis, [ctx.node.opType ?? "", ctx.node.input![i]!, c.data.length]);
  const x = c.data[0]!;
  return { value: typeof x === "bigint" ? Number(x) : x, dtype: c.type.dtype };
}

function quantScale(ctx: ImportContext): number {
  const s = quantParam(ctx, 1, "scale")!;
  if (s.dtype !== "f32") err(M.QuantElementType, [`${ctx.node.opType} scale`, s.dtype]);
  return s.value;
}

const ONNX_QUANT_TYPES: Readonly<Record<number, "u8" | "i8">> = { 2: "u8", 3: "i8" };

const quantizeLinear: Importer = (ctx) => {
  const a = new Attr(ctx.node);
  const x = input(ctx, 0, "x");
  if (tensorOf(x, "x").dtype !== "f32") err(M.QuantElementType, ["QuantizeLinear input", tensorOf(x, "x").dtype]);
  if (ctx.opset >= 21 && a.int("block_size", 0) !== 0) err(M.UnsupportedAttribute, ["block_size", a.int("block_size", 0), "blocked quantisation is not supported"]);
  const scale = quantScale(ctx);
  const zp = quantParam(ctx, 2, "zero point");
  let to: string = zp?.dtype ?? "u8";
  if (!zp && ctx.opset >= 21 && a.has("output_dtype")) to = ONNX_QUANT_TYPES[a.int("output_dtype", 2)] ?? `ONNX type ${a.int("output_dtype", 2)}`;
  if (to !== "u8" && to !== "i8") err(M.QuantElementType, ["QuantizeLinear", to]);
  ctx.bind(0, ctx.b.value("nn.quantize_linear", [x], { scale, zero_point: zp?.value ?? 0, to }));
};

const dequantizeLinear: Importer = (ctx) => {
  const a = new Attr(ctx.node);
  const x = input(ctx, 0, "x");
  const dtype = tensorOf(x, "x").dtype;
  if (dtype !== "u8" && dtype !== "i8" && dtype !== "i32") err(M.QuantElementType, ["DequantizeLinear", dtype]);
  if (ctx.opset >= 21 && a.int("block_size", 0) !== 0) err(M.UnsupportedAttribute, ["block_size", a.int("block_size", 0), "blocked quantisation is not supported"]);
  const scale = quantScale(ctx);
  const zp = quantParam(ctx, 2, "zero point");
  ctx.bind(0, ctx.b.value("nn.dequantize_linear", [x], { scale, zero_point: zp?.value ?? 0 }));
};

const flatten: Importer = (ctx) => ctx.bind(0, ctx.b.value("nn.flatten", [input(ctx, 0, "input")], { axis: new Attr(ctx.node).int("axis", 1) }));

const reshape: Importer = (ctx) => {
  const a = new Attr(ctx.node);
  const x = input(ctx, 0, "data");
  const shape = input(ctx, 1, "shape");
  if (!knownValue(shape)) err(M.NonConstantOperand, [ctx.node.input![1]!, "target shape"]);
  ctx.bind(0, ctx.b.value("nn.reshape", [x, shape], { allowzero: ctx.opset >= 14 ? a.int("allowzero", 0) : 0 }));
};

const pad: Importer = (ctx) => {
  const a = new Attr(ctx.node);
  const x = input(ctx, 0, "data");
  const mode = a.str("mode", "constant");
  if (mode !== "constant") err(M.UnsupportedAttribute, ["mode", `"${mode}"`, "only constant padding is supported"]);
  const rank = tensorOf(x, "data").shape.length;
  let pads: number[];
  let value: number;
  if (ctx.opset < 11) {
    pads = a.ints("pads") ?? err(M.UnsupportedAttribute, ["pads", "missing", "Pad needs pads"]);
    value = a.float("value", 0);
  } else {
    const given = constInts(ctx, 1, "pads");
    value = constScalar(ctx, 2, "constant_value", 0);
    if (ctx.inputs[3]) {
      const axes = constInts(ctx, 3, "axes").map((ax) => (ax < 0 ? ax + rank : ax));
      if (given.length !== 2 * axes.length) err(M.UnsupportedConstruct, [`Pad: ${given.length} pads for ${axes.length} axes`]);
      pads = new Array<number>(2 * rank).fill(0);
      axes.forEach((ax, j) => {
        pads[ax] = given[j]!;
        pads[ax + rank] = given[j + axes.length]!;
      });
    } else pads = given;
  }
  ctx.bind(0, ctx.b.value("nn.pad", [x], { pads, value }));
};

const dropout: Importer = (ctx) => {
  const a = new Attr(ctx.node);
  rejectUsedExtraOutputs(ctx, 1, "mask");
  let ratio = a.float("ratio", 0.5);
  if (ctx.opset >= 12) {
    ratio = constScalar(ctx, 1, "ratio", 0.5);
    if (ctx.inputs[2] && constScalar(ctx, 2, "training_mode", 0) !== 0) err(M.UnsupportedAttribute, ["training_mode", "true", "tscc imports inference graphs"]);
  }
  ctx.bind(0, ctx.b.value("nn.dropout", [input(ctx, 0, "data")], { ratio }));
};

const identity: Importer = (ctx) => ctx.bind(0, ctx.b.value("nn.identity", [input(ctx, 0, "input")]));

const constant: Importer = (ctx) => {
  const a = new Attr(ctx.node);
  const out = ctx.node.output?.[0] ?? "const";
  const mk = (dtype: "f32" | "i64", dims: number[], values: number[]): Value => {
    const t: TensorProto = { dims, dataType: dtype === "f32" ? 1 : 7, ...(dtype === "f32" ? { floatData: values } : { int64Data: values }) };
    return ctx.tensorConst(t, out);
  };
  const tensor = a.raw("value");
  if (tensor?.t) return ctx.bind(0, ctx.tensorConst(tensor.t, out));
  if (a.has("value_float")) return ctx.bind(0, mk("f32", [], [a.float("value_float", 0)]));
  if (a.has("value_floats")) {
    const fl = a.raw("value_floats")!.floats ?? [];
    return ctx.bind(0, mk("f32", [fl.length], fl));
  }
  if (a.has("value_int")) return ctx.bind(0, mk("i64", [], [a.int("value_int", 0)]));
  if (a.has("value_ints")) {
    const v = a.ints("value_ints")!;
    return ctx.bind(0, mk("i64", [v.length], v));
  }
  err(M.UnsupportedAttribute, [a.names()[0] ?? "value", "?", "Constant supports value, value_float(s) and value_int(s)"]);
};

const softmax: Importer = (ctx) => {
  const legacy = ctx.opset < 13;
  const axis = new Attr(ctx.node).int("axis", legacy ? 1 : -1);
  ctx.bind(0, ctx.b.value("nn.softmax", [input(ctx, 0, "input")], { axis, coerce_2d: legacy }));
};

const concat: Importer = (ctx) => {
  const a = new Attr(ctx.node);
  if (!a.has("axis")) err(M.UnsupportedAttribute, ["axis", "missing", "Concat needs axis"]);
  const operands = ctx.inputs.map((v, i) => v ?? input(ctx, i, "input"));
  ctx.bind(0, ctx.b.value("nn.concat", operands, { axis: a.int("axis", 0) }));
};

const shape: Importer = (ctx) => {
  const a = new Attr(ctx.node);
  const attrs: Attrs = { start: a.int("start", 0) };
  if (a.has("end")) attrs["end"] = a.int("end", 0);
  ctx.bind(0, ctx.b.value("nn.shape", [input(ctx, 0, "data")], attrs));
};

const gather: Importer = (ctx) =>
  ctx.bind(0, ctx.b.value("nn.gather", [input(ctx, 0, "data"), input(ctx, 1, "indices")], { axis: new Attr(ctx.node).int("axis", 0) }));

const unsqueeze: Importer = (ctx) => {
  const axes = ctx.opset < 13 ? new Attr(ctx.node).ints("axes") ?? err(M.UnsupportedAttribute, ["axes", "missing", "Unsqueeze needs axes"]) : constInts(ctx, 1, "axes");
  ctx.bind(0, ctx.b.value("nn.unsqueeze", [input(ctx, 0, "data")], { axes }));
};

const squeeze: Importer = (ctx) => {
  const x = input(ctx, 0, "data");
  let axes = ctx.opset < 13 ? new Attr(ctx.node).ints("axes") : ctx.inputs[1] ? constInts(ctx, 1, "axes") : undefined;
  if (!axes) {
    axes = [];
    tensorOf(x, "data").shape.forEach((d, i) => {
      if (d === 1) axes!.push(i);
    });
  }
  ctx.bind(0, ctx.b.value("nn.squeeze", [x], { axes }));
};

const cast: Importer = (ctx) => {
  const to = new Attr(ctx.node).int("to", 0);
  const x = input(ctx, 0, "input");
  const target = to === 1 || to === 10 || to === 11 ? "f32" : to === 7 ? "i64" : to === 6 ? "i32" : undefined;
  if (!target) err(M.UnsupportedAttribute, ["to", to, "Cast supports float, int32 and int64 targets"]);
  const src = tensorOf(x, "input").dtype;
  ctx.bind(0, src === target ? ctx.b.value("nn.identity", [x]) : ctx.b.value("nn.cast", [x], { to: target }));
};

/** [op type, first supported version, importer]. Versions below MIN_OPSET never reach here. */
const TABLE: readonly [string, number, Importer][] = [
  ["Add", 7, add],
  ["AveragePool", 7, averagePool],
  ["BatchNormalization", 7, batchNorm],
  ["Cast", 7, cast],
  ["Clip", 7, clip],
  ["Concat", 7, concat],
  ["Constant", 7, constant],
  ["Conv", 7, conv],
  ["DequantizeLinear", 10, dequantizeLinear],
  ["Div", 7, arithmetic("nn.div")],
  ["Dropout", 7, dropout],
  ["Flatten", 7, flatten],
  ["Floor", 7, floor],
  ["Gather", 7, gather],
  ["Gemm", 7, gemm],
  ["GlobalAveragePool", 7, globalAveragePool],
  ["Identity", 7, identity],
  ["MatMul", 7, matmul],
  ["MaxPool", 7, maxPool],
  ["Mul", 7, arithmetic("nn.mul")],
  ["Pad", 7, pad],
  ["QuantizeLinear", 10, quantizeLinear],
  ["Relu", 7, relu],
  ["Reshape", 7, reshape],
  ["Round", 11, round],
  ["Shape", 7, shape],
  ["Softmax", 7, softmax],
  ["Squeeze", 7, squeeze],
  ["Sub", 7, arithmetic("nn.sub")],
  ["Unsqueeze", 7, unsqueeze],
];

export const SUPPORTED_ONNX_OPS: readonly string[] = TABLE.map(([n]) => n);
/** Ops accepted only when every input is known at compile time (shape and pad arithmetic). */
export const COMPILE_TIME_ONNX_OPS: readonly string[] = CONST_ONLY_OPS;

export function findImporter(opType: string, domain: string, version: number): Importer | undefined {
  if (domain !== "") return undefined;
  const e = TABLE.find(([n, since]) => n === opType && version >= since);
  if (e) return e[2];
  return CONST_ONLY_OPS.includes(opType) ? importConstOnly : undefined;
}

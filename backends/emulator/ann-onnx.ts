/**
 * The reference ANN (an `nn` module) as an ONNX model, so `tscc run` can compute the ANN's outputs with
 * onnxruntime when it is installed (about 20× faster than the reference interpreter on big test sets,
 * and an oracle independent of tscc's own kernels). Covers the ops a canonical ANN holds; anything else
 * returns undefined and the caller falls back to the interpreter.
 */
import onnxProto from "onnx-proto";
import { BATCH, type Module, type Op, type Value } from "../../ir/index.js";

const { onnx } = onnxProto;
type NodeProto = onnxProto.onnx.INodeProto;
type TensorProto = onnxProto.onnx.ITensorProto;
type AttributeProto = onnxProto.onnx.IAttributeProto;

const FLOAT = 1;
const INT64 = 7;

class Unsupported extends Error {}

export function annToOnnx(m: Module): Uint8Array | undefined {
  const nodes: NodeProto[] = [];
  const inits: TensorProto[] = [];
  const names = new Map<Value, string>();
  let counter = 0;
  const fresh = (hint: string): string => `${hint}_${counter++}`;
  const ints = (name: string, v: readonly number[]): AttributeProto => ({ name, type: 7, ints: [...v] });
  const int = (name: string, v: number): AttributeProto => ({ name, type: 2, i: v });
  const float = (name: string, v: number): AttributeProto => ({ name, type: 1, f: v });
  const scalar = (v: number): string => {
    const name = fresh("c");
    inits.push({ name, dataType: FLOAT, dims: [], floatData: [v] });
    return name;
  };
  const node = (opType: string, inputs: string[], attrs: AttributeProto[] = []): string => {
    const out = fresh(opType.toLowerCase());
    nodes.push({ opType, input: inputs, output: [out], attribute: attrs, name: fresh(opType) });
    return out;
  };
  const ref = (v: Value): string => {
    const n = names.get(v);
    if (n !== undefined) return n;
    const c = v.constant;
    if (!c) throw new Unsupported("value without a definition");
    const name = fresh("w");
    const data = c.data;
    if (data instanceof Float32Array) inits.push({ name, dataType: FLOAT, dims: [...c.type.shape], rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) });
    else if (data instanceof BigInt64Array) inits.push({ name, dataType: INT64, dims: [...c.type.shape], rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) });
    else throw new Unsupported(`constant of type ${c.type.dtype}`);
    names.set(v, name);
    return name;
  };
  /** A fused quantiser in the float32 steps of the interpreter's kernel (quantizeInPlace): divide by λ/L, shift, round, clip, scale. */
  const quantizer = (x: string, levels: number, lambda: number, phi: number, rounding: string): string => {
    const step = lambda / levels;
    const u = node("Div", [x, scalar(step)]);
    const k = rounding === "half_even" ? node("Round", [node("Add", [u, scalar(phi - 0.5)])]) : node("Floor", [node("Add", [u, scalar(phi)])]);
    return node("Mul", [node("Clip", [k, scalar(0), scalar(levels)]), scalar(step)]);
  };
  const activation = (op: Op, x: string): string => {
    const a = op.attrs["activation"];
    if (a === "quant") return quantizer(x, op.num("quant_levels"), op.num("quant_lambda"), op.num("quant_phi"), op.str("quant_rounding"));
    if (a === "relu") return node("Relu", [x]);
    if (a === "clip") return node("Clip", [x, scalar(op.num("clip_min")), scalar(op.num("clip_max"))]);
    return x;
  };
  // A quantised input (fuse-quantizers' input_levels) is quantised at the graph input, as the interpreter does.
  const inputLevels = m.attrs["input_levels"];
  for (const i of m.inputs) names.set(i.value, typeof inputLevels === "number" ? quantizer(i.name, inputLevels, 1, 0.5, m.attrs["input_rounding"] === "half_even" ? "half_even" : "floor") : i.name);
  const window = (op: Op): AttributeProto[] => [ints("kernel_shape", op.ints("kernel_shape")), ints("strides", op.ints("strides")), ints("pads", op.ints("pads")), ints("dilations", op.ints("dilations"))];
  try {
    for (const op of m.ops) {
      const a = op.operands.map(ref);
      let out: string;
      switch (op.name) {
        case "nn.conv":
          out = activation(op, node("Conv", a, [...window(op), int("group", op.num("group"))]));
          break;
        case "nn.gemm":
          out = activation(op, node("Gemm", a, [float("alpha", op.num("alpha")), float("beta", op.num("beta")), int("transA", op.num("transA")), int("transB", op.num("transB"))]));
          break;
        case "nn.matmul":
          out = activation(op, node("MatMul", a));
          break;
        case "nn.add": {
          const x = op.num("alpha") === 1 ? a[0]! : node("Mul", [a[0]!, scalar(op.num("alpha"))]);
          const y = op.num("beta") === 1 ? a[1]! : node("Mul", [a[1]!, scalar(op.num("beta"))]);
          out = activation(op, node("Add", [x, y]));
          break;
        }
        case "nn.relu":
          out = node("Relu", a);
          break;
        case "nn.clip":
          out = node("Clip", [a[0]!, scalar(op.num("min")), scalar(op.num("max"))]);
          break;
        case "nn.max_pool":
          out = node("MaxPool", a, [...window(op), int("ceil_mode", op.num("ceil_mode"))]);
          break;
        case "nn.average_pool":
          // Dilations on AveragePool need opset 19; a canonical ANN has none.
          if (op.ints("dilations").some((d) => d !== 1)) throw new Unsupported("dilated average pool");
          out = node("AveragePool", a, [ints("kernel_shape", op.ints("kernel_shape")), ints("strides", op.ints("strides")), ints("pads", op.ints("pads")), int("ceil_mode", op.num("ceil_mode")), int("count_include_pad", op.num("count_include_pad"))]);
          break;
        case "nn.global_average_pool":
          out = node("GlobalAveragePool", a);
          break;
        case "nn.batch_norm":
          out = node("BatchNormalization", a, [float("epsilon", op.num("epsilon"))]);
          break;
        case "nn.flatten":
          out = node("Flatten", a, [int("axis", op.num("axis"))]);
          break;
        case "nn.reshape":
          out = node("Reshape", a, [int("allowzero", op.num("allowzero"))].filter((x) => x.i !== 0));
          break;
        case "nn.concat":
          out = node("Concat", a, [int("axis", op.num("axis"))]);
          break;
        case "nn.identity":
        case "nn.dropout":
          out = node("Identity", [a[0]!]);
          break;
        case "nn.pad": {
          if ((op.attrs["channel_values"] as number[]).length) throw new Unsupported("per-channel pad values");
          const pads = fresh("pads");
          inits.push({ name: pads, dataType: INT64, dims: [op.ints("pads").length], int64Data: op.ints("pads") });
          out = node("Pad", [a[0]!, pads, scalar(op.num("value"))]);
          break;
        }
        case "nn.softmax":
          if (op.attrs["coerce_2d"] === true) throw new Unsupported("opset-11 softmax");
          out = node("Softmax", a, [int("axis", op.num("axis"))]);
          break;
        default:
          throw new Unsupported(op.name);
      }
      names.set(op.result, out);
    }
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
  const valueInfo = (name: string, shape: readonly number[]): onnxProto.onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: shape.map((d) => (d === BATCH ? { dimParam: "batch" } : { dimValue: d })) } } },
  });
  const inputs = m.inputs.map((i) => valueInfo(i.name, i.value.type.shape));
  const outputs = m.outputs.map((o) => {
    const src = names.get(o.value) ?? ref(o.value);
    nodes.push({ opType: "Identity", input: [src], output: [o.name], name: fresh("Identity") });
    return valueInfo(o.name, o.value.type.shape);
  });
  const model: onnxProto.onnx.IModelProto = {
    irVersion: 7,
    producerName: "tscc",
    opsetImport: [{ domain: "", version: 13 }],
    graph: { name: "reference", node: nodes, initializer: inits, input: inputs, output: outputs },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

/**
 * ONNX models with activation quantisers, built in code for the fuse-quantizers and QAT tests: the QCFS
 * chain in Bu et al.'s order and clamp first, QuantizeLinear → DequantizeLinear, and a two-layer model
 * around one of them.
 */
import { buildModel, type InitializerSpec, type NodeSpec } from "./onnx-builder.js";
import { Rng } from "./random.js";

export const f32 = (name: string, values: number[], dims: number[] = []): InitializerSpec => ({ name, dims, data: Float32Array.from(values) });
export const node = (op: string, inputs: string[], outputs: string[], name?: string, attrs?: NodeSpec["attrs"]): NodeSpec => ({
  op,
  inputs,
  outputs,
  ...(name ? { name } : {}),
  ...(attrs ? { attrs } : {}),
});

/** A scalar constant operand (initializer) named `name`. */
export const scalar = (name: string, v: number): InitializerSpec => f32(name, [v]);

export interface Chain {
  /** Nodes from `z` (the host's output) to `q` (the quantiser's output). */
  nodes: NodeSpec[];
  inits: InitializerSpec[];
}

/** λ·clip(floor(z·L/λ + ½)/L, 0, 1): Div λ, Mul L, Add ½, Floor, Div L, Clip(0, 1), Mul λ (Bu et al.'s order). */
export function floorFirst(L: number, lambda: number, post = lambda, hi = 1): Chain {
  return {
    inits: [scalar("lam", lambda), scalar("L", L), scalar("half", 0.5), scalar("zero", 0), scalar("one", hi), scalar("lam_out", post)],
    nodes: [
      node("Div", ["z", "lam"], ["u"]),
      node("Mul", ["u", "L"], ["uL"]),
      node("Add", ["uL", "half"], ["w"]),
      node("Floor", ["w"], ["k"], "floor"),
      node("Div", ["k", "L"], ["kL"]),
      node("Clip", ["kL", "zero", "one"], ["c"]),
      node("Mul", ["c", "lam_out"], ["q"]),
    ],
  };
}

/** λ·floor(clip(z/λ, 0, 1)·L + ½)/L: Div λ, Clip(0, 1), Mul L, Add ½, Floor, Div L, Mul λ. */
export function clampFirst(L: number, lambda: number, lo = 0, hi = 1): Chain {
  return {
    inits: [scalar("lam", lambda), scalar("L", L), scalar("half", 0.5), scalar("lo", lo), scalar("hi", hi)],
    nodes: [
      node("Div", ["z", "lam"], ["u"]),
      node("Clip", ["u", "lo", "hi"], ["c"]),
      node("Mul", ["c", "L"], ["cL"]),
      node("Add", ["cL", "half"], ["w"]),
      node("Floor", ["w"], ["k"], "floor"),
      node("Div", ["k", "L"], ["kL"]),
      node("Mul", ["kL", "lam"], ["q"]),
    ],
  };
}

/** QuantizeLinear → DequantizeLinear with one scale and zero point (uint8 or int8). */
export function qdq(scale: number, zp: number, type: "uint8" | "int8", dqScale = scale): Chain {
  return {
    inits: [scalar("s", scale), scalar("s_dq", dqScale), { name: "zp", dims: [], data: type === "uint8" ? Uint8Array.of(zp) : Int8Array.of(zp) }],
    nodes: [node("QuantizeLinear", ["z", "s", "zp"], ["qi"], "quant"), node("DequantizeLinear", ["qi", "s_dq", "zp"], ["q"], "dequant")],
  };
}

/** x [N, 4] → Gemm (node 'fc1', optionally + Relu) → chain → Gemm 'fc2' → logits. */
export function gemmModel(chain: Chain, o: { relu?: boolean } = {}): Uint8Array {
  const rng = new Rng(5);
  const head = o.relu ? [node("Gemm", ["x", "w1", "b1"], ["h"], "fc1", { transB: 1 }), node("Relu", ["h"], ["z"], "relu1")] : [node("Gemm", ["x", "w1", "b1"], ["z"], "fc1", { transB: 1 })];
  return buildModel({
    opset: 13,
    inputs: [{ name: "x", shape: ["N", 4] }],
    initializers: [
      { name: "w1", dims: [6, 4], data: rng.f32(24, -1, 1) },
      { name: "b1", dims: [6], data: rng.f32(6, -0.5, 0.5) },
      { name: "w2", dims: [3, 6], data: rng.f32(18, -1, 1) },
      ...chain.inits,
    ],
    nodes: [...head, ...chain.nodes, node("Gemm", ["q", "w2"], ["y"], "fc2", { transB: 1 })],
    outputs: ["y"],
  });
}

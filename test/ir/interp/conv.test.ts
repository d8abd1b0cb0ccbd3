import { describe, expect, it } from "vitest";
import { isTsccError } from "../../../ir/diagnostics/diagnostic.js";
import { conv } from "../../../ir/interp/kernels/index.js";
import { interpret } from "../../../ir/interp/interpreter.js";
import { rtensor } from "../../../ir/interp/tensor.js";
import { BATCH, tensorType } from "../../../ir/types.js";
import { buildModel, runOnnx } from "../../support/onnx-builder.js";
import { Rng } from "../../support/random.js";
import { compareWithOrt, expectClose, newBuilder } from "./harness.js";

interface ConvSpec {
  x: number[];
  w: number[];
  bias?: boolean;
  strides?: number[];
  pads?: number[];
  dilations?: number[];
  group?: number;
  seed: number;
}

async function compareConv(s: ConvSpec) {
  const rng = new Rng(s.seed);
  const rank = s.x.length - 2;
  const kernel = s.w.slice(2);
  const attrs = {
    kernel_shape: kernel,
    strides: s.strides ?? new Array<number>(rank).fill(1),
    pads: s.pads ?? new Array<number>(2 * rank).fill(0),
    dilations: s.dilations ?? new Array<number>(rank).fill(1),
    group: s.group ?? 1,
  };
  const n = (d: number[]) => d.reduce((p, v) => p * v, 1);
  return compareWithOrt({
    onnx: { op: "Conv", attrs },
    nn: { op: "nn.conv", attrs },
    operands: [
      { name: "x", dims: s.x, data: rng.f32(n(s.x)) },
      { name: "w", dims: s.w, data: rng.f32(n(s.w), -0.5, 0.5), const: true },
      ...(s.bias ? [{ name: "b", dims: [s.w[0]!], data: rng.f32(s.w[0]!), const: true }] : []),
    ],
  });
}

describe("nn.conv matches onnxruntime", () => {
  it("2-D 3x3 with padding and bias", async () => {
    await compareConv({ x: [2, 3, 8, 8], w: [8, 3, 3, 3], bias: true, pads: [1, 1, 1, 1], seed: 1 });
  });

  it("groups, dilation, stride and asymmetric pads together", async () => {
    await compareConv({ x: [3, 4, 11, 9], w: [6, 2, 3, 3], bias: true, group: 2, dilations: [2, 1], strides: [2, 3], pads: [1, 0, 2, 1], seed: 2 });
  });

  it("depthwise (group = channels)", async () => {
    await compareConv({ x: [2, 6, 10, 10], w: [6, 1, 3, 3], bias: true, group: 6, pads: [1, 1, 1, 1], seed: 3 });
  });

  it("rectangular kernel, stride and dilation on a non-square input", async () => {
    await compareConv({ x: [1, 3, 7, 13], w: [4, 3, 2, 5], strides: [1, 2], dilations: [3, 2], pads: [0, 2, 1, 0], seed: 4 });
  });

  it("bias-free", async () => {
    await compareConv({ x: [2, 5, 6, 6], w: [7, 5, 3, 3], strides: [2, 2], pads: [1, 1, 1, 1], seed: 5 });
  });

  it("1x1 on a large map (reads the input in place)", async () => {
    await compareConv({ x: [2, 8, 16, 16], w: [5, 8, 1, 1], bias: true, seed: 6 });
  });

  it("small feature maps, several images unfolded per GEMM", async () => {
    await compareConv({ x: [5, 16, 3, 3], w: [9, 16, 3, 3], bias: true, pads: [1, 1, 1, 1], seed: 7 });
    await compareConv({ x: [7, 4, 4, 4], w: [3, 4, 1, 1], bias: true, seed: 8 });
  });

  it("long reductions (K = 1152) stay within 1e-4", async () => {
    await compareConv({ x: [1, 128, 6, 6], w: [16, 128, 3, 3], bias: true, pads: [1, 1, 1, 1], seed: 9 });
  });

  it("1-D with groups, stride, dilation and asymmetric pads", async () => {
    await compareConv({ x: [2, 4, 20], w: [6, 2, 3], bias: true, group: 2, strides: [2], dilations: [2], pads: [2, 1], seed: 10 });
  });

  it("batch 1 through a dynamic batch dimension", async () => {
    await compareConv({ x: [1, 2, 5, 5], w: [3, 2, 3, 3], pads: [0, 0, 0, 0], seed: 11 });
  });

  it("fused relu and clip equal Conv followed by Relu / Clip", async () => {
    const rng = new Rng(12);
    const x = rng.f32(2 * 3 * 6 * 6);
    const w = rng.f32(4 * 3 * 3 * 3);
    const bias = rng.f32(4);
    const convAttrs = { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 };
    for (const [act, extra] of [
      ["relu", {}],
      ["clip", { clip_min: -0.25, clip_max: 0.5 }],
    ] as const) {
      const bytes = buildModel({
        opset: 13,
        inputs: [{ name: "x", shape: ["N", 3, 6, 6] }],
        initializers: [
          { name: "w", dims: [4, 3, 3, 3], data: w },
          { name: "b", dims: [4], data: bias },
          ...(act === "clip"
            ? [
                { name: "lo", dims: [], data: Float32Array.of(-0.25) },
                { name: "hi", dims: [], data: Float32Array.of(0.5) },
              ]
            : []),
        ],
        nodes: [
          { op: "Conv", inputs: ["x", "w", "b"], outputs: ["c"], attrs: convAttrs },
          act === "relu" ? { op: "Relu", inputs: ["c"], outputs: ["y"] } : { op: "Clip", inputs: ["c", "lo", "hi"], outputs: ["y"] },
        ],
        outputs: ["y"],
      });
      const ref = (await runOnnx(bytes, { x: { dims: [2, 3, 6, 6], data: x } }))["y"]!;
      const { m, b } = newBuilder();
      const xv = m.addInput("x", tensorType([BATCH, 3, 6, 6]));
      const wv = m.addConst("w", tensorType([4, 3, 3, 3]), w).value;
      const bv = m.addConst("b", tensorType([4]), bias).value;
      m.outputs.push({ name: "y", value: b.value("nn.conv", [xv, wv, bv], { ...convAttrs, activation: act, ...extra }) });
      const ours = interpret(m, { x: rtensor([2, 3, 6, 6], "f32", x) })["y"]!;
      expectClose(ours, ref);
      if (act === "relu") expect(Math.min(...ours.data as Float32Array)).toBe(0);
    }
  });
});

describe("nn.conv kernel", () => {
  it("refuses 3-D convolution with a diagnostic", () => {
    const x = rtensor([1, 1, 3, 3, 3], "f32");
    const w = rtensor([1, 1, 1, 1, 1], "f32");
    let err: unknown;
    try {
      conv(x, w, undefined, { kernel: [1, 1, 1], strides: [1, 1, 1], pads: [0, 0, 0, 0, 0, 0], dilations: [1, 1, 1], group: 1 });
    } catch (e) {
      err = e;
    }
    expect(isTsccError(err)).toBe(true);
    expect(String(err)).toMatch(/3-D convolution.*1-D and 2-D/);
  });

  it("accumulates in float64: a sum that float32 accumulation gets wrong is exact", () => {
    // 1 + 2^-24 + ... : each term is lost when added to 1 in float32, but their sum (2^-12) is not.
    const k = 4096;
    const x = new Float32Array(k).fill(2 ** -24);
    x[0] = 1;
    const out = conv(rtensor([1, k, 1, 1], "f32", x), rtensor([1, k, 1, 1], "f32", new Float32Array(k).fill(1)), undefined, {
      kernel: [1, 1],
      strides: [1, 1],
      pads: [0, 0, 0, 0],
      dilations: [1, 1],
      group: 1,
    });
    expect(out.data[0]).toBe(Math.fround(1 + 4095 * 2 ** -24));
  });
});

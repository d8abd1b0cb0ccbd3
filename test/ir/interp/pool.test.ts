import { describe, expect, it } from "vitest";
import { averagePool, maxPool } from "../../../ir/interp/kernels/index.js";
import { Rng } from "../../support/random.js";
import { compareWithOrt, f32, values } from "./harness.js";

const numel = (d: readonly number[]) => d.reduce((p, v) => p * v, 1);

interface PoolSpec {
  x: number[];
  k: number[];
  s?: number[];
  p?: number[];
  d?: number[];
  ceil?: number;
  cip?: number;
  opset?: number;
  lo?: number;
  hi?: number;
}

function attrsOf(s: PoolSpec) {
  const r = s.k.length;
  return {
    kernel_shape: s.k,
    strides: s.s ?? new Array<number>(r).fill(1),
    pads: s.p ?? new Array<number>(2 * r).fill(0),
    dilations: s.d ?? new Array<number>(r).fill(1),
    ceil_mode: s.ceil ?? 0,
  };
}

async function comparePool(kind: "max" | "avg", s: PoolSpec, seed: number) {
  const rng = new Rng(seed);
  const attrs = attrsOf(s);
  const onnxAttrs: Record<string, number[] | number> = { ...attrs };
  // AveragePool has dilations only from opset 19; drop the trivial default before that.
  if (kind === "avg" && (s.opset ?? 13) < 19) delete onnxAttrs["dilations"];
  if (kind === "avg") onnxAttrs["count_include_pad"] = s.cip ?? 0;
  return compareWithOrt({
    onnx: { op: kind === "max" ? "MaxPool" : "AveragePool", attrs: onnxAttrs, opset: s.opset ?? 13 },
    nn: { op: kind === "max" ? "nn.max_pool" : "nn.average_pool", attrs: kind === "avg" ? { ...attrs, count_include_pad: s.cip ?? 0 } : attrs },
    operands: [{ name: "x", dims: s.x, data: rng.f32(numel(s.x), s.lo ?? -1, s.hi ?? 1) }],
  });
}

describe("nn.max_pool matches onnxruntime", () => {
  it("3x3 stride 2 pad 1", async () => {
    await comparePool("max", { x: [2, 3, 9, 9], k: [3, 3], s: [2, 2], p: [1, 1, 1, 1] }, 1);
  });

  it("ceil_mode on an odd map (2x2 stride 2)", async () => {
    const { ours } = await comparePool("max", { x: [2, 3, 7, 7], k: [2, 2], s: [2, 2], ceil: 1 }, 2);
    expect(ours.shape).toEqual([2, 3, 4, 4]);
  });

  it("ceil_mode with asymmetric pads", async () => {
    await comparePool("max", { x: [1, 2, 10, 7], k: [3, 3], s: [2, 2], p: [1, 0, 1, 2], ceil: 1 }, 3);
  });

  it("ceil_mode drops a last window that would start in the end padding", async () => {
    // Per axis: (5 + 2 - 2) / 2 rounded up is 3, + 1 = 4 windows, but the 4th starts at 6 = 5 + pad.
    const { ours } = await comparePool("max", { x: [1, 1, 5, 5], k: [2, 2], s: [2, 2], p: [1, 1, 1, 1], ceil: 1 }, 4);
    expect(ours.shape).toEqual([1, 1, 3, 3]);
  });

  it("dilations with padding", async () => {
    await comparePool("max", { x: [2, 2, 9, 8], k: [3, 2], s: [1, 2], d: [2, 3], p: [2, 1, 1, 1] }, 5);
  });

  it("padding never wins a max (all-negative input)", async () => {
    const { ours } = await comparePool("max", { x: [1, 2, 6, 6], k: [3, 3], s: [2, 2], p: [1, 1, 1, 1], ceil: 1, lo: -3, hi: -1 }, 6);
    expect(Math.max(...(ours.data as Float32Array))).toBeLessThan(0);
  });

  it("1-D with ceil_mode and pads", async () => {
    await comparePool("max", { x: [3, 4, 11], k: [3], s: [2], p: [1, 1], ceil: 1 }, 7);
  });
});

describe("nn.average_pool matches onnxruntime", () => {
  for (const cip of [0, 1]) {
    for (const ceil of [0, 1]) {
      it(`count_include_pad=${cip} ceil_mode=${ceil}, symmetric pads`, async () => {
        await comparePool("avg", { x: [2, 3, 7, 6], k: [3, 3], s: [2, 2], p: [1, 1, 1, 1], cip, ceil }, 10 + cip * 2 + ceil);
      });
      it(`count_include_pad=${cip} ceil_mode=${ceil}, asymmetric pads and rectangular kernel`, async () => {
        await comparePool("avg", { x: [1, 2, 8, 9], k: [2, 3], s: [3, 2], p: [1, 0, 0, 2], cip, ceil }, 20 + cip * 2 + ceil);
      });
    }
  }

  it("ceil_mode + count_include_pad=1: a window past the padded input divides by the taps inside input+pads", async () => {
    // 1 x 6 of ones, k 3, s 2, pads 1: windows start at -1, 1, 3, 5; the last covers 5, 6 (pad), 7 (outside).
    const { ours } = await compareWithOrt({
      onnx: { op: "AveragePool", attrs: { kernel_shape: [1, 3], strides: [1, 2], pads: [0, 1, 0, 1], ceil_mode: 1, count_include_pad: 1 } },
      nn: { op: "nn.average_pool", attrs: { kernel_shape: [1, 3], strides: [1, 2], pads: [0, 1, 0, 1], dilations: [1, 1], ceil_mode: 1, count_include_pad: 1 } },
      operands: [{ name: "x", dims: [1, 1, 1, 6], data: new Float32Array(6).fill(1) }],
    });
    expect(Array.from(ours.data as Float32Array).map((v) => +v.toFixed(4))).toEqual([0.6667, 1, 1, 0.5]);
  });

  it("1-D, both count_include_pad modes", async () => {
    await comparePool("avg", { x: [2, 3, 10], k: [4], s: [3], p: [2, 1], cip: 1, ceil: 1 }, 30);
    await comparePool("avg", { x: [2, 3, 10], k: [4], s: [3], p: [2, 1], cip: 0, ceil: 1 }, 31);
  });

  it("dilations (opset 19)", async () => {
    await comparePool("avg", { x: [1, 2, 9, 9], k: [3, 3], s: [2, 2], d: [2, 2], p: [1, 1, 1, 1], cip: 1, ceil: 1, opset: 19 }, 32);
    await comparePool("avg", { x: [1, 2, 9, 9], k: [3, 3], s: [2, 2], d: [2, 2], p: [1, 1, 1, 1], cip: 0, ceil: 0, opset: 19 }, 33);
  });

  it("no padding, stride = kernel", async () => {
    await comparePool("avg", { x: [3, 4, 8, 8], k: [2, 2], s: [2, 2] }, 34);
  });
});

describe("nn.global_average_pool matches onnxruntime", () => {
  it("2-D", async () => {
    const rng = new Rng(40);
    const { ours } = await compareWithOrt({
      onnx: { op: "GlobalAveragePool" },
      nn: { op: "nn.global_average_pool" },
      operands: [{ name: "x", dims: [3, 5, 6, 7], data: rng.f32(3 * 5 * 6 * 7) }],
    });
    expect(ours.shape).toEqual([3, 5, 1, 1]);
  });

  it("1-D", async () => {
    const rng = new Rng(41);
    await compareWithOrt({
      onnx: { op: "GlobalAveragePool" },
      nn: { op: "nn.global_average_pool" },
      operands: [{ name: "x", dims: [2, 4, 9], data: rng.f32(72) }],
    });
  });
});

describe("pool kernels", () => {
  const base = { strides: [1, 1], dilations: [1, 1], ceilMode: false };
  it("a window entirely in the padding: max is -inf, average 0 (onnxruntime rejects pads ≥ kernel)", () => {
    const x = f32([1, 1, 1, 1], [5]);
    const mx = maxPool(x, { ...base, kernel: [1, 1], pads: [1, 0, 0, 0] });
    expect(values(mx)).toEqual([-Infinity, 5]);
    const av = averagePool(x, { ...base, kernel: [1, 1], pads: [1, 0, 0, 0], countIncludePad: false });
    expect(values(av)).toEqual([0, 5]);
  });

  it("refuses 3-D pooling with a diagnostic", () => {
    expect(() => maxPool(f32([1, 1, 2, 2, 2], new Array(8).fill(0)), { ...base, kernel: [1, 1, 1], strides: [1, 1, 1], dilations: [1, 1, 1], pads: [0, 0, 0, 0, 0, 0] })).toThrow(
      /3-D max pooling/,
    );
  });
});

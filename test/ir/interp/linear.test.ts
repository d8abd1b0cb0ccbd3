import { describe, expect, it } from "vitest";
import { gemm, gemmNN, gemmNT, matmul } from "../../../ir/interp/kernels/index.js";
import { attr } from "../../support/onnx-builder.js";
import { Rng } from "../../support/random.js";
import { compareWithOrt, expectClose, f32, values } from "./harness.js";

const numel = (d: readonly number[]) => d.reduce((p, v) => p * v, 1);

describe("nn.gemm matches onnxruntime", () => {
  const cases: { name: string; a: number[]; b: number[]; c?: number[]; transA?: number; transB?: number; alpha?: number; beta?: number }[] = [
    { name: "plain A·B + C[n]", a: [3, 5], b: [5, 4], c: [4] },
    { name: "transB (PyTorch Linear) with a bias row", a: [4, 17], b: [9, 17], c: [9], transB: 1 },
    { name: "transA", a: [6, 3], b: [6, 5], c: [3, 5], transA: 1 },
    { name: "transA and transB, alpha and beta, C[m, 1]", a: [7, 2], b: [3, 7], c: [2, 1], transA: 1, transB: 1, alpha: 0.5, beta: -2 },
    { name: "scalar C [1, 1] and alpha 2", a: [5, 8], b: [8, 6], c: [1, 1], alpha: 2, beta: 0.25 },
    { name: "no C", a: [2, 9], b: [9, 3] },
    { name: "odd sizes across the 2x4 blocking", a: [5, 33], b: [7, 33], c: [5, 7], transB: 1 },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const rng = new Rng(numel(c.a) * 31 + numel(c.b));
      const attrs = { transA: c.transA ?? 0, transB: c.transB ?? 0, alpha: attr.float(c.alpha ?? 1), beta: attr.float(c.beta ?? 1) };
      await compareWithOrt({
        onnx: { op: "Gemm", attrs, opset: 13 },
        nn: { op: "nn.gemm", attrs: { transA: c.transA ?? 0, transB: c.transB ?? 0, alpha: c.alpha ?? 1, beta: c.beta ?? 1 } },
        // A with transA = 1 has no batch in front, so keep all shapes static.
        dynamicBatch: false,
        operands: [
          { name: "a", dims: c.a, data: rng.f32(numel(c.a)) },
          { name: "b", dims: c.b, data: rng.f32(numel(c.b)), const: true },
          ...(c.c ? [{ name: "c", dims: c.c, data: rng.f32(numel(c.c)), const: true }] : []),
        ],
      });
    });
  }

  it("batch N = 3 through a dynamic leading dimension; fused relu clamps the same result", async () => {
    const rng = new Rng(77);
    const a = rng.f32(30);
    const w = rng.f32(40);
    const c = rng.f32(4);
    const { ours } = await compareWithOrt({
      onnx: { op: "Gemm", attrs: { transB: 1 } },
      nn: { op: "nn.gemm", attrs: { transB: 1 } },
      operands: [
        { name: "a", dims: [3, 10], data: a },
        { name: "b", dims: [4, 10], data: w, const: true },
        { name: "c", dims: [4], data: c, const: true },
      ],
    });
    const fused = gemm(f32([3, 10], a), f32([4, 10], w), f32([4], c), { alpha: 1, beta: 1, transA: false, transB: true, activation: { lo: 0, hi: Infinity } });
    expectClose(fused, f32(ours.shape, (ours.data as Float32Array).map((v) => Math.max(v, 0))), 0);
  });
});

describe("nn.matmul matches onnxruntime", () => {
  const cases: [string, number[], number[]][] = [
    ["2-D × 2-D", [4, 6], [6, 5]],
    ["1-D × 2-D", [6], [6, 5]],
    ["2-D × 1-D", [4, 6], [6]],
    ["1-D × 1-D (dot product)", [7], [7]],
    ["batched × shared matrix (rows folded)", [3, 4, 5], [5, 2]],
    ["broadcast batch axes", [2, 1, 3, 4], [5, 4, 6]],
    ["both batched, B broadcast on the first axis", [2, 3, 4, 5], [1, 3, 5, 2]],
    ["1-D × batched", [4], [3, 4, 2]],
    ["batched × 1-D", [2, 3, 4], [4]],
  ];
  for (const [name, a, b] of cases) {
    it(name, async () => {
      const rng = new Rng(numel(a) * 7 + numel(b));
      await compareWithOrt({
        onnx: { op: "MatMul" },
        nn: { op: "nn.matmul" },
        dynamicBatch: false,
        operands: [
          { name: "a", dims: a, data: rng.f32(numel(a)) },
          { name: "b", dims: b, data: rng.f32(numel(b)), const: true },
        ],
      });
    });
  }

  it("dynamic batch N = 3 on the left operand", async () => {
    const rng = new Rng(5);
    await compareWithOrt({
      onnx: { op: "MatMul" },
      nn: { op: "nn.matmul" },
      operands: [
        { name: "a", dims: [3, 8], data: rng.f32(24) },
        { name: "b", dims: [8, 3], data: rng.f32(24), const: true },
      ],
    });
  });

  it("fused clip", () => {
    const y = matmul(f32([1, 2], [1, 2]), f32([2, 3], [1, -1, 3, 2, -2, 1]), { lo: -1, hi: 4 });
    expect(values(y)).toEqual([4, -1, 4]);
  });
});

describe("GEMM cores", () => {
  it("gemmNN and gemmNT agree with a naive float64 product for awkward sizes", () => {
    const rng = new Rng(3);
    for (const [m, k, n] of [
      [1, 1, 1],
      [5, 7, 3],
      [4, 4, 4],
      [9, 13, 600],
      [6, 3, 1030],
    ] as const) {
      const a = rng.f32(m * k);
      const b = rng.f32(k * n);
      const bt = new Float32Array(n * k);
      for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) bt[j * k + i] = b[i * n + j]!;
      const want = new Float64Array(m * n);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let t = 0; t < k; t++) want[i * n + j] += a[i * k + t]! * b[t * n + j]!;
      // Offsets into larger buffers are honoured.
      const big = new Float32Array(3 + a.length);
      big.set(a, 3);
      const got = new Float64Array(m * n + 2).fill(99);
      gemmNN(big, 3, b, 0, got, 2, m, k, n);
      const gotT = new Float64Array(m * n);
      gemmNT(a, 0, bt, 0, gotT, 0, m, k, n);
      for (let i = 0; i < m * n; i++) {
        expect(got[i + 2]).toBeCloseTo(want[i]!, 12);
        expect(gotT[i]).toBeCloseTo(want[i]!, 12);
      }
      expect(got[0]).toBe(99);
    }
  });
});

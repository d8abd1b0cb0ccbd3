/**
 * The fast engine (closed-form.onnx on onnxruntime, runOnnxClosedForm) computes the same network as the
 * float64 closed form: on dyadic weights, biases and inputs every float32 sum is exact too, so every
 * population's intervals, the outputs and every counter must be identical — including a convolution
 * whose kernel is a merged average pool, which the export runs factorised (AveragePool + a kernel s²
 * times smaller), and convolutions it must not factorise.
 */
import * as ort from "onnxruntime-node";
import onnxProto from "onnx-proto";
import { describe, expect, it } from "vitest";
import { closedFormOnnx, pooledFactor } from "../../../../backends/emulator/onnx-export.js";
import { createOrtSession, runClosedForm, runOnnxClosedForm, type OrtModule } from "../../../../backends/emulator/runtime/index.js";
import type { Network } from "../../../../backends/emulator/runtime/network.js";
import { Rng } from "../../../support/random.js";
import { NetBuilder } from "./net-builder.js";

function dyadic(rng: Rng, n: number, lo: number, hi: number): number[] {
  return Array.from({ length: n }, () => rng.int(Math.round(lo * 256), Math.round(hi * 256)) / 256);
}

/** A 3×3 kernel w [M, C, 3, 3] with a 2×2 average pool merged in front: [M, C, 6, 6], every entry w/4. */
function mergedPoolKernel(w: readonly number[], M: number, C: number): number[] {
  const out = new Array<number>(M * C * 36);
  for (let mc = 0; mc < M * C; mc++) for (let y = 0; y < 6; y++) for (let x = 0; x < 6; x++) out[(mc * 6 + y) * 6 + x] = w[(mc * 3 + (y >> 1)) * 3 + (x >> 1)]! / 4;
  return out;
}

/** Per-layer windows of the encoder and the three hidden populations (absent: T). */
type Windows = [x?: number, c1?: number, c2?: number, c3?: number];

function network(T: number, seed: number, w: Windows = []): { net: Network; merged: number; plain: number } {
  const rng = new Rng(seed);
  const nb = new NetBuilder("tsc", T);
  const x = nb.encode([2, 8, 8], { rounding: "round", window: w[0] });
  const c1 = nb.tsc(nb.conv(x, dyadic(rng, 4 * 2 * 9, -0.25, 0.375), [4, 2, 3, 3], { pads: [1, 1, 1, 1] }, dyadic(rng, 4, -0.125, 0.25)), { phi: 0.5, window: w[1] });
  // 2×2 average pool merged into a 3×3 conv (pad 1): 6×6 kernel, stride 2, pads 2.
  const merged = nb.conv(c1, mergedPoolKernel(dyadic(rng, 6 * 4 * 9, -0.25, 0.375), 6, 4), [6, 4, 6, 6], { strides: [2, 2], pads: [2, 2, 2, 2] }, dyadic(rng, 6, -0.125, 0.125));
  const c2 = nb.tsc(merged, { phi: 0.5, window: w[2] });
  const p = nb.maxpool(c2, [2, 2], [2, 2]);
  // A strided conv whose kernel is not block-constant: must stay as it is.
  const plain = nb.conv(p, dyadic(rng, 4 * 6 * 4, -0.25, 0.375), [4, 6, 2, 2], { strides: [2, 2] });
  const c3 = nb.tsc(plain, { phi: 0.5, window: w[3] });
  const flat = nb.reshape(c3, [4]);
  nb.decode(nb.dense(flat, dyadic(rng, 5 * 4, -0.5, 0.5), 5, dyadic(rng, 5, -0.25, 0.25)), 2);
  return { net: nb.build(), merged, plain };
}

describe("fast engine on onnxruntime = float64 closed form", () => {
  const cases: [string, number, Windows][] = [
    ["T = 8", 8, []],
    ["T = 32", 32, []],
    ["per-layer windows 16, 4, 8, 2", 32, [16, 4, 8, 2]],
  ];
  for (const [name, T, w] of cases) {
    it(`intervals, outputs and counters, ${name}`, async () => {
      const { net } = network(T, 40 + T, w);
      const rng = new Rng(T);
      const batch = 12;
      const x = Float32Array.from(dyadic(rng, batch * 2 * 64, 0, 1));
      const cf = runClosedForm(net, x, batch, { recordIntervals: true });
      const o = ort as unknown as OrtModule;
      const session = await createOrtSession(o, closedFormOnnx(net), 1);
      const fast = await runOnnxClosedForm(net, o, session, x, batch, { recordIntervals: true });
      expect(fast.outputs).toEqual(cf.outputs);
      expect(fast.counters).toEqual(cf.counters);
      for (const [v, d] of Object.entries(cf.intervals!)) expect(fast.intervals![Number(v)], `intervals of value ${v}`).toEqual(d);
      expect(cf.counters.spikes).toBeGreaterThan(0);
    });
  }

  it("without the counts (the window search's graph): the same outputs and intervals, no count outputs, every initializer used", async () => {
    const { net } = network(32, 9, [16, 4, 8, 2]);
    const rng = new Rng(5);
    const batch = 10;
    const x = Float32Array.from(dyadic(rng, batch * 2 * 64, 0, 1));
    const cf = runClosedForm(net, x, batch, { recordIntervals: true });
    const bytes = closedFormOnnx(net, { counters: false });
    const graph = onnxProto.onnx.ModelProto.decode(bytes).graph!;
    expect(graph.output!.map((o) => o.name).filter((n) => /^(active|dsum|syn)\./.test(n!))).toEqual([]);
    const read = new Set(graph.node!.flatMap((n) => n.input!));
    expect(graph.initializer!.map((t) => t.name).filter((n) => !read.has(n!))).toEqual([]);
    const o = ort as unknown as OrtModule;
    const session = await createOrtSession(o, bytes, 1);
    const c2 = net.nodes.filter((n) => n.kind === "tsc")[1]!.out;
    const fast = await runOnnxClosedForm(net, o, session, x, batch, { counters: false, recordIntervals: [c2] });
    expect(fast.outputs).toEqual(cf.outputs);
    expect(fast.intervals![c2]).toEqual(cf.intervals![c2]);
    // Only the listed values are fetched.
    expect(fast.intervals!.filter((d) => d !== null)).toHaveLength(1);
  });

  it("runs a merged average pool factorised, and only that convolution", () => {
    const { net, merged, plain } = network(8, 1);
    const conv = (v: number) => net.nodes.find((n) => n.out === v && n.kind === "conv") as Extract<Network["nodes"][number], { kind: "conv" }>;
    const f = pooledFactor(conv(merged), net.values[conv(merged).in]!.shape, net.values[merged]!.shape);
    expect(f).toMatchObject({ s: 2, wShape: [6, 4, 3, 3], strides: [1, 1], pads: [1, 1, 1, 1] });
    expect(pooledFactor(conv(plain), net.values[conv(plain).in]!.shape, net.values[plain]!.shape)).toBeUndefined();
    const model = onnxProto.onnx.ModelProto.decode(closedFormOnnx(net));
    const ops = model.graph!.node!.map((n) => n.opType);
    expect(ops.filter((t) => t === "AveragePool")).toHaveLength(1);
    expect(ops.filter((t) => t === "Conv")).toHaveLength(3);
  });
});

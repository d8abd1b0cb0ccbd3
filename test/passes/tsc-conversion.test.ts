/**
 * The whole conversion, checked against tsc.md §8.4 computed independently: after normalize-thresholds
 * the ANN is run op by op with the reference interpreter, each neuron's pre-activation z quantised to
 * clip(floor(T·z + φ), 0, T)/T and the input to round(x·T/s)·s/T. The converted SNN, run by the
 * emulator's closed form AND its event engine, must give the same logits — except where a
 * pre-activation sits on a floor boundary (a tie two correct summation orders may round apart), which
 * the test detects and counts instead of hiding.
 */
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { BATCH, evaluateOp, interpret, onnxNodeName, type Module, type Op, type Value } from "../../ir/index.js";
import { constToTensor } from "../../ir/interp/interpreter.js";
import type { RTensor } from "../../ir/interp/tensor.js";
import { buildNetwork } from "../../backends/emulator/build-network.js";
import { runClosedForm, runEvent } from "../../backends/emulator/runtime/index.js";
import { importOnnxFile } from "../../src/frontend/onnx/import.js";
import { readNpy } from "../../src/io/npy.js";
import { isNeuronPoint } from "../../src/passes/normalize-thresholds.js";
import { runPipeline } from "../support/ir.js";
import { Rng } from "../support/random.js";

const root = join(import.meta.dirname, "..", "..");
const fm = join(root, "examples", "fashion-mnist");

interface QuantResult {
  logits: Float32Array;
  /** Samples with at least one neuron whose T·z + φ lies within 1e-6 of an integer in [1, T]. */
  tieSamples: Set<number>;
}

/**
 * §8.4 on the normalised ANN, op by op. `T` is one window for every layer, or per-layer windows by the
 * layer's ONNX node name (the model input's name for the encoder); layers not named get `fallback`.
 */
function quantisedAnn(m: Module, x: RTensor, T: number | { windows: Record<string, number>; fallback: number }, phi: number): QuantResult {
  const windowOf = (name: string): number => (typeof T === "number" ? T : (T.windows[name] ?? T.fallback));
  const values = new Map<Value, RTensor>();
  const scale = (m.attrs["input_scale"] as number | undefined) ?? 1;
  const xd = x.data as Float32Array;
  const T0 = windowOf(m.inputs[0]!.name);
  values.set(m.inputs[0]!.value, { ...x, data: xd.map((v) => (Math.min(Math.max(Math.round((v * T0) / scale), 0), T0) * scale) / T0) });
  const tieSamples = new Set<number>();
  const batch = x.shape[0]!;
  const quantise = (t: RTensor, T: number): RTensor => {
    const per = t.data.length / batch;
    const out = new Float32Array(t.data.length);
    const d = t.data as Float32Array;
    for (let i = 0; i < d.length; i++) {
      const u = T * d[i]! + phi;
      const k = Math.round(u);
      if (k >= 1 && k <= T && Math.abs(u - k) < 1e-6 * Math.max(1, Math.abs(u))) tieSamples.add(Math.floor(i / per));
      out[i] = Math.min(Math.max(Math.floor(u), 0), T) / T;
    }
    return { shape: t.shape, dtype: "f32", data: out };
  };
  let last: RTensor | undefined;
  for (const op of m.ops) {
    const args = op.operands.map((v) => (v.constant ? constToTensor(v.constant) : values.get(v)!));
    if (op.name === "nn.softmax") {
      values.set(op.result, args[0]!);
      continue;
    }
    let r: RTensor;
    if (isNeuronPoint(op)) {
      const Tl = windowOf(onnxNodeName(op.loc));
      if (op.name === "nn.relu" || op.name === "nn.clip") r = quantise(args[0]!, Tl);
      else {
        const linear = { ...op, attrs: { ...op.attrs, activation: "none" }, def: op.def, operands: op.operands, results: op.results, name: op.name } as unknown as Op;
        r = quantise(evaluateOp(linear, args)[0]!, Tl);
      }
    } else r = evaluateOp(op, args)[0]!;
    values.set(op.result, r);
    last = r;
  }
  const out = values.get(m.outputs[0]!.value) ?? last!;
  return { logits: out.data as Float32Array, tieSamples };
}

async function convert(file: string, pipeline: string): Promise<{ normalized: Module; snn: Module }> {
  const m = importOnnxFile(file).module;
  await runPipeline(m, `canonicalize,${pipeline}`, { cwd: fm });
  const normalized = m.clone();
  await runPipeline(m, "insert-tsc-encoding{window=16}", { cwd: fm });
  return { normalized, snn: m };
}

function firstN(t: RTensor, n: number): RTensor {
  const per = t.data.length / t.shape[0]!;
  return { shape: [n, ...t.shape.slice(1)], dtype: "f32", data: (t.data as Float32Array).slice(0, n * per) };
}

describe.each([
  ["cnn-small (max pool, shape-chain flatten), per-channel scales", join(fm, "cnn-small.onnx"), "fold-input-normalization,normalize-thresholds{calibration=calib-images.npy,limit=200}", 1e-4],
  ["vgg-bn (BatchNorm folded, mean/std folded with mean padding, average pools merged), per-channel scales", join(fm, "vgg-bn.onnx"), "fold-input-normalization,normalize-thresholds{calibration=calib-images.npy,limit=200}", 1e-4],
  ["vgg-bn with one scale per layer", join(fm, "vgg-bn.onnx"), "fold-input-normalization,normalize-thresholds{calibration=calib-images.npy,limit=200,per-channel=false}", 1e-4],
])("%s", (_name, file, pipeline, tol) => {
  test("closed form and event engine equal the independently quantised ANN", async () => {
    const { normalized, snn } = await convert(file, pipeline);
    const x = firstN(readNpy(join(fm, "test-images.npy")), 24);
    const q = quantisedAnn(normalized, x, 16, 0.5);
    const { network } = buildNetwork(snn);
    const closed = runClosedForm(network, x.data as Float32Array, 24);
    const event = runEvent(network, x.data as Float32Array, 24);
    expect(event.outputs[0]).toEqual(closed.outputs[0]);
    const k = closed.outputs[0]!.length / 24;
    let compared = 0;
    for (let i = 0; i < 24; i++) {
      if (q.tieSamples.has(i)) continue;
      compared++;
      for (let j = 0; j < k; j++) {
        const a = closed.outputs[0]![i * k + j]!;
        const b = q.logits[i * k + j]!;
        expect(Math.abs(a - b), `sample ${i} logit ${j}: SNN ${a} vs quantised ANN ${b}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b)));
      }
    }
    expect(compared).toBeGreaterThanOrEqual(20);
  });
});

describe.each([
  ["a residual network (identity and projection shortcuts, global average pool)", "resnet_block.opset13.onnx", "snn.add"],
  ["a chain of padded average pools (count_include_pad 1 and 0, ceil mode) and a global pool merged into the dense layer", "bn_pool.opset13.onnx", "snn.dense"],
  ["ReLU6, channel concat and a zero Pad (opset 11 export)", "relu6_concat.opset11.onnx", "snn.concat"],
])("%s", (_name, fixture, expectOp) => {
  test("closed form equals the quantised ANN on random inputs", async () => {
    const file = join(root, "test", "fixtures", "onnx", fixture);
    const m = importOnnxFile(file).module;
    const shape = m.inputs[0]!.value.type.shape.map((d) => (d === BATCH ? 64 : d));
    const rng = new Rng(11);
    const cal: RTensor = { shape, dtype: "f32", data: rng.f32(Rng.numel(shape), 0, 1) };
    await runPipeline(m, "canonicalize,normalize-thresholds", { calibration: cal });
    const normalized = m.clone();
    await runPipeline(m, "insert-tsc-encoding{window=32}");
    expect(m.ops.some((op) => op.name === expectOp)).toBe(true);
    const x = { shape: [16, ...shape.slice(1)], dtype: "f32" as const, data: rng.f32(16 * Rng.numel(shape.slice(1)), 0, 1) };
    const q = quantisedAnn(normalized, x, 32, 0.5);
    const { network } = buildNetwork(m);
    const closed = runClosedForm(network, x.data, 16);
    const event = runEvent(network, x.data, 16);
    expect(event.outputs[0]).toEqual(closed.outputs[0]);
    const k = closed.outputs[0]!.length / 16;
    for (let i = 0; i < 16; i++) {
      if (q.tieSamples.has(i)) continue;
      for (let j = 0; j < k; j++) expect(closed.outputs[0]![i * k + j]!).toBeCloseTo(q.logits[i * k + j]!, 4);
    }
  });
});

describe("per-layer windows", () => {
  // Layers named by their ONNX node (the encoder by the model input's name) or by #k; others get window=16.
  const vggWindows = { input: 8, "/features/features.0/Conv": 4, "/features/features.7/Conv": 12, "/features/features.17/Conv": 6, "/classifier/classifier.1/Gemm": 32 };
  test("vgg-bn: each TSC population gets its window, and the SNN equals the ANN quantised with those windows", async () => {
    const m = importOnnxFile(join(fm, "vgg-bn.onnx")).module;
    await runPipeline(m, "canonicalize,fold-input-normalization,normalize-thresholds{calibration=calib-images.npy,limit=200}", { cwd: fm });
    const normalized = m.clone();
    const spec = Object.entries(vggWindows).map(([k, v]) => `${k}=${v}`).join(";");
    await runPipeline(m, `insert-tsc-encoding{window=16,windows=${JSON.stringify(spec)}}`, { cwd: fm });
    const tsc = m.ops.filter((op) => op.name === "snn.tsc" || op.name === "snn.encode");
    const got = Object.fromEntries(tsc.map((op) => [op.name === "snn.encode" ? "input" : onnxNodeName(op.loc), op.num("window")]));
    for (const [k, v] of Object.entries(vggWindows)) expect(got[k], k).toBe(v);
    expect(Object.values(got).filter((v) => v === 16).length).toBe(tsc.length - Object.keys(vggWindows).length);
    const x = firstN(readNpy(join(fm, "test-images.npy")), 24);
    const q = quantisedAnn(normalized, x, { windows: vggWindows, fallback: 16 }, 0.5);
    const { network } = buildNetwork(m);
    const closed = runClosedForm(network, x.data as Float32Array, 24);
    const event = runEvent(network, x.data as Float32Array, 24);
    expect(event.outputs[0]).toEqual(closed.outputs[0]);
    expect(closed.latency).toBe(8 + 4 + 16 + 12 + 16 + 16 + 6 + 16 + 32);
    const k = closed.outputs[0]!.length / 24;
    let compared = 0;
    for (let i = 0; i < 24; i++) {
      if (q.tieSamples.has(i)) continue;
      compared++;
      for (let j = 0; j < k; j++) expect(Math.abs(closed.outputs[0]![i * k + j]! - q.logits[i * k + j]!)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(q.logits[i * k + j]!)));
    }
    expect(compared).toBeGreaterThanOrEqual(20);
  });

  test("a residual network with mixed windows (#k keys) equals its quantised ANN", async () => {
    const file = join(root, "test", "fixtures", "onnx", "resnet_block.opset13.onnx");
    const m = importOnnxFile(file).module;
    const shape = m.inputs[0]!.value.type.shape.map((d) => (d === BATCH ? 64 : d));
    const rng = new Rng(5);
    const cal: RTensor = { shape, dtype: "f32", data: rng.f32(Rng.numel(shape), 0, 1) };
    await runPipeline(m, "canonicalize,normalize-thresholds", { calibration: cal });
    const normalized = m.clone();
    await runPipeline(m, `insert-tsc-encoding{window=16,windows="#0=32,#1=4,#2=8,#3=2"}`);
    const byIndex = m.ops.filter((op) => op.name === "snn.tsc" || op.name === "snn.encode");
    const windows: Record<string, number> = {};
    byIndex.forEach((op, i) => (windows[op.name === "snn.encode" ? normalized.inputs[0]!.name : onnxNodeName(op.loc)] = op.num("window")));
    expect(byIndex.slice(0, 4).map((op) => op.num("window"))).toEqual([32, 4, 8, 2]);
    const x = { shape: [16, ...shape.slice(1)], dtype: "f32" as const, data: rng.f32(16 * Rng.numel(shape.slice(1)), 0, 1) };
    const q = quantisedAnn(normalized, x, { windows, fallback: 16 }, 0.5);
    const { network } = buildNetwork(m);
    const closed = runClosedForm(network, x.data, 16);
    const event = runEvent(network, x.data, 16);
    expect(event.outputs[0]).toEqual(closed.outputs[0]);
    const k = closed.outputs[0]!.length / 16;
    for (let i = 0; i < 16; i++) {
      if (q.tieSamples.has(i)) continue;
      for (let j = 0; j < k; j++) expect(closed.outputs[0]![i * k + j]!).toBeCloseTo(q.logits[i * k + j]!, 4);
    }
  });

  test.each([
    ["a layer no population has", `"nope=4"`, /per-layer windows name no layer: 'nope'/],
    ["a window below 1", `"#1=0"`, /window of '#1' must be an integer in \[1, 65535\]/],
    ["a malformed entry", `"conv1"`, /expected layer=T, got 'conv1'/],
  ])("%s is reported", async (_what, spec, re) => {
    const m = importOnnxFile(join(fm, "cnn-small.onnx")).module;
    await runPipeline(m, "canonicalize,normalize-thresholds{calibration=calib-images.npy,limit=50}", { cwd: fm });
    await expect(runPipeline(m, `insert-tsc-encoding{windows=${spec}}`, { cwd: fm })).rejects.toThrow(re);
  });
});

describe("normalize-thresholds", () => {
  test.each([",per-channel=false", ""])("keeps the network's outputs (it only changes units inside)%s", async (extra) => {
    const m = importOnnxFile(join(fm, "vgg-bn.onnx")).module;
    await runPipeline(m, "canonicalize,fold-input-normalization", {});
    const before = m.clone();
    await runPipeline(m, `normalize-thresholds{calibration=calib-images.npy,limit=100${extra}}`, { cwd: fm });
    const x = firstN(readNpy(join(fm, "test-images.npy")), 8);
    const a = interpret(before, { input: x }).logits!;
    const b = interpret(m, { input: x }).logits!;
    for (let i = 0; i < a.data.length; i++) expect(b.data[i] as number).toBeCloseTo(a.data[i] as number, 3);
  });

  test("λ is the 99.9th percentile of the positive activations (checked by sorting)", async () => {
    const m = importOnnxFile(join(fm, "cnn-small.onnx")).module;
    await runPipeline(m, "canonicalize", {});
    const cal = firstN(readNpy(join(fm, "calib-images.npy")), 100);
    const seen = new Map<Value, number[]>();
    interpret(m, { input: cal }, {
      observe: (v, t, op) => {
        if (!isNeuronPoint(op)) return;
        const arr = seen.get(v) ?? [];
        for (const x of t.data as Float32Array) if (x > 0) arr.push(x);
        seen.set(v, arr);
      },
    });
    const expected = [...seen.values()].map((vals) => {
      vals.sort((p, q) => p - q);
      return vals[Math.ceil(0.999 * vals.length) - 1]!;
    });
    await runPipeline(m, "normalize-thresholds{per-channel=false}", { calibration: cal });
    const lambdas = m.ops.filter(isNeuronPoint).map((op) => op.num("lambda"));
    expect(lambdas.length).toBe(expected.length);
    lambdas.forEach((l, i) => expect(Math.abs(l - expected[i]!) / expected[i]!).toBeLessThan(0.005));
  });
});

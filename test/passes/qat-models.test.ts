/**
 * The quantisation-aware trained example networks (examples/fashion-mnist/vgg-bn-qat{2,4,8}.onnx: QCFS
 * with L levels and a quantised input) on the shipped test images. Three computations of the same
 * network are compared quantiser by quantiser:
 *   - onnxruntime on the ONNX model (float32, its own summation order), with every Floor's input as an
 *     extra output;
 *   - the reference interpreter, on the model as imported (`tscc run model.onnx`: the chains op by op)
 *     and after canonicalize (fused quantisers, BatchNorm folded);
 *   - the spiking network (canonicalize, normalize-thresholds WITHOUT calibration data,
 *     insert-tsc-encoding: T = L for every layer and the encoder), run by the float64 closed form.
 * By tsc.md §8.4 they compute the same levels. Two correct float computations can only floor apart where
 * the value being floored lies within rounding of an integer (a tie). So for each image the first
 * quantiser where two computations differ must differ only at ties (|w − round w| ≤ 1e-4·max(1, |w|)
 * with w the floored value), later differences being consequences; an image without any difference
 * must have the same prediction and logits within 1e-5. The counts are logged.
 *
 * The first TSCC_QAT_IMAGES test images (default 50) are used; TSCC_QAT_IMAGES=1000 checks them all
 * (docs/conversion.md records that run).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import { describe, expect, test } from "vitest";
import { evaluateOp, onnxNodeName, type Module, type Op, type Value } from "../../ir/index.js";
import { constToTensor, quantizeInputs } from "../../ir/interp/interpreter.js";
import { quantizeInPlace } from "../../ir/interp/kernels/index.js";
import type { RTensor } from "../../ir/interp/tensor.js";
import { buildNetwork } from "../../backends/emulator/build-network.js";
import { runClosedForm, runEvent } from "../../backends/emulator/runtime/index.js";
import { importOnnxFile } from "../../src/frontend/onnx/import.js";
import { readNpy } from "../../src/io/npy.js";
import { runPipeline } from "../support/ir.js";
import { runOrt } from "../support/onnx-import.js";

const fm = join(import.meta.dirname, "..", "..", "examples", "fashion-mnist");
const N = Number(process.env["TSCC_QAT_IMAGES"] ?? 50);
const TIE = 1e-4;
/** Generous for a loaded 2-core machine: about 0.3 s per image for the four computations. */
const TIMEOUT = 120_000 + N * 2_000;

/** One quantiser of one computation: the floored values w and the levels clip(floor(w), 0, L), N×n each. */
interface Layer {
  w?: ArrayLike<number>;
  k: ArrayLike<number>;
}

/** Layers keyed by the ONNX Floor node of the quantiser ("input" for the input quantiser), in network order. */
interface Run {
  layers: Map<string, Layer>;
  logits: Float32Array;
}

function firstN(t: RTensor, n: number): RTensor {
  const per = t.data.length / t.shape[0]!;
  return { shape: [n, ...t.shape.slice(1)], dtype: "f32", data: (t.data as Float32Array).slice(0, n * per) };
}

const levelsOf = (w: ArrayLike<number>, L: number): Int32Array => Int32Array.from({ length: w.length }, (_, i) => Math.min(Math.max(Math.floor(w[i]!), 0), L));

/** The ONNX Floor node among the nodes a fused op came from. */
function floorNode(op: Op): string {
  const locs = op.loc.kind === "fused" ? op.loc.locs : [op.loc];
  const l = locs.find((x) => x.kind === "onnx" && x.opType === "Floor");
  return l && l.kind === "onnx" ? l.node : "";
}

/** onnxruntime on the model file, every Floor's input added as a graph output. */
async function ortRun(file: string, x: RTensor, L: number): Promise<Run> {
  const { onnx } = onnxProto;
  const model = onnx.ModelProto.decode(readFileSync(file));
  const floors = model.graph!.node!.filter((n) => n.opType === "Floor");
  for (const f of floors) model.graph!.output!.push(onnx.ValueInfoProto.create({ name: f.input![0]!, type: { tensorType: { elemType: 1 } } }));
  const out = await runOrt(onnx.ModelProto.encode(model).finish(), { input: x });
  const layers = new Map<string, Layer>();
  for (const f of floors) {
    const w = out[f.input![0]!]!.data as Float32Array;
    layers.set(f.name!.includes("input_quant") ? "input" : f.name!, { w, k: levelsOf(w, L) });
  }
  return { layers, logits: out["logits"]!.data as Float32Array };
}

/**
 * The reference interpreter's arithmetic, op by op with its kernels, recording what each quantiser
 * floors: an nn.floor's operand (model as imported), or a fused quantiser's u = z/(λ/L) + φ in float32
 * (canonical), exactly as the interpreter's kernel computes it.
 */
function interpreterRun(m: Module, x: RTensor, L: number): Run {
  const layers = new Map<string, Layer>();
  const values = new Map<Value, RTensor>();
  const xq = quantizeInputs(m, { input: x })["input"]!;
  if (m.attrs["input_levels"] !== undefined) {
    const w = Float32Array.from(x.data as Float32Array, (v) => Math.fround(Math.fround(v * L) + 0.5));
    layers.set("input", { w, k: levelsOf(w, L) });
  }
  values.set(m.inputs[0]!.value, xq);
  let last: RTensor | undefined;
  for (const op of m.ops) {
    const args = op.operands.map((v) => (v.constant ? constToTensor(v.constant) : values.get(v)!));
    let r: RTensor;
    if (op.attrs["activation"] === "quant") {
      const linear = { ...op, attrs: { ...op.attrs, activation: "none" }, def: op.def, operands: op.operands, results: op.results, name: op.name } as unknown as Op;
      const z = evaluateOp(linear, args)[0]!;
      const step = op.num("quant_lambda") / op.num("quant_levels");
      const w = Float32Array.from(z.data as Float32Array, (v) => Math.fround(Math.fround(v / step) + op.num("quant_phi")));
      layers.set(floorNode(op), { w, k: levelsOf(w, L) });
      const y = Float32Array.from(z.data as Float32Array);
      quantizeInPlace(y, { levels: op.num("quant_levels"), lambda: op.num("quant_lambda"), phi: op.num("quant_phi"), rounding: "floor" });
      r = { ...z, data: y };
    } else {
      r = evaluateOp(op, args)[0]!;
      if (op.name === "nn.floor") {
        const w = args[0]!.data as Float32Array;
        layers.set(floorNode(op).includes("input_quant") ? "input" : floorNode(op), { w, k: levelsOf(w, L) });
      }
    }
    values.set(op.result, r);
    last = r;
  }
  return { layers, logits: (values.get(m.outputs[0]!.value) ?? last!).data as Float32Array };
}

interface Agreement {
  exact: number;
  ties: number;
  unexplained: string[];
  predictionsDiffer: number;
  worstExactLogit: number;
}

function argmax(d: Float32Array, i: number): number {
  let best = 0;
  for (let j = 1; j < 10; j++) if (d[i * 10 + j]! > d[i * 10 + best]!) best = j;
  return best;
}

/** Image by image: the first quantiser where `a` and `b` differ may differ only at ties. */
function agreement(a: Run, b: Run, order: readonly string[]): Agreement {
  const r: Agreement = { exact: 0, ties: 0, unexplained: [], predictionsDiffer: 0, worstExactLogit: 0 };
  for (let i = 0; i < N; i++) {
    let verdict: "exact" | "ties" | "unexplained" = "exact";
    for (const key of order) {
      const la = a.layers.get(key)!;
      const lb = b.layers.get(key)!;
      const n = la.k.length / N;
      let differ = false;
      for (let j = i * n; j < (i + 1) * n; j++) {
        if (la.k[j] === lb.k[j]) continue;
        differ = true;
        const tie = [la.w, lb.w].some((w) => w !== undefined && Math.abs(w[j]! - Math.round(w[j]!)) <= TIE * Math.max(1, Math.abs(w[j]!)));
        if (!tie) {
          verdict = "unexplained";
          r.unexplained.push(`image ${i}, '${key}' neuron ${j - i * n}: ${la.k[j]} vs ${lb.k[j]} (w = ${la.w?.[j]} / ${lb.w?.[j]})`);
          break;
        }
      }
      if (differ) {
        if (verdict === "exact") verdict = "ties";
        break;
      }
    }
    if (verdict === "exact") {
      r.exact++;
      for (let j = 0; j < 10; j++) r.worstExactLogit = Math.max(r.worstExactLogit, Math.abs(a.logits[i * 10 + j]! - b.logits[i * 10 + j]!));
      if (argmax(a.logits, i) !== argmax(b.logits, i)) r.unexplained.push(`image ${i}: same levels everywhere but a different prediction`);
    } else if (verdict === "ties") r.ties++;
    if (argmax(a.logits, i) !== argmax(b.logits, i)) r.predictionsDiffer++;
  }
  return r;
}

function expectAgreement(what: string, r: Agreement): void {
  console.log(`${what}: ${r.exact} of ${N} images with every level equal (logits within ${r.worstExactLogit.toExponential(1)}), ${r.ties} differing only from a tie on, ${r.predictionsDiffer} predictions differ`);
  expect(r.unexplained, what).toEqual([]);
  expect(r.worstExactLogit, what).toBeLessThanOrEqual(1e-5);
  // Ties are rare: most images agree level for level.
  expect(r.exact, what).toBeGreaterThanOrEqual(0.9 * N);
}

describe.each([2, 4, 8])("vgg-bn-qat%i", (L) => {
  const file = join(fm, `vgg-bn-qat${L}.onnx`);
  const x = firstN(readNpy(join(fm, "test-images.npy")), N);

  test("canonicalize fuses every QCFS activation and the input quantiser; no calibration is needed; T = L everywhere", async () => {
    const m = importOnnxFile(file).module;
    await runPipeline(m, "canonicalize");
    expect(m.attrs).toMatchObject({ input_levels: L, input_rounding: "floor" });
    const quant = m.ops.filter((op) => op.attrs["activation"] === "quant");
    expect(quant.map((op) => op.num("quant_levels"))).toEqual(new Array<number>(8).fill(L));
    expect(m.ops.map((op) => op.name).filter((n) => !["nn.conv", "nn.gemm", "nn.average_pool", "nn.flatten"].includes(n))).toEqual([]);
    await runPipeline(m, "normalize-thresholds,insert-tsc-encoding");
    const populations = m.ops.filter((op) => op.name === "snn.tsc" || op.name === "snn.encode");
    expect(populations.map((op) => op.num("window"))).toEqual(new Array<number>(9).fill(L));
    // The event engine (the spec's state machine) gives the closed form's logits bit for bit.
    const { network } = buildNetwork(m);
    const few = firstN(x, 2).data as Float32Array;
    expect(runEvent(network, few, 2).outputs[0]).toEqual(runClosedForm(network, few, 2).outputs[0]);
  }, TIMEOUT);

  test("the reference interpreter (as imported and canonical) and the SNN's closed form equal onnxruntime level for level, up to ties", async () => {
    const ort = await ortRun(file, x, L);
    const order = [...ort.layers.keys()];
    const raw = interpreterRun(importOnnxFile(file).module, x, L);
    const canonical = importOnnxFile(file).module;
    await runPipeline(canonical, "canonicalize");
    const canon = interpreterRun(canonical, x, L);
    expectAgreement(`qat${L} interpreter (as imported) vs onnxruntime`, agreement(raw, ort, order));
    expectAgreement(`qat${L} interpreter (canonical) vs onnxruntime`, agreement(canon, ort, order));

    // The SNN: closed-form intervals per population, keyed like the ANN's quantisers.
    const snnModule = canonical.clone();
    await runPipeline(snnModule, "normalize-thresholds,insert-tsc-encoding");
    const { network } = buildNetwork(snnModule);
    const closed = runClosedForm(network, x.data as Float32Array, N, { recordIntervals: true });
    expect(closed.latency).toBe(9 * L);
    const floorOfPopulation = new Map(canonical.ops.filter((op) => op.attrs["activation"] === "quant").map((op) => [onnxNodeName(op.loc), floorNode(op)]));
    const snn: Run = { layers: new Map(), logits: closed.outputs[0]! };
    for (const node of network.nodes) {
      if (node.kind !== "tsc" && node.kind !== "encode") continue;
      const name = network.values[node.out]!.name;
      snn.layers.set(node.kind === "encode" ? "input" : floorOfPopulation.get(name)!, { k: closed.intervals![node.out]! });
    }
    expect([...snn.layers.keys()].sort()).toEqual([...order].sort());
    expectAgreement(`qat${L} SNN closed form (T = ${L}) vs interpreter (canonical)`, agreement(snn, canon, order));
  }, TIMEOUT);
});

/** Partitioning choices: the granularities tried, and what half-core compartment tiles buy. */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { granularities } from "../../../backends/loihi/partition.js";
import { compile } from "../../../src/driver/compile.js";
import { writeNpy } from "../../../src/io/npy.js";
import { removeDir, tempDir, ROOT } from "../../cli/support.js";
import { buildModel } from "../../support/onnx-builder.js";
import { loadState } from "../../../backends/loihi/state.js";
import { checkArtifact } from "./checker.js";

const dir = tempDir("tscc-loihi-partition-");
afterAll(() => removeDir(dir));

test("granularities: every requested (γ, γ_cx) with γ_cx raised to γ, coarsest first, no repeats", () => {
  expect(granularities()).toEqual([
    { all: 1, cx: 1 },
    { all: 1, cx: 2 },
    { all: 1, cx: 4 },
    { all: 2, cx: 2 },
    { all: 2, cx: 4 },
  ]);
  expect(granularities([2], undefined)).toEqual([
    { all: 2, cx: 2 },
    { all: 2, cx: 4 },
  ]);
  expect(granularities(undefined, [1])).toEqual([
    { all: 1, cx: 1 },
    { all: 2, cx: 2 },
  ]);
  expect(granularities([1], [3])).toEqual([{ all: 1, cx: 3 }]);
});

/**
 * A ResNet-like network in miniature: a 16 × 16 × 16 layer whose 256-neuron tiles fill a core's
 * compartments while using little memory and few out-axons, then 64 × 4 × 4 layers whose tiles fill
 * a core's synapse memory (or whose neurons reach many consumer tiles) with compartments to spare.
 * Whole-core tiles cannot share a core; with half-core compartment tiles (γ_cx = 2) a core pairs half
 * a compartment-bound tile with a memory- or out-axon-heavy one, and the mapping reaches the tightened
 * lower bound.
 */
test("half-core compartment tiles pair compartment-bound with out-axon-bound tiles and reach the bound", async () => {
  const w = (n: number, seed: number, s: number): Float32Array => new Float32Array(n).map((_, i) => (((i * 7919 + seed) % 97) / 97 - 0.45) * s);
  const cal = join(dir, "cal.npy");
  writeNpy(cal, { shape: [4, 1, 16, 16], dtype: "f32", data: new Float32Array(4 * 256).map((_, i) => ((i * 37) % 101) / 100) });
  const model = join(dir, "mini-resnet.onnx");
  const conv = (x: string, wn: string, y: string, strides = [1, 1]) => ({ op: "Conv", inputs: [x, wn], outputs: [y], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides } });
  writeFileSync(
    model,
    buildModel({
      inputs: [{ name: "input", shape: ["N", 1, 16, 16] }],
      outputs: ["r3"],
      initializers: [
        { name: "w0", dims: [16, 1, 3, 3], data: w(144, 1, 0.5) },
        { name: "w1", dims: [64, 16, 3, 3], data: w(64 * 144, 2, 0.2) },
        { name: "w2", dims: [64, 64, 3, 3], data: w(64 * 576, 3, 0.1) },
        { name: "w3", dims: [64, 64, 3, 3], data: w(64 * 576, 4, 0.1) },
      ],
      nodes: [
        conv("input", "w0", "c0"),
        { op: "Relu", inputs: ["c0"], outputs: ["r0"] },
        conv("r0", "w1", "c1", [4, 4]),
        { op: "Relu", inputs: ["c1"], outputs: ["r1"] },
        conv("r1", "w2", "c2"),
        { op: "Relu", inputs: ["c2"], outputs: ["r2"] },
        conv("r2", "w3", "c3"),
        { op: "Relu", inputs: ["c3"], outputs: ["r3"] },
      ],
    }),
  );
  const report = async (name: string, opts: Record<string, string>) => {
    const outDir = join(dir, name);
    const r = await compile({ model, target: "loihi", outDir, backendOptions: { calibration: cal, "per-channel": "false", ...opts }, cwd: ROOT });
    expect(checkArtifact(outDir).problems).toEqual([]);
    return { module: r.module, rep: JSON.parse(readFileSync(join(outDir, "resource-report.json"), "utf8")) };
  };
  const { rep: whole } = await report("whole", { granularity: "1", "cx-granularity": "1" });
  const { rep: auto, module } = await report("auto", {});
  const bound = auto.lower_bound.tightened.cores;
  expect(whole.lower_bound.tightened.cores).toBe(bound);
  // Whole-core tiles: the 64 × 4 × 4 layers' cores run out of another resource with at most half
  // their compartments used (plus a few layer-clock compartments, 6 per clock group).
  expect(whole.cores).toBeGreaterThan(bound);
  type Core = { binding: string; layers: string[]; used: { compartments: number }; limit: { compartments: number } };
  const halfEmpty = whole.per_core.filter((c: Core) => c.binding !== "compartments" && c.used.compartments <= c.limit.compartments / 2 + 6 * c.layers.filter((l) => l.endsWith("(clock)")).length);
  expect(halfEmpty.length).toBeGreaterThanOrEqual(whole.cores - bound);
  // Tried by default: the partition at the bound, with cores holding tiles of two layers.
  expect(auto.cores).toBe(bound);
  expect(auto.per_core.some((c: Core) => new Set(c.layers.filter((l) => !l.endsWith("(clock)"))).size === 2)).toBe(true);
  expect((module.attrs["loihi.granularity"] as number[])[1]).toBeGreaterThan(1);
  // A module written before γ_cx existed holds one γ for every resource; it reloads as (γ, γ).
  module.attrs["loihi.granularity"] = 2;
  expect(loadState(module).part!.granularity).toEqual({ all: 2, cx: 2 });
}, 120_000);

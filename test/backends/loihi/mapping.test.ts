/**
 * The Fashion-MNIST examples map onto loihi1 and loihi2 profiles: the independent checker confirms
 * every core against its profile, compiles are byte-identical, the report carries what the issue asks.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { printModule } from "../../../ir/index.js";
import { removeDir, tempDir, tscc, ROOT } from "../../cli/support.js";
import { checkArtifact } from "./checker.js";
import { CNN_SMALL, compileLoihi, VGG_BN } from "./support.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

function out(): string {
  const d = tempDir("tscc-loihi-");
  dirs.push(d);
  return join(d, "out");
}

const cases: [string, string, Record<string, string>][] = [
  ["cnn-small", CNN_SMALL, {}],
  ["vgg-bn", VGG_BN, {}],
  ["cnn-small loihi2", CNN_SMALL, { profile: "loihi2" }],
  ["vgg-bn loihi2", VGG_BN, { profile: "loihi2" }],
  ["cnn-small exponent=core", CNN_SMALL, { exponent: "core" }],
  ["cnn-small per-layer windows", CNN_SMALL, { "layer-windows": "#0=6,#1=16,#2=4,#3=12" }],
];

describe("examples map and the independent checker accepts every core", () => {
  for (const [name, model, opts] of cases) {
    test(name, async () => {
      const dir = out();
      await compileLoihi(model, dir, opts);
      const r = checkArtifact(dir);
      expect(r.problems).toEqual([]);
      expect(r.cores).toBeGreaterThan(0);
      const rep = JSON.parse(readFileSync(join(dir, "resource-report.json"), "utf8"));
      for (const k of ["cores", "chips", "lower_bound", "per_core", "per_layer", "traffic", "energy_per_inference_pj", "latency_steps", "drc", "overflow"]) expect(rep).toHaveProperty(k);
      // Both bounds are lower bounds of every mapping tscc makes (docs/loihi.md "Lower bounds").
      expect(rep.lower_bound.cores).toBeLessThanOrEqual(rep.cores);
      expect(rep.lower_bound.tightened.cores).toBeLessThanOrEqual(rep.cores);
      expect(rep.drc.every((d: { pass: boolean; severity: string }) => d.pass || d.severity === "warning")).toBe(true);
      expect(rep.traffic.hop_weighted).toBeLessThanOrEqual(rep.traffic.naive_sequential.hop_weighted);
      const md = readFileSync(join(dir, "resource-report.md"), "utf8");
      expect(md).toContain("![cores per layer](mapping.svg)");
      expect(readFileSync(join(dir, "mapping.svg"), "utf8")).toMatch(/^<svg /);
      for (const f of ["mapping.json", "routes.json", "quantization.json", "hw-profile.json", "network.json", "weights.bin", "manifest.json"]) expect(readdirSync(dir)).toContain(f);
    });
  }
});

test("the checker catches a core over its limit", async () => {
  const dir = out();
  await compileLoihi(CNN_SMALL, dir, {});
  const { writeFileSync } = await import("node:fs");
  const p = JSON.parse(readFileSync(join(dir, "hw-profile.json"), "utf8"));
  p.cx_per_core = 100;
  writeFileSync(join(dir, "hw-profile.json"), JSON.stringify(p));
  expect(checkArtifact(dir).problems.some((x) => /compartments > 100/.test(x))).toBe(true);
});

test("two compiles are byte-identical", async () => {
  const a = out();
  const b = out();
  await compileLoihi(CNN_SMALL, a, { window: "16" });
  await compileLoihi(CNN_SMALL, b, { window: "16", "calibration-limit": "64" });
  const files = readdirSync(a).sort();
  expect(readdirSync(b).sort()).toEqual(files);
  for (const f of files) expect(readFileSync(join(b, f)).equals(readFileSync(join(a, f))), f).toBe(true);
});

test("pass results live in the IR (--dump-ir-after loihi:partition)", async () => {
  const r = await compileLoihi(CNN_SMALL, undefined, {});
  const text = printModule(r.module);
  for (const k of ['"loihi.cores"', '"loihi.tiling"', '"loihi.weight_exps"', '"loihi.scale"', '"loihi.vth_mant"', '"loihi.num_cores"', '"loihi.placement"']) expect(text).toContain(k);
  expect(r.pipeline).toContain("loihi:quantize{exponent=layer,profile=loihi1},loihi:partition{cx-granularity=0,granularity=0},loihi:place{energy=davies2018},loihi:route");
});

test("tscc backends --json lists the profiles and their limits", async () => {
  const r = await tscc(["backends", "--json"], ROOT);
  expect(r.code).toBe(0);
  const b = JSON.parse(r.stdout).backends.find((x: { name: string }) => x.name === "loihi");
  expect(b.passes).toEqual(["loihi:quantize", "loihi:partition", "loihi:place", "loihi:route"]);
  const l1 = b.details.profiles.loihi1;
  expect(l1.cx_per_core).toBe(1024);
  expect(l1.in_axons).toBe(4096);
  expect(l1.syn_bits_per_core).toBe(1048576);
  expect(l1.sources.cx_per_core.tag).toBe("P");
  expect(b.details.profiles.loihi2.confidence).toBe("low");
  expect(Object.keys(l1.sources).length).toBeGreaterThan(30);
});

test("rate coding is refused with a clear diagnostic", async () => {
  const dir = out();
  const r = await tscc(["compile", CNN_SMALL, "--target", "loihi", "--coding", "rate", "--calibration", "example:fashion-mnist", "-o", dir], ROOT);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("the Loihi backend maps Temporal-Switch-Coded networks only");
});

test("a module reloaded from its attributes gives the same mapping as the compile's own partition", async () => {
  const { loadState } = await import("../../../backends/loihi/state.js");
  const { mappingJson } = await import("../../../backends/loihi/emit.js");
  const r = await compileLoihi(VGG_BN, undefined, {});
  r.module.attrs["loihi.energy"] = "davies2018";
  const fromCache = JSON.stringify(mappingJson(loadState(r.module), { source: "x" }));
  const copy = r.module.clone();
  const rebuilt = JSON.stringify(mappingJson(loadState(copy), { source: "x" }));
  expect(rebuilt).toBe(fromCache);
});

test("per-layer windows: each layer's comparators get the refractory delay of its own window (OR gates: their source's)", async () => {
  const dir = out();
  await compileLoihi(CNN_SMALL, dir, { "layer-windows": "#0=6,#1=16,#2=4,#3=12" });
  const mapping = JSON.parse(readFileSync(join(dir, "mapping.json"), "utf8"));
  const want: Record<string, string> = { "/Relu": "comparator-refract-17", "/MaxPool": "or-gate-refract-17", "/Relu_1": "comparator-refract-5", "/MaxPool_1": "or-gate-refract-5", "/Relu_2": "comparator-refract-13" };
  for (const [layer, key] of Object.entries(want)) {
    const cores = mapping.layer_to_cores[layer] as number[];
    expect(cores.length, layer).toBeGreaterThan(0);
    for (const c of cores) expect(mapping.cores[c].cx_profiles, `${layer} core ${c}`).toContain(key);
  }
  expect(mapping.layers.map((l: { name: string; schedule: { window: number } }) => `${l.name}:${l.schedule.window}`)).toEqual(["/Relu:16", "/MaxPool:16", "/Relu_1:4", "/MaxPool_1:4", "/Relu_2:12", "/fc2/Gemm:12"]);
});

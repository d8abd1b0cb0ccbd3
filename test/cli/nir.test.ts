/**
 * The NIR workflow from the command line: export (one file), inspect, compile a .nir for the emulator
 * and run it on spike trains, and the round trip's artifact giving the same report as the direct one.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readNpy, writeNpy } from "../../src/io/npy.js";
import { removeDir, ROOT, tempDir, tscc } from "./support.js";

const EX = join(ROOT, "examples/fashion-mnist");
const FIX = join(ROOT, "test/fixtures/nir");
let dir: string;
beforeAll(() => {
  dir = tempDir("tscc-cli-nir-");
});
afterAll(() => removeDir(dir));

const conv = ["--calibration", join(EX, "calib-images.npy"), "-O", "calibration-limit=100", "--window", "4"];

describe("tscc and NIR files", () => {
  it("compile --target nir writes one file; the default name is the model's", async () => {
    const r = await tscc(["compile", join(EX, "cnn-small.onnx"), "--target", "nir", ...conv], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(dir)).toContain("cnn-small.nir");
    expect(r.stdout).toContain("files: model.nir");
  });

  it("inspect shows the restored network", async () => {
    const r = await tscc(["inspect", "cnn-small.nir", "--format", "table"], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/snn\.encode[\s\S]*snn\.tsc[\s\S]*snn\.decode/);
  });

  it("the emulator artifact compiled from the .nir reports what the one from ONNX does", async () => {
    expect((await tscc(["compile", "cnn-small.nir", "--target", "emulator", "-o", "from-nir"], dir)).code).toBe(0);
    expect((await tscc(["compile", join(EX, "cnn-small.onnx"), "--target", "emulator", ...conv, "-o", "direct"], dir)).code).toBe(0);
    expect(existsSync(join(dir, "from-nir", "reference"))).toBe(false);
    const x = readNpy(join(EX, "test-images.npy"));
    const y = readNpy(join(EX, "test-labels.npy"));
    writeNpy(join(dir, "x.npy"), { shape: [100, 1, 28, 28], dtype: "f32", data: (x.data as Float32Array).slice(0, 100 * 784) });
    writeNpy(join(dir, "y.npy"), { shape: [100], dtype: y.dtype, data: y.data.slice(0, 100) });
    const run = async (a: string): Promise<Record<string, unknown>> => {
      const r = await tscc(["run", a, "-i", "x.npy", "--labels", "y.npy", "--engine", "event", "--json"], dir);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as Record<string, unknown>;
    };
    const [a, b] = [await run("direct"), await run("from-nir")];
    for (const k of ["accuracy", "synaptic_additions_per_inference", "neuron_updates_per_inference", "spikes_per_inference", "latency_steps", "layers"]) expect(b[k], k).toEqual(a[k]);
  });

  it("--target loihi maps the restored TSC network and a graph of leaky neurons, and refuses a recurrent graph by node", async () => {
    const ok = await tscc(["compile", "cnn-small.nir", "--target", "loihi", "-o", "chip"], dir);
    expect(ok.code, ok.stderr).toBe(0);
    expect(readdirSync(join(dir, "chip"))).toContain("resource-report.json");
    const leaky = await tscc(["compile", join(FIX, "lif_chain.nir"), "--target", "loihi", "-o", "chip3"], dir);
    expect(leaky.code, leaky.stderr).toBe(0);
    expect(readdirSync(join(dir, "chip3"))).toContain("leaky.json");
    const no = await tscc(["compile", join(FIX, "recurrent.nir"), "--target", "loihi", "-o", "chip2"], dir);
    expect(no.code).toBe(1);
    expect(no.stderr.trim().split("\n")).toHaveLength(1);
    expect(no.stderr).toMatch(/node 'rsyn\/w_rec' \(Linear\): error TSCC4101: cannot map onto Loihi: a recurrent edge/);
    expect(existsSync(join(dir, "chip2"))).toBe(false);
  });

  it("a NIR graph from another tool runs on spike trains", async () => {
    expect((await tscc(["compile", join(FIX, "lif_chain.nir"), "--target", "emulator", "-o", "lif"], dir)).code).toBe(0);
    const r = await tscc(["run", "lif", "-i", join(FIX, "lif_chain.input.npy"), "--save-output", join(dir, "out.npy"), "--json"], dir);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as Record<string, number | string>;
    expect(report["engine"]).toBe("clock");
    expect(report["steps"]).toBe(24);
    // The read-out is the spike count over the run: the numpy simulation's spikes, summed.
    const want = readNpy(join(FIX, "lif_chain.expected.npy"));
    const y = readNpy(join(dir, "out.npy")).data as Float32Array;
    const [T, B, K] = want.shape as [number, number, number];
    for (let b = 0; b < B; b++) for (let k = 0; k < K; k++) {
      let s = 0;
      for (let t = 0; t < T; t++) s += (want.data as Float64Array)[(t * B + b) * K + k]!;
      expect(y[b * K + k]).toBe(s);
    }
    expect(report["spikes_per_inference"]).toBeGreaterThan(0);
  });
});

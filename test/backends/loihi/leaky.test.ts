/**
 * NIR graphs of leaky neurons on Loihi (backends/loihi/leaky*.ts), end to end through the CLI: a fixture
 * written by NIR's own library maps and its integer run gives the spike counts of NIR's numpy reference;
 * a generated snnTorch-style LIF network maps with the documented compartment settings (δ from τ, weights
 * in threshold units) and its run agrees with the float clock engine within the quantisation error; what
 * Loihi cannot hold is one coded diagnostic line naming the node, exit 1, nothing written.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readNirFile, type NirArray } from "../../../backends/nir/format.js";
import { hdf5Ready, type WriteDataset, type WriteGroup } from "../../../backends/nir/hdf5.js";
import { loadWeights } from "../../../backends/emulator/runtime/weights-file.js";
import { readNpy, writeNpy } from "../../../src/io/npy.js";
import { removeDir, ROOT, tempDir, tscc } from "../../cli/support.js";
import { f64, group, ints, nirRoot, str, values, writeNir } from "../../support/nir-files.js";
import { mulberry32 } from "../../support/random.js";

const FIX = join(ROOT, "test/fixtures/nir");
let dir: string;
beforeAll(async () => {
  await hdf5Ready();
  dir = tempDir("tscc-loihi-leaky-");
});
afterAll(() => removeDir(dir));

const DT = 1e-3;

function gauss(rnd: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
}

function affine(rnd: () => number, n: number, k: number, scale: number): WriteGroup {
  return group({ type: str("Affine"), weight: values([n, k], Float32Array.from({ length: n * k }, () => gauss(rnd) * scale)), bias: values([n], Float32Array.from({ length: n }, () => gauss(rnd) * 0.02)) });
}

/** snnTorch's export of Leaky(beta, threshold): τ = dt/(1 − β), r = τ/dt, v_leak = 0, v_reset = 0. */
function leaky(n: number, beta: number, over: Record<string, WriteDataset> = {}): WriteGroup {
  const tau = DT / (1 - beta);
  return group({ type: str("LIF"), tau: f64([n], tau), r: f64([n], tau / DT), v_leak: f64([n], 0), v_threshold: f64([n], 1), v_reset: f64([n], 0), ...over });
}

function cuba(n: number, over: Record<string, WriteDataset> = {}): WriteGroup {
  return group({ type: str("CubaLIF"), tau_syn: f64([n], 2e-3), tau_mem: f64([n], 4e-3), r: f64([n], 4), v_leak: f64([n], 0), v_threshold: f64([n], 1), v_reset: f64([n], 0), w_in: f64([n], 1), ...over });
}

const io = (n: number, kind: "Input" | "Output"): WriteGroup => group({ type: str(kind), shape: ints([n]) });

/** Input [16] → Affine → LIF(β = 0.875) → Affine → LIF(β = 0.9) → Output [4]. */
function snnTorchStyle(seed: number): WriteGroup {
  const rnd = mulberry32(seed);
  return nirRoot(
    { input: io(16, "Input"), fc1: affine(rnd, 12, 16, 0.6), lif1: leaky(12, 0.875), fc2: affine(rnd, 4, 12, 0.6), lif2: leaky(4, 0.9), output: io(4, "Output") },
    [
      ["input", "fc1"],
      ["fc1", "lif1"],
      ["lif1", "fc2"],
      ["fc2", "lif2"],
      ["lif2", "output"],
    ],
    { dt: f64([], DT) },
  );
}

/** Compile for loihi and parse leaky.json. */
async function compileLeaky(file: string, out: string): Promise<Record<string, unknown>> {
  const r = await tscc(["compile", file, "--target", "loihi", "-o", out], dir);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(readFileSync(join(dir, out, "leaky.json"), "utf8")) as Record<string, unknown>;
}

type PopJson = { name: string; depth: number; theta: number; groups: { delay: number; kind: string; w?: string }[] };

describe("NIR graphs of leaky neurons on Loihi", () => {
  it("NIR's own fixture (LIF → CubaLIF) maps with δ from τ and runs to the spike counts of NIR's numpy reference", async () => {
    const lj = await compileLeaky(join(FIX, "lif_chain.nir"), "chain");
    const pops = lj["pops"] as PopJson[];
    expect(pops.map((p) => [p.name, p.depth])).toEqual([
      ["input", 0],
      ["lif1", 1],
      ["lif2", 2],
    ]);
    // lif1: dt/τ = 1/4 → δv = 1024, current cleared (δu = 4096); lif2: dt/τ_syn = 1/2, dt/τ_mem = 1/8.
    const wf = loadWeights(join(dir, "chain", "weights.bin"));
    expect(Array.from(wf.getArray("p1.du"))).toEqual([4096, 4096, 4096]);
    expect(Array.from(wf.getArray("p1.dv"))).toEqual([1024, 1024, 1024]);
    expect(Array.from(wf.getArray("p2.du"))).toEqual([2048, 2048]);
    expect(Array.from(wf.getArray("p2.dv"))).toEqual([512, 512]);
    // Θ is a power of two and lif1's gain dt/τ·r/v_th = 1, so W = w·Θ rounded to an 8-bit signed mantissa
    // (|w_mant| ≤ 127) at its row's exponent: exact for rows whose multiples of 1/64 need 7 bits.
    const theta = pops[1]!.theta;
    expect(Math.log2(theta) % 1).toBe(0);
    const fc1 = wf.getArray("p1.g0.w");
    const w = (readNirFile(join(FIX, "lif_chain.nir")).graph.nodes.get("fc1")!.params["weight"] as NirArray).data;
    let exact = 0;
    for (let r = 0; r < 3; r++) {
      const row = Array.from(w.subarray(r * 4, r * 4 + 4), (x) => x * theta);
      const unit = 2 ** Math.ceil(Math.log2(Math.max(...row.map(Math.abs)) / 127));
      row.forEach((x, k) => {
        expect(Math.abs(fc1[r * 4 + k]! - x)).toBeLessThanOrEqual(unit / 2);
        if (fc1[r * 4 + k] === x) exact++;
      });
    }
    expect(exact).toBeGreaterThanOrEqual(10);
    const run = await tscc(["run", "chain", "-i", join(FIX, "lif_chain.input.npy"), "--save-output", join(dir, "chain.npy"), "--json"], dir);
    expect(run.code, run.stderr).toBe(0);
    const rep = JSON.parse(run.stdout) as Record<string, number>;
    expect(rep["agreement_with_float_clock"]).toBe(1);
    expect(rep["latency_steps"]).toBe(24 + 2);
    const want = readNpy(join(FIX, "lif_chain.expected.npy"));
    const y = readNpy(join(dir, "chain.npy")).data as Float32Array;
    const [T, B, K] = want.shape as [number, number, number];
    for (let b = 0; b < B; b++)
      for (let k = 0; k < K; k++) {
        let s = 0;
        for (let t = 0; t < T; t++) s += (want.data as Float64Array)[(t * B + b) * K + k]!;
        expect(y[b * K + k], `sample ${b} neuron ${k}`).toBe(s);
      }
    // A static frame [N, 4] with -O steps=T is the same frame at every step.
    const x = readNpy(join(FIX, "lif_chain.input.npy")).data as Float32Array;
    writeNpy(join(dir, "frame.npy"), { shape: [B, 4], dtype: "f32", data: x.slice(0, B * 4) });
    writeNpy(join(dir, "frames.npy"), { shape: [T, B, 4], dtype: "f32", data: Float32Array.from({ length: T * B * 4 }, (_, i) => x[i % (B * 4)]!) });
    const a = await tscc(["run", "chain", "-i", "frame.npy", "-O", "steps=24", "--save-output", join(dir, "a.npy"), "--json"], dir);
    const b = await tscc(["run", "chain", "-i", "frames.npy", "--save-output", join(dir, "b.npy")], dir);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(Array.from(readNpy(join(dir, "a.npy")).data as Float32Array)).toEqual(Array.from(readNpy(join(dir, "b.npy")).data as Float32Array));
    expect((JSON.parse(a.stdout) as Record<string, number>)["steps"]).toBe(24);
  });

  it("a generated snnTorch-style LIF network maps and agrees with the float clock engine within the quantisation error", async () => {
    writeNir(join(dir, "snntorch.nir"), snnTorchStyle(3));
    const lj = await compileLeaky("snntorch.nir", "snnt");
    const pops = lj["pops"] as PopJson[];
    const wf = loadWeights(join(dir, "snnt", "weights.bin"));
    // β = 0.875: dt/τ = 1/8 exactly (δv = 512); β = 0.9: dt/τ = 0.1, δv = round(409.6) = 410 (the decay is quantised).
    expect(new Set(wf.getArray("p1.dv"))).toEqual(new Set([512]));
    expect(new Set(wf.getArray("p2.dv"))).toEqual(new Set([410]));
    expect(pops[1]!.groups[0]!.delay).toBe(0);
    const rnd = mulberry32(11);
    const [T, N] = [32, 64];
    writeNpy(join(dir, "spikes.npy"), { shape: [T, N, 16], dtype: "f32", data: Float32Array.from({ length: T * N * 16 }, () => (rnd() < 0.3 ? 1 : 0)) });
    const run = await tscc(["run", "snnt", "-i", "spikes.npy", "--json"], dir);
    expect(run.code, run.stderr).toBe(0);
    const rep = JSON.parse(run.stdout) as Record<string, number>;
    expect(rep["q_overflows"] + rep["u_wraps"] + rep["v_saturations"]).toBe(0);
    // Measured (docs/interop.md "Loihi"): 8-bit weights and δv = 410 for 409.6 move a few spikes of a
    // 32-step run; the arg-max of the spike counts agrees on 63 of the 64 samples, counts differ by ≤ 2.
    expect(rep["agreement_with_float_clock"]).toBeGreaterThanOrEqual(0.95);
    expect(rep["output_error_max"]).toBeLessThanOrEqual(3);
    expect(Math.abs(rep["spikes_per_inference"]! / rep["float_clock_spikes_per_inference"]! - 1)).toBeLessThan(0.01);
    expect(rep["synaptic_ops_per_inference"]).toBeGreaterThan(0);
    expect(rep["energy_per_inference_pj"]).toBeGreaterThan(0);
  });

  it("IF networks with weights the mantissas hold are exact: conv, sum pool, flatten, dense and a delayed skip path spike for spike", async () => {
    // Weights and biases k/16 (|k| ≤ 100): v is a multiple of 1/16, v_th = 1, and v·Θ is an integer register, so
    // the integer engine and the float clock engine take the same steps.
    const rnd = mulberry32(5);
    const k16 = (n: number, lim: number): Float32Array => Float32Array.from({ length: n }, () => Math.round((rnd() * 2 - 1) * lim) / 16);
    const IF = (shape: number[]): WriteGroup => group({ type: str("IF"), r: f64(shape, 1), v_threshold: f64(shape, 1), v_reset: f64(shape, 0) });
    writeNir(
      join(dir, "if.nir"),
      nirRoot(
        {
          input: group({ type: str("Input"), shape: ints([1, 6, 6]) }),
          conv: group({ type: str("Conv2d"), input_shape: ints([6, 6]), weight: values([4, 1, 3, 3], k16(36, 100)), stride: ints([1, 1]), padding: ints([1, 1]), dilation: ints([1, 1]), groups: { kind: "dataset", data: BigInt64Array.of(1n) }, bias: values([4], k16(4, 8)) }),
          if1: IF([4, 6, 6]),
          pool: group({ type: str("SumPool2d"), kernel_size: ints([2, 2]), stride: ints([2, 2]), padding: ints([0, 0]) }),
          if2: IF([4, 3, 3]),
          flat: group({ type: str("Flatten"), start_dim: { kind: "dataset", data: BigInt64Array.of(0n) }, end_dim: { kind: "dataset", data: BigInt64Array.of(-1n) }, input_type: ints([4, 3, 3]) }),
          fc: group({ type: str("Linear"), weight: values([5, 36], k16(180, 60)) }),
          flat_in: group({ type: str("Flatten"), start_dim: { kind: "dataset", data: BigInt64Array.of(0n) }, end_dim: { kind: "dataset", data: BigInt64Array.of(-1n) }, input_type: ints([1, 6, 6]) }),
          skip: group({ type: str("Linear"), weight: values([5, 36], k16(180, 20)) }),
          if3: IF([5]),
          output: io(5, "Output"),
        },
        [
          ["input", "conv"],
          ["conv", "if1"],
          ["if1", "pool"],
          ["pool", "if2"],
          ["if2", "flat"],
          ["flat", "fc"],
          ["fc", "if3"],
          ["input", "flat_in"],
          ["flat_in", "skip"],
          ["skip", "if3"],
          ["if3", "output"],
        ],
        { dt: f64([], 1) },
      ),
    );
    const lj = await compileLeaky("if.nir", "if");
    const pops = lj["pops"] as PopJson[];
    expect(pops.map((p) => p.groups.map((g) => `${g.kind}${g.delay}`).join())).toEqual(["", "conv0", "conv0", "dense0,dense2"]);
    const [T, N] = [20, 16];
    writeNpy(join(dir, "img.npy"), { shape: [T, N, 1, 6, 6], dtype: "f32", data: Float32Array.from({ length: T * N * 36 }, () => (rnd() < 0.4 ? 1 : 0)) });
    const run = await tscc(["run", "if", "-i", "img.npy", "-O", "readout=sum", "--json"], dir);
    expect(run.code, run.stderr).toBe(0);
    const rep = JSON.parse(run.stdout) as Record<string, number>;
    expect(rep["v_saturations"]).toBe(0);
    expect(rep["output_error_max"]).toBe(0);
    expect(rep["agreement_with_float_clock"]).toBe(1);
    expect(rep["spikes_per_inference"]).toBe(rep["float_clock_spikes_per_inference"]);
    expect(rep["spikes_per_inference"]).toBeGreaterThan(10);
  });

  describe("what Loihi cannot hold: one coded line naming the node, exit 1, nothing written", () => {
    /** Input [2] → fc (Affine) → neuron → Output, with the neuron (and fc, edges) replaced. */
    function small(neuron: WriteGroup, fc: WriteGroup = group({ type: str("Affine"), weight: f64([3, 2], 0.5), bias: f64([3], 0) }), edges?: string[][], meta: Record<string, WriteDataset> = { dt: f64([], DT) }): WriteGroup {
      return nirRoot(
        { input: io(2, "Input"), fc, neuron, output: io(3, "Output") },
        edges ?? [
          ["input", "fc"],
          ["fc", "neuron"],
          ["neuron", "output"],
        ],
        meta,
      );
    }

    async function rejected(name: string, root: WriteGroup | string, code: number, where: string, text: RegExp): Promise<void> {
      const file = typeof root === "string" ? root : writeNir(join(dir, `${name}.nir`), root);
      const out = join(dir, `${name}-out`);
      const r = await tscc(["compile", file, "--target", "loihi", "-o", out], dir);
      expect(r.code, r.stderr).toBe(1);
      const lines = r.stderr.trim().split("\n").filter((l) => !l.startsWith("  "));
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toContain(where);
      expect(lines[0]).toContain(`error TSCC${code}`);
      expect(lines[0]).toMatch(text);
      expect(existsSync(out)).toBe(false);
    }

    it("no time step: the emulator's rule (TSCC1211), and --dt supplies it", async () => {
      const root = small(leaky(3, 0.875), undefined, undefined, {});
      await rejected("no-dt", root, 1211, "node 'neuron' (LIF)", /no 'dt'; pass the step with --dt/);
      const r = await tscc(["compile", "no-dt.nir", "--target", "loihi", "--dt", "1e-3", "-o", "no-dt-ok"], dir);
      expect(r.code, r.stderr).toBe(0);
    });

    it("v_reset other than 0", async () => {
      await rejected("reset", small(leaky(3, 0.875, { v_reset: f64([3], 0.5) })), 4101, "node 'neuron' (LIF)", /v_reset = 0\.5: Loihi sets v to 0 after a spike/);
    });

    it("τ shorter than dt, and τ_syn too long for the current decay register", async () => {
      await rejected("fast", small(leaky(3, 0.875, { tau: f64([3], 5e-4) })), 4101, "node 'neuron' (LIF)", /dt\/τ = 2; forward Euler needs 0 < dt\/τ ≤ 1/);
      await rejected("slow", small(cuba(3, { tau_syn: f64([3], 100) })), 4101, "node 'neuron' (CubaLIF)", /δ = round\(4096·dt\/τ\) = 0, below 1/);
    });

    it("a bias into a current-based neuron, and an output no neuron drives", async () => {
      await rejected("cuba-bias", small(cuba(3), group({ type: str("Affine"), weight: f64([3, 2], 0.5), bias: f64([3], 0.25) })), 4101, "node 'fc' (Affine)", /bias register adds to v, not to the synaptic current/);
      const root = small(leaky(3, 0.875), undefined, [
        ["input", "neuron"],
        ["neuron", "fc"],
        ["fc", "output"],
      ]);
      const nodes = (root.children as Record<string, WriteGroup>)["node"]!.children as Record<string, WriteGroup>;
      (nodes["nodes"]!.children as Record<string, WriteGroup>)["neuron"] = leaky(2, 0.875);
      await rejected("synapse-out", root, 4101, "node 'fc' (Affine)", /output 'output' is not a neuron node's output/);
    });

    it("a recurrent graph (NIR's fixture) and weights no threshold grid holds", async () => {
      await rejected("recurrent", join(FIX, "recurrent.nir"), 4101, "node 'rsyn/w_rec' (Linear)", /a recurrent edge/);
      await rejected("huge", small(leaky(3, 0.875), group({ type: str("Affine"), weight: f64([3, 2], 1e9), bias: f64([3], 0) })), 3101, "node 'neuron' (LIF)", /threshold-range the \w+ limit allows Θ ≤ .* below one threshold unit 2\^6/);
    });

    it("every node without a compartment mapping at once (NIR's fixture with a Delay and a Threshold)", async () => {
      const r = await tscc(["compile", join(FIX, "misc.nir"), "--target", "loihi", "-o", "misc-out"], dir);
      expect(r.code).toBe(1);
      const lines = r.stderr.trim().split("\n");
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/node 'delay' \(Delay\): error TSCC4101: cannot map onto Loihi: nir\.delay has no Loihi compartment mapping/);
      expect(lines[1]).toMatch(/node 'thr' \(Threshold\): error TSCC4101: cannot map onto Loihi: nir\.threshold has no Loihi compartment mapping/);
      expect(existsSync(join(dir, "misc-out"))).toBe(false);
    });

    it("tscc report names what it cannot read", async () => {
      const r = await tscc(["report", "chain", "--input", join(FIX, "lif_chain.input.npy"), "-o", "r.html"], dir);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/error TSCC5004: .*a NIR graph of leaky neurons mapped onto Loihi: tscc report reads TSC networks/);
      expect(existsSync(join(dir, "r.html"))).toBe(false);
    });

    it("tscc run refuses input that is not 0/1 spikes", async () => {
      writeNpy(join(dir, "analog.npy"), { shape: [4, 1, 16], dtype: "f32", data: new Float32Array(64).fill(0.5) });
      const r = await tscc(["run", "snnt", "-i", "analog.npy"], dir);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split("\n")[0]).toMatch(/error TSCC5005: .*input 'input' holds 0\.5 at index 0; Loihi's input axons carry binary spikes/);
    });
  });
});

/**
 * NIR graphs of leaky neurons on Loihi (docs/interop.md "Loihi"): a LIF network trained and exported by
 * another tool, mapped with `--target loihi` and run bit-accurately against the float clock engine.
 *
 *   npx tsx bench/nir-loihi.ts [--images 1000] [--steps 16] [--hidden 128] [--train 60000] [--nir trained.nir] [--seeds 3]
 *
 * 1. bench/train_lif_fashion.py trains 784 → LIF(β = 0.875) → LIF(β = 0.875) 10 on Fashion-MNIST in plain
 *    PyTorch (surrogate gradient, reset to zero) and writes it with h5py in NIR's layout, snnTorch's export
 *    conventions (τ = dt/(1 − β), r = τ/dt); `--nir` skips training.
 * 2. `tscc compile --target loihi` (in process) maps it; the first N test images are Bernoulli rate-coded
 *    into [steps, N, 784] spike trains (seeded; `--seeds` draws) and `tscc run`'s code runs the integer
 *    engine and the clock engine on the same spikes: top-1 of the output spike counts against the labels,
 *    agreement of the two, max |Δ count|, spikes, synaptic ops, measured energy, time per image.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { silentLogger } from "../ir/index.js";
import { runLoihiArtifact } from "../backends/loihi/run.js";
import { mulberry32 } from "../backends/emulator/runtime/rate.js";
import { hdf5Ready } from "../backends/nir/hdf5.js";
import { compile } from "../src/driver/compile.js";
import { loadTestSet } from "./lib/fashion-mnist.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const arg = (k: string, d: string): string => {
  const i = args.indexOf(k);
  return i >= 0 ? args[i + 1]! : d;
};
const tmp = mkdtempSync(join(tmpdir(), "tscc-nir-loihi-bench-"));
const out: string[] = [];
const say = (s: string): void => {
  out.push(s);
  console.log(s);
};

async function main(): Promise<void> {
  await hdf5Ready();
  const N = Number(arg("--images", "1000"));
  const steps = Number(arg("--steps", "16"));
  let nir = arg("--nir", "");
  if (!nir) {
    nir = join(tmp, "trained.nir");
    const t0 = performance.now();
    const r = spawnSync("/usr/bin/python3", [join(ROOT, "bench/train_lif_fashion.py"), nir, "--hidden", arg("--hidden", "128"), "--steps", String(steps), "--train", arg("--train", "60000")], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`training failed: ${r.stderr}`);
    say(`${r.stdout.trim()} (training ${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
  }
  const c0 = performance.now();
  const r = await compile({ model: nir, target: "loihi", cwd: ROOT });
  const compileMs = performance.now() - c0;
  const dir = join(tmp, "chip");
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of r.files) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), bytes);
  }
  const ds = loadTestSet(N);
  say(`### A LIF network trained in PyTorch, exported as NIR, on Loihi 1 (first ${N} test images, ${steps} steps, Bernoulli rate coding)\n`);
  say(`Compile (map) ${compileMs.toFixed(0)} ms; timings are noisy on a shared machine (re-run on a quiet one).\n`);
  say("| draw | chip top-1 | float clock top-1 | Δ (pts) | same prediction | max \\|Δ count\\| | spikes/image chip / float | synaptic ops/image | energy/image (µJ) | cores | chip engine ms/image |");
  say("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  const seeds = Number(arg("--seeds", "3"));
  for (let seed = 1; seed <= seeds; seed++) {
    const next = mulberry32(seed);
    const x = new Float32Array(steps * N * 784);
    for (let t = 0; t < steps; t++) for (let i = 0; i < N * 784; i++) x[t * N * 784 + i] = next() < ds.images[i]! ? 1 : 0;
    const rep = await runLoihiArtifact(dir, { inputs: { input: { shape: [steps, N, 784], dtype: "f32", data: x } }, labels: { shape: [N], dtype: "i64", data: BigInt64Array.from(ds.labels, (v) => BigInt(v)) }, options: {}, log: silentLogger });
    const m = rep.metrics as Record<string, number>;
    say(
      `| ${seed} | ${(100 * m["accuracy"]!).toFixed(1)}% | ${(100 * m["float_clock_accuracy"]!).toFixed(1)}% | ${(100 * m["accuracy_delta"]!).toFixed(1)} | ${Math.round(m["agreement_with_float_clock"]! * N)}/${N} | ${m["output_error_max"]} | ${m["spikes_per_inference"]!.toFixed(1)} / ${m["float_clock_spikes_per_inference"]!.toFixed(1)} | ${m["synaptic_ops_per_inference"]!.toFixed(0)} | ${(m["energy_per_inference_pj"]! / 1e6).toFixed(2)} | ${m["cores"]} | ${(1000 / m["images_per_second"]!).toFixed(2)} |`,
    );
  }
  say("");
  const resDir = join(ROOT, "bench/results");
  if (existsSync(resDir)) writeFileSync(join(resDir, arg("--out", "nir-loihi") + ".md"), out.join("\n") + "\n");
}

main()
  .catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * NIR export benchmark (issue 9 targets).
 *
 *   npx tsx bench/nir.ts [--images 1000] [--rate-window 64] [--tsc-window 16] [--models cnn-small,vgg-bn] [--codings rate,tsc]
 *                        [--vgg16 vgg16.onnx --calib calib.npy] [--skip-accuracy] [--skip-vgg16] [--repeat 1]
 *
 * 1. Accuracy per NIR semantics: each Fashion-MNIST example is converted and exported to a .nir file;
 *    the file is read back and imported as plain NIR primitives (the round-trip metadata is ignored), and
 *    the emulator's clock engine — docs/interop.md's discrete-time reading of NIR, cross-checked in the
 *    tests against an independent simulator and NIR-written fixtures — runs it on the first N test images.
 *    The baseline is tscc's own SNN at the same window: the event engine (float64) for rate coding, the
 *    closed form for TSC. Top-1 of both, the difference in points, prediction agreement, max |Δ logit|.
 * 2. Export cost: CIFAR VGG-16 (examples/vgg16-cifar/export.py, random weights) compiled with
 *    `--target emulator` and with `--target nir`, each in a fresh process (bench/nir-child.ts): wall time
 *    and peak RSS, against the model's weight bytes.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { builtinOps } from "../ir/index.js";
import { buildClockNetwork } from "../backends/emulator/clock-network.js";
import { buildNetwork } from "../backends/emulator/build-network.js";
import { argmax } from "../backends/emulator/run.js";
import { runClock } from "../backends/emulator/runtime/clock.js";
import { runClosedForm, runEvent } from "../backends/emulator/runtime/index.js";
import { readNirFile, type NirMeta } from "../backends/nir/format.js";
import { hdf5Ready } from "../backends/nir/hdf5.js";
import { compile } from "../src/driver/compile.js";
import { nirGraphToModule } from "../src/frontend/nir/graph-to-ir.js";
import { readNpy } from "../src/io/npy.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const EX = join(ROOT, "examples/fashion-mnist");
const args = process.argv.slice(2);
const arg = (k: string, d?: string): string | undefined => {
  const i = args.indexOf(k);
  return i >= 0 ? args[i + 1] : d;
};
const tmp = mkdtempSync(join(tmpdir(), "tscc-nir-bench-"));
const out: string[] = [];
const say = (s: string): void => {
  out.push(s);
  console.log(s);
};
const progress = (s: string): void => {
  if (process.stderr.isTTY) process.stderr.write(`\r${s}   `);
};

async function accuracy(): Promise<void> {
  const N = Number(arg("--images", "1000"));
  const models = (arg("--models", "cnn-small,vgg-bn") ?? "").split(",");
  const rateT = Number(arg("--rate-window", "64"));
  const tscT = Number(arg("--tsc-window", "16"));
  const x = readNpy(join(EX, "test-images.npy"));
  const y = Array.from(readNpy(join(EX, "test-labels.npy")).data as ArrayLike<number | bigint>, Number);
  const data = (x.data as Float32Array).subarray(0, N * 784);
  say(`### Exported networks simulated per NIR semantics vs tscc's own SNN (first ${N} test images)\n`);
  say("| model | coding | T | NIR nodes (top / all) | file | tscc SNN top-1 | NIR top-1 | Δ (pts) | same prediction | max \\|Δ logit\\| | NIR sim ms/image |");
  say("|---|---|---|---|---|---|---|---|---|---|---|");
  for (const model of models) {
    const codings = (arg("--codings", "rate,tsc") ?? "").split(",");
    for (const [coding, T] of (
      [
        ["rate", rateT],
        ["tsc", tscT],
      ] as const
    ).filter(([c]) => codings.includes(c))) {
      const r = await compile({ model: join(EX, `${model}.onnx`), target: "nir", backendOptions: { coding, window: String(T), calibration: join(EX, "calib-images.npy") } });
      const file = join(tmp, `${model}-${coding}.nir`);
      writeFileSync(file, r.files.get("model.nir")!);
      const f = readNirFile(file);
      const steps = (f.graph.metadata!["tscc"] as NirMeta)["steps"] as number;
      const all = (g: typeof f.graph): number => [...g.nodes.values()].reduce((s, n) => s + (n.type === "NIRGraph" ? all(n.graph!) : 1), 0);
      // NIR primitives only: no tscc metadata is used beyond the step count and dt = 1.
      const clock = buildClockNetwork(nirGraphToModule(f.graph, builtinOps(), file, {}), 1);
      const net = buildNetwork(r.module).network;
      const chunk = 16;
      let nirOk = 0;
      let snnOk = 0;
      let same = 0;
      let dmax = 0;
      let ms = 0;
      for (let s = 0; s < N; s += chunk) {
        const n = Math.min(chunk, N - s);
        const xs = data.subarray(s * 784, (s + n) * 784);
        const t0 = performance.now();
        const c = runClock(clock, xs, n, { steps, staticInput: true });
        ms += performance.now() - t0;
        const ref = coding === "rate" ? runEvent(net, xs, n) : runClosedForm(net, xs, n);
        const last = c.outputs[0]!.subarray((steps - 1) * n * 10);
        for (let b = 0; b < n; b++) {
          const p = argmax(last, b, 10);
          const q = argmax(ref.outputs[0]!, b, 10);
          if (p === y[s + b]) nirOk++;
          if (q === y[s + b]) snnOk++;
          if (p === q) same++;
          for (let j = 0; j < 10; j++) dmax = Math.max(dmax, Math.abs(last[b * 10 + j]! - ref.outputs[0]![b * 10 + j]!));
        }
        progress(`${model} ${coding}: ${s + n}/${N}`);
      }
      const pct = (k: number): string => ((100 * k) / N).toFixed(1);
      say(
        `| ${model} | ${coding} | ${T} | ${f.graph.nodes.size} / ${all(f.graph)} | ${(statSync(file).size / 1e6).toFixed(2)} MB | ${pct(snnOk)}% | ${pct(nirOk)}% | ${((100 * (nirOk - snnOk)) / N).toFixed(2)} | ${same}/${N} | ${dmax.toExponential(1)} | ${(ms / N).toFixed(0)} |`,
      );
    }
  }
  say("");
}

function exportModel(script: string, outFile: string, calib?: string): void {
  const a = [join(ROOT, script), outFile];
  if (calib) a.push("--calib", calib, "--n", "16");
  const r = spawnSync("/usr/bin/python3", a, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${script} failed: ${r.stderr}`);
}

function vgg16(): void {
  let model = arg("--vgg16");
  let calib = arg("--calib");
  if (!model || !calib) {
    model = join(tmp, "vgg16-cifar.onnx");
    calib = join(tmp, "calib.npy");
    exportModel("examples/vgg16-cifar/export.py", model, calib);
  }
  const repeat = Number(arg("--repeat", "1"));
  const bytes = statSync(model).size;
  say(`### CIFAR VGG-16 (random weights, ${(bytes / 1e6).toFixed(0)} MB ONNX): export cost, each compile in a fresh process\n`);
  const rows: Record<string, { ms: number[]; rss: number[]; out: number }> = {};
  for (let i = 0; i < repeat; i++) {
    for (const target of ["convert", "emulator", "nir"]) {
      const o = join(tmp, `vgg16-${target}${target === "nir" ? ".nir" : ""}`);
      const child = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "bench/nir-child.ts"), model, target, calib, o], { encoding: "utf8", maxBuffer: 1 << 24, cwd: ROOT });
      if (child.status !== 0) throw new Error(`${target} compile failed: ${child.stderr}`);
      const line = child.stdout.trim().split("\n").pop()!;
      const m = JSON.parse(line) as { ms: number; maxRssBytes: number; weightBytes: number; outBytes: number };
      const row = (rows[target] ??= { ms: [], rss: [], out: 0 });
      row.ms.push(m.ms);
      row.rss.push(m.maxRssBytes);
      row.out = m.outBytes;
      rows["weights"] = { ms: [], rss: [m.weightBytes], out: 0 };
      rmSync(o, { recursive: true, force: true });
    }
  }
  const med = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  const w = rows["weights"]!.rss[0]!;
  const e = rows["emulator"]!;
  const n = rows["nir"]!;
  const c = rows["convert"]!;
  say("| target | compile time (median) | peak RSS | output |");
  say("|---|---|---|---|");
  say(`| conversion alone (no output) | ${(med(c.ms) / 1000).toFixed(1)} s | ${(med(c.rss) / 1e6).toFixed(0)} MB | — |`);
  say(`| emulator | ${(med(e.ms) / 1000).toFixed(1)} s | ${(med(e.rss) / 1e6).toFixed(0)} MB | ${(e.out / 1e6).toFixed(0)} MB (folder) |`);
  say(`| nir | ${(med(n.ms) / 1000).toFixed(1)} s | ${(med(n.rss) / 1e6).toFixed(0)} MB | ${(n.out / 1e6).toFixed(0)} MB (one file) |`);
  say("");
  say(`- nir / emulator compile time: **${(med(n.ms) / med(e.ms)).toFixed(2)}×** (target ≤ 2×)`);
  say(`- weights of the converted network (float32): ${(w / 1e6).toFixed(0)} MB; peak RSS / weights: nir **${(med(n.rss) / w).toFixed(2)}×**, emulator ${(med(e.rss) / w).toFixed(2)}×, conversion alone ${(med(c.rss) / w).toFixed(2)}× (target ≤ 2×)`);
  say(`- what writing the NIR file adds to the conversion: ${((med(n.ms) - med(c.ms)) / 1000).toFixed(1)} s and ${((med(n.rss) - med(c.rss)) / 1e6).toFixed(0)} MB of peak RSS (${((med(n.rss) - med(c.rss)) / w).toFixed(2)}× the weights); the emulator's artifact adds ${((med(e.ms) - med(c.ms)) / 1000).toFixed(1)} s and ${((med(e.rss) - med(c.rss)) / 1e6).toFixed(0)} MB`);
  say("");
}

await hdf5Ready();
if (!args.includes("--skip-accuracy")) await accuracy();
if (!args.includes("--skip-vgg16")) vgg16();
if (process.stderr.isTTY) process.stderr.write("\n");
const resDir = join(ROOT, "bench/results");
if (existsSync(resDir)) writeFileSync(join(resDir, arg("--out", "nir")! + ".md"), out.join("\n") + "\n");
rmSync(tmp, { recursive: true, force: true });


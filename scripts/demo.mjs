#!/usr/bin/env node
// `npm run demo`: compile the two bundled Fashion-MNIST networks into Temporal-Switch-Coded SNNs with the
// emulator backend, run them spike by spike on the 1000 shipped test images, and print the SNN's accuracy
// beside the ANN's. Then `tscc report`: cnn-small as TSC and as a rate-coded network side by side, with
// accuracy and additions against the window T, on the first 200 images. Every step is a plain `tscc`
// command, printed before it runs.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tscc = join(root, "bin", "tscc.js");
const ex = "examples/fashion-mnist";
const window = process.argv[2] ?? "32";

function run(args, capture = false) {
  console.log(`$ tscc ${args.join(" ")}`);
  return execFileSync(process.execPath, [tscc, ...args], { cwd: root, encoding: "utf8", stdio: capture ? ["ignore", "pipe", "inherit"] : "inherit" });
}

const rows = [];
for (const name of ["cnn-small", "vgg-bn"]) {
  const out = `out/${name}-tsc${window}`;
  run(["compile", `${ex}/${name}.onnx`, "--target", "emulator", "--calibration", "example:fashion-mnist", "--window", window, "-o", out]);
  const r = JSON.parse(run(["run", out, "--input", `${ex}/test-images.npy`, "--labels", `${ex}/test-labels.npy`, "--engine", "event", "--json"], true));
  rows.push([name, r.ann_accuracy, r.accuracy, r.agreement, r.spikes_per_neuron_max, r.synaptic_additions_per_inference, r.latency_steps, r.energy_per_inference_pj / 1e6]);
}
const head = ["network", "ANN acc", `TSC acc (T=${window})`, "agreement", "spikes/neuron max", "synaptic adds/image", "latency (steps)", "energy/image (µJ)"];
const fmt = (v, i) => (i === 0 ? v : i <= 3 ? (100 * v).toFixed(1) + "%" : i === 7 ? v.toFixed(2) : Math.round(v).toLocaleString("en-US"));
const cells = [head, ...rows.map((r) => r.map(fmt))];
const w = head.map((_, i) => Math.max(...cells.map((r) => String(r[i]).length)));
console.log("\nTSC-SNN vs its ANN on the 1000 shipped Fashion-MNIST test images (event-level emulation):\n");
for (const [i, r] of cells.entries()) {
  console.log(r.map((c, j) => (j === 0 ? String(c).padEnd(w[j]) : String(c).padStart(w[j]))).join("  "));
  if (i === 0) console.log(w.map((x) => "-".repeat(x)).join("  "));
}

// The report. The rate-coded baseline runs T steps per image (not 2 spikes per neuron), so its sweep uses
// the first 200 test images; both sweeps and the report use the same 200.
const { encodeNpy, parseNpy } = await import(join(root, "dist", "src", "io", "npy.js"));
mkdirSync(join(root, "out", "report-data"), { recursive: true });
for (const [src, dst] of [["test-images.npy", "images-200.npy"], ["test-labels.npy", "labels-200.npy"]]) {
  const t = parseNpy(readFileSync(join(root, ex, src)), src);
  const per = t.data.length / t.shape[0];
  writeFileSync(join(root, "out", "report-data", dst), encodeNpy({ ...t, shape: [200, ...t.shape.slice(1)], data: t.data.slice(0, 200 * per) }));
}
const data = ["--input", "out/report-data/images-200.npy", "--labels", "out/report-data/labels-200.npy"];
const tsc = `out/cnn-small-tsc${window}`;
const rate = "out/cnn-small-rate128";
console.log("");
run(["compile", `${ex}/cnn-small.onnx`, "--target", "emulator", "--coding", "rate", "--calibration", "example:fashion-mnist", "--window", "128", "-o", rate]);
writeFileSync(join(root, "out", "report-data", "tsc-sweep.json"), run(["run", tsc, ...data, "--windows", "4,8,16,32,64", "--json"], true));
writeFileSync(join(root, "out", "report-data", "rate-sweep.json"), run(["run", rate, ...data, "--windows", "8,16,32,64,128", "--json"], true));
run(["report", tsc, rate, ...data, "--sweep", "out/report-data/tsc-sweep.json", "--sweep", "out/report-data/rate-sweep.json", "-o", "out/report.html"]);
console.log(`\nReport (one self-contained page; open it in a browser): ${resolve(root, "out", "report.html")}`);

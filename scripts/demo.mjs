#!/usr/bin/env node
// `npm run demo`: compile the two bundled Fashion-MNIST networks into Temporal-Switch-Coded SNNs with the
// emulator backend, run them spike by spike on the 1000 shipped test images, and print the SNN's accuracy
// beside the ANN's. Every step is a plain `tscc` command, printed before it runs.
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
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

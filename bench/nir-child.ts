/**
 * One compile in its own process (so that peak RSS belongs to it alone), as `tscc compile` runs it:
 *   tsx bench/nir-child.ts <model.onnx> <emulator|nir|convert> <calib.npy> <out>
 * `convert` runs the conversion alone (the nir backend's pipeline, nothing emitted): the baseline that
 * shows what writing the NIR file itself adds.
 * Prints one JSON line: {ms, maxRssBytes, weightBytes (float32 weights of the converted network), outBytes}.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { nirBackend } from "../backends/nir/index.js";
import { compile, createRegistry } from "../src/driver/compile.js";

const [model, target, calib, out] = process.argv.slice(2);
const reg = await createRegistry();
reg.addBackend({ ...nirBackend, name: "convert", outputFile: undefined, emit() {} }, "bench");
const t0 = performance.now();
const r = await compile({ model: model!, target: target!, outDir: target === "convert" ? undefined : out!, backendOptions: { calibration: calib!, "calibration-limit": "16" } }, reg);
const ms = performance.now() - t0;
let weightBytes = 0;
for (const c of r.module.consts.values()) if (c.type.dtype === "f32") weightBytes += c.data.byteLength;
const size = (p: string): number => (statSync(p).isDirectory() ? readdirSync(p).reduce((s, f) => s + size(join(p, f)), 0) : statSync(p).size);
console.log(JSON.stringify({ ms, maxRssBytes: process.resourceUsage().maxRSS * 1024, weightBytes, outBytes: target === "convert" ? 0 : size(out!) }));

/**
 * One compile in its own process (so that peak RSS belongs to it alone), as `tscc compile` runs it:
 *   tsx bench/nir-child.ts <model.onnx> <emulator|nir> <calib.npy> <out>
 * Prints one JSON line: {ms, maxRssBytes, weightBytes (float32 weights of the converted network), outBytes}.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { compile } from "../src/driver/compile.js";

const [model, target, calib, out] = process.argv.slice(2);
const t0 = performance.now();
const r = await compile({ model: model!, target: target!, outDir: out!, backendOptions: { calibration: calib!, "calibration-limit": "16" } });
const ms = performance.now() - t0;
let weightBytes = 0;
for (const c of r.module.consts.values()) if (c.type.dtype === "f32") weightBytes += c.data.byteLength;
const size = (p: string): number => (statSync(p).isDirectory() ? readdirSync(p).reduce((s, f) => s + size(join(p, f)), 0) : statSync(p).size);
console.log(JSON.stringify({ ms, maxRssBytes: process.resourceUsage().maxRSS * 1024, weightBytes, outBytes: size(out!) }));

/**
 * One measurement in its own process (so peak RSS belongs to it alone): `tscc` import + canonicalize, or
 * an onnxruntime-node session for the same file. Prints one JSON line: {ms, maxRssBytes}.
 * Usage: tsx bench/import-child.ts tscc|ort <model.onnx>
 */
import { PassManager, silentLogger } from "../ir/index.js";
import { Registry } from "../src/driver/registry.js";
import { importOnnxFile } from "../src/frontend/onnx/import.js";
import { CANONICALIZE } from "../src/passes/index.js";

const [what, file] = process.argv.slice(2);
const t0 = performance.now();
if (what === "tscc") {
  const reg = new Registry();
  const { module } = importOnnxFile(file!, { registry: reg.ops });
  const pm = new PassManager(reg.passes);
  await pm.run(pm.parse(CANONICALIZE), module, { ops: reg.ops, log: silentLogger, inputs: {} });
  if (module.ops.length === 0) throw new Error("empty module");
} else {
  const ort = await import("onnxruntime-node");
  const s = await ort.InferenceSession.create(file!);
  await s.release();
}
const ms = performance.now() - t0;
console.log(JSON.stringify({ ms, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));

/**
 * Import benchmark (issue 2): import + canonicalize torchvision's VGG-16 (≈550 MB ONNX, random weights)
 * with tscc, and create an onnxruntime-node session for the same file, each in a fresh process, in the
 * same run. Targets: peak memory ≤ 2× the file size, time ≤ 2× onnxruntime's session creation.
 *
 *   npx tsx bench/import.ts [model.onnx]     (default /tmp/vgg16.onnx, generated with
 *                                             /usr/bin/python3 bench/make_vgg16_imagenet.py if missing)
 */
import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const file = process.argv[2] ?? "/tmp/vgg16.onnx";
if (!existsSync(file)) {
  console.error(`generating ${file} (torchvision VGG-16, random weights)...`);
  execFileSync("/usr/bin/python3", [join(here, "make_vgg16_imagenet.py"), file], { stdio: "inherit" });
}
const size = statSync(file).size;
const tsx = join(here, "..", "node_modules", ".bin", "tsx");

function measure(what: "tscc" | "ort"): { ms: number; maxRssBytes: number } {
  const out = execFileSync(tsx, [join(here, "import-child.ts"), what, file], { encoding: "utf8" });
  return JSON.parse(out.trim().split("\n").pop()!) as { ms: number; maxRssBytes: number };
}

const runs = 3;
const best = (what: "tscc" | "ort"): { ms: number; maxRssBytes: number } => {
  const r = Array.from({ length: runs }, () => measure(what));
  return { ms: Math.min(...r.map((x) => x.ms)), maxRssBytes: Math.max(...r.map((x) => x.maxRssBytes)) };
};
const ort = best("ort");
const tscc = best("tscc");
const mb = (b: number): string => (b / 2 ** 20).toFixed(0);
console.log(`model: ${file} (${mb(size)} MiB); best time and largest peak RSS of ${runs} runs each\n`);
console.log("| measurement | time (s) | peak RSS (MiB) | RSS / file size |");
console.log("|---|---|---|---|");
console.log(`| onnxruntime-node InferenceSession.create | ${(ort.ms / 1000).toFixed(2)} | ${mb(ort.maxRssBytes)} | ${(ort.maxRssBytes / size).toFixed(2)} |`);
console.log(`| tscc import + canonicalize | ${(tscc.ms / 1000).toFixed(2)} | ${mb(tscc.maxRssBytes)} | ${(tscc.maxRssBytes / size).toFixed(2)} |`);
console.log(`\ntime ratio tscc / onnxruntime = ${(tscc.ms / ort.ms).toFixed(2)} (target ≤ 2); peak memory / file size = ${(tscc.maxRssBytes / size).toFixed(2)} (target ≤ 2)`);

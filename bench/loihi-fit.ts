/**
 * Fitting ordinary networks on Loihi (docs/loihi.md "Fitting ordinary networks"): every CIFAR VGG-16
 * variant (average or max pooling × with or without BatchNorm × 512- or 4096-wide classifier) and
 * ResNet-20, random seeded weights, calibrated on uniform noise, on stand-in images and on a single
 * image, compiled with the defaults (`--target loihi --window 32`) for both profiles, then run
 * bit-accurately (`tscc run`, register-level engine) on a few held-out stand-in images.
 *
 *   npx tsx bench/loihi-fit.ts [--dir DIR] [--images N] [--profiles loihi1,loihi2]
 *                              [--models vgg-avg-512,…,resnet20] [--calibs noise,images,single] [--out NAME]
 *                              [--keep-artifacts]
 *   npx tsx bench/loihi-fit.ts --table a.json[,b.json…] [--images N] [--out NAME]
 *
 * Models and data are exported into DIR (default: a temporary folder, removed afterwards; existing
 * files in DIR are reused) with examples/vgg16-cifar/export.py and examples/resnet20-cifar/export.py
 * (Debian's /usr/bin/python3 with torch): calibration 16 seeded noise images, the first 16 of 16 + N
 * Fashion-MNIST stand-in images (`--calib-source images`), or the first of those alone; evaluation
 * the last N (default 4) stand-ins. The weights are random, so labels are the ANN's own predictions
 * (onnxruntime): `accuracy` is agreement with the ANN, and what matters is the delta between the
 * bit-accurate run and the float TSC network on the same images, and their agreement.
 *
 * Every compile and run is a fresh `tscc` process. Each row is appended to bench/results/NAME.json as
 * soon as it is measured (so the models can be shared between processes with --models); at the end,
 * or with --table over such files, the Markdown table goes to stdout and bench/results/NAME.md
 * (default NAME loihi-fit).
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { readNpy, writeNpy } from "../src/io/npy.js";
import { annLogits } from "./lib/ann.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const TSCC = join(ROOT, "bin", "tscc.js");
const args = process.argv.slice(2);
const arg = (k: string): string | undefined => {
  const i = args.indexOf(k);
  return i >= 0 ? args[i + 1] : undefined;
};
const N_EVAL = Number(arg("--images") ?? 4);
const RESULTS = join(ROOT, "bench", "results");
const N_CAL = 16;
const keep = arg("--dir") !== undefined;
const tableOnly = arg("--table");
const dir = tableOnly ? (arg("--dir") ?? "") : (arg("--dir") ?? mkdtempSync(join(tmpdir(), "tscc-loihi-fit-")));
if (!tableOnly) mkdirSync(dir, { recursive: true });
const profiles = (arg("--profiles") ?? "loihi1,loihi2").split(",");
const calibs = (arg("--calibs") ?? "noise,images,single").split(",");
const outName = arg("--out") ?? "loihi-fit";

interface ModelSpec {
  readonly name: string;
  readonly about: string;
  readonly file: string;
  readonly make: () => void;
}

function python(script: string, a: string[]): void {
  const r = spawnSync("/usr/bin/python3", [join(ROOT, script), ...a], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${script} ${a.join(" ")} failed: ${r.stderr}`);
}

const models: ModelSpec[] = [];
for (const pool of ["avg", "max"]) {
  for (const bn of [false, true]) {
    for (const width of [512, 4096]) {
      const name = `vgg-${pool}${bn ? "-bn" : ""}-${width}`;
      const file = join(dir, `${name}.onnx`);
      models.push({ name, about: `VGG-16, ${pool} pool, ${bn ? "BatchNorm" : "no BatchNorm"}, classifier ${width}`, file, make: () => python("examples/vgg16-cifar/export.py", [file, "--pool", pool, "--width", String(width), ...(bn ? ["--bn"] : [])]) });
    }
  }
}
{
  const file = join(dir, "resnet20.onnx");
  models.push({ name: "resnet20", about: "ResNet-20 (BatchNorm, identity and projection shortcuts)", file, make: () => python("examples/resnet20-cifar/export.py", [file]) });
}
const only = arg("--models")?.split(",");
const chosen = only ? models.filter((m) => only.includes(m.name)) : models;

interface LayerRow {
  layer: string;
  theta: number;
  classes: number;
  theta_min: number;
  exps: number[];
  bits_median: number;
  bits_min: number;
  flushed: number;
  splits: number;
}

interface Row {
  model: string;
  calib: string;
  profile: string;
  ok: boolean;
  error?: string;
  cores?: number;
  bound?: number;
  chips?: number;
  layers?: LayerRow[];
  compile_s?: number;
  run?: Record<string, number>;
  run_s?: number;
  /** Largest |logit| of the ANN on the evaluation images (the scale of the logit error). */
  ann_logit_max?: number;
}

/** Measure every chosen (model, calibration, profile), appending each row to `file` as it is done. */
async function measure(file: string): Promise<void> {
  const emit = (r: Row): void => appendFileSync(file, JSON.stringify(r) + "\n");
  // Data: noise calibration, stand-in images (calibration + held-out evaluation), one image.
  const noise = join(dir, "cal-noise.npy");
  const imagesAll = join(dir, `images-${N_CAL + N_EVAL}.npy`);
  const calImages = join(dir, "cal-images.npy");
  const calSingle = join(dir, "cal-single.npy");
  const evalX = join(dir, `eval-${N_EVAL}.npy`);
  if (!existsSync(noise)) python("examples/vgg16-cifar/export.py", ["--skip-onnx", "--calib", noise, "--calib-source", "noise", "--n", String(N_CAL)]);
  if (!existsSync(imagesAll)) python("examples/vgg16-cifar/export.py", ["--skip-onnx", "--calib", imagesAll, "--n", String(N_CAL + N_EVAL)]);
  // (Written once: processes measuring other models with the same --dir share them.)
  if (!existsSync(evalX) || !existsSync(calImages) || !existsSync(calSingle)) {
    const all = readNpy(imagesAll);
    const per = 3 * 32 * 32;
    const data = all.data as Float32Array;
    writeNpy(calImages, { shape: [N_CAL, 3, 32, 32], dtype: "f32", data: data.slice(0, N_CAL * per) });
    writeNpy(calSingle, { shape: [1, 3, 32, 32], dtype: "f32", data: data.slice(0, per) });
    writeNpy(evalX, { shape: [N_EVAL, 3, 32, 32], dtype: "f32", data: data.slice(N_CAL * per, (N_CAL + N_EVAL) * per) });
  }
  const calFile: Record<string, string> = { noise, images: calImages, single: calSingle };

  function tscc(a: string[]): { code: number; stdout: string; stderr: string; s: number } {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [TSCC, ...a], { encoding: "utf8", maxBuffer: 1 << 28 });
    return { code: r.status ?? 1, stdout: r.stdout ?? "", stderr: r.stderr ?? "", s: (performance.now() - t0) / 1000 };
  }

  const progress = (msg: string): void => {
    if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${msg}`);
  };
  const total = chosen.length * calibs.length * profiles.length;
  let done = 0;
  for (const m of chosen) {
    if (!existsSync(m.file)) m.make();
    // Labels: the ANN's own predictions on the evaluation images (random weights: no ground truth).
    const x = readNpy(evalX);
    const logits = await annLogits(m.file, x.data as Float32Array, N_EVAL, [3, 32, 32]);
    const k = logits.length / N_EVAL;
    const labels = new BigInt64Array(N_EVAL).map((_, i) => {
      let best = 0;
      for (let j = 1; j < k; j++) if (logits[i * k + j]! > logits[i * k + best]!) best = j;
      return BigInt(best);
    });
    const annMax = logits.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
    const labelFile = join(dir, `labels-${m.name}.npy`);
    writeNpy(labelFile, { shape: [N_EVAL], dtype: "i64", data: labels });
    for (const calib of calibs) {
      for (const profile of profiles) {
        progress(`loihi-fit ${++done}/${total}: ${m.name} ${calib} ${profile}`);
        const art = join(dir, `art-${m.name}-${calib}-${profile}`);
        rmSync(art, { recursive: true, force: true });
        const c = tscc(["compile", m.file, "--target", "loihi", "--window", "32", "--calibration", calFile[calib]!, "-O", `profile=${profile}`, "-o", art]);
        if (c.code !== 0) {
          emit({ model: m.name, calib, profile, ok: false, ann_logit_max: annMax, error: c.stderr.split("\n").filter((l) => l.includes("error")).slice(0, 3).join(" / ") || c.stderr.slice(0, 400) });
          continue;
        }
        const rep = JSON.parse(readFileSync(join(art, "resource-report.json"), "utf8"));
        const q = JSON.parse(readFileSync(join(art, "quantization.json"), "utf8"));
        const layers: LayerRow[] = q.layers.map((l: any) => ({
          layer: l.layer,
          theta: l.scale_theta_int,
          classes: l.precision.threshold_classes.length,
          theta_min: l.precision.theta_min,
          exps: l.precision.weight_exps,
          bits_median: l.precision.row_mantissa_bits.median,
          bits_min: l.precision.row_mantissa_bits.min,
          flushed: l.precision.flushed_fraction,
          splits: l.precision.fanin_split.length,
        }));
        const r = tscc(["run", art, "--input", evalX, "--labels", labelFile, "--json"]);
        const row: Row = { model: m.name, calib, profile, ok: r.code === 0, ann_logit_max: annMax, cores: rep.cores, bound: rep.lower_bound.tightened.cores, chips: rep.chips, layers, compile_s: c.s, run_s: r.s };
        if (r.code === 0) {
          const j = JSON.parse(r.stdout);
          row.run = {};
          for (const key of ["accuracy", "float_tsc_accuracy", "accuracy_delta", "agreement_with_float_tsc", "logit_error_max", "q_overflows", "u_wraps", "v_saturations"]) row.run[key] = j[key];
        } else row.error = `run: ${r.stderr.slice(0, 400)}`;
        emit(row);
        if (!args.includes("--keep-artifacts")) rmSync(art, { recursive: true, force: true });
      }
    }
  }
  if (process.stderr.isTTY) process.stderr.write("\r\x1b[K");
  if (!keep) rmSync(dir, { recursive: true, force: true });
}

const rows: Row[] = [];
if (tableOnly) {
  for (const f of tableOnly.split(",")) rows.push(...readRows(f));
  // Rows measured before the ANN's logit scale was recorded: from the models in --dir.
  const evalFile = join(arg("--dir") ?? "", `eval-${N_EVAL}.npy`);
  const scale = new Map<string, number>();
  for (const r of rows) {
    if (r.ann_logit_max !== undefined || !arg("--dir") || !existsSync(evalFile)) continue;
    const m = models.find((x) => x.name === r.model);
    if (!m || !existsSync(m.file)) continue;
    if (!scale.has(m.name)) scale.set(m.name, (await annLogits(m.file, readNpy(evalFile).data as Float32Array, N_EVAL, [3, 32, 32])).reduce((a, v) => Math.max(a, Math.abs(v)), 0));
    r.ann_logit_max = scale.get(m.name)!;
  }
} else {
  mkdirSync(RESULTS, { recursive: true });
  const file = join(RESULTS, `${outName}.json`);
  writeFileSync(file, "");
  await measure(file);
  rows.push(...readRows(file));
}

function readRows(file: string): Row[] {
  return readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as Row);
}

// Tables.
const pct = (v: number): string => `${(100 * v).toFixed(0)}%`;
const L: string[] = [];
L.push(`Bit-accurate runs on ${N_EVAL} held-out stand-in images per row; labels = the ANN's predictions (random weights). Precision per layer: threshold classes / median mantissa bits of the rows' largest weights (min), \`s\` = fan-in splits in that layer.`, "");
L.push("| model | calibration | profile | cores | tightened bound | accuracy (vs ANN) | float TSC | delta | agreement with float TSC | max logit error (ANN max \|logit\|) | q / u overflows, v saturations | precision per layer (classes/bits(min)) |");
L.push("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|");
for (const r of rows) {
  if (!r.ok && !r.run) {
    L.push(`| ${r.model} | ${r.calib} | ${r.profile} | **failed** | | | | | | | | ${r.error ?? ""} |`);
    continue;
  }
  const per = (r.layers ?? []).map((l) => `${l.classes}/${l.bits_median}(${l.bits_min})${l.splits ? "s" : ""}`).join(" ");
  const u = r.run;
  L.push(`| ${r.model} | ${r.calib} | ${r.profile} | ${r.cores} | ${r.bound} | ${u ? pct(u["accuracy"]!) : "–"} | ${u ? pct(u["float_tsc_accuracy"]!) : "–"} | ${u ? `${(100 * u["accuracy_delta"]!).toFixed(0)} pp` : "–"} | ${u ? pct(u["agreement_with_float_tsc"]!) : "–"} | ${u ? `${u["logit_error_max"]!.toPrecision(2)} (${r.ann_logit_max?.toPrecision(2) ?? "?"})` : "–"} | ${u ? `${u["q_overflows"]} / ${u["u_wraps"]}, ${u["v_saturations"]}` : r.error ?? ""} | ${per} |`);
}
const md = L.join("\n");
console.log(md);
mkdirSync(RESULTS, { recursive: true });
writeFileSync(join(RESULTS, `${outName}.md`), md + "\n");

/**
 * `npm run bench [-- flags]`: the benchmarks of the TSC conversion (see bench/README.md).
 *
 *   --full                 the configuration recorded in docs/benchmarks.md: TSC and the ANN on all
 *                          10,000 test images, rate coding on the documented subsets (hours on 2 cores)
 *   --only a,b             suites: accuracy, ablations, throughput, speed (default: all)
 *   --models a,b           cnn-small, vgg-bn (default: both)
 *   --images N             test images for TSC and the ANN (default 500; --full 10000)
 *   --rate-images N|m=N,…  images of the long rate runs, T up to --rate-tmax (default cnn-small=16,vgg-bn=4;
 *                          --full 500 / 150)
 *   --rate-short-images …  images of the short rate runs, T up to --rate-short-tmax, where the equal-accuracy
 *                          point lies (default cnn-small=300,vgg-bn=50; --full 10000 / 1000)
 *   --poisson-images …     images of the Poisson row (default cnn-small=8,vgg-bn=2; --full 200 / 50)
 *   --rate-tmax N          steps of the long rate runs (default 1024)
 *   --rate-short-tmax N    steps of the short rate runs (default 128)
 *   --workers N            worker threads (default: min(2, available cores)); 0 = main thread only
 *   --out NAME             results file name under bench/results/ (default from the flags)
 *
 * Tables are printed to stdout as Markdown, with every ratio computed from measurements of this run;
 * progress goes to stderr on a TTY only. Results (rows and the Markdown text) are also written to
 * bench/results/NAME.json and NAME.md.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { progressLogger, progressWanted } from "../src/cli/progress.js";
import { accuracySuite } from "./accuracy.js";
import { ablationSuite } from "./ablations.js";
import { BenchContext, type BenchOptions } from "./lib/context.js";
import { ROOT } from "./lib/convert.js";
import { loadTestSet } from "./lib/fashion-mnist.js";
import { Pool } from "./lib/pool.js";
import { speedSuite } from "./speed.js";
import { throughputSuite } from "./throughput.js";

export const SUITES = ["accuracy", "ablations", "throughput", "speed"] as const;
type Suite = (typeof SUITES)[number];

const MODEL_NAMES = ["cnn-small", "vgg-bn"];
const QUICK = { images: 500, rate: { "cnn-small": 16, "vgg-bn": 4 }, short: { "cnn-small": 300, "vgg-bn": 50 }, poisson: { "cnn-small": 8, "vgg-bn": 2 } };
const FULL = { images: 10000, rate: { "cnn-small": 500, "vgg-bn": 150 }, short: { "cnn-small": 10000, "vgg-bn": 1000 }, poisson: { "cnn-small": 200, "vgg-bn": 50 } };

function usage(msg: string): never {
  process.stderr.write(`bench: ${msg}\n(see the header of bench/index.ts or bench/README.md)\n`);
  process.exit(2);
}

function perModel(text: string, models: readonly string[], flag: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text.split(",")) {
    const [k, v] = part.includes("=") ? part.split("=") : [undefined, part];
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) usage(`${flag}: '${part}' is not a count`);
    if (k === undefined) for (const m of models) out[m] = n;
    else out[k] = n;
  }
  return out;
}

export function parseArgs(argv: readonly string[]): { opts: BenchOptions; suites: Suite[]; name: string } {
  const flags = new Map<string, string>();
  let full = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--full") full = true;
    else if (a.startsWith("--")) {
      const [k, v] = a.includes("=") ? [a.slice(2, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a.slice(2), argv[++i]];
      if (v === undefined) usage(`${a} needs a value`);
      flags.set(k, v);
    } else usage(`unexpected argument '${a}'`);
  }
  const known = new Set(["only", "models", "images", "rate-images", "rate-short-images", "poisson-images", "rate-tmax", "rate-short-tmax", "workers", "out"]);
  for (const k of flags.keys()) if (!known.has(k)) usage(`unknown flag --${k}`);
  const base = full ? FULL : QUICK;
  const models = (flags.get("models") ?? MODEL_NAMES.join(",")).split(",");
  for (const m of models) if (!MODEL_NAMES.includes(m)) usage(`unknown model '${m}'`);
  const suites = (flags.get("only") ?? SUITES.join(",")).split(",") as Suite[];
  for (const s of suites) if (!SUITES.includes(s)) usage(`unknown suite '${s}' (known: ${SUITES.join(", ")})`);
  const num = (k: string, def: number): number => {
    const v = flags.get(k);
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) usage(`--${k} must be a non-negative integer`);
    return n;
  };
  const opts: BenchOptions = {
    full,
    models,
    images: Math.min(10000, num("images", base.images)),
    rateImages: { ...base.rate, ...(flags.has("rate-images") ? perModel(flags.get("rate-images")!, models, "--rate-images") : {}) },
    rateShortImages: { ...base.short, ...(flags.has("rate-short-images") ? perModel(flags.get("rate-short-images")!, models, "--rate-short-images") : {}) },
    poissonImages: { ...base.poisson, ...(flags.has("poisson-images") ? perModel(flags.get("poisson-images")!, models, "--poisson-images") : {}) },
    rateTmax: num("rate-tmax", 1024),
    rateShortTmax: num("rate-short-tmax", 128),
    workers: num("workers", Math.min(2, availableParallelism())),
  };
  const name = flags.get("out") ?? `bench-${full ? "full" : "quick"}-${suites.join("+")}`;
  return { opts, suites, name };
}

export async function main(argv: readonly string[]): Promise<void> {
  const { opts, suites, name } = parseArgs(argv);
  const log = progressLogger(process.stderr, progressWanted(process.stderr, false));
  const needed = Math.max(opts.images, ...Object.values(opts.rateImages), ...Object.values(opts.rateShortImages), ...Object.values(opts.poissonImages), 256);
  const ds = loadTestSet(needed);
  const pool = new Pool(ds, opts.workers, log);
  const ctx = new BenchContext(opts, ds, pool, log);
  const { out } = ctx;
  const started = new Date();
  out.print(`## tscc benchmarks: ${suites.join(", ")}${opts.full ? " (--full)" : ""}`);
  out.print();
  out.print(`Command: \`npm run bench --${argv.length ? " " + argv.join(" ") : ""}\`  `);
  out.print(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? "?"}, Node ${process.version}, ${opts.workers} worker thread(s); started ${started.toISOString()}  `);
  out.print(`Data: Fashion-MNIST test set (${ds.source}); calibration: examples/fashion-mnist/calib-images.npy (1000 training images).  `);
  const per = (r: Readonly<Record<string, number>>): string => opts.models.map((m) => `${m} ${r[m] ?? 0}`).join(", ");
  out.print(`Images (always the first N of the test set): TSC and ANN ${opts.images}; rate T ≤ ${opts.rateShortTmax}: ${per(opts.rateShortImages)}; rate T ≤ ${opts.rateTmax}: ${per(opts.rateImages)}; Poisson row: ${per(opts.poissonImages)}.`);
  out.print();
  const results: Record<string, unknown> = {};
  const dir = join(ROOT, "bench", "results");
  mkdirSync(dir, { recursive: true });
  // Written after every suite, so a long run leaves its finished parts behind.
  const save = (): void => {
    const replacer = (_k: string, v: unknown): unknown => (v instanceof Float32Array || v instanceof Int32Array ? undefined : v);
    writeFileSync(join(dir, `${name}.json`), JSON.stringify({ argv, opts, started: started.toISOString(), results }, replacer, 1));
    writeFileSync(join(dir, `${name}.md`), out.text.join("\n") + "\n");
  };
  ctx.save = save;
  try {
    for (const s of suites) {
      const t0 = performance.now();
      if (s === "accuracy") results[s] = await accuracySuite(ctx);
      else if (s === "ablations") results[s] = await ablationSuite(ctx);
      else if (s === "throughput") results[s] = await throughputSuite(ctx);
      else results[s] = await speedSuite(ctx);
      out.print(`(${s}: ${((performance.now() - t0) / 60000).toFixed(1)} min)`);
      out.print();
      save();
    }
  } finally {
    log.stop();
    await pool.close();
  }
  out.print(`Total: ${((Date.now() - started.getTime()) / 60000).toFixed(1)} min.`);
  save();
  if (process.stderr.isTTY) log.info(`results: bench/results/${name}.json, bench/results/${name}.md`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await main(process.argv.slice(2));
}

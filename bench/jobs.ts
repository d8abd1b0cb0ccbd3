/**
 * `npx tsx bench/jobs.ts <artifact> <input.npy> [--labels y.npy] [--engine e] [--batch n] [--jobs 1,2,…]`:
 * the speed-up of `tscc run --jobs N` over `--jobs 1` on this machine. Each configuration is one run of
 * the real CLI (`node bin/tscc.js run … --json`, dist/ must be built); the table gives wall time, CPU
 * time (user + system, from the child's resource usage), images per second as tscc reports them (engine
 * and reference ANN, without start-up), the ratios against --jobs 1 measured in the same invocation, and
 * whether the report and the logits are identical to --jobs 1 (they must be).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ROOT } from "./lib/convert.js";

function usage(msg: string): never {
  process.stderr.write(`bench/jobs: ${msg}\nusage: npx tsx bench/jobs.ts <artifact> <input.npy> [--labels y.npy] [--engine e] [--batch n] [--jobs 1,2,...]\n`);
  process.exit(2);
}

const argv = process.argv.slice(2);
const positional: string[] = [];
const flags = new Map<string, string>();
for (let i = 0; i < argv.length; i++) {
  if (argv[i]!.startsWith("--")) flags.set(argv[i]!.slice(2), argv[++i] ?? usage(`${argv[i]} needs a value`));
  else positional.push(argv[i]!);
}
const [artifact, input] = positional;
if (!artifact || !input) usage("artifact and input are required");
const jobsList = (flags.get("jobs") ?? [...new Set([1, 2, availableParallelism()])].join(",")).split(",").map(Number);
const tmp = mkdtempSync(join(tmpdir(), "tscc-bench-jobs-"));
const extra = [...(flags.has("labels") ? ["--labels", resolve(flags.get("labels")!)] : []), ...(flags.has("engine") ? ["--engine", flags.get("engine")!] : []), ...(flags.has("batch") ? ["--batch", flags.get("batch")!] : [])];

interface Row {
  jobs: number;
  wall: number;
  cpu: number;
  ips: number;
  report: string;
  logits: Buffer;
}

const rows: Row[] = [];
let attributed = 0;
try {
  for (const jobs of jobsList) {
    const out = join(tmp, `y${jobs}.npy`);
    const args = [join(ROOT, "bin/tscc.js"), "run", resolve(artifact), "--input", resolve(input), ...extra, "--jobs", String(jobs), "--json", "--save-output", out];
    const t0 = performance.now();
    const r = spawnSync(process.execPath, args, { encoding: "utf8", env: { ...process.env, CI: "1" }, maxBuffer: 1 << 28 });
    const wall = (performance.now() - t0) / 1000;
    if (r.status !== 0) usage(`tscc run --jobs ${jobs} failed:\n${r.stderr}`);
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    const ips = report["images_per_second"] as number;
    for (const k of ["images_per_second", "jobs"]) delete report[k];
    rows.push({ jobs, wall, cpu: childCpuSeconds(), ips, report: JSON.stringify(report), logits: readFileSync(out) });
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

/**
 * CPU seconds (user + system, all threads) of the child waited for last: the growth of this process's
 * cumulative children times (cutime, cstime: fields 16 and 17 of /proc/self/stat, in 1/100 s).
 */
function childCpuSeconds(): number {
  const f = readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ");
  const total = (Number(f[13]) + Number(f[14])) / 100;
  const delta = total - attributed;
  attributed = total;
  return delta;
}

const base = rows[0]!;
console.log(`### tscc run --jobs: ${artifact} on ${input}${extra.length ? ` (${extra.join(" ")})` : ""}`);
console.log();
console.log(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? "?"}, Node ${process.version}; load average at the end ${loadavg().map((x) => x.toFixed(1)).join(" ")} (other work on the machine slows every row).`);
console.log();
console.log("| --jobs | wall (s) | CPU (s) | images/s (tscc) | speed-up (images/s) | speed-up (wall) | identical to --jobs 1 |");
console.log("|---:|---:|---:|---:|---:|---:|:---|");
for (const r of rows) {
  const same = r.report === base.report && r.logits.equals(base.logits);
  console.log(`| ${r.jobs} | ${r.wall.toFixed(1)} | ${r.cpu.toFixed(1)} | ${r.ips.toPrecision(3)} | ${(r.ips / base.ips).toFixed(2)} | ${(base.wall / r.wall).toFixed(2)} | ${same ? "yes" : "**NO**"} |`);
}

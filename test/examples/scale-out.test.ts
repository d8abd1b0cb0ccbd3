/**
 * examples/scale-out: the Kubernetes Indexed Job and the Slurm job array run as they would on a cluster,
 * with the cluster replaced by local processes. The Job's container command is taken from the manifest
 * and its $(VAR) references expanded as Kubernetes does (JOB_COMPLETION_INDEX = the pod's index); the
 * Slurm script runs under bash with the array variables Slurm sets. All shards run at once, then
 * `tscc merge` must give exactly the report of one `tscc run` over all samples.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parse } from "yaml";
import { encodeNpy } from "../../src/io/npy.js";
import { BIN, BN_POOL, removeDir, ROOT, spawnTscc, tempDir } from "../cli/support.js";
import { Rng } from "../support/random.js";

const EXAMPLES = join(ROOT, "examples/scale-out");
/** Four chunks of the default 64 samples: one per shard of the examples' four. */
const N = 200;
let dir: string;
let oneRun: Record<string, unknown>;

/** A process to completion: exit code and output. */
function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: dir, env: { ...process.env, CI: "1", ...env } });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("error", reject);
    p.on("close", (code) => resolve({ code, out }));
  });
}

/** The local files that stand in for the cluster's volume. */
const DATA = { ARTIFACT: "art", INPUT: "x.npy", LABELS: "y.npy" };

function merged(parts: string): Record<string, unknown> {
  const r = spawnTscc(["merge", ...Array.from({ length: 4 }, (_, k) => `${parts}/part-${k}.json`), "--json"], dir);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

beforeAll(() => {
  dir = tempDir("tscc-scale-out-");
  const rng = new Rng(23);
  writeFileSync(join(dir, "calib.npy"), encodeNpy({ shape: [32, 3, 16, 16], dtype: "f32", data: rng.f32(32 * 768, 0, 1) }));
  writeFileSync(join(dir, "x.npy"), encodeNpy({ shape: [N, 3, 16, 16], dtype: "f32", data: rng.f32(N * 768, 0, 1) }));
  writeFileSync(join(dir, "y.npy"), encodeNpy({ shape: [N], dtype: "i64", data: BigInt64Array.from({ length: N }, () => BigInt(Math.floor(rng.uniform(0, 10)))) }));
  // A rate-coded network with Poisson input: every shard must draw the spikes the one run draws.
  const c = spawnTscc(["compile", BN_POOL, "--target", "emulator", "--calibration", "calib.npy", "--coding", "rate", "--window", "16", "-O", "rate-input=poisson", "-o", "art"], dir);
  expect(c.code, c.stderr).toBe(0);
  const r = spawnTscc(["run", "art", "--input", "x.npy", "--labels", "y.npy", "--json"], dir);
  expect(r.code, r.stderr).toBe(0);
  oneRun = JSON.parse(r.stdout) as Record<string, unknown>;
  for (const k of ["outputs", "images_per_second", "jobs"]) delete oneRun[k];
});
afterAll(() => removeDir(dir));

describe("examples/scale-out", () => {
  test("the Kubernetes Indexed Job: one pod per shard, merged = one run", async () => {
    const job = parse(readFileSync(join(EXAMPLES, "k8s-indexed-job.yaml"), "utf8")) as {
      spec: { completionMode: string; completions: number; parallelism: number; template: { spec: { containers: { command: string[]; args: string[]; env: { name: string; value: string }[] }[] } } };
    };
    expect(job.spec.completionMode).toBe("Indexed");
    const container = job.spec.template.spec.containers[0]!;
    const env = Object.fromEntries(container.env.map((e) => [e.name, e.value]));
    const shards = Number(env["SHARDS"]);
    expect(job.spec.completions).toBe(shards);
    expect(job.spec.parallelism).toBe(shards);
    expect(container.command).toEqual(["tscc"]);
    mkdirSync(join(dir, "k8s-parts"));
    const pods = Array.from({ length: shards }, (_, k) => {
      const vars: Record<string, string> = { ...env, ...DATA, PARTS: "k8s-parts", JOBS: "1", JOB_COMPLETION_INDEX: String(k) };
      // Kubernetes expands $(NAME) in args from the container's environment.
      const args = container.args.map((a) => a.replace(/\$\(([A-Z_]+)\)/g, (m, name: string) => vars[name] ?? m));
      expect(args.join(" ")).not.toMatch(/\$\(/);
      return run(process.execPath, [BIN, ...args], {});
    });
    for (const p of await Promise.all(pods)) expect(p.code, p.out).toBe(0);
    expect(merged("k8s-parts")).toEqual(oneRun);
  });

  test("the Slurm job array: one task per shard, merged = one run", async () => {
    const script = join(EXAMPLES, "slurm-array.sh");
    const text = readFileSync(script, "utf8");
    const [, lo, hi] = /^#SBATCH --array=(\d+)-(\d+)$/m.exec(text) ?? [];
    const tasks = Number(hi) - Number(lo) + 1;
    expect(tasks).toBe(4);
    mkdirSync(join(dir, "slurm-parts"));
    const runs = Array.from({ length: tasks }, (_, k) =>
      run("bash", [script], {
        ...DATA,
        PARTS: "slurm-parts",
        TSCC: `${process.execPath} ${BIN}`,
        SLURM_ARRAY_TASK_ID: String(Number(lo) + k),
        SLURM_ARRAY_TASK_COUNT: String(tasks),
        SLURM_CPUS_PER_TASK: "1",
      }),
    );
    for (const r of await Promise.all(runs)) expect(r.code, r.out).toBe(0);
    expect(merged("slurm-parts")).toEqual(oneRun);
  });
});

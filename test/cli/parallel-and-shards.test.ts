/**
 * Evaluation beyond one thread and one machine: `tscc run --jobs N` gives the bytes and numbers of
 * `--jobs 1` for every engine (including the Poisson-input rate network, whose encoder seeds per global
 * sample index), and the n shards of `--shard i/n --save-counts` merge (`tscc merge`) into exactly the
 * one-run report; parts that do not belong together are refused with one line naming the file.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { encodeNpy } from "../../src/io/npy.js";
import { Rng } from "../support/random.js";
import { formatNumber } from "../../src/cli/ui.js";
import { BN_POOL, removeDir, spawnTscc, stackLines, tempDir, tscc } from "./support.js";

const N = 60;
let dir: string;

/** The report of `tscc run --json` without what depends on the machine or on how it was run. */
function comparable(stdout: string): Record<string, unknown> {
  const j = JSON.parse(stdout) as Record<string, unknown>;
  delete j["images_per_second"];
  delete j["jobs"];
  delete j["outputs"];
  return j;
}

/** `tscc <argv>` in this process (workers start from the TypeScript sources), or `node bin/tscc.js` (dist). */
async function ok(argv: string[], spawned = false): Promise<string> {
  const r = spawned ? spawnTscc(argv, dir) : await tscc(argv, dir);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toBe("");
  return r.stdout;
}

beforeAll(async () => {
  dir = tempDir("tscc-scale-");
  const rng = new Rng(11);
  writeFileSync(join(dir, "calib.npy"), encodeNpy({ shape: [32, 3, 16, 16], dtype: "f32", data: rng.f32(32 * 768, 0, 1) }));
  writeFileSync(join(dir, "x.npy"), encodeNpy({ shape: [N, 3, 16, 16], dtype: "f32", data: rng.f32(N * 768, 0, 1) }));
  writeFileSync(join(dir, "y.npy"), encodeNpy({ shape: [N], dtype: "i64", data: BigInt64Array.from({ length: N }, () => BigInt(Math.floor(rng.uniform(0, 10)))) }));
  await ok(["compile", BN_POOL, "--target", "emulator", "--calibration", "calib.npy", "--window", "8", "-o", "tsc"]);
  await ok(["compile", BN_POOL, "--target", "emulator", "--calibration", "calib.npy", "--coding", "rate", "--window", "24", "-O", "rate-input=poisson", "-o", "rate"]);
});
afterAll(() => removeDir(dir));

const RUN = ["--input", "x.npy", "--labels", "y.npy", "--batch", "8", "--json"];
const CONFIGS: [string, string[], boolean][] = [
  ["TSC, fast engine on onnxruntime", ["tsc", "--engine", "fast"], true],
  ["TSC, fast engine in JavaScript, cross-checked against the event engine", ["tsc", "--engine", "fast", "-O", "fast=js", "-O", "check=1"], true],
  ["TSC, event engine (workers started from the TypeScript sources)", ["tsc", "--engine", "event"], false],
  ["rate (Poisson input), event engine", ["rate", "--engine", "event"], true],
  ["rate (Poisson input), synapses on onnxruntime", ["rate", "--engine", "fast"], true],
];

describe("--jobs N is --jobs 1, bit for bit", () => {
  test.each(CONFIGS)("%s", async (_, [artifact, ...flags], spawned) => {
    const one = await ok(["run", artifact!, ...RUN, ...flags, "--jobs", "1", "--save-output", "one.npy"], spawned);
    const two = await ok(["run", artifact!, ...RUN, ...flags, "--jobs", "2", "--save-output", "two.npy"], spawned);
    expect(JSON.parse(one)["jobs"]).toBe(1);
    expect(JSON.parse(two)["jobs"]).toBe(2);
    expect(comparable(two)).toEqual(comparable(one));
    expect(readFileSync(join(dir, "two.npy")).equals(readFileSync(join(dir, "one.npy")))).toBe(true);
    // The numbers are real: the SNN was evaluated on every sample and against its reference ANN.
    const j = comparable(one);
    expect(j["samples"]).toBe(N);
    expect(j["reference"]).toBe("onnxruntime");
    expect(j["synaptic_additions_per_inference"]).toBeGreaterThan(0);
    if (flags.includes("check=1")) expect((j["engine_check"] as Record<string, number>)["samples_unexplained"]).toBe(0);
  });
});

describe("n shards merge into the one-run report", () => {
  test.each([
    ["TSC, event engine", ["tsc", "--engine", "event"]],
    ["rate (Poisson input), event engine", ["rate", "--engine", "event"]],
  ])("%s: 3 shards, counts and outputs", async (_, [artifact, ...flags]) => {
    const whole = await ok(["run", artifact!, ...RUN, ...flags, "--jobs", "1", "--save-output", "whole.npy"]);
    const rows: Buffer[] = [];
    let seen = 0;
    for (const i of [2, 0, 1]) {
      const part = JSON.parse(await ok(["run", artifact!, ...RUN, ...flags, "--jobs", "1", "--shard", `${i}/3`, "--save-counts", `part-${i}.json`, "--save-output", `out-${i}.npy`])) as { samples: number };
      seen += part.samples;
    }
    expect(seen).toBe(N);
    for (const i of [0, 1, 2]) rows.push(readFileSync(join(dir, `out-${i}.npy`)).subarray(128));
    const merged = await ok(["merge", "part-1.json", "part-0.json", "part-2.json", "--json"]);
    expect(JSON.parse(merged)).toEqual(comparable(whole));
    // The shards' logits, in shard order, are the one run's logits (npy header of 128 bytes, then data).
    expect(Buffer.concat(rows).equals(readFileSync(join(dir, "whole.npy")).subarray(128))).toBe(true);
    // The table form prints the same numbers as `tscc run`.
    const table = await ok(["merge", "part-0.json", "part-1.json", "part-2.json"]);
    expect(table).toMatch(/^merged 3 shards: 60 samples$/m);
    expect(table).toMatch(new RegExp(`^accuracy\\s+${formatNumber(JSON.parse(merged)["accuracy"] as number).replace(".", "\\.")}$`, "m"));
  });
});

describe("tscc merge refuses parts that are not the shards of one evaluation", () => {
  beforeAll(async () => {
    const one = ["--jobs", "1"];
    for (const i of [0, 1]) await ok(["run", "tsc", ...RUN, ...one, "--shard", `${i}/2`, "--save-counts", `m${i}.json`]);
    await ok(["run", "tsc", ...RUN, ...one, "--shard", "1/2", "--engine", "event", "--save-counts", "event1.json"]);
    await ok(["run", "rate", ...RUN, ...one, "--shard", "1/2", "--save-counts", "rate1.json"]);
    await ok(["run", "tsc", ...RUN, ...one, "--shard", "1/3", "--save-counts", "third.json"]);
    writeFileSync(join(dir, "notcounts.json"), JSON.stringify({ hello: 1 }));
  });

  test.each([
    ["a shard given twice", ["m0.json", "m1.json", "m1.json"], /^m1\.json: error TSCC5021: cannot merge: shard 1\/2 is given twice \(also m1\.json\)$/],
    ["a missing shard", ["m0.json"], /^error TSCC5021: cannot merge: shard 1\/2 missing \(1 of 2 parts given\)$/],
    ["other run options", ["m0.json", "event1.json"], /^event1\.json: error TSCC5021: cannot merge: not the same evaluation as m0\.json: run options/],
    ["another artifact", ["m0.json", "rate1.json"], /^rate1\.json: error TSCC5021: cannot merge: not the same evaluation as m0\.json: artifact/],
    ["another number of shards", ["m0.json", "third.json"], /^third\.json: error TSCC5021: cannot merge: not the same evaluation as m0\.json: number of shards/],
    ["a file that is not a counts file", ["m0.json", "notcounts.json"], /^notcounts\.json: error TSCC5021: cannot merge: not a tscc counts file/],
    ["a file that does not exist", ["m0.json", "nope.json"], /^error TSCC5006: file not found: nope\.json$/],
  ])("%s", async (_, files, message) => {
    const r = await tscc(["merge", ...files], dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr.trimEnd().split("\n")).toEqual([expect.stringMatching(message)]);
    expect(stackLines(r.stderr)).toEqual([]);
  });

  test("the two good parts merge", async () => {
    expect(JSON.parse(await ok(["merge", "m1.json", "m0.json", "--json"]))["samples"]).toBe(N);
  });

  test("an empty shard, a malformed --shard and --shard on a model are errors", async () => {
    const empty = await tscc(["run", "tsc", ...RUN, "--shard", "0/9"], dir);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/shard 0\/9 is empty: 60 samples make 8 chunks of 8 \(--batch\)/);
    const bad = await tscc(["run", "tsc", ...RUN, "--shard", "2/2"], dir);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--shard must be i\/n with 0 <= i < n, got '2\/2'/);
    const model = await tscc(["run", BN_POOL, "--input", "x.npy", "--shard", "0/2"], dir);
    expect(model.code).toBe(2);
    expect(model.stderr).toMatch(/--shard and --save-counts evaluate compiled artifacts/);
  });
});

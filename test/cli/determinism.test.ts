/**
 * Determinism (docs/reliability.md): compiling the same model twice gives byte-identical outputs for
 * the emulator and Loihi targets and for the IR dumped after every pass, whatever the folder, the
 * thread-pool size, the time zone or the locale; and `tscc run` gives the same logits and counts
 * whatever the number of worker threads. Real `bin/tscc.js` processes on the Fashion-MNIST cnn-small
 * example with a 64-image calibration subset (CI-cheap).
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { encodeNpy, readNpy } from "../../src/io/npy.js";
import { removeDir, ROOT, spawnTscc, tempDir } from "./support.js";

const EXAMPLE = join(ROOT, "examples/fashion-mnist");
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

/** Two environments as different as a test can make them on one machine. */
const ENVS: Record<string, string>[] = [
  { UV_THREADPOOL_SIZE: "1", TZ: "UTC", LANG: "C", LC_ALL: "C" },
  { UV_THREADPOOL_SIZE: "16", TZ: "Pacific/Chatham", LANG: "de_DE.UTF-8", LC_ALL: "de_DE.UTF-8" },
];

/** A folder with the model, 64 calibration images and 16 test images, as the user would lay it out. */
function workspace(): string {
  const d = tempDir("tscc-determinism-");
  dirs.push(d);
  writeFileSync(join(d, "cnn-small.onnx"), readFileSync(join(EXAMPLE, "cnn-small.onnx")));
  const take = (file: string, n: number): Uint8Array => {
    const t = readNpy(join(EXAMPLE, file));
    const per = t.data.length / t.shape[0]!;
    return encodeNpy({ shape: [n, ...t.shape.slice(1)], dtype: t.dtype, data: t.data.subarray(0, n * per) });
  };
  writeFileSync(join(d, "calib.npy"), take("calib-images.npy", 64));
  writeFileSync(join(d, "x.npy"), take("test-images.npy", 16));
  return d;
}

/** Every file under `dir` (relative path → bytes). */
function files(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

let ws: string[];
beforeAll(() => {
  ws = [workspace(), workspace()];
});

describe.each(["emulator", "loihi"])("--target %s", (target) => {
  test("two compiles (different folders, thread-pool sizes, time zones, locales) are byte-identical, IR dumps included, and name no absolute path", { timeout: 120_000 }, () => {
    const outs = ws.map((d, k) => {
      const r = spawnTscc(["compile", "cnn-small.onnx", "--target", target, "--calibration", "calib.npy", "--dump-ir-after", "all", "--dump-dir", `dumps-${target}`, "-o", `out-${target}`], d, ENVS[k]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      return { art: files(join(d, `out-${target}`)), dumps: files(join(d, `dumps-${target}`)) };
    });
    for (const kind of ["art", "dumps"] as const) {
      const [a, b] = [outs[0]![kind], outs[1]![kind]];
      expect([...b.keys()]).toEqual([...a.keys()]);
      expect(a.size).toBeGreaterThan(kind === "art" ? 5 : 8);
      for (const [name, bytes] of a) {
        expect(b.get(name)!.equals(bytes), `${kind}/${name} differs`).toBe(true);
        const text = bytes.toString("latin1");
        for (const d of ws) expect(text.includes(d), `${kind}/${name} names ${d}`).toBe(false);
      }
    }
  });
});

test("tscc run: the same logits and operation counts with 1 and 2 jobs (worker threads)", { timeout: 120_000 }, () => {
  const d = ws[0]!;
  const runs = [1, 2].map((w) => {
    const r = spawnTscc(["run", "out-emulator", "--input", "x.npy", "--engine", "event", "--jobs", String(w), "--save-output", `y${w}.npy`, "--json"], d);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const { images_per_second: _s, ...metrics } = JSON.parse(r.stdout) as Record<string, unknown>;
    return { metrics, logits: readFileSync(join(d, `y${w}.npy`)) };
  });
  expect(runs[1]!.logits.equals(runs[0]!.logits)).toBe(true);
  expect(runs[1]!.metrics).toEqual(runs[0]!.metrics);
});

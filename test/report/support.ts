/**
 * Artifacts for the report tests: a model compiled as a TSC and a rate-coded emulator network and as a
 * Loihi mapping, a few inputs with labels, and window sweeps of both emulator artifacts (`tscc run
 * --windows --json`), all in one temporary folder.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { encodeNpy, parseNpy } from "../../src/io/npy.js";
import { Rng } from "../support/random.js";
import { FIXTURES, ROOT, tscc } from "../cli/support.js";

export interface Fixture {
  readonly dir: string;
  /** Folder names inside dir. */
  readonly tsc: string;
  readonly rate: string;
  readonly loihi: string;
  readonly x: string;
  readonly y: string;
  readonly tscSweep: string;
  readonly rateSweep: string;
  readonly samples: number;
}

async function ok(argv: string[], dir: string): Promise<string> {
  const r = await tscc(argv, dir);
  expect(r.code, `tscc ${argv.join(" ")}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

/**
 * `small`: the bn_pool fixture (conv/BN/pools, input [3, 16, 16]) with random inputs and labels;
 * `fashion`: the shipped Fashion-MNIST cnn-small with its first `samples` test images.
 */
export async function buildFixture(dir: string, kind: "small" | "fashion", samples: number): Promise<Fixture> {
  let model: string;
  let calib: string;
  if (kind === "small") {
    const rng = new Rng(5);
    model = join(FIXTURES, "bn_pool.opset13.onnx");
    writeFileSync(join(dir, "calib.npy"), encodeNpy({ shape: [32, 3, 16, 16], dtype: "f32", data: rng.f32(32 * 768, 0, 1) }));
    writeFileSync(join(dir, "x.npy"), encodeNpy({ shape: [samples, 3, 16, 16], dtype: "f32", data: rng.f32(samples * 768, 0, 1) }));
    writeFileSync(join(dir, "y.npy"), encodeNpy({ shape: [samples], dtype: "i32", data: Int32Array.from({ length: samples }, () => rng.int(0, 9)) }));
    calib = "calib.npy";
  } else {
    const ex = join(ROOT, "examples/fashion-mnist");
    model = join(ex, "cnn-small.onnx");
    for (const [src, dst] of [["test-images.npy", "x.npy"], ["test-labels.npy", "y.npy"]] as const) {
      const t = parseNpy(readFileSync(join(ex, src)), src);
      const per = t.data.length / t.shape[0]!;
      writeFileSync(join(dir, dst), encodeNpy({ ...t, shape: [samples, ...t.shape.slice(1)], data: t.data.slice(0, samples * per) } as Parameters<typeof encodeNpy>[0]));
    }
    calib = "example:fashion-mnist";
  }
  await ok(["compile", model, "--target", "emulator", "--calibration", calib, "--window", "16", "-o", "tsc"], dir);
  await ok(["compile", model, "--target", "emulator", "--coding", "rate", "--calibration", calib, "--window", "32", "-o", "rate"], dir);
  await ok(["compile", model, "--target", "loihi", "--calibration", calib, "-o", "loihi"], dir);
  writeFileSync(join(dir, "tsc-sweep.json"), await ok(["run", "tsc", "--input", "x.npy", "--labels", "y.npy", "--windows", "4,8,16", "--json"], dir));
  writeFileSync(join(dir, "rate-sweep.json"), await ok(["run", "rate", "--input", "x.npy", "--labels", "y.npy", "--windows", "8,16,32", "--json"], dir));
  return { dir, tsc: "tsc", rate: "rate", loihi: "loihi", x: "x.npy", y: "y.npy", tscSweep: "tsc-sweep.json", rateSweep: "rate-sweep.json", samples };
}

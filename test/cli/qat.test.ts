/**
 * `tscc compile` on networks with activation quantisers: a trained quantiser needs no calibration data,
 * and a chain that only looks like one fails the spiking conversion naming its nodes, after the warning
 * that says why it was not fused.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { floorFirst, gemmModel } from "../support/qat-onnx.js";
import { removeDir, tempDir, tscc } from "./support.js";

let tmp: string;
beforeAll(() => {
  tmp = tempDir("tscc-qat-");
  writeFileSync(join(tmp, "qcfs.onnx"), gemmModel(floorFirst(4, 2)));
  writeFileSync(join(tmp, "near-miss.onnx"), gemmModel(floorFirst(4, 2, 0.98 * 2)));
});
afterAll(() => removeDir(tmp));

describe("tscc compile with activation quantisers", () => {
  test("a QCFS network compiles without calibration data, its layer firing in a window of L steps", async () => {
    const r = await tscc(["compile", "qcfs.onnx", "--target", "emulator", "-o", "qcfs"], tmp);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(tmp, "qcfs", "manifest.json"), "utf8")) as { layers: { kind: string; name: string; steps?: number }[] };
    expect(manifest.layers.filter((l) => l.kind === "tsc").map((l) => [l.name, l.steps])).toEqual([["fc1", 4]]);
  });

  test("a per-layer window for a quantised layer must be its L", async () => {
    const r = await tscc(["compile", "qcfs.onnx", "--target", "emulator", "--layer-windows", "fc1=8", "-o", "wrong-window"], tmp);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/layer 'fc1' is quantised to 4 levels by the network itself, so its window is 4 steps; a per-layer window of 8 would change what it computes/);
    expect((await tscc(["compile", "qcfs.onnx", "--target", "emulator", "--layer-windows", "fc1=4,x=16", "-o", "same-window"], tmp)).code).toBe(0);
  });

  test("a near miss is reported: the warning first, then the conversion error naming the Floor", async () => {
    const r = await tscc(["compile", "near-miss.onnx", "--target", "emulator", "-o", "bad"], tmp);
    expect(r.code).toBe(1);
    const lines = r.stderr.split("\n").filter((l) => /TSCC\d+/.test(l));
    expect(lines[0]).toMatch(/node #\d+ 'floor' \(Floor\): warning TSCC3300: Floor after 'fc1' is not a QCFS quantiser: scale L\/λ·λ\/L = 0\.98 ≠ 1/);
    expect(lines.some((l) => /'floor' \(Floor\): error TSCC4001: .*nn\.floor: it has no spiking counterpart/.test(l))).toBe(true);
  });
});

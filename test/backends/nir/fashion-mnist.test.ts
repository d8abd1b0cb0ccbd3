/**
 * The Fashion-MNIST examples exported to NIR: the test-side NIR simulator (independent of the emulator)
 * on the exported file agrees with tscc's emulator on the same images, for both codings; and the
 * round trip ONNX → tscc → NIR → tscc gives the same network (same outputs, same operation counts).
 */
import { readFileSync, rmSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { builtinOps, type Module } from "../../../ir/index.js";
import { buildNetwork } from "../../../backends/emulator/build-network.js";
import { runEvent } from "../../../backends/emulator/runtime/index.js";
import { readNirFile } from "../../../backends/nir/format.js";
import { compile } from "../../../src/driver/compile.js";
import { importNirFile, nirReady } from "../../../src/frontend/nir/import.js";
import { readNpy } from "../../../src/io/npy.js";
import { simulateNir } from "../../support/nir-reference.js";
import { ROOT } from "../../cli/support.js";

const EX = join(ROOT, "examples/fashion-mnist");
const tmp = mkdtempSync(join(tmpdir(), "tscc-nir-fm-"));
const images = readNpy(join(EX, "test-images.npy"));
const PER = 784;

beforeAll(async () => {
  await nirReady();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The converted module (the emulator's pipeline) and the .nir file written from it, compiled once. */
const cache = new Map<string, Promise<{ module: Module; file: string }>>();
function compiled(model: string, coding: string, window: number): Promise<{ module: Module; file: string }> {
  const key = `${model}-${coding}-${window}`;
  let p = cache.get(key);
  if (!p) {
    p = (async () => {
      const r = await compile({ model: join(EX, `${model}.onnx`), target: "nir", backendOptions: { coding, window: String(window), calibration: join(EX, "calib-images.npy"), "calibration-limit": "200" } });
      const file = join(tmp, `${key}.nir`);
      writeFileSync(file, r.files.get("model.nir")!);
      return { module: r.module, file };
    })();
    cache.set(key, p);
  }
  return p;
}

const CASES: [model: string, coding: "tsc" | "rate", window: number, n: number][] = [
  ["cnn-small", "tsc", 8, 3],
  ["cnn-small", "rate", 32, 1],
  ["vgg-bn", "tsc", 4, 1],
  ["vgg-bn", "rate", 16, 1],
];

describe.each(CASES)("%s, %s coding, window %i", (model, coding, window, n) => {
  it("the exported graph, simulated per NIR semantics, agrees with the emulator", async () => {
    const nir = await compiled(model, coding, window);
    const f = readNirFile(nir.file!);
    const steps = (f.graph.metadata!["tscc"] as Record<string, number>)["steps"]!;
    const x = (images.data as Float32Array).subarray(0, n * PER);
    const ev = runEvent(buildNetwork(nir.module).network, x, n);
    for (let b = 0; b < n; b++) {
      const r = simulateNir(f.graph, 1, steps, () => x.subarray(b * PER, (b + 1) * PER));
      const got = Array.from(r.outputs.get("logits")![steps - 1]!);
      const want = Array.from(ev.outputs[0]!.subarray(b * 10, (b + 1) * 10), Number);
      const scale = Math.max(1, ...want.map(Math.abs));
      for (let j = 0; j < 10; j++) expect(Math.abs(got[j]! - want[j]!), `sample ${b} logit ${j}`).toBeLessThanOrEqual(1e-5 * scale);
      expect(got.indexOf(Math.max(...got))).toBe(want.indexOf(Math.max(...want)));
    }
  });

  it("round trip: the network compiled from the .nir is the one compiled from ONNX", async () => {
    const nir = await compiled(model, coding, window);
    const back = importNirFile(nir.file!, builtinOps());
    expect(back.restored, back.notes.map((d) => d.message).join("; ")).toBe(true);
    const x = (images.data as Float32Array).subarray(0, 8 * PER);
    const a = runEvent(buildNetwork(nir.module).network, x, 8);
    const b = runEvent(buildNetwork(back.module).network, x, 8);
    expect(Array.from(b.outputs[0]!)).toEqual(Array.from(a.outputs[0]!));
    expect(b.counters).toEqual(a.counters);
    expect(a.counters.synaptic_additions).toBeGreaterThan(0);
  });
});

describe("export files", () => {
  it("are byte-deterministic and re-export from NIR byte-identical", async () => {
    const a = await compiled("cnn-small", "tsc", 8);
    const b = await compile({ model: join(EX, "cnn-small.onnx"), target: "nir", backendOptions: { coding: "tsc", window: "8", calibration: join(EX, "calib-images.npy"), "calibration-limit": "200" } });
    expect(Buffer.compare(Buffer.from(b.files.get("model.nir")!), readFileSync(a.file))).toBe(0);
    const again = await compile({ model: a.file, target: "nir" });
    expect(Buffer.compare(Buffer.from(again.files.get("model.nir")!), readFileSync(a.file))).toBe(0);
  });
});

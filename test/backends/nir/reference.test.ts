/**
 * The test-side NIR simulator (test/support/nir-reference.ts) against the numpy simulation written by
 * test/fixtures/nir/make_fixtures.py beside files made by NIR's own nir.write: two independent
 * implementations of docs/interop.md's discrete-time reading must agree exactly on dyadic fixtures.
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { hdf5Ready } from "../../../backends/nir/hdf5.js";
import { readNirFile, type NirMeta } from "../../../backends/nir/format.js";
import { readNpy } from "../../../src/io/npy.js";
import { simulateNir } from "../../support/nir-reference.js";
import { ROOT } from "../../cli/support.js";

const FIX = join(ROOT, "test/fixtures/nir");

beforeAll(async () => {
  await hdf5Ready();
});

describe("reference NIR simulator", () => {
  it.each(["lif_chain", "conv_if", "recurrent", "misc"])("reproduces the numpy simulation of %s exactly", (name) => {
    const f = readNirFile(join(FIX, `${name}.nir`));
    const dt = (f.graph.metadata as NirMeta)["dt"] as number;
    const x = readNpy(join(FIX, `${name}.input.npy`));
    const want = readNpy(join(FIX, `${name}.expected.npy`));
    const [T, B] = [x.shape[0]!, x.shape[1]!];
    const per = x.data.length / (T * B);
    const outPer = want.data.length / (T * B);
    let nonZero = 0;
    for (let b = 0; b < B; b++) {
      const r = simulateNir(f.graph, dt, T, (t) => (x.data as Float32Array).subarray((t * B + b) * per, (t * B + b + 1) * per));
      const out = r.outputs.get("output")!;
      for (let t = 0; t < T; t++)
        for (let j = 0; j < outPer; j++) {
          const v = out[t]![j]!;
          if (v !== 0) nonZero++;
          expect(v, `${name} t=${t} b=${b} j=${j}`).toBe((want.data as Float64Array)[(t * B + b) * outPer + j]);
        }
    }
    expect(nonZero).toBeGreaterThan(20);
  });
});

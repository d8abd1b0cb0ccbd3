/**
 * The rate engine on onnxruntime (runRateOnnx) computes the same network as the event engine: on dyadic
 * weights and inputs every charge is exact in float32 too, so outputs, checkpoints and every counter
 * must be identical — current and Poisson input, conv with stride/pad/group, the max-pool rule, concat,
 * a residual add, dense layers.
 */
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { runEvent, runRateOnnx, type OrtModule } from "../../../../backends/emulator/runtime/index.js";
import { Rng } from "../../../support/random.js";
import { NetBuilder } from "./net-builder.js";

function dyadic(rng: Rng, n: number, lo: number, hi: number): number[] {
  return Array.from({ length: n }, () => rng.int(lo, hi) / 256);
}

function network(mode: "current" | "poisson", T: number, seed: number) {
  const rng = new Rng(seed);
  const nb = new NetBuilder("rate", T);
  const x = nb.encode([2, 6, 6], { mode, seed: 5 });
  const c1 = nb.ifn(nb.conv(x, dyadic(rng, 4 * 1 * 3 * 3, -40, 90), [4, 1, 3, 3], { strides: [1, 1], pads: [1, 1, 1, 1], group: 2 }, dyadic(rng, 4, -8, 16)), { vInit: 0.5 });
  const p1 = nb.maxpool(c1, [2, 2], [2, 2]);
  const c2 = nb.ifn(nb.conv(p1, dyadic(rng, 4 * 4 * 3 * 3, -30, 60), [4, 4, 3, 3], { strides: [1, 1], pads: [1, 1, 1, 1] }), { vInit: 0.5 });
  // Residual: c3 = IF(conv(c2) + 0.5·c2)
  const c3 = nb.ifn(nb.add(nb.conv(c2, dyadic(rng, 4 * 4 * 1 * 1, -40, 80), [4, 4, 1, 1]), nb.scale(c2, 0.5)), { vInit: 0.5 });
  const cat = nb.concat([c3, p1], 0);
  const flat = nb.reshape(cat, [8 * 3 * 3]);
  const h = nb.ifn(nb.dense(flat, dyadic(rng, 16 * 72, -20, 40), 16, dyadic(rng, 16, -4, 8)), { vInit: 0 });
  nb.decode(nb.dense(h, dyadic(rng, 5 * 16, -64, 64), 5));
  return nb.build();
}

describe.each(["current", "poisson"] as const)("%s input", (mode) => {
  it("equals the event engine: outputs, checkpoints and every counter", async () => {
    const T = 40;
    const net = network(mode, T, mode === "current" ? 3 : 4);
    const rng = new Rng(8);
    const batch = 6;
    const x = Float32Array.from(dyadic(rng, batch * 72, 0, 256));
    const checkpoints = [1, 7, 20, 40];
    const ev = runEvent(net, x, batch, { checkpoints });
    const ox = await runRateOnnx(net, ort as unknown as OrtModule, x, batch, { checkpoints });
    expect(ox.outputs).toEqual(ev.outputs);
    expect(ox.counters).toEqual(ev.counters);
    expect(ox.checkpoints!.map((c) => c.step)).toEqual(checkpoints);
    ox.checkpoints!.forEach((c, k) => {
      expect(c.outputs).toEqual(ev.checkpoints![k]!.outputs);
      expect(c.counters).toEqual(ev.checkpoints![k]!.counters);
    });
    expect(ev.counters.spikes).toBeGreaterThan(0);
  });
});

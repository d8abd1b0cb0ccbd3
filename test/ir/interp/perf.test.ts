import { describe, expect, it } from "vitest";
import { conv } from "../../../ir/interp/kernels/index.js";
import { rtensor } from "../../../ir/interp/tensor.js";
import { Rng } from "../../support/random.js";

/**
 * Throughput of the reference conv on the benchmark layer: 64 → 64 channels, 3×3, pad 1, 32×32, batch 8
 * (302 M multiply-accumulates). Logs MAC/s; the assertion is a loose floor that only catches an
 * accidental loss of the im2col + blocked GEMM path (the machine running the tests may be shared).
 */
describe("conv throughput", () => {
  it("64→64 3x3 on 32x32, batch 8", () => {
    const rng = new Rng(1);
    const [n, c, m, h, w] = [8, 64, 64, 32, 32];
    const x = rtensor([n, c, h, w], "f32", rng.f32(n * c * h * w));
    const wt = rtensor([m, c, 3, 3], "f32", rng.f32(m * c * 9, -0.1, 0.1));
    const b = rtensor([m], "f32", rng.f32(m));
    const p = { kernel: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1, activation: { lo: 0, hi: Infinity } };
    const macs = n * m * h * w * c * 9;
    conv(x, wt, b, p); // warm-up (JIT)
    let best = Infinity;
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      conv(x, wt, b, p);
      best = Math.min(best, (performance.now() - t0) / 1000);
    }
    const rate = macs / best;
    console.log(`conv 64→64 3x3 32x32 batch 8: ${(macs / 1e6).toFixed(0)} MMAC in ${(best * 1000).toFixed(0)} ms = ${(rate / 1e9).toFixed(2)} GMAC/s (${((2 * rate) / 1e9).toFixed(2)} GFLOP/s)`);
    expect(rate).toBeGreaterThan(5e7);
  }, 60_000);
});

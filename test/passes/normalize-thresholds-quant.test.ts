/**
 * normalize-thresholds on quantisation-aware layers (activation = "quant"): λ is the graph's
 * quant_lambda, one per layer (never per channel, never a percentile), calibration data is needed only
 * when some activation is not a quantiser, and the normalised network computes the same outputs.
 */
import { describe, expect, test } from "vitest";
import { isTsccError, parseModule, type Module } from "../../ir/index.js";
import { interpret, randomInputs, runPipeline } from "../support/ir.js";
import { Rng } from "../support/random.js";

const dense = (values: Float32Array): string => `dense<[${Array.from(values, (v) => v.toFixed(6)).join(", ")}]>`;

/**
 * input (4 levels) → conv 2→3 (quant L = 4, λ = 1.5) → average pool → flatten → gemm 12→5 (second
 * activation) → gemm 5→3 (logits). The second activation is a quantiser (L = 8, λ = 2.25) or a ReLU.
 */
function model(second: "quant" | "relu"): Module {
  const rng = new Rng(11);
  const act2 = second === "quant" ? `activation = "quant", quant_lambda = 2.25, quant_levels = 8, ` : `activation = "relu", `;
  return parseModule(`module @q {input_levels = 4, input_rounding = "floor"} {
  const @cw : tensor<3x2x3x3xf32> = ${dense(rng.f32(54, -0.6, 0.6))}
  const @cb : tensor<3xf32> = ${dense(rng.f32(3, -0.2, 0.4))}
  const @w1 : tensor<5x12xf32> = ${dense(rng.f32(60, -0.7, 0.7))}
  const @b1 : tensor<5xf32> = ${dense(rng.f32(5, -0.1, 0.3))}
  const @w2 : tensor<3x5xf32> = ${dense(rng.f32(15, -1, 1))}
  input %0 : tensor<?x2x4x4xf32> {name = "x"}
  %1 = nn.conv %0, @cw, @cb {activation = "quant", dilations = [1, 1], kernel_shape = [3, 3], pads = [1, 1, 1, 1], quant_lambda = 1.5, quant_levels = 4, strides = [1, 1]} : tensor<?x3x4x4xf32>
  %2 = nn.average_pool %1 {dilations = [1, 1], kernel_shape = [2, 2], pads = [0, 0, 0, 0], strides = [2, 2]} : tensor<?x3x2x2xf32>
  %3 = nn.flatten %2 : tensor<?x12xf32>
  %4 = nn.gemm %3, @w1, @b1 {${act2}transB = 1} : tensor<?x5xf32>
  %5 = nn.gemm %4, @w2 {transB = 1} : tensor<?x3xf32>
  output %5 {name = "y"}
}
`);
}

function expectSameOutputs(before: Module, after: Module): void {
  const x = randomInputs(before, 21, 64, -0.1, 1.1);
  const a = interpret(before, x)["y"]!.data as Float32Array;
  const b = interpret(after, x)["y"]!.data as Float32Array;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  expect(worst).toBeLessThan(1e-5);
}

describe("normalize-thresholds on quantiser layers", () => {
  test.each(["", "{per-channel=false}"])("takes each λ from the graph, one per layer, without calibration data%s", async (opts) => {
    const m = model("quant");
    const before = m.clone();
    await runPipeline(m, `normalize-thresholds${opts}`);
    const [conv, , , fc1, fc2] = m.ops;
    expect(conv!.attrs).toMatchObject({ lambda: 1.5, quant_lambda: 1, quant_levels: 4 });
    expect(fc1!.attrs).toMatchObject({ lambda: 2.25, quant_lambda: 1, quant_levels: 8 });
    // The weights are divided by one λ per layer (not per channel) and multiplied by the input's.
    const w0 = before.consts.get("cw")!.data as Float32Array;
    const w = conv!.operands[1]!.constant!.data as Float32Array;
    w.forEach((v, i) => expect(v).toBeCloseTo(w0[i]! / 1.5, 6));
    const v0 = before.consts.get("w1")!.data as Float32Array;
    const v = fc1!.operands[1]!.constant!.data as Float32Array;
    v.forEach((x, i) => expect(x).toBeCloseTo((v0[i]! * 1.5) / 2.25, 6));
    expect(fc2!.operands[1]!.constant!.data[0]).toBeCloseTo((before.consts.get("w2")!.data[0] as number) * 2.25, 5);
    expectSameOutputs(before, m);
  });

  test("a network with any non-quantiser activation still needs calibration data", async () => {
    const m = model("relu");
    const err = await runPipeline(m, "normalize-thresholds").catch((e: unknown) => e);
    expect(isTsccError(err)).toBe(true);
    expect((err as Error).message).toMatch(/no calibration data/);
  });

  test("with calibration data, the quantiser keeps the graph's λ and the ReLU layer gets the percentile", async () => {
    const m = model("relu");
    const before = m.clone();
    const cal = randomInputs(m, 5, 200, 0, 1)["x"]!;
    await runPipeline(m, "normalize-thresholds{per-channel=false,percentile=100}", { calibration: cal });
    expect(m.ops[0]!.attrs).toMatchObject({ lambda: 1.5, quant_lambda: 1 });
    // The ReLU layer's λ is the maximum of its activations on the calibration data (the interpreter's own run).
    let max = 0;
    interpret(before, { x: cal }, {
      observe: (v, t, op) => {
        if (op === before.ops[3]) for (const x of t.data as Float32Array) max = Math.max(max, x);
      },
    });
    expect(m.ops[3]!.num("lambda")).toBeCloseTo(max, 5);
    expectSameOutputs(before, m);
  });
});

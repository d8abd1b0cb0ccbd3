/**
 * Window tuning leaves the windows a quantisation-aware trained network fixes (T = L of a quantised
 * layer) and tunes the others; the windows it returns convert.
 */
import { expect, test } from "vitest";
import { builtinOps, DiagnosticBag, silentLogger, type PassContext } from "../../../ir/index.js";
import { tscCoding } from "../../../src/passes/snn/convert.js";
import { tuneWindows } from "../../../src/passes/snn/tune.js";
import { randomInputs, runPipeline } from "../../support/ir.js";
import { importBytes } from "../../support/onnx-import.js";
import { floorFirst, gemmModel } from "../../support/qat-onnx.js";

test("a quantised layer keeps T = L while the encoder's window is tuned", async () => {
  const m = importBytes(gemmModel(floorFirst(4, 2))).module;
  await runPipeline(m, "canonicalize,normalize-thresholds");
  const ctx: PassContext = { options: {}, diag: new DiagnosticBag("test"), ops: builtinOps(), log: silentLogger, inputs: {} };
  const held = randomInputs(m, 3, 200, 0, 1)["x"]!;
  const r = await tuneWindows(m, ctx, { coding: tscCoding({ phi: 0.5, rounding: "round" }), avgpool: "merge" }, held, { maxWindow: 32, tolerance: 5, objective: "latency", engine: "js", log: silentLogger });
  expect(r.layers.map((l) => l.key)).toEqual(["x", "fc1"]);
  expect(r.windows.get("fc1")).toBe(4);
  expect(r.windows.get("x")!).toBeLessThan(32);
  const spec = [...r.windows].map(([k, v]) => `${k}=${v}`).join(";");
  await runPipeline(m, `insert-tsc-encoding{window=32,windows=${JSON.stringify(spec)}}`);
  expect(m.ops.filter((op) => op.name === "snn.tsc").map((op) => op.num("window"))).toEqual([4]);
});

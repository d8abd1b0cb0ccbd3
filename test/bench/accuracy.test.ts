/** The accuracy benchmark's per-layer table pairs the TSC and rate layers of the same ONNX node. */
import { expect, test } from "vitest";
import { alignByName } from "../../bench/accuracy.js";

const L = (...names: string[]) => names.map((name) => ({ name }));

test("layers only the rate variant has (spiking average pools) get rows of their own", () => {
  const tsc = L("conv1", "conv2", "fc");
  const rate = L("conv1", "pool1", "conv2", "pool2", "fc");
  expect(alignByName(tsc, rate).map(([a, b]) => [a?.name, b?.name])).toEqual([
    ["conv1", "conv1"],
    [undefined, "pool1"],
    ["conv2", "conv2"],
    [undefined, "pool2"],
    ["fc", "fc"],
  ]);
});

test("a layer only the TSC side has, and equal sequences", () => {
  expect(alignByName(L("a", "x", "b"), L("a", "b")).map(([a, b]) => [a?.name, b?.name])).toEqual([
    ["a", "a"],
    ["x", undefined],
    ["b", "b"],
  ]);
  expect(alignByName(L("a", "b"), L("a", "b")).length).toBe(2);
});

/** Test helpers for IR-level tests: pipelines from text, random inputs for a module, tensor comparison. */
import { readFileSync } from "node:fs";
import { parseModule, PassManager, PassRegistry, builtinOps, silentLogger, BATCH, type Module } from "../../ir/index.js";
import { interpret } from "../../ir/interp/interpreter.js";
import type { RTensor } from "../../ir/interp/tensor.js";
import { registerBuiltinPasses } from "../../src/passes/index.js";
import { Rng } from "./random.js";

export function builtinPassRegistry(): PassRegistry {
  const r = new PassRegistry();
  registerBuiltinPasses(r);
  return r;
}

export async function runPipeline(m: Module, pipeline: string, inputs: Record<string, unknown> = {}): Promise<void> {
  const pm = new PassManager(builtinPassRegistry());
  await pm.run(pm.parse(pipeline), m, { ops: builtinOps(), log: silentLogger, inputs });
}

export function parseFile(file: string): Module {
  return parseModule(readFileSync(file, "utf8"), { file });
}

/** Random f32 inputs for every module input, with `batch` samples where the batch is dynamic. */
export function randomInputs(m: Module, seed: number, batch = 3, lo = -1, hi = 1): Record<string, RTensor> {
  const rng = new Rng(seed);
  const out: Record<string, RTensor> = {};
  for (const i of m.inputs) {
    const shape = i.value.type.shape.map((d) => (d === BATCH ? batch : d));
    out[i.name] = { shape, dtype: "f32", data: rng.f32(Rng.numel(shape), lo, hi) };
  }
  return out;
}

/** max |a − b| / max(1e-6, max |b|). */
export function relError(a: RTensor, b: RTensor): number {
  if (a.shape.join() !== b.shape.join()) return Infinity;
  let num = 0;
  let den = 1e-6;
  for (let i = 0; i < a.data.length; i++) {
    const x = Number(a.data[i]);
    const y = Number(b.data[i]);
    num = Math.max(num, Math.abs(x - y));
    den = Math.max(den, Math.abs(y));
  }
  return num / den;
}

export { interpret };

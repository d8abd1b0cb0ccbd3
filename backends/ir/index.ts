/** The `ir` backend: writes the final IR as text (`model.tir`) with its weights sidecar (`weights.bin`). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { builtinOps, parseModule, printModule, readWeights, writeWeights } from "../../ir/index.js";
import { interpret } from "../../ir/interp/interpreter.js";
import { defineBackend } from "../api.js";

export const irBackend = defineBackend({
  name: "ir",
  apiVersion: 1,
  summary: "write the compiled IR (model.tir + weights.bin); no hardware lowering",
  options: {
    "inline-weights": { kind: "bool", default: false, doc: "print weights inside model.tir instead of weights.bin" },
  },
  pipeline: () => "",
  legalize() {},
  emit(m, ctx) {
    const inline = ctx.options["inline-weights"] === true;
    const out = m.clone();
    if (!inline) out.attrs["weights_file"] = "weights.bin";
    ctx.writeFile("model.tir", printModule(out, { inlineWeights: inline }));
    if (!inline) ctx.writeFile("weights.bin", writeWeights(out));
  },
  /** Input names of an ir artifact: those of model.tir. */
  artifactInputs(dir) {
    const text = readFileSync(join(dir, "model.tir"), "utf8");
    return [...text.matchAll(/^\s*input %\w+ : \S+ \{name = ("(?:[^"\\]|\\.)*")\}/gm)].map((mm) => JSON.parse(mm[1]!) as string);
  },
  /** `tscc run <dir>` on an ir artifact: the reference interpreter on model.tir. */
  async run(dir, req) {
    const file = join(dir, "model.tir");
    let wf: ReturnType<typeof readWeights> | undefined;
    const m = parseModule(readFileSync(file, "utf8"), {
      file,
      registry: builtinOps(),
      loadBlob: (ref, type) => (wf ??= readWeights(readFileSync(join(dir, "weights.bin")), join(dir, "weights.bin"))).load(ref, type),
    });
    return { outputs: interpret(m, req.inputs), metrics: {} };
  },
});

/**
 * Every fuzzed reader. Adding one (e.g. the NIR reader once it exists) is one entry here: a
 * FuzzTarget (fuzz/target.ts) with a seed corpus, an arbitrary producing case files plus the `tscc`
 * command that reads them, and one valid case. For NIR, something like:
 *
 *     defineTarget({ name: "nir", summary: "...", weight: 2,
 *       prepare: async () => ({ corpus: [<bytes of model.nir files exported from the fixtures>] }),
 *       base: () => ({}),
 *       arbitrary: (p) => mutatedBytes(p.corpus).map((b) => ({ files: { "model.nir": b }, argv: ["compile", "model.nir", "--target", "ir", "-o", "out"], note: "byte-mutated NIR" })),
 *       valid: (p) => ({ files: { "model.nir": p.corpus[0] }, argv: [...], note: "unmutated" }) })
 */
import type { FuzzTarget } from "../target.js";
import { emulatorArtifactTarget, loihiArtifactTarget, loihiProfileTarget } from "./artifacts.js";
import { imageTarget, npyTarget } from "./data.js";
import { tirJsonTarget, tirTarget } from "./ir.js";
import { namesTarget } from "./names.js";
import { onnxBytesTarget, onnxStructureTarget } from "./onnx.js";

export const TARGETS: readonly FuzzTarget<any>[] = [
  onnxBytesTarget,
  onnxStructureTarget,
  tirTarget,
  tirJsonTarget,
  npyTarget,
  imageTarget,
  emulatorArtifactTarget,
  loihiArtifactTarget,
  loihiProfileTarget,
  namesTarget,
];

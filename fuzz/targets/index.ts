/**
 * Every fuzzed reader. Adding one is one entry here: a FuzzTarget (fuzz/target.ts) with a seed corpus,
 * an arbitrary producing case files plus the `tscc` command that reads them, and one valid case.
 */
import type { FuzzTarget } from "../target.js";
import { emulatorArtifactTarget, loihiArtifactTarget, loihiProfileTarget } from "./artifacts.js";
import { imageTarget, npyTarget } from "./data.js";
import { tirJsonTarget, tirTarget } from "./ir.js";
import { namesTarget } from "./names.js";
import { nirTarget } from "./nir.js";
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
  nirTarget,
];

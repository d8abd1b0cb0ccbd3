/** The built-in passes, registered explicitly (no directory scanning). */
import { PassRegistry } from "../../ir/index.js";
import { dropIdentityPass } from "./drop-identity.js";
import { foldBatchnormPass } from "./fold-batchnorm.js";
import { foldConstantsPass } from "./fold-constants.js";
import { foldPadPass } from "./fold-pad.js";
import { fuseActivationsPass } from "./fuse-activations.js";
import { fuseQuantizersPass } from "./fuse-quantizers.js";
import { foldInputNormalizationPass } from "./fold-input-normalization.js";
import { insertRateEncodingPass } from "./insert-rate-encoding.js";
import { insertTscEncodingPass } from "./insert-tsc-encoding.js";
import { normalizeThresholdsPass } from "./normalize-thresholds.js";

export const CANONICALIZE = "drop-identity,fold-constants,fold-batchnorm,fold-pad,fuse-activations,fuse-quantizers";

export const BUILTIN_PASSES = [
  dropIdentityPass,
  foldConstantsPass,
  foldBatchnormPass,
  foldPadPass,
  fuseActivationsPass,
  fuseQuantizersPass,
  foldInputNormalizationPass,
  normalizeThresholdsPass,
  insertTscEncodingPass,
  insertRateEncodingPass,
];

export function registerBuiltinPasses(reg: PassRegistry): void {
  for (const p of BUILTIN_PASSES) reg.register(p);
  reg.registerAlias("canonicalize", CANONICALIZE, "the canonical ANN clean-up: " + CANONICALIZE.replace(/,/g, ", "));
}

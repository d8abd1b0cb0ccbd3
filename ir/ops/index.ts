import { OpRegistry, type OpDef } from "../opdef.js";
import { NN_OPS } from "./nn.js";
import { NIR_OPS } from "./nir.js";
import { SNN_OPS } from "./snn.js";

/** Every op tscc itself defines. Backends and plugins add their own to a compilation's registry. */
export const BUILTIN_OPS: readonly OpDef[] = [...NN_OPS, ...SNN_OPS, ...NIR_OPS];

/** A fresh registry holding the built-in ops (one per compilation; never shared mutable state). */
export function builtinOps(): OpRegistry {
  return new OpRegistry(BUILTIN_OPS);
}

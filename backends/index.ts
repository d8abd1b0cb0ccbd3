/** Built-in backends, in the order `tscc backends` lists them. */
import type { Backend } from "./api.js";
import { emulatorBackend } from "./emulator/index.js";
import { irBackend } from "./ir/index.js";
import { loihiBackend } from "./loihi/index.js";
import { nirBackend } from "./nir/index.js";

export const BUILTIN_BACKENDS: readonly Backend[] = [emulatorBackend, loihiBackend, nirBackend, irBackend];

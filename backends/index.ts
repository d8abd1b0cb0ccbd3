/** Built-in backends, in the order `tscc backends` lists them. */
import type { Backend } from "./api.js";
import { emulatorBackend } from "./emulator/index.js";
import { irBackend } from "./ir/index.js";

export const BUILTIN_BACKENDS: readonly Backend[] = [emulatorBackend, irBackend];

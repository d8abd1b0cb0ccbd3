/** `--dump-ir-before/after=<pass,...|all>` and `--dump-dir`, as pass instrumentation (MLIR style). */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { printModule, writeWeights, type Module, type Pass, type PassInstrumentation } from "../../ir/index.js";

export interface DumpOptions {
  before?: readonly string[];
  after?: readonly string[];
  /** Folder for numbered `.tir` files; without it dumps go to `write` (stderr). */
  dir?: string;
  write?: (text: string) => void;
}

function wants(list: readonly string[] | undefined, pass: Pass): boolean {
  return !!list && (list.includes("all") || list.includes(pass.name));
}

export function dumpInstrumentation(opts: DumpOptions): PassInstrumentation {
  let counter = 0;
  const emit = (when: "before" | "after", pass: Pass, m: Module): void => {
    counter++;
    const tag = `${String(counter).padStart(2, "0")}-${when}-${pass.name.replace(/:/g, "-")}`;
    if (opts.dir) {
      mkdirSync(opts.dir, { recursive: true });
      const copy = m.clone();
      copy.attrs["weights_file"] = `${tag}.weights.bin`;
      writeFileSync(join(opts.dir, `${tag}.tir`), printModule(copy));
      writeFileSync(join(opts.dir, `${tag}.weights.bin`), writeWeights(copy));
    } else {
      (opts.write ?? ((t: string) => process.stderr.write(t)))(`// ----- IR ${when} ${pass.name} -----\n${printModule(m)}`);
    }
  };
  return {
    beforePass: (p, m) => {
      if (wants(opts.before, p)) emit("before", p, m);
    },
    afterPass: (p, m) => {
      if (wants(opts.after, p)) emit("after", p, m);
    },
  };
}

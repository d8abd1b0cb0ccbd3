/** `--dump-ir-before/after=<pass,...|all>` and `--dump-dir`, as pass instrumentation (MLIR style). */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fmt, M, PassManager, printModule, TsccError, writeWeights, type Module, type Pass, type PassInstrumentation, type PassRegistry } from "../../ir/index.js";

export interface DumpOptions {
  before?: readonly string[];
  after?: readonly string[];
  /** Folder for numbered `.tir` files; without it dumps go to `write` (stderr). */
  dir?: string;
  write?: (text: string) => void;
}

/**
 * Check the pass names given to `--dump-ir-before/after` (comma-separated; `all`; aliases such as
 * `canonicalize` expand to their passes). An unknown name is an error rather than a dump that never
 * happens.
 */
export function resolveDumpList(list: readonly string[] | undefined, passes: PassRegistry): string[] | undefined {
  if (!list) return undefined;
  const out: string[] = [];
  const unknown: string[] = [];
  for (const name of list) {
    if (name === "all" || passes.get(name)) out.push(name);
    else {
      const alias = passes.alias(name);
      if (alias !== undefined) out.push(...new PassManager(passes).parse(alias).map((e) => e.pass.name));
      else unknown.push(name);
    }
  }
  if (unknown.length) {
    const names = [...passes.all().map((p) => p.name), ...passes.allAliases().map(([n]) => n)].sort();
    throw new TsccError(unknown.map((u) => fmt(M.UnknownPass, [u], { hint: `--dump-ir-before/--dump-ir-after take pass names or 'all'; registered passes: ${names.join(", ")}` })));
  }
  return out;
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

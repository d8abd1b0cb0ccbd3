/**
 * Writing an output directory all at once: files are collected in memory, written to a temporary
 * sibling folder and renamed into place, so a failed compile leaves nothing behind. An existing
 * folder is replaced only if tscc wrote it (it holds the `.tscc-output` marker).
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fmt, M, TsccError } from "../../ir/index.js";

export const OUTPUT_MARKER = ".tscc-output";

export function commitOutput(outDir: string, files: ReadonlyMap<string, Uint8Array>, target: string): void {
  const dir = resolve(outDir);
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new TsccError(fmt(M.OutputError, [outDir, "it exists and is not a folder"]));
    const entries = readdirSync(dir);
    if (entries.length > 0 && !entries.includes(OUTPUT_MARKER)) {
      throw new TsccError(fmt(M.OutputError, [outDir, "the folder exists, is not empty and was not written by tscc"], { hint: "choose another -o folder or remove it" }));
    }
  }
  const tmp = join(dirname(dir), `.${basename(dir)}.tscc-tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  try {
    mkdirSync(tmp, { recursive: true });
    for (const [rel, data] of [...files.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      if (rel.startsWith("/") || rel.split(/[\\/]/).includes("..")) throw new Error(`backend wrote outside its folder: ${rel}`);
      const p = join(tmp, rel);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, data);
    }
    writeFileSync(join(tmp, OUTPUT_MARKER), JSON.stringify({ tool: "tscc", target }) + "\n");
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (e instanceof TsccError) throw e;
    throw new TsccError(fmt(M.OutputError, [outDir, (e as Error).message]));
  }
}

/** Write one file all at once (temporary sibling + rename): a failed compile leaves no partial file. */
export function commitFile(path: string, data: Uint8Array): void {
  const file = resolve(path);
  if (existsSync(file) && statSync(file).isDirectory()) throw new TsccError(fmt(M.OutputError, [path, "it is a folder"], { hint: "-o names the output file for this target" }));
  const tmp = join(dirname(file), `.${basename(file)}.tscc-tmp-${process.pid}`);
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new TsccError(fmt(M.OutputError, [path, (e as Error).message]));
  }
}

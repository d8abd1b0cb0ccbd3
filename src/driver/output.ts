/**
 * Writing outputs all at once: files are collected in memory, written to a temporary sibling (folder or
 * file) and renamed into place, so a failed or interrupted command leaves nothing behind (the temporary
 * is also removed on Ctrl-C, see interrupt.ts). An existing folder is replaced only if tscc wrote it (it
 * holds the `.tscc-output` marker).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fmt, M, TsccError } from "../../ir/index.js";
import { removeOnInterrupt } from "./interrupt.js";

export const OUTPUT_MARKER = ".tscc-output";

/** The target that wrote an output folder, from its marker (a user error if it is missing or corrupt). */
export function outputTarget(dir: string, shown: string): string {
  const bad = (why: string): never => {
    throw new TsccError(fmt(M.DataFile, [shown, why]));
  };
  const marker = join(dir, OUTPUT_MARKER);
  if (!existsSync(marker)) bad("this folder was not written by `tscc compile`");
  let m: unknown;
  try {
    m = JSON.parse(readFileSync(marker, "utf8"));
  } catch (e) {
    return bad(`its ${OUTPUT_MARKER} marker is corrupt (${(e as Error).message})`);
  }
  const target = (m as { target?: unknown } | null)?.target;
  if (typeof target !== "string") return bad(`its ${OUTPUT_MARKER} marker names no target`);
  return target;
}

export function commitOutput(outDir: string, files: ReadonlyMap<string, Uint8Array>, target: string): void {
  const dir = resolve(outDir);
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new TsccError(fmt(M.OutputError, [outDir, "it exists and is not a folder"]));
    const entries = readdirSync(dir);
    if (entries.length > 0 && !entries.includes(OUTPUT_MARKER)) {
      throw new TsccError(fmt(M.OutputError, [outDir, "the folder exists, is not empty and was not written by tscc"], { hint: "choose another -o folder or remove it" }));
    }
  }
  const tmp = tempSibling(dir);
  rmSync(tmp, { recursive: true, force: true });
  const forget = removeOnInterrupt(tmp);
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
  } finally {
    forget();
  }
}

/** `.name.tscc-tmp-<pid>` beside `path`: where an output is written before it is renamed into place. */
function tempSibling(path: string): string {
  return join(dirname(path), `.${basename(path)}.tscc-tmp-${process.pid}`);
}

/**
 * Write one file whole or not at all (temporary sibling + rename), creating its folder if needed;
 * `shown` names it in errors.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, shown = path): void {
  const tmp = tempSibling(path);
  const forget = removeOnInterrupt(tmp);
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new TsccError(fmt(M.OutputError, [shown, (e as Error).message]));
  } finally {
    forget();
  }
}

/** A compile's single output file (targets that write one file, e.g. NIR): whole or not at all, never over a folder. */
export function commitFile(path: string, data: Uint8Array): void {
  const file = resolve(path);
  if (existsSync(file) && statSync(file).isDirectory()) throw new TsccError(fmt(M.OutputError, [path, "it is a folder"], { hint: "-o names the output file for this target" }));
  writeFileAtomic(file, data, path);
}

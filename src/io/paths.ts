/**
 * Paths named inside input files (ONNX external data locations, the `weights_file` of a .tir) must
 * stay in the folder of the file that names them, as ONNX itself requires since onnx 1.16
 * (CVE-2024-27318/27319): relative, no `..` leaving the folder, and still inside it once symbolic
 * links are resolved. A model cannot make tscc read /etc/passwd or a file next to its folder.
 */
import { existsSync, realpathSync, statSync } from "node:fs";
import { isAbsolute, normalize, relative, resolve, sep, win32 } from "node:path";

function escapes(from: string, to: string): boolean {
  const r = relative(from, to);
  return r === ".." || r.startsWith(`..${sep}`) || isAbsolute(r);
}

/**
 * Resolve `rel` against `dir`; `{ error }` says why it may not be read. A path that does not exist
 * resolves (the caller reports the missing file); one that exists must be a regular file.
 */
export function fileInside(dir: string, rel: string, folder = "the model's folder"): { path: string } | { error: string } {
  if (rel === "") return { error: "the path is empty" };
  if (rel.includes("\0")) return { error: "the path contains a NUL character" };
  if (isAbsolute(rel) || win32.isAbsolute(rel)) return { error: `'${rel}' is absolute; it must be a relative path inside ${folder}` };
  const n = normalize(rel);
  if (n === ".." || n.startsWith(`..${sep}`) || n.split(/[\\/]/).includes("..")) return { error: `'${rel}' leaves ${folder}` };
  const path = resolve(dir, rel);
  if (!existsSync(path)) return { path };
  const real = realpathSync(path);
  if (escapes(realpathSync(dir), real)) return { error: `'${rel}' leaves ${folder} through a symbolic link` };
  if (!statSync(real).isFile()) return { error: `'${rel}' is not a regular file` };
  return { path };
}

/**
 * Reading the data files of a compiled artifact (emulator or Loihi) for `tscc run`: every file is
 * untrusted input. JSON files are parsed and checked against a zod schema of what the reader uses
 * (types, ranges, sizes) before anything is built from them; every failure is one TSCC5004 naming the
 * file and the first offending field.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import { fmt, M, TsccError } from "../../ir/index.js";

/** model.js files imported by this process → the SHA-256 of the version imported first. */
const importedModels = new Map<string, string>();

/**
 * Import an artifact's model.js. Node caches modules by URL, so a process that runs several artifacts
 * compiled into the same folder one after another (the fuzzer, a long-lived caller of the API) would get
 * the first model.js of that folder again: a model.js whose content differs from the one first imported
 * from its path is imported with its SHA-256 as the URL's query. (Only then: some loaders, e.g. in
 * worker threads started from the TypeScript sources, do not detect an ES module behind a query.)
 */
export async function importModelJs<T>(dir: string): Promise<T> {
  const file = join(dir, "model.js");
  const url = pathToFileURL(file).href;
  let hash: string;
  try {
    hash = createHash("sha256").update(readFileSync(file)).digest("hex");
  } catch {
    return (await import(url)) as T; // a missing file fails in import() as before
  }
  const first = importedModels.get(file);
  if (first === undefined) importedModels.set(file, hash);
  return (await import(first === undefined || first === hash ? url : `${url}?sha256=${hash.slice(0, 16)}`)) as T;
}

export function artifactError(file: string, why: string, hint?: string): never {
  throw new TsccError(fmt(M.DataFile, [file, why], hint ? { hint } : {}));
}

/** `field.path: what is wrong` for the first problem zod found. */
export function zodProblem(e: z.ZodError): string {
  const iss = e.issues[0]!;
  const path = iss.path.map(String).join(".");
  return `${path || "document"}: ${iss.message}`;
}

/** A file of artifact `dir`; missing is a user error naming the artifact kind. */
export function artifactFile(dir: string, name: string, kind: string): string {
  const file = join(dir, name);
  if (!existsSync(file)) artifactError(dir, `no ${name}: not ${kind} artifact`);
  return file;
}

/** Parse `name` in `dir` and check it against `schema`. */
export function readArtifactJson<T>(dir: string, name: string, kind: string, schema: z.ZodType<T>): T {
  const file = artifactFile(dir, name, kind);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    return artifactError(file, `corrupt JSON: ${(e as Error).message}`, "recompile the model");
  }
  const r = schema.safeParse(raw);
  if (!r.success) artifactError(file, `invalid: ${zodProblem(r.error)}`, "recompile the model");
  return r.data as T;
}

/** The runtime's own network validation (schedule.ts, plan.ts) fails with this prefix. */
export function isNetworkError(e: unknown): boolean {
  return e instanceof Error && e.message.startsWith("emulator network: ");
}

/** Per-sample neurons of one value: 2^24 (VGG-16 on ImageNet peaks at 3.2 M). Shapes are checked against it before any allocation. */
export const MAX_VALUE_SIZE = 2 ** 24;

/** A per-sample shape: positive integer dimensions, at most MAX_VALUE_SIZE elements. */
export const shapeSchema = z
  .array(z.number().int().min(1))
  .max(8)
  .refine((s) => s.reduce((a, b) => a * b, 1) <= MAX_VALUE_SIZE, { message: `holds more than ${MAX_VALUE_SIZE} elements` });

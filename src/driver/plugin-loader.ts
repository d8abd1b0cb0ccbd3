/**
 * Loading third-party plugins, given as a path (`./my-backend.mjs`, a folder with package.json) or
 * an installed npm package name, resolved from the current directory. A plugin that fails to load
 * is an error (TSCC5001/5002), never a warning.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { fmt, isTsccError, M, TsccError, type OpDef, type Pass } from "../../ir/index.js";
import { BACKEND_API_VERSION, type Backend, type PluginApi, type TsccPlugin } from "../../backends/api.js";
import { fileInside } from "../io/paths.js";
import type { Registry } from "./registry.js";

function isPathSpec(spec: string): boolean {
  return spec.startsWith(".") || spec.startsWith("/") || isAbsolute(spec) || /\.(m?js|cjs)$/.test(spec);
}

type ExportsField = string | { [k: string]: ExportsField } | null | undefined;

function pickExport(e: ExportsField): string | undefined {
  if (typeof e === "string") return e;
  if (!e || typeof e !== "object") return undefined;
  if ("." in e) return pickExport(e["."]);
  for (const cond of ["import", "node", "default", "require"]) if (cond in e) return pickExport(e[cond]);
  return undefined;
}

/**
 * Entry file of a package folder: exports["."] (import/default), then module, main, index.js. The entry
 * must lie inside the package folder (after symbolic links are resolved), as Node requires of
 * "exports" targets: a package.json cannot point tscc at a file elsewhere on the disk.
 */
function packageEntry(dir: string, spec: string): string | undefined {
  const pj = join(dir, "package.json");
  if (existsSync(pj)) {
    let pkg: { exports?: ExportsField; main?: string; module?: string };
    try {
      pkg = JSON.parse(readFileSync(pj, "utf8")) as typeof pkg;
    } catch (e) {
      throw new TsccError(fmt(M.PluginLoad, [spec, `${pj} is not valid JSON: ${(e as Error).message}`]));
    }
    const rel = pickExport(pkg.exports) ?? pkg.module ?? pkg.main;
    if (typeof rel === "string" && rel !== "") {
      const inside = fileInside(dir, rel, "the package folder");
      if ("error" in inside) throw new TsccError(fmt(M.PluginLoad, [spec, `the entry point in ${pj}: ${inside.error}`]));
      return inside.path;
    }
  }
  for (const f of ["index.js", "index.mjs", "index.cjs"]) if (existsSync(join(dir, f))) return join(dir, f);
  return undefined;
}

/** npm's rules for package names (validate-npm-package-name): an optional @scope/, then URL-safe lower-case characters. */
const NPM_NAME = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;

export function resolvePluginSpec(spec: string, cwd: string): string {
  const fail = (why: string): never => {
    throw new TsccError(fmt(M.PluginLoad, [spec, why]));
  };
  if (isPathSpec(spec)) {
    const p = resolve(cwd, spec);
    if (!existsSync(p)) fail(`no such file or folder: ${p}`);
    if (statSync(p).isDirectory()) return packageEntry(p, spec) ?? fail(`folder ${p} has no package.json entry or index.js`);
    return p;
  }
  // An npm package name (anything else, e.g. `foo/../../bar`, could name a folder outside node_modules):
  // search node_modules folders from cwd upwards.
  if (!NPM_NAME.test(spec)) fail("not a valid npm package name; a file or folder must be given as a path starting with ./ or /");
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", spec);
    if (existsSync(candidate)) return packageEntry(candidate, spec) ?? fail(`package at ${candidate} has no entry point`);
    if (dirname(dir) === dir) break;
  }
  return fail(`package '${spec}' is not installed (searched node_modules from ${cwd} upwards)`);
}

function validatePlugin(spec: string, mod: Record<string, unknown>): TsccPlugin {
  const bad = (why: string): never => {
    throw new TsccError(fmt(M.PluginInvalid, [spec, why], { hint: 'export default { apiVersion: 1, name: "...", register(api) { api.registerBackend(...) } }' }));
  };
  // ESM: the default export. CommonJS (`module.exports = plugin`) arrives as the default export too;
  // a namespace without a default is accepted only if it looks like a plugin itself (named exports).
  let p = (mod["default"] ?? (typeof mod["register"] === "function" ? mod : undefined)) as (Partial<TsccPlugin> & Record<string, unknown>) | undefined;
  // TypeScript or Babel compiled `export default plugin` to CommonJS: module.exports.default.
  const inner = p && typeof p === "object" ? (p["default"] as (Partial<TsccPlugin> & Record<string, unknown>) | undefined) : undefined;
  if (p && typeof p.register !== "function" && inner && typeof inner === "object" && typeof inner.register === "function") p = inner;
  if (p === undefined) return bad("it has no default export (expected `export default { apiVersion, name, register }` or `module.exports = ...`)");
  if (!p || typeof p !== "object") return bad(`its default export is ${p === null ? "null" : `a ${typeof p}`}, not a plugin object`);
  if (p.apiVersion !== BACKEND_API_VERSION) bad(`apiVersion is ${JSON.stringify(p.apiVersion)}, this tscc supports ${BACKEND_API_VERSION}`);
  if (typeof p.name !== "string" || !p.name) bad("it has no name");
  if (typeof p.register !== "function") bad("it has no register(api) function");
  return p as TsccPlugin;
}

/** Checks a plugin's backend before the registry sees it, so the message names the plugin and what is wrong. */
function validateBackend(spec: string, pluginName: string, b: unknown): asserts b is Backend {
  const bad = (why: string): never => {
    throw new TsccError(fmt(M.PluginInvalid, [spec, `plugin '${pluginName}' registers an invalid backend: ${why}`]));
  };
  if (!b || typeof b !== "object") bad(`registerBackend() was given ${b === null ? "null" : `a ${typeof b}`}`);
  const be = b as Partial<Backend> & Record<string, unknown>;
  if (typeof be.name !== "string" || !/^[a-z][a-z0-9_-]*$/.test(be.name)) bad(`backend name ${JSON.stringify(be.name)} must be lower-case letters, digits, '-' or '_'`);
  const name = be.name!;
  if (be.apiVersion !== BACKEND_API_VERSION) bad(`backend '${name}' has apiVersion ${JSON.stringify(be.apiVersion)}, this tscc supports ${BACKEND_API_VERSION}`);
  for (const fn of ["pipeline", "legalize", "emit"] as const) if (typeof be[fn] !== "function") bad(`backend '${name}' has no ${fn}() function`);
  for (const fn of ["passes", "ops", "describe", "run", "artifactInputs"] as const) if (be[fn] !== undefined && typeof be[fn] !== "function") bad(`backend '${name}': ${fn} must be a function`);
  for (const p of be.passes?.() ?? []) {
    validatePass(spec, pluginName, p);
    if (!p.name.startsWith(`${name}:`)) bad(`backend '${name}' has a pass '${p.name}'; backend passes must be named '${name}:<pass>'`);
  }
}

function validatePass(spec: string, pluginName: string, p: unknown): asserts p is Pass {
  const bad = (why: string): never => {
    throw new TsccError(fmt(M.PluginInvalid, [spec, `plugin '${pluginName}' registers an invalid pass: ${why}`]));
  };
  const pass = p as Partial<Pass> | null | undefined;
  if (!pass || typeof pass !== "object") return bad(`expected a pass object, got ${pass === null ? "null" : typeof pass}`);
  // The pipeline syntax accepts exactly these names (see splitPipeline in ir/pass.ts).
  if (typeof pass.name !== "string" || !/^[A-Za-z0-9_:-]+$/.test(pass.name)) bad(`pass name ${JSON.stringify(pass.name)} must use letters, digits, '-', '_' or ':'`);
  if (typeof pass.run !== "function") bad(`pass '${pass.name}' has no run() function`);
}

function validateOp(spec: string, pluginName: string, d: unknown): asserts d is OpDef {
  const bad = (why: string): never => {
    throw new TsccError(fmt(M.PluginInvalid, [spec, `plugin '${pluginName}' registers an invalid op: ${why}`]));
  };
  const def = d as Partial<OpDef> | null | undefined;
  if (!def || typeof def !== "object") return bad(`expected an op definition, got ${def === null ? "null" : typeof def}`);
  if (typeof def.name !== "string" || !/^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/.test(def.name)) bad(`op name ${JSON.stringify(def.name)} must be '<dialect>.<op>' in lower_snake case`);
  if (typeof def.infer !== "function") bad(`op '${def.name}' has no infer() function`);
}

/** Adds a note naming the plugin to diagnostics raised while it registers (name collisions and the like). */
function withPluginNote(e: TsccError, spec: string, file: string): TsccError {
  return new TsccError(e.diagnostics.map((d) => ({ ...d, notes: [...(d.notes ?? []), `while loading plugin '${spec}' (${file})`] })));
}

export async function loadPlugin(spec: string, registry: Registry, cwd = process.cwd()): Promise<TsccPlugin> {
  const file = resolvePluginSpec(spec, cwd);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    throw new TsccError(fmt(M.PluginLoad, [spec, `importing ${file} failed: ${firstLine(e)}`]));
  }
  const plugin = validatePlugin(spec, mod);
  const inner = registry.pluginApi(`plugin '${plugin.name}'`);
  const api: PluginApi = {
    registerBackend(b) {
      validateBackend(spec, plugin.name, b);
      inner.registerBackend(b);
    },
    registerPass(p) {
      validatePass(spec, plugin.name, p);
      inner.registerPass(p);
    },
    registerOp(d) {
      validateOp(spec, plugin.name, d);
      inner.registerOp(d);
    },
  };
  try {
    // register() is synchronous in the API; awaiting also catches an async one's rejection.
    await (plugin.register(api) as unknown);
  } catch (e) {
    // tscc's own checks (TSCC5001/5002) name the plugin already; others (name collisions) get a note.
    if (isTsccError(e)) throw e.diagnostics.every((d) => d.code === M.PluginLoad.code || d.code === M.PluginInvalid.code) ? e : withPluginNote(e, spec, file);
    throw new TsccError(fmt(M.PluginLoad, [spec, `register() threw: ${firstLine(e)}`]));
  }
  return plugin;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0]!;
}

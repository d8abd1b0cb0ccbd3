/**
 * Loading third-party plugins, given as a path (`./my-backend.mjs`, a folder with package.json) or
 * an installed npm package name, resolved from the current directory. A plugin that fails to load
 * is an error (TSCC5001/5002), never a warning.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { fmt, isTsccError, M, TsccError } from "../../ir/index.js";
import { BACKEND_API_VERSION, type TsccPlugin } from "../../backends/api.js";
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

/** Entry file of a package folder: exports["."] (import/default), then module, main, index.js. */
function packageEntry(dir: string): string | undefined {
  const pj = join(dir, "package.json");
  if (existsSync(pj)) {
    const pkg = JSON.parse(readFileSync(pj, "utf8")) as { exports?: ExportsField; main?: string; module?: string };
    const rel = pickExport(pkg.exports) ?? pkg.module ?? pkg.main;
    if (rel) return resolve(dir, rel);
  }
  for (const f of ["index.js", "index.mjs", "index.cjs"]) if (existsSync(join(dir, f))) return join(dir, f);
  return undefined;
}

export function resolvePluginSpec(spec: string, cwd: string): string {
  const fail = (why: string): never => {
    throw new TsccError(fmt(M.PluginLoad, [spec, why]));
  };
  if (isPathSpec(spec)) {
    const p = resolve(cwd, spec);
    if (!existsSync(p)) fail(`no such file or folder: ${p}`);
    if (statSync(p).isDirectory()) return packageEntry(p) ?? fail(`folder ${p} has no package.json entry or index.js`);
    return p;
  }
  // An npm package name: search node_modules folders from cwd upwards.
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", spec);
    if (existsSync(candidate)) return packageEntry(candidate) ?? fail(`package at ${candidate} has no entry point`);
    if (dirname(dir) === dir) break;
  }
  return fail(`package '${spec}' is not installed (searched node_modules from ${cwd} upwards)`);
}

function validatePlugin(spec: string, mod: Record<string, unknown>): TsccPlugin {
  const p = (mod["default"] ?? mod) as Partial<TsccPlugin> & Record<string, unknown>;
  const bad = (why: string): never => {
    throw new TsccError(fmt(M.PluginInvalid, [spec, why], { hint: "export default { apiVersion: 1, name: \"...\", register(api) { api.registerBackend(...) } }" }));
  };
  if (!p || typeof p !== "object") bad("its default export is not an object");
  if (p.apiVersion !== BACKEND_API_VERSION) bad(`apiVersion is ${JSON.stringify(p.apiVersion)}, this tscc supports ${BACKEND_API_VERSION}`);
  if (typeof p.name !== "string" || !p.name) bad("it has no name");
  if (typeof p.register !== "function") bad("it has no register(api) function");
  return p as TsccPlugin;
}

export async function loadPlugin(spec: string, registry: Registry, cwd = process.cwd()): Promise<TsccPlugin> {
  const file = resolvePluginSpec(spec, cwd);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    throw new TsccError(fmt(M.PluginLoad, [spec, `importing ${file} failed: ${(e as Error).message.split("\n")[0]}`]));
  }
  const plugin = validatePlugin(spec, mod);
  try {
    plugin.register(registry.pluginApi(`plugin '${plugin.name}'`));
  } catch (e) {
    if (isTsccError(e)) throw e;
    throw new TsccError(fmt(M.PluginLoad, [spec, `register() threw: ${(e as Error).message}`]));
  }
  return plugin;
}

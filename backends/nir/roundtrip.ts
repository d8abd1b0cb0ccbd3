/**
 * ONNX → tscc → NIR → tscc gives the same network: the exported graph carries, in its metadata, the
 * tscc IR it was made from (text, with weights referenced by name) and where each constant's data went.
 * On import the IR is restored only if exporting it again reproduces the file's graph exactly (every
 * node, parameter, edge and metadata entry). So the metadata is a verified hint, never a dependency:
 * the graph alone defines the network (NIR's rule), and a graph changed by another tool (retrained
 * weights, pruned nodes) is imported as the NIR primitives it is.
 */
import { parseModule, sha256Hex, type Module, type OpRegistry, type TensorData } from "../../ir/index.js";
import { exportSnnToNir, type ExportOptions, type ExportResult } from "./export.js";
import { isArray, type NirArray, type NirGraph, type NirMeta, type NirNode, type NirValue } from "./format.js";
import { printModule } from "../../ir/index.js";

/** The export plus the round-trip metadata (graph metadata `tscc.ir`, `tscc.const_paths`, `tscc.consts`). */
export function exportWithRoundTrip(m: Module, opts: ExportOptions): ExportResult {
  const ex = exportSnnToNir(m, opts);
  const paths: Record<string, string> = {};
  const consts: Record<string, NirArray> = {};
  let k = 0;
  for (const [name, c] of m.consts) {
    const p = ex.constPaths.get(name);
    if (p && p !== "metadata") paths[name] = p;
    else {
      const key = `c${k++}`;
      const d = c.data;
      consts[key] = { shape: [...c.type.shape], data: d instanceof Float32Array || d instanceof Float64Array ? d : Float64Array.from(d as ArrayLike<number | bigint>, Number) };
      paths[name] = `metadata:${key}`;
    }
  }
  const tscc = { ...((ex.graph.metadata?.["tscc"] ?? {}) as NirMeta), ir: printModule(m), const_paths: JSON.stringify(paths), ...(k ? { consts } : {}) };
  return { ...ex, graph: { ...ex.graph, metadata: { ...ex.graph.metadata, tscc } } };
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** The first difference between two NIR graphs, or undefined when they are equal. */
export function graphDifference(a: NirGraph, b: NirGraph, where = ""): string | undefined {
  const at = (k: string): string => (where ? `${where}/${k}` : k);
  if (a.nodes.size !== b.nodes.size) return `${where || "the graph"} has ${b.nodes.size} nodes, ${a.nodes.size} expected`;
  for (const [k, na] of a.nodes) {
    const nb = b.nodes.get(k);
    if (!nb) return `node '${at(k)}' is missing`;
    const d = nodeDifference(na, nb, at(k));
    if (d) return d;
  }
  if (a.edges.length !== b.edges.length) return `${where || "the graph"} has ${b.edges.length} edges, ${a.edges.length} expected`;
  for (let i = 0; i < a.edges.length; i++) if (a.edges[i]![0] !== b.edges[i]![0] || a.edges[i]![1] !== b.edges[i]![1]) return `edge ${i} of ${where || "the graph"} differs`;
  return metaDifference(a.metadata, b.metadata, `${where || "graph"} metadata`);
}

function nodeDifference(a: NirNode, b: NirNode, where: string): string | undefined {
  if (a.type !== b.type) return `node '${where}' is a ${b.type}, ${a.type} expected`;
  if (a.type === "NIRGraph") return graphDifference(a.graph!, b.graph!, where);
  const keys = new Set([...Object.keys(a.params), ...Object.keys(b.params)]);
  for (const k of keys) if (!valueEqual(a.params[k], b.params[k])) return `parameter '${k}' of node '${where}' differs`;
  return metaDifference(a.metadata, b.metadata, `metadata of node '${where}'`);
}

function valueEqual(a: NirValue | NirMeta | undefined, b: NirValue | NirMeta | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (typeof a === "number" || typeof a === "string") return a === b;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => x === (b as readonly number[])[i]);
  if (isArray(a as NirValue)) {
    if (!isArray(b as NirValue)) return false;
    const x = a as NirArray;
    const y = b as NirArray;
    if (x.data.constructor !== y.data.constructor || x.shape.join() !== y.shape.join() || x.data.length !== y.data.length) return false;
    for (let i = 0; i < x.data.length; i++) if (!Object.is(x.data[i], y.data[i])) return false;
    return true;
  }
  return metaDifference(a as NirMeta, b as NirMeta, "") === undefined;
}

function metaDifference(a: NirMeta | undefined, b: NirMeta | undefined, where: string): string | undefined {
  const ka = Object.keys(a ?? {}).sort();
  const kb = Object.keys(b ?? {}).sort();
  if (ka.join("\u0000") !== kb.join("\u0000")) return `${where}: keys differ`;
  for (const k of ka) if (!valueEqual(a![k] as NirValue | NirMeta, b![k] as NirValue | NirMeta)) return `${where}: '${k}' differs`;
  return undefined;
}

/**
 * The tscc module a NIR graph was exported from, when its metadata holds one and exporting that module
 * reproduces the graph; otherwise `why` says what stood in the way (undefined: no tscc metadata).
 */
export function restoreRoundTrip(g: NirGraph, registry: OpRegistry, file: string): { module?: Module; why?: string } {
  const meta = g.metadata?.["tscc"] as NirMeta | undefined;
  const ir = str(meta?.["ir"]);
  if (!meta || !ir) return {};
  let paths: Record<string, string>;
  try {
    paths = JSON.parse(str(meta["const_paths"]) ?? "{}") as Record<string, string>;
  } catch {
    return { why: "its tscc metadata is corrupt (const_paths)" };
  }
  const consts = (meta["consts"] ?? {}) as NirMeta;
  const dataOf = (name: string): TensorData | undefined => {
    const p = paths[name];
    if (!p) return undefined;
    if (p.startsWith("metadata:")) {
      const a = consts[p.slice("metadata:".length)];
      return isArray(a as NirValue) ? (a as NirArray).data : undefined;
    }
    const [node, param] = p.split("/");
    const v = g.nodes.get(node ?? "")?.params[param ?? ""];
    return isArray(v) ? v.data : undefined;
  };
  let m: Module;
  try {
    m = parseModule(ir, {
      file: `${file} (tscc metadata)`,
      registry,
      loadBlob: (ref) => {
        const d = dataOf(ref.name);
        if (!d) throw new Error(`constant '${ref.name}' is not in the graph`);
        if (sha256Hex(d) !== ref.sha256) throw new Error(`constant '${ref.name}' differs from the graph's data`);
        return d;
      },
    });
    for (const c of m.consts.values()) void c.data;
  } catch (e) {
    return { why: `the tscc IR in its metadata does not match the graph (${(e as Error).message})` };
  }
  let again: ExportResult;
  try {
    again = exportWithRoundTrip(m, { toolVersion: str(meta["version"]) ?? "", source: str(meta["source"]) ?? "", sourceSha256: str(meta["source_sha256"]) ?? "" });
  } catch (e) {
    return { why: `re-exporting its tscc IR failed (${(e as Error).message})` };
  }
  const diff = graphDifference(again.graph, g);
  if (diff) return { why: `the graph is not the one tscc exports for the IR in its metadata (${diff}); edited by another tool?` };
  return { module: m };
}

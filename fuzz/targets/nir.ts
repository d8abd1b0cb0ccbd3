/**
 * NIR files (HDF5, backends/nir): the NIR-library-written fixtures of test/fixtures/nir and tscc's own
 * exports of the tiny CNN (TSC and rate-coded), read to the NirFile model, turned into HDF5 trees
 * (nirFileTree), edited as trees and written back with tscc's HDF5 writer; or byte-mutated; or both.
 * Tree edits reach past the HDF5 layer into the NIR reader, the importer and the clock engine:
 * parameter arrays of the wrong rank, shape or dtype, NaN/±Inf/huge values, zero or negative time
 * constants and dt, missing and extra parameters, unknown node types, hostile integer parameters
 * (declared shapes of 2^31 or 10^12, strides, kernels), edges naming missing nodes or ports,
 * self-loops and reversed (recurrent) edges, renamed, duplicated and removed nodes, nodes wrapped in
 * subgraphs, deeply nested subgraphs, version strings, metadata (dt, tscc's round-trip record).
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { nirFileTree, readNirFile, NIR_TYPES } from "../../backends/nir/format.js";
import { hdf5Ready, writeHdf5, type WriteDataset, type WriteGroup } from "../../backends/nir/hdf5.js";
import { encodeNpy, readNpy } from "../../src/io/npy.js";
import { nirExports, ROOT, tinyImages } from "../corpus.js";
import { HOSTILE_NUMBERS, mutatedBytes, mutatedText } from "../mutate.js";
import { defineTarget, type FuzzCase } from "../target.js";

/** The NIR library's own files (test/fixtures/nir/make_fixtures.py), NIR 1.0.8.dev and 1.0.7 layouts. */
const FIXTURES = ["lif_chain", "misc", "conv_if", "recurrent", "recurrent.v107"];

interface Seed {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly tree: Group;
  /** The input file a `run` of its compiled artifact reads. */
  readonly input: string;
}

interface NirCorpus {
  readonly seeds: readonly Seed[];
  readonly inputs: Readonly<Record<string, Uint8Array>>;
  /** tscc's round-trip record (`tscc/ir` metadata) of its own exports, for token edits. */
  readonly irTexts: readonly string[];
}

// ---------------------------------------------------------------------------------------------------
// HDF5 trees as mutable data

type Data = Float32Array | Float64Array | BigInt64Array | Int32Array | string | string[];
interface Dataset {
  kind: "dataset";
  data: Data;
  shape?: number[];
  compress?: boolean;
}
interface Group {
  kind: "group";
  children: Map<string, Dataset | Group>;
}

function mutable(g: WriteGroup): Group {
  const list = g.children instanceof Map ? [...g.children.entries()] : Object.entries(g.children);
  return {
    kind: "group",
    children: new Map(list.map(([k, c]): [string, Dataset | Group] => [k, c.kind === "group" ? mutable(c) : { kind: "dataset", data: c.data as Data, ...(c.shape ? { shape: [...c.shape] } : {}), ...(c.compress !== undefined ? { compress: c.compress } : {}) }])),
  };
}

const str = (s: string): Dataset => ({ kind: "dataset", data: s });
const isGroup = (x: Dataset | Group | undefined): x is Group => x?.kind === "group";
const typeName = (g: Group): string | undefined => {
  const t = g.children.get("type");
  return t && !isGroup(t) && typeof t.data === "string" ? t.data : undefined;
};
const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Every NIRGraph group (the root graph first), with its nodes group. */
function graphsOf(root: Group): { graph: Group; nodes: Group }[] {
  const out: { graph: Group; nodes: Group }[] = [];
  const walk = (g: Group, depth: number): void => {
    const nodes = g.children.get("nodes");
    if (!isGroup(nodes) || depth > 40) return;
    out.push({ graph: g, nodes });
    for (const c of nodes.children.values()) if (isGroup(c) && typeName(c) === "NIRGraph") walk(c, depth + 1);
  };
  const top = root.children.get("node");
  if (isGroup(top)) walk(top, 0);
  return out;
}

/** Every node (of every graph level) with its parent graph. */
function nodesOf(root: Group): { graph: Group; nodes: Group; name: string; node: Group }[] {
  return graphsOf(root).flatMap(({ graph, nodes }) => [...nodes.children].filter((e): e is [string, Group] => isGroup(e[1])).map(([name, node]) => ({ graph, nodes, name, node })));
}

/** Every parameter dataset of a primitive node, and every metadata dataset. */
function datasetsOf(root: Group): { parent: Group; key: string; ds: Dataset }[] {
  const out: { parent: Group; key: string; ds: Dataset }[] = [];
  const walk = (g: Group): void => {
    for (const [k, c] of g.children) {
      if (isGroup(c)) walk(c);
      else if (k !== "type" && k !== "edges" && k !== "version") out.push({ parent: g, key: k, ds: c });
    }
  };
  walk(root);
  return out;
}

function edgesOf(graph: Group): string[][] {
  const e = graph.children.get("edges");
  if (!e || isGroup(e) || !Array.isArray(e.data)) return [];
  const s = e.data;
  return Array.from({ length: Math.floor(s.length / 2) }, (_, i) => [s[2 * i]!, s[2 * i + 1]!]);
}

function setEdges(graph: Group, edges: string[][]): void {
  graph.children.set("edges", { kind: "dataset", data: edges.flat(), shape: [edges.length, 2] });
}

/** Names an edge end may take: the graph's nodes, its subgraphs' ports (`sub.port`), and names of nothing. */
function endNames(nodes: Group): string[] {
  const out: string[] = [];
  for (const [k, c] of nodes.children) {
    out.push(k);
    const inner = isGroup(c) ? c.children.get("nodes") : undefined;
    if (isGroup(inner)) for (const p of inner.children.keys()) out.push(`${k}.${p}`);
  }
  return [...out, "missing", "missing.port", `${[...nodes.children.keys()][0] ?? "x"}.nope`, "."];
}

// ---------------------------------------------------------------------------------------------------
// Edits

/** Values for float parameters: non-finite, huge, zero, negative, tiny. */
const FLOATS: readonly number[] = [NaN, Infinity, -Infinity, 1e308, -1e308, 3.5e38, 0, -0, -1, -1e-3, 1e-300, 1e12, 2 ** 53, 0.5];
/** Values for integer parameters (declared shapes, strides, kernels, groups, dims). */
const INTS: readonly number[] = [0, -1, -2, 1, 2, 3, 7, 255, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53, 1e12, -(2 ** 31), 2 ** 62];
const NAMES: readonly string[] = ["x", "a.b", "input", "output", "lif", "node with spaces", "ü", "1", "__proto__", "constructor", "a..b", ".x", "x.", "nodes", "type", "metadata"];
const TYPES: readonly string[] = [...NIR_TYPES, "Banana", "", "lif", "nir.LIF", "NIRGraph ", "Conv3d"];
const PARAMS: readonly string[] = ["tau", "r", "v_leak", "v_threshold", "v_reset", "weight", "bias", "shape", "stride", "padding", "dilation", "groups", "input_shape", "kernel_size", "start_dim", "end_dim", "input_type", "delay", "scale", "threshold", "w_in", "tau_syn", "tau_mem", "extra"];
const VERSIONS: readonly (string | number | null)[] = ["", "2.0.0", "0.0.1", "1", "1.", "abc", "1.0.7\n", "99999999999999999999.0", "-1.0", "1.0.7 ", null, 1, 1.5];

type Dtype = "f32" | "f64" | "i64" | "i32" | "str" | "group" | "scalar" | "empty";

type Edit =
  | { op: "value"; at: number; idx: number; value: number; all: boolean }
  | { op: "ints"; at: number; values: number[]; keepLength: boolean }
  | { op: "reshape"; at: number; shape: number[] }
  | { op: "dtype"; at: number; to: Dtype }
  | { op: "drop"; at: number }
  | { op: "extra"; at: number; name: string; shape: number[]; value: number; ints: boolean }
  | { op: "type"; at: number; type: string }
  | { op: "edge"; at: number; kind: "add" | "self" | "reverse" | "drop" | "dup" | "retarget"; a: number; b: number; end: 0 | 1 }
  | { op: "edges-bad"; at: number; kind: "numeric" | "flat" | "three" | "empty" | "scalar" | "group" | "missing" }
  | { op: "rename"; at: number; name: string; fix: boolean }
  | { op: "duplicate"; at: number; name: string; edges: boolean }
  | { op: "remove"; at: number; fix: boolean }
  | { op: "wrap"; at: number }
  | { op: "deep"; at: number; depth: number }
  | { op: "version"; value: string | number | null }
  | { op: "dt"; at: number; value: number | string; where: "dt" | "tscc/dt" | "tscc/steps" | "tscc/window" | "tscc/input_scale" | "tscc/readout" | "tscc/coding" }
  | { op: "ir"; text: string };

const at = fc.nat({ max: 0x7fffffff });
const smallShape = fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 0, maxLength: 4 });

function editArbitrary(irTexts: readonly string[]): fc.Arbitrary<Edit> {
  const whereDt = fc.constantFrom("dt" as const, "tscc/dt" as const, "tscc/steps" as const, "tscc/window" as const, "tscc/input_scale" as const, "tscc/readout" as const, "tscc/coding" as const);
  return fc.oneof(
    { weight: 5, arbitrary: fc.record({ op: fc.constant("value" as const), at, idx: fc.nat(), value: fc.constantFrom(...FLOATS), all: fc.boolean() }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constant("ints" as const), at, values: fc.array(fc.constantFrom(...INTS), { minLength: 0, maxLength: 4 }), keepLength: fc.boolean() }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant("reshape" as const), at, shape: smallShape }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("dtype" as const), at, to: fc.constantFrom<Dtype>("f32", "f64", "i64", "i32", "str", "group", "scalar", "empty") }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("drop" as const), at }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("extra" as const), at, name: fc.constantFrom(...PARAMS), shape: smallShape, value: fc.constantFrom(...FLOATS, 1, 2), ints: fc.boolean() }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("type" as const), at, type: fc.constantFrom(...TYPES) }) },
    {
      weight: 4,
      arbitrary: fc.record({ op: fc.constant("edge" as const), at, kind: fc.constantFrom("add" as const, "self" as const, "reverse" as const, "drop" as const, "dup" as const, "retarget" as const), a: fc.nat(), b: fc.nat(), end: fc.constantFrom(0 as const, 1 as const) }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("edges-bad" as const), at, kind: fc.constantFrom("numeric" as const, "flat" as const, "three" as const, "empty" as const, "scalar" as const, "group" as const, "missing" as const) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("rename" as const), at, name: fc.constantFrom(...NAMES), fix: fc.boolean() }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("duplicate" as const), at, name: fc.constantFrom(...NAMES), edges: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("remove" as const), at, fix: fc.boolean() }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("wrap" as const), at }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("deep" as const), at, depth: fc.constantFrom(1, 2, 31, 33, 40) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("version" as const), value: fc.constantFrom(...VERSIONS) }) },
    {
      weight: 2,
      arbitrary: fc.record({ op: fc.constant("dt" as const), at, value: fc.oneof(fc.constantFrom<number | string>(...FLOATS, ...HOSTILE_NUMBERS, "x", "last", "sum", "tsc", "rate", "")), where: whereDt }),
    },
    ...(irTexts.length ? [{ weight: 1, arbitrary: mutatedText(irTexts, 3).map((text): Edit => ({ op: "ir", text })) }] : []),
  );
}

/** Numbers as the dataset's element type (integers truncated; non-finite values become 0 there). */
function like(d: Data, values: readonly number[]): Data {
  if (d instanceof Float32Array) return Float32Array.from(values);
  if (d instanceof Int32Array) return Int32Array.from(values, (v) => (Number.isFinite(v) ? v | 0 : 0));
  if (d instanceof BigInt64Array) return BigInt64Array.from(values, (v) => (Number.isFinite(v) ? BigInt.asIntN(64, BigInt(Math.trunc(v))) : 0n));
  if (typeof d === "string" || Array.isArray(d)) return values.map(String);
  return Float64Array.from(values);
}

function numbers(d: Data): number[] {
  if (typeof d === "string") return [Number(d)];
  if (Array.isArray(d)) return d.map(Number);
  return Array.from(d as ArrayLike<number | bigint>, Number);
}

function pick<T>(list: readonly T[], i: number): T | undefined {
  return list.length ? list[i % list.length] : undefined;
}

/** A subgraph holding `node` between an Input and an Output of the node's population shape. */
function wrapped(node: Group, shape: number[]): Group {
  const ints = (v: number[]): Dataset => ({ kind: "dataset", data: BigInt64Array.from(v.map(BigInt)), shape: [v.length], compress: false });
  const nodes = new Map<string, Dataset | Group>([
    ["input", { kind: "group", children: new Map<string, Dataset | Group>([["type", str("Input")], ["shape", ints(shape)]]) }],
    ["inner", node],
    ["output", { kind: "group", children: new Map<string, Dataset | Group>([["type", str("Output")], ["shape", ints(shape)]]) }],
  ]);
  const g: Group = { kind: "group", children: new Map<string, Dataset | Group>([["type", str("NIRGraph")], ["nodes", { kind: "group", children: nodes }]]) };
  setEdges(g, [
    ["input", "inner"],
    ["inner", "output"],
  ]);
  return g;
}

function metaGroup(root: Group, path: string[]): Group {
  let g = root.children.get("node") as Group;
  for (const k of ["metadata", ...path]) {
    let c = g.children.get(k);
    if (!isGroup(c)) g.children.set(k, (c = { kind: "group", children: new Map() }));
    g = c;
  }
  return g;
}

/** Apply one edit to the tree (in place); returns a note for the report. */
function applyEdit(root: Group, e: Edit): string {
  switch (e.op) {
    case "value": {
      const t = pick(
        datasetsOf(root).filter((d) => typeof d.ds.data !== "string" && !Array.isArray(d.ds.data) && (d.ds.data as ArrayLike<unknown>).length > 0),
        e.at,
      );
      if (!t) return "";
      const v = numbers(t.ds.data);
      if (e.all) v.fill(e.value);
      else v[e.idx % v.length] = e.value;
      t.ds.data = like(t.ds.data, v);
      return `${t.key}${e.all ? "[*]" : `[${e.idx % v.length}]`}=${e.value}`;
    }
    case "ints": {
      const t = pick(
        datasetsOf(root).filter((d) => d.ds.data instanceof BigInt64Array),
        e.at,
      );
      if (!t) return "";
      const old = numbers(t.ds.data);
      const v = e.keepLength && old.length ? old.map((x, i) => e.values[i] ?? x) : e.values;
      t.ds.data = BigInt64Array.from(v.map((x) => BigInt.asIntN(64, BigInt(x))));
      if (t.ds.shape && t.ds.shape.length > 0) t.ds.shape = [v.length];
      else if (v.length !== 1) t.ds.shape = [v.length];
      return `${t.key}=[${v.join(",")}]`;
    }
    case "reshape": {
      const t = pick(
        datasetsOf(root).filter((d) => typeof d.ds.data !== "string"),
        e.at,
      );
      if (!t) return "";
      const n = numel(e.shape);
      const old = numbers(t.ds.data);
      const v = Array.from({ length: n }, (_, i) => (old.length ? old[i % old.length]! : 1));
      t.ds.data = Array.isArray(t.ds.data) ? v.map(String) : like(t.ds.data, v);
      t.ds.shape = [...e.shape];
      if (e.shape.length === 0) t.ds.data = like(t.ds.data, [v[0] ?? 1]);
      return `${t.key} shape [${e.shape.join(",")}]`;
    }
    case "dtype": {
      const t = pick(datasetsOf(root), e.at);
      if (!t) return "";
      const v = numbers(t.ds.data);
      const shape = t.ds.shape ?? (typeof t.ds.data === "string" ? undefined : []);
      const to: Record<Dtype, () => Dataset | Group> = {
        f32: () => ({ kind: "dataset", data: Float32Array.from(v), ...(shape ? { shape } : { shape: [v.length] }) }),
        f64: () => ({ kind: "dataset", data: Float64Array.from(v), ...(shape ? { shape } : { shape: [v.length] }) }),
        i64: () => ({ kind: "dataset", data: like(new BigInt64Array(0), v), ...(shape ? { shape } : { shape: [v.length] }) }),
        i32: () => ({ kind: "dataset", data: like(new Int32Array(0), v), ...(shape ? { shape } : { shape: [v.length] }) }),
        str: () => ({ kind: "dataset", data: v.map(String), shape: shape && shape.length ? shape : [v.length] }),
        group: () => ({ kind: "group", children: new Map<string, Dataset | Group>([["value", { kind: "dataset", data: Float64Array.from(v), shape: [v.length] }]]) }),
        scalar: () => ({ kind: "dataset", data: Float64Array.of(v[0] ?? 0) }),
        empty: () => ({ kind: "dataset", data: new Float64Array(0), shape: [0] }),
      };
      t.parent.children.set(t.key, to[e.to]());
      return `${t.key} as ${e.to}`;
    }
    case "drop": {
      const t = pick(datasetsOf(root), e.at);
      if (!t) return "";
      t.parent.children.delete(t.key);
      return `${t.key} dropped`;
    }
    case "extra": {
      const n = pick(nodesOf(root), e.at);
      if (!n) return "";
      const len = numel(e.shape);
      const data = e.ints ? like(new BigInt64Array(0), new Array<number>(len).fill(e.value)) : new Float64Array(len).fill(e.value);
      n.node.children.set(e.name, { kind: "dataset", data, shape: [...e.shape], compress: false });
      if (e.shape.length === 0) n.node.children.set(e.name, { kind: "dataset", data: like(data, [e.value]) });
      return `${n.name}.${e.name} added`;
    }
    case "type": {
      const n = pick(nodesOf(root), e.at);
      if (!n) return "";
      n.node.children.set("type", str(e.type));
      return `${n.name} type ${JSON.stringify(e.type)}`;
    }
    case "edge": {
      const g = pick(graphsOf(root), e.at);
      if (!g) return "";
      const edges = edgesOf(g.graph);
      const names = endNames(g.nodes);
      const a = pick(names, e.a)!;
      const b = pick(names, e.b)!;
      const i = edges.length ? e.a % edges.length : -1;
      if (e.kind === "add") edges.push([a, b]);
      else if (e.kind === "self") edges.push([a, a]);
      else if (i < 0) return "";
      else if (e.kind === "reverse") edges.push([edges[i]![1]!, edges[i]![0]!]);
      else if (e.kind === "drop") edges.splice(i, 1);
      else if (e.kind === "dup") edges.push([...edges[i]!]);
      else edges[i]![e.end] = b;
      setEdges(g.graph, edges);
      return `edge ${e.kind} ${a} ${b}`;
    }
    case "edges-bad": {
      const g = pick(graphsOf(root), e.at);
      if (!g) return "";
      const flat = edgesOf(g.graph).flat();
      const bad: Record<typeof e.kind, Dataset | Group | undefined> = {
        numeric: { kind: "dataset", data: Float64Array.from(flat, (_, i) => i), shape: [flat.length / 2, 2] },
        flat: { kind: "dataset", data: flat, shape: [flat.length] },
        three: { kind: "dataset", data: [...flat, ...flat.slice(0, flat.length / 2)], shape: [flat.length / 2, 3] },
        empty: { kind: "dataset", data: new Float64Array(0), shape: [0, 2] },
        scalar: str(flat[0] ?? "x"),
        group: { kind: "group", children: new Map() },
        missing: undefined,
      };
      const d = bad[e.kind];
      if (d) g.graph.children.set("edges", d);
      else g.graph.children.delete("edges");
      return `edges ${e.kind}`;
    }
    case "rename": {
      const n = pick(nodesOf(root), e.at);
      if (!n) return "";
      n.nodes.children.delete(n.name);
      n.nodes.children.set(e.name, n.node);
      if (e.fix) setEdges(n.graph, edgesOf(n.graph).map((x) => x.map((end) => (end === n.name ? e.name : end.startsWith(`${n.name}.`) ? `${e.name}${end.slice(n.name.length)}` : end))));
      return `${n.name} renamed ${e.name}`;
    }
    case "duplicate": {
      const n = pick(nodesOf(root), e.at);
      if (!n) return "";
      n.nodes.children.set(e.name, structuredClone(n.node));
      if (e.edges) {
        const edges = edgesOf(n.graph);
        setEdges(n.graph, [...edges, ...edges.filter((x) => x.includes(n.name)).map((x) => x.map((end) => (end === n.name ? e.name : end)))]);
      }
      return `${n.name} duplicated as ${e.name}`;
    }
    case "remove": {
      const n = pick(nodesOf(root), e.at);
      if (!n) return "";
      n.nodes.children.delete(n.name);
      if (e.fix) setEdges(n.graph, edgesOf(n.graph).filter((x) => !x.some((end) => end === n.name || end.startsWith(`${n.name}.`))));
      return `${n.name} removed`;
    }
    case "wrap": {
      // A primitive node with a population shape (its first float parameter) moves into a subgraph.
      const n = pick(
        nodesOf(root).filter((x) => !["Input", "Output", "NIRGraph"].includes(typeName(x.node) ?? "") && [...x.node.children.values()].some((c) => !isGroup(c) && c.data instanceof Float64Array)),
        e.at,
      );
      if (!n) return "";
      const p = [...n.node.children.values()].find((c): c is Dataset => !isGroup(c) && c.data instanceof Float64Array)!;
      n.nodes.children.set(n.name, wrapped(n.node, p.shape ?? []));
      return `${n.name} wrapped in a subgraph`;
    }
    case "deep": {
      const g = pick(graphsOf(root), e.at);
      if (!g) return "";
      let inner: Group = { kind: "group", children: new Map<string, Dataset | Group>([["type", str("NIRGraph")], ["nodes", { kind: "group", children: new Map() }]]) };
      setEdges(inner, []);
      for (let i = 1; i < e.depth; i++) {
        const outer: Group = { kind: "group", children: new Map<string, Dataset | Group>([["type", str("NIRGraph")], ["nodes", { kind: "group", children: new Map<string, Dataset | Group>([["g", inner]]) }]]) };
        setEdges(outer, []);
        inner = outer;
      }
      g.nodes.children.set("deep", inner);
      return `subgraphs ${e.depth} deep`;
    }
    case "version": {
      if (e.value === null) root.children.delete("version");
      else root.children.set("version", typeof e.value === "string" ? str(e.value) : { kind: "dataset", data: Float64Array.of(e.value) });
      return `version ${JSON.stringify(e.value)}`;
    }
    case "dt": {
      const path = e.where.split("/");
      const g = metaGroup(root, path.slice(0, -1));
      g.children.set(path.at(-1)!, typeof e.value === "string" ? str(e.value) : { kind: "dataset", data: Float64Array.of(e.value) });
      return `${e.where}=${e.value}`;
    }
    case "ir":
      metaGroup(root, ["tscc"]).children.set("ir", str(e.text));
      return "tscc/ir edited";
  }
}

/** Every dataset of a tree stored contiguously (no chunks, no gzip). */
function uncompressed(g: Group): void {
  for (const c of g.children.values()) {
    if (isGroup(c)) uncompressed(c);
    else c.compress = false;
  }
}

/** The seed after the edits, written with tscc's HDF5 writer (gzip-chunked arrays as nir.write, or contiguous). */
function edited(seed: Seed, edits: readonly Edit[], gzip: boolean): { bytes: Uint8Array; note: string } {
  const tree = structuredClone(seed.tree);
  const notes = edits.map((e) => applyEdit(tree, e)).filter(Boolean);
  if (!gzip) uncompressed(tree);
  return { bytes: writeHdf5(tree), note: `${seed.name}: ${notes.join("; ") || "(no edit applied)"}${gzip ? "" : " (contiguous)"}` };
}

// ---------------------------------------------------------------------------------------------------
// Commands

const DT = ["0.001", "1", "0", "-1", "1e-300", "1e308", "nan", "inf"];

/**
 * The commands reading a case's model.nir. A compiled artifact goes to `out/<hash of the file and the
 * command>`: a worker runs its cases in one process, and under tsx (which the fuzzer runs on) Node's
 * module cache keeps the first model.js imported from a path whatever its URL's query says, so two
 * different artifacts must not share a folder.
 */
function commands(seed: Seed, bytes: Uint8Array): fc.Arbitrary<{ readonly argv: readonly string[]; readonly then?: readonly string[] }> {
  const folder = (argv: readonly string[]): string => `out/${createHash("sha256").update(bytes).update(argv.join("\0")).digest("hex").slice(0, 12)}`;
  const compile = (target: string, extra: readonly string[] = []): { argv: string[]; then: string[] } => {
    const out = target === "emulator" ? folder(extra) : "out";
    return { argv: ["compile", "model.nir", "--target", target, "-o", out, ...extra], then: ["run", out, "--input", seed.input] };
  };
  const only = (c: { argv: string[] }): { argv: string[] } => ({ argv: c.argv });
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(only(compile("emulator"))) },
    { weight: 3, arbitrary: fc.constant(compile("emulator")) },
    { weight: 1, arbitrary: fc.constantFrom(...DT).map((dt) => compile("emulator", ["--dt", dt])) },
    { weight: 1, arbitrary: fc.constant(only(compile("ir"))) },
    { weight: 1, arbitrary: fc.constant(only(compile("nir"))) },
    { weight: 2, arbitrary: fc.constant({ argv: ["inspect", "model.nir"] }) },
  );
}

export const nirTarget = defineTarget<NirCorpus>({
  name: "nir",
  summary:
    "NIR files: the NIR library's fixtures (LIF/CubaLIF chains, Conv1d/Conv2d/pools, Scale/Delay/I/Threshold, recurrent subgraphs; NIR 1.0.7 and 1.0.8 layouts) and tscc's own TSC and rate-coded exports of the tiny CNN, read to the NIR model and edited as HDF5 trees (wrong rank/shape/dtype, NaN/±Inf/huge values, τ or dt ≤ 0, missing/extra parameters, unknown types, hostile integer parameters and declared shapes, edges to missing nodes or ports, self-loops, reversed edges, renamed/duplicated/removed nodes, nodes wrapped in subgraphs, 33–40-deep nesting, versions, metadata and tscc's round-trip record) then written with tscc's HDF5 writer (gzip-chunked as nir.write writes, or contiguous), or byte-mutated, or both; compiled for the emulator (and run on a 6-step spike train or an image), for ir and nir, and inspected",
  weight: 1,
  async prepare(ctx) {
    await hdf5Ready();
    const exports = await nirExports();
    const raw: { name: string; bytes: Uint8Array; input: string }[] = [
      ...FIXTURES.map((n) => ({ name: n, bytes: new Uint8Array(readFileSync(join(ROOT, "test/fixtures/nir", `${n}.nir`))), input: `${n.replace(".v107", "")}.npy` })),
      { name: "tiny-tsc", bytes: exports.tsc, input: "x.npy" },
      { name: "tiny-rate", bytes: exports.rate, input: "x.npy" },
    ];
    const inputs: Record<string, Uint8Array> = { "x.npy": tinyImages(1, 12) };
    for (const n of FIXTURES) {
      if (n.includes(".")) continue;
      // A short spike train: the fixture's first 6 steps of its first sample ([T, N, ...]).
      inputs[`${n}.npy`] = shortTrain(join(ROOT, "test/fixtures/nir", `${n}.input.npy`));
    }
    const seeds = raw.map((r): Seed => {
      const path = join(ctx.scratch, `${r.name}.nir`);
      writeFileSync(path, r.bytes);
      return { ...r, tree: mutable(nirFileTree(readNirFile(path))) };
    });
    const irTexts = seeds.flatMap((s) => {
      const t = (((s.tree.children.get("node") as Group).children.get("metadata") as Group | undefined)?.children.get("tscc") as Group | undefined)?.children.get("ir");
      return t && !isGroup(t) && typeof t.data === "string" ? [t.data] : [];
    });
    return { seeds, inputs, irTexts };
  },
  base: (p) => p.inputs,
  // Cases are generated with tscc's HDF5 writer in the process that runs them: a corrupt file that
  // aborted libhdf5 retires the WebAssembly instance, and the writer needs the fresh one.
  afterCase: () => hdf5Ready(),
  arbitrary(p) {
    const edits = fc.array(editArbitrary(p.irTexts), { minLength: 1, maxLength: 4 });
    const seed = fc.nat().map((i) => p.seeds[i % p.seeds.length]!);
    const file = fc.oneof(
      { weight: 5, arbitrary: fc.tuple(seed, edits, fc.boolean()).map(([s, e, gzip]) => ({ seed: s, ...edited(s, e, gzip) })) },
      { weight: 2, arbitrary: fc.tuple(seed, mutatedBytes(p.seeds.map((s) => s.bytes))).map(([s, bytes]) => ({ seed: s, bytes, note: "byte-mutated" })) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(seed, edits, fc.boolean())
          .map(([s, e, gzip]) => ({ seed: s, ...edited(s, e, gzip) }))
          .chain((x) => mutatedBytes([x.bytes], 3).map((bytes) => ({ seed: x.seed, bytes, note: `${x.note}, then byte-mutated` }))),
      },
    );
    return file.chain((f) =>
      commands(f.seed, f.bytes).map((cmd): FuzzCase => ({ files: { "model.nir": f.bytes }, argv: cmd.argv, ...(cmd.then ? { then: cmd.then } : {}), note: f.note })),
    );
  },
  valid: (p) => ({ files: { "model.nir": p.seeds[0]!.bytes }, argv: ["compile", "model.nir", "--target", "emulator", "-o", "out/valid"], then: ["run", "out/valid", "--input", p.seeds[0]!.input], note: "unmutated" }),
});

/** The first 6 steps of the first sample of a [T, N, ...] .npy spike train. */
function shortTrain(file: string): Uint8Array {
  const t = readNpy(file);
  const per = numel(t.shape.slice(2));
  const steps = Math.min(6, t.shape[0]!);
  const data = t.data as Float32Array;
  const out = new Float32Array(steps * per);
  for (let k = 0; k < steps; k++) out.set(data.subarray(k * t.shape[1]! * per, k * t.shape[1]! * per + per), k * per);
  return encodeNpy({ shape: [steps, 1, ...t.shape.slice(2)], dtype: "f32", data: out });
}

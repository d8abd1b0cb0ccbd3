/**
 * NIR graphs as data (github neuromorphs/NIR, `nir/ir/*.py`), read from and written to the HDF5 layout
 * of NIR's own `nir.write` / `nir.read` (`nir/serialization.py`):
 *
 *   /version                 variable-length UTF-8 string ("1.0.7")
 *   /node                    the root NIRGraph: `type` = "NIRGraph", group `nodes` (one group per node),
 *                            `edges` (N×2 strings: source, destination), optional group `metadata`
 *   /node/nodes/<name>       `type` (string) and the node's parameters as datasets; a NIRGraph node nests
 *
 * Shapes are NIR's: per sample, without the batch dimension. {@link readNirFile} checks everything a
 * consumer relies on and reports one diagnostic naming the file, the node and the problem: unknown node
 * types, missing or mis-shaped parameters, edges naming missing nodes, shape mismatches along edges
 * (NIR's `check_types`), unsupported versions. {@link nirFileTree} writes exactly the datasets
 * `nir.write` writes for each node type.
 */
import { flattenShape, fmt, M, nirLoc, ShapeError, TsccError, windowOutSize, type Diagnostic } from "../../ir/index.js";
import { Hdf5Error, readHdf5, type H5Dataset, type H5Group, type WriteDataset, type WriteGroup } from "./hdf5.js";

/** A float parameter: NIR writes numpy arrays (float32 weights, float64 neuron parameters). */
export interface NirArray {
  readonly shape: readonly number[];
  readonly data: Float32Array | Float64Array;
}

/** Integer parameters (stride, padding, shape, dims) as plain numbers; padding may be "same"/"valid". */
export type NirValue = NirArray | readonly number[] | number | string;

/** Metadata: strings, numbers, arrays and nested groups (NIR writes them as datasets and groups). */
export interface NirMeta {
  readonly [key: string]: string | number | NirArray | NirMeta;
}

export const NIR_TYPES = [
  "Input",
  "Output",
  "Affine",
  "Linear",
  "Conv1d",
  "Conv2d",
  "SumPool2d",
  "AvgPool2d",
  "Flatten",
  "Scale",
  "Threshold",
  "Delay",
  "I",
  "IF",
  "LI",
  "LIF",
  "CubaLI",
  "CubaLIF",
  "NIRGraph",
] as const;

export type NirType = (typeof NIR_TYPES)[number];

export interface NirNode {
  readonly type: NirType;
  readonly params: Readonly<Record<string, NirValue>>;
  /** NIRGraph nodes only. */
  readonly graph?: NirGraph;
  readonly metadata?: NirMeta;
}

export interface NirGraph {
  readonly nodes: ReadonlyMap<string, NirNode>;
  readonly edges: readonly (readonly [string, string])[];
  readonly metadata?: NirMeta;
}

export interface NirFile {
  readonly version: string;
  readonly graph: NirGraph;
}

/** How a parameter is stored and checked. */
type ParamKind =
  /** float array of any rank (neuron parameters: all of a node's share the population shape) */
  | "neuron"
  /** float array of a fixed rank */
  | { rank: number }
  /** an integer or a list of `n` integers (stride, padding, …) */
  | { ints: number }
  /** a single integer */
  | "int"
  /** a list of integers of any length (Input/Output shape, Flatten input_type) */
  | "shape"
  /** an integer, a list of `n` integers, or "same"/"valid" */
  | { padding: number };

interface ParamSpec {
  readonly name: string;
  readonly kind: ParamKind;
  /** Absent in the file: NIR's reader substitutes this (v_reset = 0, w_in = 1), or the parameter is optional. */
  readonly absent?: "zeros" | "ones" | "optional";
}

const neuron = (name: string, absent?: ParamSpec["absent"]): ParamSpec => ({ name, kind: "neuron", ...(absent ? { absent } : {}) });

/** Parameters of each node type, in the order NIR's dataclasses declare them. */
export const NIR_PARAMS: Readonly<Record<Exclude<NirType, "NIRGraph">, readonly ParamSpec[]>> = {
  Input: [{ name: "shape", kind: "shape" }],
  Output: [{ name: "shape", kind: "shape" }],
  Affine: [
    { name: "weight", kind: { rank: 2 } },
    { name: "bias", kind: { rank: 1 } },
  ],
  Linear: [{ name: "weight", kind: { rank: 2 } }],
  Conv1d: [
    { name: "input_shape", kind: { ints: 1 }, absent: "optional" },
    { name: "weight", kind: { rank: 3 } },
    { name: "stride", kind: { ints: 1 } },
    { name: "padding", kind: { padding: 1 } },
    { name: "dilation", kind: { ints: 1 } },
    { name: "groups", kind: "int" },
    { name: "bias", kind: { rank: 1 } },
  ],
  Conv2d: [
    { name: "input_shape", kind: { ints: 2 }, absent: "optional" },
    { name: "weight", kind: { rank: 4 } },
    { name: "stride", kind: { ints: 2 } },
    { name: "padding", kind: { padding: 2 } },
    { name: "dilation", kind: { ints: 2 } },
    { name: "groups", kind: "int" },
    { name: "bias", kind: { rank: 1 } },
  ],
  SumPool2d: [
    { name: "kernel_size", kind: { ints: 2 } },
    { name: "stride", kind: { ints: 2 } },
    { name: "padding", kind: { ints: 2 } },
  ],
  AvgPool2d: [
    { name: "kernel_size", kind: { ints: 2 } },
    { name: "stride", kind: { ints: 2 } },
    { name: "padding", kind: { ints: 2 } },
  ],
  Flatten: [
    { name: "start_dim", kind: "int" },
    { name: "end_dim", kind: "int" },
    { name: "input_type", kind: "shape", absent: "optional" },
  ],
  Scale: [neuron("scale")],
  Threshold: [neuron("threshold")],
  Delay: [neuron("delay")],
  I: [neuron("r")],
  IF: [neuron("r"), neuron("v_threshold"), neuron("v_reset", "zeros")],
  LI: [neuron("tau"), neuron("r"), neuron("v_leak")],
  LIF: [neuron("tau"), neuron("r"), neuron("v_leak"), neuron("v_threshold"), neuron("v_reset", "zeros")],
  CubaLI: [neuron("tau_syn"), neuron("tau_mem"), neuron("r"), neuron("v_leak"), neuron("w_in", "ones")],
  CubaLIF: [neuron("tau_syn"), neuron("tau_mem"), neuron("r"), neuron("v_leak"), neuron("v_threshold"), neuron("v_reset", "zeros"), neuron("w_in", "ones")],
};

/** NIR node type → op name. */
export const NIR_OP_OF: Readonly<Record<Exclude<NirType, "NIRGraph" | "Input" | "Output">, string>> = {
  Affine: "nir.affine",
  Linear: "nir.linear",
  Conv1d: "nir.conv1d",
  Conv2d: "nir.conv2d",
  SumPool2d: "nir.sum_pool2d",
  AvgPool2d: "nir.avg_pool2d",
  Flatten: "nir.flatten",
  Scale: "nir.scale",
  Threshold: "nir.threshold",
  Delay: "nir.delay",
  I: "nir.i",
  IF: "nir.if",
  LI: "nir.li",
  LIF: "nir.lif",
  CubaLI: "nir.cuba_li",
  CubaLIF: "nir.cuba_lif",
};

/** Array parameters each op takes as constants, in operand order. */
export const NIR_OP_PARAMS: Readonly<Record<string, readonly string[]>> = {
  Affine: ["weight", "bias"],
  Linear: ["weight"],
  Conv1d: ["weight", "bias"],
  Conv2d: ["weight", "bias"],
  SumPool2d: [],
  AvgPool2d: [],
  Flatten: [],
  Scale: ["scale"],
  Threshold: ["threshold"],
  Delay: ["delay"],
  I: ["r"],
  IF: ["r", "v_threshold", "v_reset"],
  LI: ["tau", "r", "v_leak"],
  LIF: ["tau", "r", "v_leak", "v_threshold", "v_reset"],
  CubaLI: ["tau_syn", "tau_mem", "r", "v_leak", "w_in"],
  CubaLIF: ["tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in"],
};

// ---------------------------------------------------------------------------------------------------
// Accessors

export function isArray(v: NirValue | undefined): v is NirArray {
  return typeof v === "object" && v !== null && "data" in v;
}

export function param(n: NirNode, name: string): NirValue {
  const v = n.params[name];
  if (v === undefined) throw new Error(`internal: ${n.type} has no parameter '${name}'`);
  return v;
}

export function arr(n: NirNode, name: string): NirArray {
  const v = param(n, name);
  if (!isArray(v)) throw new Error(`internal: ${n.type}.${name} is not an array`);
  return v;
}

/** An integer parameter given as a scalar or a list, as `n` numbers. */
export function ints(n: NirNode, name: string, count: number): number[] {
  const v = param(n, name);
  if (typeof v === "number") return new Array<number>(count).fill(v);
  if (Array.isArray(v)) return [...(v as number[])];
  throw new Error(`internal: ${n.type}.${name} is not an integer list`);
}

export function int(n: NirNode, name: string): number {
  const v = param(n, name);
  if (typeof v === "number") return v;
  if (Array.isArray(v) && v.length === 1) return v[0] as number;
  throw new Error(`internal: ${n.type}.${name} is not an integer`);
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function fmtDims(s: readonly number[]): string {
  return `[${s.join(", ")}]`;
}

// ---------------------------------------------------------------------------------------------------
// Reading

export const SUPPORTED_MAJOR_VERSIONS = [0, 1];

function nodeError(file: string, node: string, type: string, d: Diagnostic): TsccError {
  return new TsccError({ ...d, file, loc: nirLoc(node, type) });
}

function toNumbers(d: H5Dataset): number[] {
  if (d.dtype === "str") throw new Error("strings");
  return Array.from(d.value as ArrayLike<number | bigint>, Number);
}

function isInteger(d: H5Dataset): boolean {
  return /^[iu]/.test(d.dtype);
}

function metaOf(g: H5Group): NirMeta {
  const out: Record<string, string | number | NirArray | NirMeta> = {};
  for (const [k, c] of g.children) {
    if (c.kind === "group") out[k] = metaOf(c);
    else if (c.dtype === "str") out[k] = c.shape.length === 0 ? ((c.value as string[])[0] ?? "") : JSON.stringify(c.value);
    else if (c.shape.length === 0) out[k] = Number((c.value as ArrayLike<number | bigint>)[0]);
    else out[k] = { shape: c.shape, data: c.value instanceof Float32Array ? c.value : Float64Array.from(c.value as ArrayLike<number | bigint>, Number) };
  }
  return out;
}

/** Read a `.nir` file: HDF5 → validated NIR graph (hdf5Ready() must have resolved). */
export function readNirFile(file: string, shown = file): NirFile {
  let root: H5Group;
  try {
    root = readHdf5(file);
  } catch (e) {
    if (e instanceof Hdf5Error) throw new TsccError(fmt(M.NirNotReadable, [e.path ? `${e.path}: ${e.message}` : e.message], { file: shown }));
    throw e;
  }
  const version = root.children.get("version");
  if (!version || version.kind !== "dataset" || version.dtype !== "str" || version.shape.length !== 0) {
    throw new TsccError(fmt(M.NirLayout, ["no /version string (nir.write always writes one)"], { file: shown }));
  }
  const v = (version.value as string[])[0]!;
  const major = /^(\d+)\.\d+/.exec(v)?.[1];
  if (major === undefined || !SUPPORTED_MAJOR_VERSIONS.includes(Number(major))) throw new TsccError(fmt(M.NirVersion, [v], { file: shown }));
  const node = root.children.get("node");
  if (!node || node.kind !== "group") throw new TsccError(fmt(M.NirLayout, ["no /node group"], { file: shown }));
  const top = readNode(node, "", shown, 0);
  if (top.type !== "NIRGraph") throw new TsccError(fmt(M.NirLayout, [`/node is a ${top.type}, not a NIRGraph`], { file: shown }));
  const graph = top.graph!;
  checkGraph(graph, shown);
  return { version: v, graph: top.metadata ? { ...graph, metadata: top.metadata } : graph };
}

function readNode(g: H5Group, name: string, file: string, depth: number): NirNode {
  const shownName = name || "(root graph)";
  const t = g.children.get("type");
  if (!t || t.kind !== "dataset" || t.dtype !== "str") throw nodeError(file, shownName, "?", fmt(M.NirLayout, ["the node has no 'type' string"]));
  const type = (t.value as string[])[0] ?? "";
  if (!(NIR_TYPES as readonly string[]).includes(type)) throw nodeError(file, shownName, type, fmt(M.NirUnknownNode, [type]));
  const metaGroup = g.children.get("metadata");
  const metadata = metaGroup?.kind === "group" && metaGroup.children.size > 0 ? metaOf(metaGroup) : undefined;
  if (type === "NIRGraph") {
    if (depth > 32) throw nodeError(file, shownName, type, fmt(M.NirLayout, ["subgraphs nested more than 32 deep"]));
    const nodesG = g.children.get("nodes");
    if (!nodesG || nodesG.kind !== "group") throw nodeError(file, shownName, type, fmt(M.NirLayout, ["a NIRGraph without a 'nodes' group"]));
    const nodes = new Map<string, NirNode>();
    for (const [k, c] of nodesG.children) {
      const child = name ? `${name}/${k}` : k;
      if (c.kind !== "group") throw nodeError(file, child, "?", fmt(M.NirLayout, ["a node must be an HDF5 group"]));
      nodes.set(k, readNode(c, child, file, depth + 1));
    }
    const e = g.children.get("edges");
    const edges: [string, string][] = [];
    if (e) {
      if (e.kind !== "dataset") throw nodeError(file, shownName, type, fmt(M.NirLayout, ["'edges' must be a dataset"]));
      const empty = e.shape.reduce((a, b) => a * b, 1) === 0;
      if (!empty) {
        if (e.dtype !== "str" || e.shape.length !== 2 || e.shape[1] !== 2) throw nodeError(file, shownName, type, fmt(M.NirLayout, [`'edges' must be an N×2 array of node names, got ${e.dtype} ${fmtDims(e.shape)}`]));
        const s = e.value as string[];
        for (let i = 0; i < e.shape[0]!; i++) edges.push([s[2 * i]!, s[2 * i + 1]!]);
      }
    } else throw nodeError(file, shownName, type, fmt(M.NirLayout, ["a NIRGraph without 'edges'"]));
    return { type, params: {}, graph: { nodes, edges, ...(metadata ? { metadata } : {}) }, ...(metadata ? { metadata } : {}) };
  }
  const specs = NIR_PARAMS[type as Exclude<NirType, "NIRGraph">];
  const params: Record<string, NirValue> = {};
  const bad = (d: Diagnostic): TsccError => nodeError(file, shownName, type, d);
  let popShape: readonly number[] | undefined;
  let popFrom = "";
  for (const spec of specs) {
    const d = g.children.get(spec.name);
    if (!d) {
      if (spec.absent === "optional") continue;
      if (spec.absent) continue; // filled below, once the population shape is known
      throw bad(fmt(M.NirMissingParam, [spec.name]));
    }
    if (d.kind !== "dataset") throw bad(fmt(M.NirParamShape, [spec.name, "a group", "a dataset"]));
    const k = spec.kind;
    if (k === "neuron" || (typeof k === "object" && "rank" in k)) {
      if (d.dtype === "str") throw bad(fmt(M.NirParamShape, [spec.name, "string values", "numbers"]));
      if (typeof k === "object" && d.shape.length !== k.rank) throw bad(fmt(M.NirParamShape, [spec.name, `shape ${fmtDims(d.shape)} (rank ${d.shape.length})`, `rank ${k.rank}`]));
      const data = d.value instanceof Float32Array ? d.value : d.value instanceof Float64Array ? d.value : Float64Array.from(d.value as ArrayLike<number | bigint>, Number);
      for (let i = 0; i < data.length; i++) {
        if (!Number.isFinite(data[i]!) && !(spec.name === "threshold" || spec.name === "v_threshold" || spec.name === "tau" || spec.name === "tau_syn" || spec.name === "tau_mem")) {
          throw bad(fmt(M.NirParamValue, [spec.name, `holds a non-finite value (${data[i]}) at index ${i}`]));
        }
        if (Number.isNaN(data[i]!)) throw bad(fmt(M.NirParamValue, [spec.name, `holds NaN at index ${i}`]));
      }
      if (k === "neuron") {
        if (popShape === undefined) {
          popShape = d.shape;
          popFrom = spec.name;
        } else if (fmtDims(popShape) !== fmtDims(d.shape)) {
          throw bad(fmt(M.NirParamShape, [spec.name, `shape ${fmtDims(d.shape)}`, `${fmtDims(popShape)} like '${popFrom}' (all of a ${type}'s parameters have the population's shape)`]));
        }
      }
      params[spec.name] = { shape: d.shape, data };
      continue;
    }
    if (d.dtype === "str") {
      if (typeof k === "object" && "padding" in k && d.shape.length === 0) {
        const s = (d.value as string[])[0]!;
        if (s !== "same" && s !== "valid") throw bad(fmt(M.NirParamValue, [spec.name, `'${s}' (padding is a number, a list, 'same' or 'valid')`]));
        params[spec.name] = s;
        continue;
      }
      throw bad(fmt(M.NirParamShape, [spec.name, "a string", "integers"]));
    }
    if (!isInteger(d) && !toNumbers(d).every(Number.isInteger)) throw bad(fmt(M.NirParamValue, [spec.name, `must hold integers, got ${toNumbers(d).join(", ")}`]));
    const nums = toNumbers(d);
    if (k === "int") {
      if (nums.length !== 1 || d.shape.length > 1) throw bad(fmt(M.NirParamShape, [spec.name, `shape ${fmtDims(d.shape)}`, "a single integer"]));
      params[spec.name] = nums[0]!;
    } else if (k === "shape") {
      if (d.shape.length > 1) throw bad(fmt(M.NirParamShape, [spec.name, `shape ${fmtDims(d.shape)} (rank ${d.shape.length})`, "a list of dimensions (rank 1)"]));
      if (nums.some((x) => x < 1)) throw bad(fmt(M.NirParamValue, [spec.name, `dimensions must be ≥ 1, got ${fmtDims(nums)}`]));
      params[spec.name] = nums;
    } else {
      const n = "ints" in k ? k.ints : k.padding;
      if (d.shape.length > 1 || (d.shape.length === 1 && nums.length !== n)) throw bad(fmt(M.NirParamShape, [spec.name, `shape ${fmtDims(d.shape)}`, n === 1 ? "an integer" : `an integer or ${n} integers`]));
      params[spec.name] = d.shape.length === 0 ? nums[0]! : nums;
    }
  }
  for (const spec of specs) {
    if (params[spec.name] !== undefined || !spec.absent || spec.absent === "optional") continue;
    const shape = popShape ?? [];
    params[spec.name] = { shape, data: new Float64Array(numel(shape)).fill(spec.absent === "ones" ? 1 : 0) };
  }
  checkParamValues(type as NirType, params, bad);
  return { type: type as NirType, params, ...(metadata ? { metadata } : {}) };
}

/** Value checks beyond shapes (the ones whose violation would make a simulation meaningless). */
function checkParamValues(type: NirType, p: Record<string, NirValue>, bad: (d: Diagnostic) => TsccError): void {
  const positive = (name: string, what: string): void => {
    const v = p[name];
    if (typeof v === "number" && v < 1) throw bad(fmt(M.NirParamValue, [name, `${what} must be ≥ 1, got ${v}`]));
    if (Array.isArray(v) && v.some((x) => x < 1)) throw bad(fmt(M.NirParamValue, [name, `${what} must be ≥ 1, got ${fmtDims(v)}`]));
  };
  const nonNegative = (name: string): void => {
    const v = p[name];
    if (typeof v === "number" && v < 0) throw bad(fmt(M.NirParamValue, [name, `must be ≥ 0, got ${v}`]));
    if (Array.isArray(v) && v.some((x) => x < 0)) throw bad(fmt(M.NirParamValue, [name, `must be ≥ 0, got ${fmtDims(v)}`]));
  };
  if (type === "Conv1d" || type === "Conv2d") {
    positive("stride", "strides");
    positive("dilation", "dilations");
    positive("groups", "groups");
    nonNegative("padding");
    const w = p["weight"] as NirArray;
    const g = p["groups"] as number;
    if (w.shape[0]! % g !== 0) throw bad(fmt(M.NirParamValue, ["groups", `${g} does not divide the ${w.shape[0]} output channels`]));
    const b = p["bias"] as NirArray;
    if (b.shape[0] !== w.shape[0]) throw bad(fmt(M.NirParamShape, ["bias", `shape ${fmtDims(b.shape)}`, `[${w.shape[0]}] (one per output channel of 'weight' ${fmtDims(w.shape)})`]));
    if (w.shape.some((d) => d < 1)) throw bad(fmt(M.NirParamShape, ["weight", `shape ${fmtDims(w.shape)}`, "no empty dimension"]));
  }
  if (type === "SumPool2d" || type === "AvgPool2d") {
    positive("kernel_size", "kernel sizes");
    positive("stride", "strides");
    nonNegative("padding");
  }
  if (type === "Affine") {
    const w = p["weight"] as NirArray;
    const b = p["bias"] as NirArray;
    if (b.shape[0] !== w.shape[0]) throw bad(fmt(M.NirParamShape, ["bias", `shape ${fmtDims(b.shape)}`, `[${w.shape[0]}] (one per row of 'weight' ${fmtDims(w.shape)})`]));
  }
  if (type === "Delay") {
    const d = (p["delay"] as NirArray).data;
    for (let i = 0; i < d.length; i++) if (!(d[i]! >= 0) || !Number.isFinite(d[i]!)) throw bad(fmt(M.NirParamValue, ["delay", `must be finite and ≥ 0, got ${d[i]} at index ${i}`]));
  }
  for (const name of ["tau", "tau_syn", "tau_mem"]) {
    const v = p[name];
    if (!isArray(v)) continue;
    for (let i = 0; i < v.data.length; i++) if (!(v.data[i]! > 0)) throw bad(fmt(M.NirParamValue, [name, `time constants must be > 0, got ${v.data[i]} at index ${i}`]));
  }
}

// ---------------------------------------------------------------------------------------------------
// Shapes and edges (NIR's infer_types / check_types, with one diagnostic per problem)

/** Input and output shape of every node of one graph level (subgraphs: their Input / Output nodes). */
export interface GraphShapes {
  readonly input: ReadonlyMap<string, readonly number[]>;
  readonly output: ReadonlyMap<string, readonly number[]>;
}

/** Explicit [before, after] padding per spatial axis ('same' pads as PyTorch: the odd element after). */
export function convPads(n: NirNode, spatial: number): [number, number][] {
  const p = param(n, "padding");
  const dil = ints(n, "dilation", spatial);
  const k = arr(n, "weight").shape.slice(2);
  if (p === "valid") return k.map(() => [0, 0]);
  if (p === "same") {
    return k.map((kk, i) => {
      const total = dil[i]! * (kk - 1);
      return [Math.floor(total / 2), total - Math.floor(total / 2)];
    });
  }
  return ints(n, "padding", spatial).map((x) => [x, x]);
}

/** The shape a node's parameters fix for its input, or undefined when it follows its source. */
function declaredInput(n: NirNode): readonly number[] | undefined {
  switch (n.type) {
    case "Input":
      return undefined;
    case "Output":
      return param(n, "shape") as number[];
    case "Affine":
    case "Linear":
      return [arr(n, "weight").shape[1]!];
    case "Conv1d":
    case "Conv2d": {
      const sp = n.type === "Conv1d" ? 1 : 2;
      const w = arr(n, "weight");
      const is = n.params["input_shape"];
      return is === undefined ? undefined : [w.shape[1]! * int(n, "groups"), ...ints(n, "input_shape", sp)];
    }
    case "Flatten":
      return n.params["input_type"] as number[] | undefined;
    case "SumPool2d":
    case "AvgPool2d":
      return undefined;
    case "Scale":
      return arr(n, "scale").shape;
    case "Threshold":
      return arr(n, "threshold").shape;
    case "Delay":
      return arr(n, "delay").shape;
    case "NIRGraph":
      return undefined;
    default:
      return arr(n, "r").shape;
  }
}

/** Output shape from the input shape; throws RangeError with the reason when they do not fit. */
export function outputShape(n: NirNode, inShape: readonly number[]): number[] {
  switch (n.type) {
    case "Input":
      return [...(param(n, "shape") as number[])];
    case "Affine":
    case "Linear":
      return [arr(n, "weight").shape[0]!];
    case "Conv1d":
    case "Conv2d": {
      const sp = n.type === "Conv1d" ? 1 : 2;
      const w = arr(n, "weight");
      if (inShape.length !== sp + 1) throw new RangeError(`${n.type} takes [C, ${sp === 1 ? "L" : "H, W"}], got ${fmtDims(inShape)}`);
      if (inShape[0] !== w.shape[1]! * int(n, "groups")) throw new RangeError(`${n.type} with weight ${fmtDims(w.shape)} and groups ${int(n, "groups")} takes ${w.shape[1]! * int(n, "groups")} channels, got ${inShape[0]}`);
      const st = ints(n, "stride", sp);
      const dil = ints(n, "dilation", sp);
      const pads = convPads(n, sp);
      return [w.shape[0]!, ...inShape.slice(1).map((x, i) => window(x, w.shape[2 + i]!, st[i]!, pads[i]![0], pads[i]![1], dil[i]!))];
    }
    case "SumPool2d":
    case "AvgPool2d": {
      if (inShape.length !== 3) throw new RangeError(`${n.type} takes [C, H, W], got ${fmtDims(inShape)}`);
      const k = ints(n, "kernel_size", 2);
      const st = ints(n, "stride", 2);
      const p = ints(n, "padding", 2);
      return [inShape[0]!, ...[0, 1].map((i) => window(inShape[1 + i]!, k[i]!, st[i]!, p[i]!, p[i]!, 1))];
    }
    case "Flatten":
      try {
        return flattenShape(inShape, int(n, "start_dim"), int(n, "end_dim"));
      } catch (e) {
        throw e instanceof ShapeError ? new RangeError(e.message) : e;
      }
    default:
      return [...inShape];
  }
}

/** Output length of a window along one axis (PyTorch's formula, as NIR's calculate_conv_output). */
function window(size: number, kernel: number, stride: number, before: number, after: number, dilation: number): number {
  try {
    return windowOutSize(size, kernel, stride, before, after, dilation, false);
  } catch (e) {
    throw e instanceof ShapeError ? new RangeError(e.message) : e;
  }
}

/** A subgraph's ports: its Input and Output nodes. */
function ports(g: NirGraph, kind: "Input" | "Output"): string[] {
  return [...g.nodes.entries()].filter(([, n]) => n.type === kind).map(([k]) => k);
}

/** Resolve an edge end: a node name, or `sub.port` for an Input/Output node of subgraph `sub`. */
export function resolveEnd(g: NirGraph, name: string, side: "source" | "destination"): { node: string; port?: string } | undefined {
  if (g.nodes.has(name)) {
    const n = g.nodes.get(name)!;
    if (n.type !== "NIRGraph") return { node: name };
    const p = ports(n.graph!, side === "source" ? "Output" : "Input");
    return p.length === 1 ? { node: name, port: p[0]! } : { node: name };
  }
  const dot = name.lastIndexOf(".");
  if (dot > 0) {
    const sub = g.nodes.get(name.slice(0, dot));
    const port = name.slice(dot + 1);
    if (sub?.type === "NIRGraph" && sub.graph!.nodes.get(port)?.type === (side === "source" ? "Output" : "Input")) return { node: name.slice(0, dot), port };
  }
  return undefined;
}

/**
 * Check a graph level and its subgraphs: edges name existing nodes (or subgraph ports), every node's
 * input shape is known and agrees with what its sources send. Returns each node's shapes.
 */
export function checkGraph(g: NirGraph, file: string, prefix = ""): GraphShapes {
  const full = (k: string): string => (prefix ? `${prefix}/${k}` : k);
  const typeOf = (k: string): string => g.nodes.get(k)?.type ?? "?";
  const sub = new Map<string, GraphShapes>();
  for (const [k, n] of g.nodes) if (n.type === "NIRGraph") sub.set(k, checkGraph(n.graph!, file, full(k)));
  const resolved: { from: { node: string; port?: string }; to: { node: string; port?: string }; raw: readonly [string, string] }[] = [];
  for (const e of g.edges) {
    const from = resolveEnd(g, e[0], "source");
    const to = resolveEnd(g, e[1], "destination");
    if (!from) throw new TsccError(fmt(M.NirMissingNode, [e[0], e[1], e[0]], { file, ...(prefix ? { loc: nirLoc(prefix, "NIRGraph") } : {}) }));
    if (!to) throw new TsccError(fmt(M.NirMissingNode, [e[0], e[1], e[1]], { file, ...(prefix ? { loc: nirLoc(prefix, "NIRGraph") } : {}) }));
    const fromNode = g.nodes.get(from.node)!;
    const toNode = g.nodes.get(to.node)!;
    if (fromNode.type === "Output") throw new TsccError(fmt(M.NirLayout, [`edge '${e[0]}' → '${e[1]}' leaves an Output node`], { file, loc: nirLoc(full(from.node), "Output") }));
    if (toNode.type === "Input") throw new TsccError(fmt(M.NirLayout, [`edge '${e[0]}' → '${e[1]}' enters an Input node`], { file, loc: nirLoc(full(to.node), "Input") }));
    if (fromNode.type === "NIRGraph" && !from.port) throw new TsccError(fmt(M.NirUnsupported, [`subgraph '${e[0]}' has ${ports(fromNode.graph!, "Output").length} outputs; name one ('${e[0]}.<output>')`], { file, loc: nirLoc(full(from.node), "NIRGraph") }));
    if (toNode.type === "NIRGraph" && !to.port) throw new TsccError(fmt(M.NirUnsupported, [`subgraph '${e[1]}' has ${ports(toNode.graph!, "Input").length} inputs; name one ('${e[1]}.<input>')`], { file, loc: nirLoc(full(to.node), "NIRGraph") }));
    resolved.push({ from, to, raw: e });
  }
  const input = new Map<string, readonly number[]>();
  const output = new Map<string, readonly number[]>();
  const keyOf = (end: { node: string; port?: string }): string => (end.port ? `${end.node}.${end.port}` : end.node);
  // Subgraph ports carry the declared shapes of the inner Input/Output nodes: what an edge into
  // `sub.input` must bring, what an edge from `sub.output` sends.
  for (const [k, s] of sub) {
    for (const [p, n] of g.nodes.get(k)!.graph!.nodes) {
      const shape = s.output.get(p);
      if (!shape) continue;
      if (n.type === "Output") output.set(`${k}.${p}`, shape);
      if (n.type === "Input") input.set(`${k}.${p}`, shape);
    }
  }
  for (const [k, n] of g.nodes) {
    if (n.type === "NIRGraph") continue;
    const d = declaredInput(n);
    if (d) input.set(k, d);
    if (n.type === "Input") output.set(k, [...(param(n, "shape") as number[])]);
  }
  // Propagate along edges until nothing changes (NIR's infer_types, in file order).
  const incoming = new Map<string, typeof resolved>();
  for (const r of resolved) {
    const key = keyOf(r.to);
    incoming.set(key, [...(incoming.get(key) ?? []), r]);
  }
  const computeOut = (k: string): void => {
    const n = g.nodes.get(k)!;
    if (n.type === "NIRGraph" || n.type === "Input" || output.has(k)) return;
    const inShape = input.get(k);
    if (!inShape) return;
    try {
      output.set(k, outputShape(n, inShape));
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      throw new TsccError(fmt(M.NirShapeMismatch, [(incoming.get(k) ?? [])[0]?.raw[0] ?? "?", (incoming.get(k) ?? [])[0]?.raw[1] ?? k, e.message], { file, loc: nirLoc(full(k), n.type) }));
    }
  };
  for (let changed = true, rounds = 0; changed && rounds <= g.nodes.size + 1; rounds++) {
    changed = false;
    for (const k of g.nodes.keys()) {
      const before = output.has(k);
      computeOut(k);
      if (!before && output.has(k)) changed = true;
    }
    for (const r of resolved) {
      const src = output.get(keyOf(r.from));
      const dst = keyOf(r.to);
      if (src && !input.has(dst)) {
        input.set(dst, src);
        changed = true;
      }
    }
  }
  for (const r of resolved) {
    const src = output.get(keyOf(r.from));
    const dst = input.get(keyOf(r.to));
    if (!src || !dst) continue;
    if (fmtDims(src) !== fmtDims(dst)) {
      const toType = r.to.port ? "Input" : typeOf(r.to.node);
      throw new TsccError(
        fmt(M.NirShapeMismatch, [r.raw[0], r.raw[1], `'${r.raw[0]}' (${typeOf(r.from.node)}) outputs ${fmtDims(src)}, '${r.raw[1]}' (${toType}) takes ${fmtDims(dst)}`], {
          file,
          loc: nirLoc(full(r.to.port ? `${r.to.node}/${r.to.port}` : r.to.node), toType),
        }),
      );
    }
  }
  for (const [k, n] of g.nodes) {
    if (n.type === "NIRGraph") continue;
    if (!input.has(k) && n.type !== "Input") {
      throw new TsccError(fmt(M.NirUnsupported, [`its input shape is unknown (no edge brings a known shape and the node does not declare one)`], { file, loc: nirLoc(full(k), n.type) }));
    }
  }
  return { input, output };
}

// ---------------------------------------------------------------------------------------------------
// Writing (the datasets nir.write writes: numpy arrays gzip-compressed, ints and tuples plain, strings UTF-8)

function valueDataset(v: NirValue): WriteDataset {
  if (typeof v === "string") return { kind: "dataset", data: v };
  if (typeof v === "number") return { kind: "dataset", data: BigInt64Array.of(BigInt(v)) };
  if (Array.isArray(v)) return { kind: "dataset", data: BigInt64Array.from((v as number[]).map(BigInt)), shape: [v.length], compress: false };
  const a = v as NirArray;
  return { kind: "dataset", data: a.data, shape: a.shape, compress: true };
}

function metaTree(m: NirMeta): WriteGroup {
  const children: Record<string, WriteDataset | WriteGroup> = {};
  for (const [k, v] of Object.entries(m)) {
    if (typeof v === "string") children[k] = { kind: "dataset", data: v };
    else if (typeof v === "number") children[k] = Number.isInteger(v) && Math.abs(v) < 2 ** 53 ? { kind: "dataset", data: BigInt64Array.of(BigInt(v)) } : { kind: "dataset", data: Float64Array.of(v) };
    else if (isArray(v as NirValue)) children[k] = { kind: "dataset", data: (v as NirArray).data, shape: (v as NirArray).shape, compress: true };
    else children[k] = metaTree(v as NirMeta);
  }
  return { kind: "group", children };
}

function nodeTree(n: NirNode): WriteGroup {
  const children: Record<string, WriteDataset | WriteGroup> = { type: { kind: "dataset", data: n.type } };
  if (n.type === "NIRGraph") {
    const g = n.graph!;
    const nodes: Record<string, WriteGroup> = {};
    for (const [k, c] of g.nodes) nodes[k] = nodeTree(c);
    children["nodes"] = { kind: "group", children: nodes };
    children["edges"] = { kind: "dataset", data: g.edges.flatMap((e) => [e[0], e[1]]), shape: [g.edges.length, 2] };
  } else {
    for (const spec of NIR_PARAMS[n.type]) {
      const v = n.params[spec.name];
      if (v !== undefined) children[spec.name] = valueDataset(v);
    }
  }
  const meta = n.type === "NIRGraph" ? (n.graph!.metadata ?? n.metadata) : n.metadata;
  if (meta && Object.keys(meta).length > 0) children["metadata"] = metaTree(meta);
  return { kind: "group", children };
}

/** The HDF5 tree of a NIR file (writeHdf5 turns it into bytes). */
export function nirFileTree(f: NirFile): WriteGroup {
  return {
    kind: "group",
    children: {
      version: { kind: "dataset", data: f.version },
      node: nodeTree({ type: "NIRGraph", params: {}, graph: f.graph }),
    },
  };
}

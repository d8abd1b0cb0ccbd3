/**
 * A module of `nir.*` ops (imported from NIR) → a NIR graph again, one node per op. Subgraphs were
 * inlined on import: their nodes come back at the top level, named `sub.inner` (NIR's own exporters
 * use such dotted names, and an exact node name wins over the `subgraph.port` reading). `nir.sum` and
 * `nir.prev`/`nir.feed` become edges again.
 */
import { fmt, M, TsccError, type Module, type Op, type Value } from "../../ir/index.js";
import { NIR_OP_OF, NIR_OP_PARAMS, type NirArray, type NirGraph, type NirMeta, type NirNode, type NirType, type NirValue } from "./format.js";

/** op name → NIR node type (the inverse of NIR_OP_OF). */
const TYPE_OF: Readonly<Record<string, NirType>> = Object.fromEntries(Object.entries(NIR_OP_OF).map(([t, op]) => [op, t as NirType]));

export function isNirModule(m: Module): boolean {
  return m.ops.some((op) => op.name.startsWith("nir."));
}

function arrOf(v: Value): NirArray {
  const d = v.constant!.data;
  return { shape: [...v.type.shape], data: d instanceof Float32Array ? d : d instanceof Float64Array ? d : Float64Array.from(d as ArrayLike<number | bigint>, Number) };
}

function nodeName(op: Op, taken: Set<string>): string {
  const base = (op.loc.kind === "nir" ? op.loc.node : op.name.replace(".", "_")).replace(/\//g, ".");
  let n = base;
  for (let i = 1; taken.has(n); i++) n = `${base}_${i}`;
  taken.add(n);
  return n;
}

/** Re-export an imported NIR module. */
export function nirModuleToGraph(m: Module, metadata?: NirMeta): NirGraph {
  const nodes = new Map<string, NirNode>();
  const edges: [string, string][] = [];
  const taken = new Set<string>();
  /** The NIR nodes whose outputs make up an IR value (a sum lists several). */
  const sources = new Map<Value, string[]>();
  const feeds = new Map<number, Value>();
  for (const op of m.ops) if (op.name === "nir.feed") feeds.set(op.num("slot"), op.operands[0]!);
  for (const i of m.inputs) {
    const name = nodeName({ loc: i.loc, name: "input" } as Op, taken);
    nodes.set(name, { type: "Input", params: { shape: i.value.type.shape.slice(1) } });
    sources.set(i.value, [name]);
  }
  const pendingPrev: { op: Op; dest: string }[] = [];
  for (const op of m.ops) {
    if (op.name === "nir.sum") {
      sources.set(op.result, op.operands.flatMap((v) => sources.get(v) ?? []));
      continue;
    }
    if (op.name === "nir.prev" || op.name === "nir.feed") continue;
    const type = TYPE_OF[op.name];
    if (!type) throw new TsccError(fmt(M.NirExportUnsupported, [op.name, "only nir.* ops and converted snn networks export to NIR"], { loc: op.loc }));
    const name = nodeName(op, taken);
    const params: Record<string, NirValue> = {};
    (NIR_OP_PARAMS[type] ?? []).forEach((p, k) => (params[p] = arrOf(op.operands[1 + k]!)));
    if (type === "Conv1d" || type === "Conv2d") {
      const sp = type === "Conv1d" ? 1 : 2;
      const pads = op.ints("pads");
      const padding = op.str("padding");
      params["input_shape"] = op.operands[0]!.type.shape.slice(2);
      params["stride"] = op.ints("strides");
      params["padding"] = padding === "same" || padding === "valid" ? padding : pads.slice(0, sp);
      params["dilation"] = op.ints("dilations");
      params["groups"] = op.num("group");
    } else if (type === "SumPool2d" || type === "AvgPool2d") {
      params["kernel_size"] = op.ints("kernel_shape");
      params["stride"] = op.ints("strides");
      params["padding"] = op.ints("pads").slice(0, 2);
    } else if (type === "Flatten") {
      params["start_dim"] = op.num("start_dim");
      params["end_dim"] = op.num("end_dim");
      params["input_type"] = op.operands[0]!.type.shape.slice(1);
    }
    nodes.set(name, { type, params });
    const x = op.operands[0]!;
    for (const s of sources.get(x) ?? []) edges.push([s, name]);
    // Recurrent inputs: prev ops among the summands.
    const summands = x.op?.name === "nir.sum" ? x.op.operands : [x];
    for (const v of summands) if (v.op?.name === "nir.prev") pendingPrev.push({ op: v.op, dest: name });
    sources.set(op.result, [name]);
  }
  for (const { op, dest } of pendingPrev) {
    const src = feeds.get(op.num("slot"));
    for (const s of src ? (sources.get(src) ?? []) : []) edges.push([s, dest]);
  }
  for (const o of m.outputs) {
    const name = nodeName({ loc: { kind: "nir", node: o.name, nodeType: "Output" }, name: "output" } as Op, taken);
    nodes.set(name, { type: "Output", params: { shape: o.value.type.shape.slice(1) } });
    for (const s of sources.get(o.value) ?? []) edges.push([s, name]);
  }
  return { nodes, edges, ...(metadata ? { metadata } : {}) };
}

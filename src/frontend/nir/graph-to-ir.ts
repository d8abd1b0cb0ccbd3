/**
 * A NIR graph → a module of `nir.*` ops (ir/ops/nir.ts), one op per NIR node.
 *
 * - Subgraphs are inlined: their nodes are named `sub/inner`; their Input and Output nodes pass values
 *   through. The top graph's Input and Output nodes become the module's inputs and outputs (name order).
 * - Several edges into one node add up (`nir.sum`).
 * - Recurrence: an edge whose ends lie in the same strongly connected component and whose destination
 *   is stateful (I, IF, LI, LIF, CubaLI, CubaLIF, Delay) delivers the previous step's value (`nir.prev` /
 *   `nir.feed`). Without those edges the graph must be acyclic; a cycle through stateless nodes only is
 *   an algebraic loop and is refused.
 * - Parameters become constants `<node>.<parameter>` in the file's dtype; every op carries a `nir`
 *   location, so later diagnostics (emulator, Loihi) name the NIR node.
 */
import { Builder, Module, fmt, M, nirLoc, tensorType, BATCH, TsccError, type DType, type OpRegistry, type Value } from "../../../ir/index.js";
import { arr, convPads, int, ints, NIR_OP_OF, NIR_OP_PARAMS, param, type NirArray, type NirGraph, type NirNode, type NirType } from "../../../backends/nir/format.js";

const STATEFUL = new Set<NirType>(["I", "IF", "LI", "LIF", "CubaLI", "CubaLIF", "Delay"]);

export interface FlatNode {
  readonly name: string;
  readonly node: NirNode;
  /** Inner Input/Output nodes of subgraphs: identity. */
  readonly passThrough: boolean;
}

export interface FlatGraph {
  readonly nodes: ReadonlyMap<string, FlatNode>;
  readonly edges: readonly (readonly [string, string])[];
}

/** Inline subgraphs (names `sub/inner`), resolving edges to subgraph ports. */
export function flattenGraph(g: NirGraph, prefix = "", inner = false): FlatGraph {
  const nodes = new Map<string, FlatNode>();
  const edges: [string, string][] = [];
  const full = (k: string): string => (prefix ? `${prefix}/${k}` : k);
  for (const [k, n] of g.nodes) {
    if (n.type === "NIRGraph") {
      const sub = flattenGraph(n.graph!, full(k), true);
      for (const [kk, v] of sub.nodes) nodes.set(kk, v);
      edges.push(...(sub.edges as [string, string][]));
    } else nodes.set(full(k), { name: full(k), node: n, passThrough: inner && (n.type === "Input" || n.type === "Output") });
  }
  const end = (name: string, side: "Input" | "Output"): string => {
    const n = g.nodes.get(name);
    if (n) {
      if (n.type !== "NIRGraph") return full(name);
      const ps = [...n.graph!.nodes.entries()].filter(([, c]) => c.type === side).map(([p]) => p);
      return `${full(name)}/${ps[0]!}`;
    }
    const dot = name.lastIndexOf(".");
    return `${full(name.slice(0, dot))}/${name.slice(dot + 1)}`;
  };
  for (const [a, b] of g.edges) edges.push([end(a, "Output"), end(b, "Input")]);
  return { nodes, edges };
}

/** Strongly connected components (Tarjan, iterative): node → component id. */
export function components(names: readonly string[], edges: readonly (readonly [string, string])[]): Map<string, number> {
  const out = new Map<string, string[]>();
  for (const [a, b] of edges) out.set(a, [...(out.get(a) ?? []), b]);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const comp = new Map<string, number>();
  let counter = 0;
  let ncomp = 0;
  for (const root of names) {
    if (index.has(root)) continue;
    const work: { v: string; i: number }[] = [{ v: root, i: 0 }];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length) {
      const top = work[work.length - 1]!;
      const succ = out.get(top.v) ?? [];
      if (top.i < succ.length) {
        const w = succ[top.i++]!;
        if (!index.has(w)) {
          index.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          onStack.add(w);
          work.push({ v: w, i: 0 });
        } else if (onStack.has(w)) low.set(top.v, Math.min(low.get(top.v)!, index.get(w)!));
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1]!.v;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.v)!));
      }
      if (low.get(top.v) === index.get(top.v)) {
        for (;;) {
          const w = stack.pop()!;
          onStack.delete(w);
          comp.set(w, ncomp);
          if (w === top.v) break;
        }
        ncomp++;
      }
    }
  }
  return comp;
}

/** Which flat edges carry the previous step's value (same component, stateful destination). */
export function delayedEdges(fg: FlatGraph): boolean[] {
  const comp = components([...fg.nodes.keys()].sort(), fg.edges);
  return fg.edges.map(([a, b]) => comp.get(a) === comp.get(b) && STATEFUL.has(fg.nodes.get(b)!.node.type));
}

function constOf(m: Module, name: string, a: NirArray): Value {
  const dtype: DType = a.data instanceof Float32Array ? "f32" : "f64";
  return m.addConst(m.uniqueConstName(name), tensorType(a.shape, dtype), a.data).value;
}

/** Import a checked NIR graph (readNirFile) as a module of nir.* ops. */
export function nirGraphToModule(g: NirGraph, registry: OpRegistry, file: string, attrs: Record<string, string | number>): Module {
  const fg = flattenGraph(g);
  const delayed = delayedEdges(fg);
  const m = new Module("nir", { ...attrs });
  const b = new Builder(m, registry);
  // Forward edges must form a DAG: Kahn's algorithm, ready nodes taken in name order.
  const fwdIn = new Map<string, string[]>();
  const delIn = new Map<string, number[]>();
  const fwdOut = new Map<string, string[]>();
  const indeg = new Map<string, number>([...fg.nodes.keys()].map((k) => [k, 0]));
  fg.edges.forEach(([a, c], i) => {
    if (delayed[i]) delIn.set(c, [...(delIn.get(c) ?? []), i]);
    else {
      fwdIn.set(c, [...(fwdIn.get(c) ?? []), a]);
      fwdOut.set(a, [...(fwdOut.get(a) ?? []), c]);
      indeg.set(c, indeg.get(c)! + 1);
    }
  });
  const order: string[] = [];
  const ready = [...indeg.entries()].filter(([, d]) => d === 0).map(([k]) => k).sort();
  while (ready.length) {
    const v = ready.shift()!;
    order.push(v);
    for (const c of fwdOut.get(v) ?? []) {
      indeg.set(c, indeg.get(c)! - 1);
      if (indeg.get(c) === 0) {
        ready.push(c);
        ready.sort();
      }
    }
  }
  if (order.length !== fg.nodes.size) {
    const stuck = [...fg.nodes.keys()].filter((k) => !order.includes(k)).sort();
    const n = fg.nodes.get(stuck[0]!)!;
    throw new TsccError(fmt(M.NirUnsupported, [`it is on a cycle of stateless nodes (${stuck.join(", ")}): an algebraic loop with no state to carry a value from one step to the next`], { file, loc: nirLoc(stuck[0]!, n.node.type) }));
  }
  const values = new Map<string, Value>();
  const slots = new Map<number, number>();
  for (const name of order) {
    const fn = fg.nodes.get(name)!;
    const n = fn.node;
    b.loc = nirLoc(name, n.type);
    if (n.type === "Input" && !fn.passThrough) {
      values.set(name, m.addInput(name, tensorType([BATCH, ...(param(n, "shape") as number[])]), b.loc));
    } else {
      const ins: Value[] = (fwdIn.get(name) ?? []).map((s) => values.get(s)!);
      for (const i of delIn.get(name) ?? []) {
        const slot = slots.size;
        slots.set(i, slot);
        // A delayed edge enters a stateful node, whose input has its parameters' shape.
        const shape = [...arr(n, NIR_OP_PARAMS[n.type]![0]!).shape];
        ins.push(b.value("nir.prev", [], { slot, shape }));
      }
      if (ins.length === 0) throw new TsccError(fmt(M.NirUnsupported, ["no edge enters it (every node of a NIR graph is fed from an Input)"], { file, loc: b.loc }));
      const x = ins.length === 1 ? ins[0]! : b.value("nir.sum", ins);
      if (n.type === "Output" || n.type === "Input") values.set(name, x);
      else values.set(name, b.value(NIR_OP_OF[n.type as keyof typeof NIR_OP_OF], [x, ...(NIR_OP_PARAMS[n.type] ?? []).map((p) => constOf(m, `${name}.${p}`, arr(n, p)))], attrsOf(n)));
      if (n.type === "Output" && !fn.passThrough) m.outputs.push({ name, value: x });
    }
  }
  // Feeds after all ops, so that every source is defined (slots were numbered by their nir.prev).
  for (const [i, slot] of [...slots.entries()].sort((a, c) => a[1] - c[1])) {
    const src = fg.edges[i]![0];
    b.loc = nirLoc(src, fg.nodes.get(src)!.node.type);
    b.value("nir.feed", [values.get(src)!], { slot });
  }
  m.outputs.sort((a, c) => (a.name < c.name ? -1 : a.name > c.name ? 1 : 0));
  m.inputs.sort((a, c) => (a.name < c.name ? -1 : a.name > c.name ? 1 : 0));
  return m;
}

function attrsOf(n: NirNode): Record<string, number | number[] | string> {
  switch (n.type) {
    case "Conv1d":
    case "Conv2d": {
      const sp = n.type === "Conv1d" ? 1 : 2;
      const pads = convPads(n, sp);
      const p = param(n, "padding");
      return { strides: ints(n, "stride", sp), dilations: ints(n, "dilation", sp), pads: [...pads.map((x) => x[0]), ...pads.map((x) => x[1])], group: int(n, "groups"), padding: typeof p === "string" ? p : "" };
    }
    case "SumPool2d":
    case "AvgPool2d": {
      const p = ints(n, "padding", 2);
      return { kernel_shape: ints(n, "kernel_size", 2), strides: ints(n, "stride", 2), pads: [...p, ...p] };
    }
    case "Flatten":
      return { start_dim: int(n, "start_dim"), end_dim: int(n, "end_dim") };
    default:
      return {};
  }
}

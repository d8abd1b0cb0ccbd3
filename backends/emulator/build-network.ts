/**
 * The snn module → the runtime's network description (backends/emulator/runtime/network.ts), with
 * per-sample shapes and named weight blobs. Used by the emit step (which writes it out as a
 * TypeScript module) and by tests.
 */
import { onnxNodeName, type Module, type Op, type Value } from "../../ir/index.js";
import type { Network, Node, ValueInfo } from "./runtime/network.js";

export interface BuiltNetwork {
  network: Network;
  /** Weight blobs by name, in first-use order (the names the generated module refers to). */
  blobs: Map<string, Float32Array>;
  /** Blob name of each node's weight / bias (for the generated code). */
  blobNames: Map<Node, { w?: string; b?: string }>;
}

export function buildNetwork(m: Module): BuiltNetwork {
  const coding = m.attrs["coding"] as "tsc" | "rate";
  const window = m.attrs["window"] as number;
  const index = new Map<Value, number>();
  const values: ValueInfo[] = [];
  const nodes: Node[] = [];
  const blobs = new Map<string, Float32Array>();
  const blobNames = new Map<Node, { w?: string; b?: string }>();
  const valueOf = (v: Value, op: Op): number => {
    let i = index.get(v);
    if (i === undefined) {
      i = values.length;
      index.set(v, i);
      // The encoder's population is named after the model input it encodes.
      const inputName = op.name === "snn.encode" ? m.inputs.find((x) => x.value === op.operands[0])?.name : undefined;
      values.push({ kind: v.type.kind === "spikes" ? "spikes" : "charge", shape: v.type.shape.slice(1), name: inputName ?? (onnxNodeName(op.loc) || op.name) });
    }
    return i;
  };
  const blob = (v: Value | undefined): { name?: string; data?: Float32Array } => {
    const c = v?.constant;
    if (!c) return {};
    if (!blobs.has(c.name)) blobs.set(c.name, c.data as Float32Array);
    return { name: c.name, data: blobs.get(c.name)! };
  };
  const inputs: { name: string; value: number }[] = [];
  /** A population's own window, recorded only where it differs from the module's (per-layer windows). */
  const own = (op: Op): { window?: number } => (coding === "tsc" && op.num("window") !== window ? { window: op.num("window") } : {});
  for (const op of m.ops) {
    const out = valueOf(op.result, op);
    const inp = (i: number): number => {
      const v = op.operands[i]!;
      const j = index.get(v);
      if (j === undefined) throw new Error(`emulator: operand ${i} of ${op.name} is not produced by an earlier layer`);
      return j;
    };
    const ints = (k: string): number[] => op.ints(k);
    let node: Node;
    switch (op.name) {
      case "snn.encode": {
        node = {
          kind: "encode",
          out,
          scale: op.num("scale"),
          rounding: op.str("rounding") as "round" | "floor",
          mode: op.str("mode") as "current" | "poisson",
          seed: op.num("seed"),
          ...(op.num("levels") > 0 ? { levels: op.num("levels") } : {}),
          pads: ints("pads"),
          padValues: op.attrs["pad_values"] as number[],
          ...own(op),
        };
        const input = m.inputs.find((i) => i.value === op.operands[0]);
        inputs.push({ name: input?.name ?? "input", value: out });
        break;
      }
      case "snn.conv": {
        const w = blob(op.operands[1]);
        const b = blob(op.operands[2]);
        const s = ints("strides");
        const p = ints("pads");
        const d = ints("dilations");
        const ws = op.operands[1]!.type.shape;
        node = {
          kind: "conv",
          in: inp(0),
          out,
          w: w.data!,
          wShape: [ws[0]!, ws[1]!, ws[2]!, ws[3]!],
          ...(b.data ? { b: b.data } : {}),
          strides: [s[0]!, s[1]!],
          pads: [p[0]!, p[1]!, p[2]!, p[3]!],
          dilations: [d[0]!, d[1]!],
          group: op.num("group"),
        };
        blobNames.set(node, { w: w.name, b: b.name });
        break;
      }
      case "snn.dense": {
        const w = blob(op.operands[1]);
        const b = blob(op.operands[2]);
        node = { kind: "dense", in: inp(0), out, w: w.data!, ...(b.data ? { b: b.data } : {}) };
        blobNames.set(node, { w: w.name, b: b.name });
        break;
      }
      case "snn.scale":
        node = { kind: "scale", in: inp(0), out, factor: op.num("factor") };
        break;
      case "snn.add":
        node = { kind: "add", a: inp(0), b: inp(1), out };
        break;
      case "snn.tsc":
        node = { kind: "tsc", in: inp(0), out, theta: op.num("theta"), phi: op.num("phi"), lambda: op.num("lambda"), ...own(op) };
        break;
      case "snn.if":
        node = { kind: "if", in: inp(0), out, theta: op.num("theta"), reset: op.str("reset") as "subtract" | "zero", vInit: op.num("v_init"), lambda: op.num("lambda") };
        break;
      case "snn.max_pool": {
        const k = ints("kernel_shape");
        const s = ints("strides");
        const p = ints("pads");
        const d = ints("dilations");
        node = { kind: "maxpool", in: inp(0), out, kernel: [k[0]!, k[1]!], strides: [s[0]!, s[1]!], pads: [p[0]!, p[1]!, p[2]!, p[3]!], dilations: [d[0]!, d[1]!] };
        break;
      }
      case "snn.reshape":
        node = { kind: "reshape", in: inp(0), out };
        break;
      case "snn.concat": {
        const rank = op.result.type.shape.length;
        const axis = op.num("axis");
        node = { kind: "concat", ins: op.operands.map((_, i) => inp(i)), out, axis: (axis < 0 ? axis + rank : axis) - 1 };
        break;
      }
      case "snn.decode":
        node = { kind: "decode", in: inp(0), out, lambda: op.num("lambda"), ...own(op) };
        break;
      default:
        throw new Error(`emulator: no runtime layer for ${op.name}`);
    }
    nodes.push(node);
  }
  const outputs = m.outputs.map((o) => {
    const v = index.get(o.value);
    if (v === undefined) throw new Error(`emulator: output '${o.name}' is not produced by a layer`);
    return { name: o.name, value: v };
  });
  return { network: { coding, window, values, nodes, inputs, outputs }, blobs, blobNames };
}

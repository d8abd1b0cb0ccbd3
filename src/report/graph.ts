/**
 * The spiking network an artifact runs, as the same kind of picture `tscc inspect --format svg` draws of
 * the IR (src/cli/graph.ts): one box per node of the emulator network (encoder, synapses, neurons, pools,
 * read-out), edges labelled with what flows (spikes or charge, and the shape).
 */
import type { Network, Node } from "../../backends/emulator/runtime/network.js";
import { nodeInputs } from "../../backends/emulator/runtime/network.js";
import { dotHeader, DOT_FILL, esc } from "../cli/graph.js";

function describe(n: Node, net: Network): string {
  const shape = (v: number): readonly number[] => net.values[v]!.shape;
  switch (n.kind) {
    case "encode":
      return net.coding === "tsc" ? "TSC encoder" : n.mode === "current" ? "input current" : "Poisson encoder";
    case "conv": {
      const [m, cg, kh, kw] = n.wShape;
      return `conv ${kh}×${kw}${n.strides[0] > 1 || n.strides[1] > 1 ? ` /${n.strides[0]}` : ""} ${cg * n.group}→${m}${n.group > 1 ? ` (${n.group} groups)` : ""}`;
    }
    case "dense":
      return `dense ${shape(n.in).reduce((a, b) => a * b, 1)}→${shape(n.out)[0]}`;
    case "scale":
      return `scale ×${n.factor}`;
    case "add":
      return "add";
    case "tsc":
      return `TSC neurons θ=${n.theta} φ=${n.phi}`;
    case "if":
      return `IF neurons θ=${n.theta} (${n.reset})`;
    case "maxpool":
      return `max pool ${n.kernel[0]}×${n.kernel[1]}${net.coding === "tsc" ? " (OR)" : ""}`;
    case "reshape":
      return "reshape";
    case "concat":
      return `concat (axis ${n.axis})`;
    case "decode":
      return "read-out";
  }
}

/** Compact: the shape goes into the node label, edges are coloured by what flows (spikes or charge). */
const SPIKES_EDGE = "#e08a2e";

export function networkToDot(net: Network, name: string): string {
  const lines = [...dotHeader(name), "  graph [ranksep=0.22, nodesep=0.3];"];
  const producer = new Map<number, string>();
  net.inputs.forEach((inp, k) => {
    lines.push(`  in${k} [shape=ellipse, fillcolor="${DOT_FILL.input}", label="${esc(inp.name)}\\n[${net.values[inp.value]!.shape.join("×")}]"];`);
  });
  net.nodes.forEach((n, i) => {
    const id = `n${i}`;
    const spiking = n.kind === "encode" || n.kind === "tsc" || n.kind === "if" || n.kind === "maxpool";
    const label = `${esc(describe(n, net))}\\n${esc(net.values[n.out]!.name)}\\n[${net.values[n.out]!.shape.join("×")}]`;
    lines.push(`  ${id} [label="${label}"${spiking ? `, fillcolor="${DOT_FILL.spiking}"` : ""}];`);
    if (n.kind === "encode") {
      const k = net.inputs.findIndex((x) => x.value === n.out);
      if (k >= 0) lines.push(`  in${k} -> ${id};`);
    }
    for (const v of nodeInputs(n)) {
      const from = producer.get(v);
      const info = net.values[v]!;
      if (from) lines.push(`  ${from} -> ${id}${info.kind === "spikes" ? ` [color="${SPIKES_EDGE}", penwidth=1.4]` : ' [style=dashed]'};`);
    }
    producer.set(n.out, id);
  });
  net.outputs.forEach((o, k) => {
    lines.push(`  out${k} [shape=ellipse, fillcolor="${DOT_FILL.output}", label="${esc(o.name)}"];`);
    const from = producer.get(o.value);
    if (from) lines.push(`  ${from} -> out${k};`);
  });
  lines.push("}");
  return lines.join("\n") + "\n";
}

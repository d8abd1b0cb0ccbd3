/** The IR as a picture: Graphviz DOT text, rendered to SVG with @hpcc-js/wasm-graphviz. */
import { formatType, type Module, type Value } from "../../ir/index.js";

export function esc(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
}

/** Fill colours of tscc's graph pictures (ops are light blue). */
export const DOT_FILL = { input: "#e8f5e9", spiking: "#fff3e0", output: "#fce4ec" } as const;

/** The opening lines of a tscc graph picture: name, layout, node and edge style. */
export function dotHeader(name: string): string[] {
  return [`digraph "${esc(name)}" {`, "  rankdir=TB;", '  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", fontname="Helvetica", fontsize=10];', '  edge [fontname="Helvetica", fontsize=9, color="#555555"];'];
}

export function moduleToDot(m: Module): string {
  const lines = dotHeader(m.name);
  const id = new Map<Value, string>();
  m.inputs.forEach((inp, i) => {
    const n = `in${i}`;
    id.set(inp.value, n);
    lines.push(`  ${n} [shape=ellipse, fillcolor="${DOT_FILL.input}", label="${esc(inp.name)}\\n${esc(formatType(inp.value.type))}"];`);
  });
  m.ops.forEach((op, i) => {
    const n = `op${i}`;
    op.results.forEach((r) => id.set(r, n));
    const act = typeof op.attrs["activation"] === "string" && op.attrs["activation"] !== "none" ? ` + ${op.attrs["activation"]}` : "";
    const loc = op.loc.kind === "onnx" ? `\\n${esc(op.loc.node)}` : "";
    const spiking = op.results.some((r) => r.type.kind === "spikes");
    lines.push(`  ${n} [label="${esc(op.name)}${esc(act)}${loc}"${spiking ? `, fillcolor="${DOT_FILL.spiking}"` : ""}];`);
    for (const v of op.operands) {
      const src = id.get(v);
      if (src) lines.push(`  ${src} -> ${n} [label="${esc(formatType(v.type).replace(/^tensor/, ""))}"];`);
    }
  });
  m.outputs.forEach((o, i) => {
    const n = `out${i}`;
    lines.push(`  ${n} [shape=ellipse, fillcolor="${DOT_FILL.output}", label="${esc(o.name)}"];`);
    const src = id.get(o.value);
    if (src) lines.push(`  ${src} -> ${n};`);
  });
  lines.push("}");
  return lines.join("\n") + "\n";
}

export async function dotToSvg(dot: string): Promise<string> {
  const { Graphviz } = await import("@hpcc-js/wasm-graphviz");
  const g = await Graphviz.load();
  return g.dot(dot);
}

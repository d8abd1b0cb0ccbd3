/** Source locations carried by IR ops, so that every diagnostic can name the ONNX node it came from. */

export type Loc =
  | { readonly kind: "onnx"; readonly node: string; readonly index: number; readonly opType: string }
  | { readonly kind: "file"; readonly file: string; readonly line: number; readonly col: number }
  | { readonly kind: "fused"; readonly locs: readonly Loc[] }
  /** A node of a NIR graph (`nodeType` is NIR's class name: LIF, Conv2d, ...); subgraph nodes as `outer/inner`. */
  | { readonly kind: "nir"; readonly node: string; readonly nodeType: string }
  | { readonly kind: "unknown" };

export const UNKNOWN_LOC: Loc = { kind: "unknown" };

export function onnxLoc(node: string, index: number, opType: string): Loc {
  return { kind: "onnx", node, index, opType };
}

export function nirLoc(node: string, nodeType: string): Loc {
  return { kind: "nir", node, nodeType };
}

/** Combine locations of ops merged by a pass (duplicates and unknowns dropped, nested fusions flattened). */
export function fuseLocs(...locs: Loc[]): Loc {
  const flat: Loc[] = [];
  const seen = new Set<string>();
  const add = (l: Loc): void => {
    if (l.kind === "unknown") return;
    if (l.kind === "fused") return l.locs.forEach(add);
    const key = formatLocBody(l);
    if (!seen.has(key)) {
      seen.add(key);
      flat.push(l);
    }
  };
  locs.forEach(add);
  if (flat.length === 0) return UNKNOWN_LOC;
  if (flat.length === 1) return flat[0]!;
  return { kind: "fused", locs: flat };
}

function quote(s: string): string {
  return JSON.stringify(s);
}

function formatLocBody(l: Loc): string {
  switch (l.kind) {
    case "onnx":
      return `onnx.node ${quote(l.node)} #${l.index} ${l.opType}`;
    case "file":
      return `${quote(l.file)}:${l.line}:${l.col}`;
    case "nir":
      return `nir.node ${quote(l.node)} ${l.nodeType}`;
    case "fused":
      return `fused[${l.locs.map(formatLocBody).join(", ")}]`;
    case "unknown":
      return "unknown";
  }
}

/** The ONNX node an op came from (the first one of a fusion), or "" when it has none. */
export function onnxNodeName(l: Loc | undefined): string {
  if (!l) return "";
  if (l.kind === "onnx") return l.node;
  if (l.kind === "fused") return l.locs.map((x) => (x.kind === "onnx" ? x.node : "")).filter(Boolean)[0] ?? "";
  return "";
}

/** Text form used by the printer: `loc(onnx.node "conv1" #0 Conv)`. */
export function formatLoc(l: Loc): string {
  return `loc(${formatLocBody(l)})`;
}

/** Human description for diagnostics: `node #7 'pool1' (MaxPool)`. */
export function describeLoc(l: Loc): string {
  switch (l.kind) {
    case "onnx":
      return `node #${l.index} '${l.node}' (${l.opType})`;
    case "file":
      return `${l.file}:${l.line}:${l.col}`;
    case "nir":
      return `node '${l.node}' (${l.nodeType})`;
    case "fused":
      return l.locs.map(describeLoc).join(" + ");
    case "unknown":
      return "";
  }
}

/** The ONNX nodes a location refers to (fused locations list every original node). */
export function onnxNodesOf(l: Loc): { node: string; index: number; opType: string }[] {
  if (l.kind === "onnx") return [{ node: l.node, index: l.index, opType: l.opType }];
  if (l.kind === "fused") return l.locs.flatMap(onnxNodesOf);
  return [];
}

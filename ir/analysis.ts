/** Per-layer statistics for `tscc inspect` and the reports: parameters and multiply-accumulates per sample. */
import type { Module, Op } from "./module.js";
import { BATCH, numel } from "./types.js";

export interface LayerStats {
  index: number;
  op: string;
  shape: readonly number[];
  params: number;
  macs: number;
  onnx: string;
}

/** Elements of a value per sample (the batch dimension counts once). */
function perSample(shape: readonly number[]): number {
  return numel(shape.map((d) => (d === BATCH ? 1 : d)));
}

export function opMacs(op: Op): number {
  const out = op.results[0];
  if (!out) return 0;
  const outN = perSample(out.type.shape);
  switch (op.name) {
    case "nn.conv":
    case "snn.conv": {
      const w = op.operands[1]!.type.shape;
      return outN * numel(w.slice(1));
    }
    case "nn.gemm": {
      const b = op.operands[1]!.type.shape;
      const k = op.num("transB") === 1 ? b[1]! : b[0]!;
      return outN * k;
    }
    case "nn.matmul":
    case "snn.dense": {
      const a = op.operands[0]!.type.shape;
      return outN * a[a.length - 1]!;
    }
    default:
      return 0;
  }
}

export function opParams(op: Op): number {
  let n = 0;
  for (const v of op.operands) if (v.constant && (v.constant.type.dtype === "f32" || v.constant.type.dtype === "f64")) n += numel(v.constant.type.shape);
  return n;
}

export function layerStats(m: Module): LayerStats[] {
  return m.ops.map((op, index) => {
    const l = op.loc;
    // The source node (ONNX, or a NIR node for a graph imported from NIR).
    const onnx = l.kind === "onnx" || l.kind === "nir" ? l.node : l.kind === "fused" ? l.locs.map((x) => (x.kind === "onnx" ? x.node : "")).filter(Boolean).join(" + ") : "";
    return { index, op: op.name, shape: op.results[0]?.type.shape ?? [], params: opParams(op), macs: opMacs(op), onnx };
  });
}

/**
 * Whether a module is already a spiking network (converted to the `snn` dialect, or imported from NIR as
 * `nir.*` ops): the conversion pipeline does not apply to it.
 */
export function isSpikingModule(m: Module): boolean {
  return m.ops.some((op) => op.name.startsWith("snn.") || op.name.startsWith("nir."));
}

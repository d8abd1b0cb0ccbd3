/**
 * nn → snn conversion shared by insert-tsc-encoding and insert-rate-encoding (tsc.md §2–§6).
 * Expects a normalised network (normalize-thresholds): every activation is in units of its λ, so a
 * spike code with value d/T stands for the normalised activation and θ = 1.
 *
 * The parts: `Conversion` (conversion.ts) holds where each nn value went and the shared helpers; each nn
 * op kind has its own small converter (layers.ts; weight layers and absorbed average pools in
 * synapses.ts); the coding (coding.ts) is a strategy that makes the encoder and the neurons.
 */
import { fmt, M, type Module, type PassContext, type Value } from "../../../ir/index.js";
import { Conversion, ConvertError, reportConvertError, Skip, type ConvertedLayer, type ConvertOptions } from "./conversion.js";
import { CONVERTERS } from "./layers.js";

export type { ConvertedLayer, ConvertOptions } from "./conversion.js";
export { rateCoding, tscCoding, type Coding } from "./coding.js";

/**
 * Convert `m` in place. Returns the neuron populations made (the encoder first, in conversion order),
 * or undefined when the conversion failed (every problem is reported to `ctx.diag`).
 */
export function convertToSnn(m: Module, ctx: PassContext, o: ConvertOptions): readonly ConvertedLayer[] | undefined {
  const input = m.inputs[0];
  if (!input || m.inputs.length !== 1) {
    ctx.diag.report(fmt(M.PassFailed, [`conversion needs exactly one model input, found ${m.inputs.length}`]));
    return undefined;
  }
  if (o.windows?.size && o.coding.name !== "tsc") {
    ctx.diag.report(fmt(M.PassFailed, ["per-layer windows are for TSC: a rate-coded network runs every layer for the whole run"]));
    return undefined;
  }
  const cv = new Conversion(m, ctx, input, o);
  let failed = false;
  for (const op of cv.nnOps) {
    try {
      const convert = CONVERTERS[op.name];
      if (!convert) throw new ConvertError(`${op.name} has no spiking counterpart (run canonicalize first: BatchNorm must fold into a conv or gemm)`, op.loc);
      convert(cv, op);
    } catch (e) {
      if (e instanceof ConvertError) reportConvertError(ctx, e);
      else if (!(e instanceof Skip)) throw e;
      op.results.forEach((r) => cv.map.set(r, { kind: "failed" }));
      failed = true;
    }
  }
  if (failed || !readOutputs(cv, ctx)) return undefined;
  const unknown = [...(o.windows?.keys() ?? [])].filter((k) => !cv.usedKeys.has(k));
  if (unknown.length) {
    const known = cv.layers.map((l) => (l.name ? `${l.index} '${l.name}'` : l.index)).join(", ");
    ctx.diag.report(fmt(M.PassFailed, [`per-layer windows name no layer: ${unknown.map((k) => `'${k}'`).join(", ")} (layers: ${known})`]));
    return undefined;
  }
  const fresh = new Set(cv.nnOps);
  m.ops = m.ops.filter((op) => !fresh.has(op));
  m.removeDeadCode();
  m.attrs["coding"] = o.coding.name;
  m.attrs["window"] = o.window;
  if (cv.softmaxRemoved) m.attrs["softmax_removed"] = true;
  return cv.layers;
}

/** The largest window among the spikes integrated into `charge` (a chain's read-out then needs no gain). */
function lastSourceWindow(charge: Value, fallback: number): number {
  const op = charge.op;
  if (!op) return fallback;
  if (op.name === "snn.add") return Math.max(...op.operands.map((v) => lastSourceWindow(v, fallback)));
  const src = op.operands[0]?.type;
  return src?.kind === "spikes" ? src.window : fallback;
}

/** Outputs: the output layer integrates and is read out (tsc.md §3.5). */
function readOutputs(cv: Conversion, ctx: PassContext): boolean {
  for (const out of cv.m.outputs) {
    const mp = out.value === cv.inputValue ? undefined : cv.map.get(out.value);
    let charge: Value;
    const loc = out.value.op?.loc ?? cv.inputLoc;
    if (mp?.kind === "charge") charge = mp.v;
    else if (mp?.kind === "spikes") charge = cv.b.value("snn.scale", [mp.v], { factor: mp.scale }, loc);
    else {
      ctx.diag.report(fmt(M.PassFailed, [`output '${out.name}' cannot be read from the spiking network`], { loc }));
      return false;
    }
    out.value = cv.b.value("snn.decode", [charge], { window: cv.o.coding.name === "tsc" ? lastSourceWindow(charge, cv.o.window) : cv.o.window, lambda: 1 }, loc);
  }
  return true;
}

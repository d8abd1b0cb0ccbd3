/**
 * What the spiking conversion accepts, checked on the canonical ANN before any lowering so that every
 * problem is reported at once: ops with a spiking counterpart, constant weights, and no negative
 * values between layers (TSC and rate codes carry non-negative activations only).
 */
import { fmt, M, type DiagnosticSink, type Module, type Op } from "../../ir/index.js";

const OK = new Set([
  "nn.conv",
  "nn.gemm",
  "nn.matmul",
  "nn.relu",
  "nn.clip",
  "nn.max_pool",
  "nn.average_pool",
  "nn.global_average_pool",
  "nn.add",
  "nn.flatten",
  "nn.reshape",
  "nn.concat",
  "nn.softmax",
  "nn.pad",
]);

const WEIGHT_OPS = new Set(["nn.conv", "nn.gemm", "nn.matmul"]);

function hasActivation(op: Op): boolean {
  const a = op.attrs["activation"];
  return a === "relu" || a === "clip" || a === "quant";
}

/**
 * A module that is already spiking (imported from NIR): a converted tscc network (snn ops, TSC or rate)
 * runs on the usual engines; NIR primitives (nir ops) on the clock engine, which needs the time step.
 */
export function legalizeSpiking(m: Module, diag: DiagnosticSink, backend: string, dtOption: number): void {
  const nir = m.ops.some((op) => op.name.startsWith("nir."));
  for (const op of m.ops) {
    const ok = nir ? op.name.startsWith("nir.") : op.name.startsWith("snn.");
    if (!ok) diag.report(fmt(M.BackendUnsupported, [backend, op.name, nir ? "a NIR graph holds nir.* ops only" : "a spiking network holds snn.* ops only"], { loc: op.loc }));
  }
  if (!nir) return;
  const stateful = m.ops.find((op) => ["nir.i", "nir.if", "nir.li", "nir.lif", "nir.cuba_li", "nir.cuba_lif", "nir.delay"].includes(op.name));
  const dt = dtOption > 0 ? dtOption : (m.attrs["nir.dt"] as number | undefined);
  if (stateful && dt === undefined) {
    diag.report(fmt(M.NirNoDt, ["the graph's metadata has no 'dt'; pass the step with --dt (in the graph's time unit)"], { loc: stateful.loc }));
  }
  for (const op of m.ops) {
    if (op.name !== "nir.delay" || dt === undefined) continue;
    const d = op.operands[1]!.constant!.data;
    for (let j = 0; j < d.length; j++) {
      const v = Number(d[j]);
      if (delaySteps(v, dt) === undefined) {
        diag.report(fmt(M.NirParamValue, ["delay", `${v} is not a whole number of steps of dt = ${dt} (${v / dt} steps)`], { loc: op.loc }));
        break;
      }
    }
  }
}

/** A delay in steps of dt, or undefined when it is not a whole number of them (within 1e-6 relative). */
export function delaySteps(delay: number, dt: number): number | undefined {
  const k = delay / dt;
  const r = Math.round(k);
  return Math.abs(k - r) <= 1e-6 * Math.max(1, Math.abs(k)) && r >= 0 && r <= 1e7 ? r : undefined;
}

export function legalizeForSnn(m: Module, diag: DiagnosticSink, backend: string): void {
  const bad = (op: Op | undefined, why: string): void => diag.report(fmt(M.BackendUnsupported, [backend, op ? op.name : "the model", why], op ? { loc: op.loc } : {}));
  if (m.inputs.length !== 1) bad(undefined, `it has ${m.inputs.length} inputs; spiking conversion supports one`);
  const users = m.users();
  for (const op of m.ops) {
    if (!OK.has(op.name)) {
      const why =
        op.name === "nn.batch_norm"
          ? "BatchNormalization could not be folded (it does not directly follow a conv or gemm)"
          : op.name === "nn.shape" || op.name === "nn.gather" || op.name === "nn.unsqueeze" || op.name === "nn.cast"
            ? "a shape computation that depends on run-time data remains"
            : "it has no spiking counterpart";
      bad(op, why);
      continue;
    }
    if (WEIGHT_OPS.has(op.name)) {
      if (!op.operands.slice(1).every((v) => v.constant)) bad(op, "its weights are computed at run time; spiking layers need constant weights");
      if (op.name === "nn.conv" && op.operands[0]!.type.shape.length !== 4) bad(op, "only 2-D convolutions convert");
      if (op.name === "nn.gemm" && op.num("transA") === 1) bad(op, "transA = 1 on activations cannot be converted");
    }
    if ((op.name === "nn.max_pool" || op.name === "nn.average_pool") && op.operands[0]!.type.shape.length !== 4) bad(op, "only 2-D pooling converts");
    const act = op.attrs["activation"];
    if (act === "clip" && op.num("clip_min") > 0) bad(op, `clip to [${op.num("clip_min")}, ${op.num("clip_max")}] has a positive lower bound`);
    if (op.name === "nn.clip" && op.num("min") > 0) bad(op, "clip with a positive lower bound cannot be carried by spikes");
    if (op.name === "nn.softmax" && !m.isOutput(op.result)) bad(op, "Softmax is supported only as the final op");
    if (op.name === "nn.add" && !hasActivation(op)) bad(op, "an Add without a ReLU after it produces negative values (TSC carries non-negative activations)");
    // Negative values flowing into a later layer.
    if (WEIGHT_OPS.has(op.name) && !hasActivation(op) && !m.isOutput(op.result)) {
      for (const u of users.get(op.result) ?? []) {
        const okUse = (u.name === "nn.add" && hasActivation(u)) || (u.name === "nn.softmax" && m.isOutput(u.result)) || ((u.name === "nn.relu" || u.name === "nn.clip") && (users.get(op.result) ?? []).length === 1);
        if (!okUse) bad(op, `its output has no ReLU and can be negative, but it feeds ${u.name} at ${u.loc.kind === "onnx" ? `'${u.loc.node}'` : "a later layer"}; TSC carries non-negative activations only`);
      }
    }
  }
}

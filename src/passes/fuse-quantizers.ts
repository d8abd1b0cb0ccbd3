/**
 * Recognise the activation quantisers of quantisation-aware trained networks and fuse them into the
 * layer before them (`activation = "quant"`, see ACTIVATION_ATTRS in ir/ops/nn.ts):
 *
 *   (a) QCFS (Bu et al., ICLR 2022), λ·clip(floor(z·L/λ + φ)/L, 0, 1), as any chain of scalar
 *       Mul/Div/Add/Sub, Clip and Relu around one Floor or Round: the paper's order (Div λ, Mul L, Add ½,
 *       Floor, Div L, Clip(0, 1), Mul λ), clamp first (Div λ, Clip(0, 1), Mul L, Add ½, Floor, Div L,
 *       Mul λ), or any other spelling of the same function;
 *   (b) QuantizeLinear → DequantizeLinear (per tensor, uint8 or int8) after a ReLU, or with a zero
 *       point that makes the grid start at 0: L = qmax − zero point, λ = scale·L.
 *
 * The scalar steps are composed into one affine map before the rounding (z ↦ A·z + B, with the clips
 * moved through it) and one after it (k ↦ P·k + Q). The chain is the quantiser
 * λ/L·clip(round(z·L/λ + φ), 0, L) exactly when the clips leave the integer levels 0..L, Q = 0 and
 * A·P = 1; then L, λ = P·L and φ = B (+ ½ for Round and QuantizeLinear, which round half to even)
 * are read off. Equalities are checked with a relative tolerance of 1e-5 (float32 constants such as
 * a Mul by L/λ carry about 6e-8). The host's own ReLU or clip is part of the function (a ReLU supplies
 * the lower clip of a Q/DQ pair).
 *
 * The same chain on the (single) graph input, with λ = 1 and φ = ½, is the input quantiser: it is
 * removed and recorded as the module attributes `input_levels` and `input_rounding`, which the
 * interpreter applies to its inputs and the spike encoder realises (floor(x·T + ½) with T = L).
 *
 * Anything that looks like a quantiser (a Floor, Round or QuantizeLinear) but is not of this form
 * stays unfused, with a warning that names the node and the reason.
 */
import { ACTIVATION_HOSTS, definePass, fmt, fuseLocs, M, QUANT_RANGE, type Attrs, type Module, type Op, type PassContext, type Value } from "../../ir/index.js";

/** Relative tolerance of the equalities that make a chain a quantiser. */
export const QUANT_TOLERANCE = 1e-5;

const ANCHORS = new Set(["nn.floor", "nn.round", "nn.quantize_linear"]);

function near(x: number, y: number): boolean {
  return Math.abs(x - y) <= QUANT_TOLERANCE * Math.max(1, Math.abs(x), Math.abs(y));
}

/** The nearest integer when x is one within the tolerance (infinities pass through). */
function asInteger(x: number): number | undefined {
  if (!Number.isFinite(x)) return x;
  const r = Math.round(x);
  return near(x, r) ? r : undefined;
}

const fmtNum = (x: number): string => (Number.isFinite(x) ? String(Number(x.toPrecision(6))) : x > 0 ? "∞" : "−∞");

/** One step of a chain, as a function of the value before it. */
type Step =
  | { kind: "affine"; a: number; b: number } // x ↦ a·x + b
  | { kind: "clip"; lo: number; hi: number }
  | { kind: "round"; mode: "floor" | "half_even" };

/** The single value of a 1-element constant operand, if `v` is one. */
function scalarConst(v: Value): number | undefined {
  const c = v.constant;
  if (!c || c.data.length !== 1) return undefined;
  const x = c.data[0]!;
  return typeof x === "bigint" ? Number(x) : x;
}

/** What an op does to the chain value `x` (one of its operands), or why it cannot be a chain step. */
function stepsOf(op: Op, x: Value): Step[] | string {
  const clipOf = (a: Attrs): Step[] => {
    const act = a["activation"];
    if (act === "relu") return [{ kind: "clip", lo: 0, hi: Infinity }];
    if (act === "clip") return [{ kind: "clip", lo: a["clip_min"] as number, hi: a["clip_max"] as number }];
    return [];
  };
  switch (op.name) {
    case "nn.relu":
      return [{ kind: "clip", lo: 0, hi: Infinity }];
    case "nn.clip":
      return [{ kind: "clip", lo: op.num("min"), hi: op.num("max") }];
    case "nn.mul":
    case "nn.div":
    case "nn.add":
    case "nn.sub": {
      const i = op.operands[0] === x ? 0 : 1;
      const other = op.operands[1 - i]!;
      const c = scalarConst(other);
      if (c === undefined || op.operands[i] !== x) return `${describe(op)} has a ${other.constant ? "non-scalar" : "run-time"} second operand`;
      if (op.name === "nn.add") {
        if (op.attrs["activation"] === "quant") return `${describe(op)} already carries a quantiser`;
        // y = alpha·a + beta·b with one side the constant.
        const [sx, sc] = i === 0 ? [op.num("alpha"), op.num("beta")] : [op.num("beta"), op.num("alpha")];
        return [{ kind: "affine", a: sx, b: sc * c }, ...clipOf(op.attrs)];
      }
      if (op.name === "nn.mul") return [{ kind: "affine", a: c, b: 0 }];
      if (op.name === "nn.sub") return [{ kind: "affine", a: i === 0 ? 1 : -1, b: i === 0 ? -c : c }];
      if (i === 1) return `${describe(op)} divides a constant by it`;
      return [{ kind: "affine", a: 1 / c, b: 0 }];
    }
    default:
      return `${describe(op)} is not a scalar Mul, Div, Add, Sub, Clip or Relu`;
  }
}

/** The ONNX node (or op) an op came from, for messages. */
function describe(op: Op): string {
  const l = op.loc.kind === "fused" ? op.loc.locs[0]! : op.loc;
  return l.kind === "onnx" ? `'${l.node}' (${l.opType})` : op.name;
}

function nodeName(op: Op): string {
  const l = op.loc.kind === "fused" ? op.loc.locs[0]! : op.loc;
  return l.kind === "onnx" ? `'${l.node}'` : op.name;
}

/** The quantiser a composed chain realises: the fused attributes, or why it is not one. */
interface Fused {
  levels: number;
  lambda: number;
  phi: number;
  rounding: "floor" | "half_even";
}

/**
 * Compose `pre` (steps before the rounding, on the host's pre-activation z), the rounding, and `post`
 * (steps on the rounded integer) into y = clip(P·clip(R(A·z + B), kmin, kmax) + Q, …) and check that
 * it is λ/L·clip(R(z·L/λ + φ), 0, L).
 */
export function composeQuantizer(pre: readonly Step[], rounding: "floor" | "half_even", post: readonly Step[]): Fused | string {
  // Before the rounding: u = clip(A·z + B, lo, hi).
  let A = 1;
  let B = 0;
  let lo = -Infinity;
  let hi = Infinity;
  for (const s of pre) {
    if (s.kind === "affine") {
      if (!Number.isFinite(s.a) || !Number.isFinite(s.b) || s.a === 0) return `a scale of ${fmtNum(s.a)} before the rounding`;
      [lo, hi] = s.a > 0 ? [s.a * lo + s.b, s.a * hi + s.b] : [s.a * hi + s.b, s.a * lo + s.b];
      A *= s.a;
      B = s.a * B + s.b;
    } else if (s.kind === "clip") {
      lo = Math.max(lo, s.lo);
      hi = Math.min(hi, s.hi);
    }
  }
  if (lo > hi) return "its clips leave no values";
  if (!(A > 0)) return `it rounds a decreasing function of the input (scale ${fmtNum(A)})`;
  // Rounding is monotone: R(clip(v, lo, hi)) = clip(R(v), R(lo), R(hi)).
  const R = rounding === "floor" ? Math.floor : (v: number): number => (Number.isFinite(v) ? roundHalfEvenNum(v) : v);
  let kmin = R(lo);
  let kmax = R(hi);
  // After the rounding: y = P·k + Q on integer k in [kmin, kmax]; a later clip must fall on a level.
  let P = 1;
  let Q = 0;
  for (const s of post) {
    if (s.kind === "affine") {
      if (!Number.isFinite(s.a) || !Number.isFinite(s.b) || s.a === 0) return `a scale of ${fmtNum(s.a)} after the rounding`;
      P *= s.a;
      Q = s.a * Q + s.b;
    } else if (s.kind === "clip") {
      // Bounds in level units (the order flips when P < 0).
      const [klo, khi] = P > 0 ? [(s.lo - Q) / P, (s.hi - Q) / P] : [(s.hi - Q) / P, (s.lo - Q) / P];
      if (klo > kmin) {
        const k = asInteger(klo);
        if (k === undefined) return `the clip at ${fmtNum(P > 0 ? s.lo : s.hi)} falls between levels (level ${fmtNum(klo)})`;
        kmin = k;
      }
      if (khi < kmax) {
        const k = asInteger(khi);
        if (k === undefined) return `the clip at ${fmtNum(P > 0 ? s.hi : s.lo)} falls between levels (level ${fmtNum(khi)})`;
        kmax = k;
      }
      if (kmin > kmax) return "its clips leave no values";
    }
  }
  if (!(P > 0)) return `it decreases with the rounded value (scale ${fmtNum(P)} after the rounding)`;
  if (kmin === -Infinity) return "nothing clips it from below (no ReLU or lower clip)";
  if (kmin > 0) return `its lowest level is ${kmin}, not 0 (a positive lower clip: the output can never be 0)`;
  if (kmin < 0) return `its lowest level is ${kmin}, not 0 (negative outputs cannot be carried by spikes)`;
  if (kmax === Infinity) return "nothing clips it from above (no Clip to the top level)";
  if (kmax < 1) return "it has a single level";
  const L = kmax;
  if (!near(Q / (P * L), 0)) return `level 0 maps to ${fmtNum(Q)}, not 0 (an offset after the rounding)`;
  if (!near(A * P, 1)) return `scale L/λ·λ/L = ${fmtNum(A * P)} ≠ 1`;
  return { levels: L, lambda: P * L, phi: rounding === "floor" ? B : B + 0.5, rounding };
}

function roundHalfEvenNum(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** A candidate chain around one anchor (Floor, Round or QuantizeLinear). */
interface Chain {
  /** The op whose output feeds the chain: an activation host, or undefined for the graph input. */
  host: Op | undefined;
  source: Value;
  /** The host's ONNX node, or the input, for messages. */
  where: string;
  preOps: Op[];
  pre: Step[];
  anchor: Op;
  rounding: "floor" | "half_even";
  /** Post-chain candidates, longest first: ops and their steps. */
  post: { ops: Op[]; steps: Step[] }[];
  /** Why the walk stopped early, appended to a failure reason. */
  notes: string[];
}

type Users = Map<Value, Op[]>;

function soleUser(m: Module, v: Value, users: Users): Op | undefined {
  if (m.isOutput(v)) return undefined;
  const u = users.get(v) ?? [];
  return u.length === 1 ? u[0] : undefined;
}

/** An activation host: conv, gemm, matmul, or an add that is not itself a scalar step. */
function isHost(op: Op): boolean {
  return ACTIVATION_HOSTS.has(op.name) && !(op.name === "nn.add" && op.operands.some((o) => scalarConst(o) !== undefined));
}

/** The chain value an op transforms: its one run-time operand. */
function chainOperand(op: Op): Value {
  return op.operands.find((o) => !o.constant) ?? op.operands[0]!;
}

/**
 * Walk back from `v` over single-use scalar steps to the value they start from (a host's result or
 * the graph input). `where` names that origin for messages; `stop` says why the walk ended elsewhere.
 */
function walkBack(m: Module, v: Value, users: Users): { source: Value; preOps: Op[]; where: string; stop?: string } {
  const preOps: Op[] = [];
  for (;;) {
    const op = v.op;
    if (!op) return { source: v, preOps, where: `the input '${inputName(m, v)}'` };
    if (isHost(op)) return { source: v, preOps, where: nodeName(op) };
    const steps = stepsOf(op, chainOperand(op));
    if (typeof steps === "string") {
      return { source: v, preOps, where: nodeName(op), stop: `its input comes from ${describe(op)}, not from a conv, gemm, matmul or add (only scalar Mul, Div, Add, Sub, Clip and Relu may stand between): ${steps}` };
    }
    if (soleUser(m, v, users) === undefined) return { source: v, preOps, where: nodeName(op), stop: `${describe(op)} is also used elsewhere, so the chain cannot be fused` };
    preOps.unshift(op);
    v = chainOperand(op);
  }
}

/** Walk back from the anchor to the host and forward through the steps after it. */
function findChain(m: Module, anchor: Op, users: Users): Chain | { where: string; reason: string } {
  const q = anchor.name === "nn.quantize_linear";
  const rounding = anchor.name === "nn.floor" ? "floor" : "half_even";
  const notes: string[] = [];
  const back = walkBack(m, anchor.operands[0]!, users);
  const { preOps, where } = back;
  const v = back.source;
  if (back.stop) return { where, reason: back.stop };
  const host = v.op;
  if (host && host.attrs["activation"] === "quant") return { where, reason: `${describe(host)} is already quantised` };
  if (soleUser(m, v, users) === undefined) return { where, reason: `the output of ${host ? describe(host) : `the input '${inputName(m, v)}'`} is also used elsewhere, so the chain cannot be fused` };
  const pre: Step[] = [];
  if (host) {
    const act = host.attrs["activation"];
    if (act === "relu") pre.push({ kind: "clip", lo: 0, hi: Infinity });
    if (act === "clip") pre.push({ kind: "clip", lo: host.num("clip_min"), hi: host.num("clip_max") });
  }
  let prev = host ? host.result : v;
  for (const op of preOps) {
    pre.push(...(stepsOf(op, prev) as Step[]));
    prev = op.result;
  }
  const post: Step[] = [];
  const postOps: Op[] = [];
  if (q) {
    // QuantizeLinear: divide by the scale, round half to even, add the zero point, saturate.
    const scale = anchor.num("scale");
    const zp = anchor.num("zero_point");
    const [qmin, qmax] = QUANT_RANGE[anchor.str("to") as "u8" | "i8"];
    pre.push({ kind: "affine", a: 1 / scale, b: 0 });
    post.push({ kind: "affine", a: 1, b: zp }, { kind: "clip", lo: qmin, hi: qmax });
    const dq = soleUser(m, anchor.result, users);
    if (!dq || dq.name !== "nn.dequantize_linear") return { where, reason: "its result is not dequantised by one DequantizeLinear" };
    post.push({ kind: "affine", a: 1, b: -dq.num("zero_point") }, { kind: "affine", a: dq.num("scale"), b: 0 });
    postOps.push(dq);
  }
  // Forwards: as many single-use scalar steps as follow; shorter prefixes are tried when the longest fails.
  const candidates: { ops: Op[]; steps: Step[] }[] = [{ ops: [...postOps], steps: [...post] }];
  let cur = postOps.length ? postOps[postOps.length - 1]!.result : anchor.result;
  for (;;) {
    const u = soleUser(m, cur, users);
    if (!u) break;
    const steps = stepsOf(u, cur);
    if (typeof steps === "string") {
      if (["nn.mul", "nn.div", "nn.add", "nn.sub"].includes(u.name)) notes.push(steps);
      break;
    }
    postOps.push(u);
    post.push(...steps);
    candidates.unshift({ ops: [...postOps], steps: [...post] });
    cur = u.result;
  }
  return { host, source: v, where, preOps, pre, anchor, rounding, post: candidates, notes };
}

function inputName(m: Module, v: Value): string {
  return m.inputs.find((i) => i.value === v)?.name ?? "?";
}

/** The first (longest) post-chain that makes a quantiser, or the reason the longest one does not. */
function match(c: Chain): { fused: Fused; ops: Op[] } | string {
  let reason: string | undefined;
  for (const cand of c.post) {
    const r = composeQuantizer(c.pre, c.rounding, cand.steps);
    if (typeof r !== "string") return { fused: r, ops: cand.ops };
    reason ??= r;
  }
  return [reason!, ...c.notes].join("; ");
}

function warn(ctx: PassContext, anchor: Op, where: string, why: string): void {
  const l = anchor.loc.kind === "fused" ? anchor.loc.locs[0]! : anchor.loc;
  const what = l.kind === "onnx" ? l.opType : anchor.name;
  const kind = anchor.name === "nn.quantize_linear" ? "QuantizeLinear/DequantizeLinear" : "QCFS";
  ctx.diag.report(fmt(M.NotAQuantizer, [what, where, kind, why], { loc: anchor.loc }));
}

export const fuseQuantizersPass = definePass({
  name: "fuse-quantizers",
  summary: "fuse QCFS (Floor/Round chains) and QuantizeLinear→DequantizeLinear activation quantisers into the layer before them",
  run(m, ctx) {
    let changed = false;
    for (const anchor of m.ops.filter((op) => ANCHORS.has(op.name))) {
      if (!m.ops.includes(anchor)) continue;
      const chain = findChain(m, anchor, m.users());
      if ("reason" in chain) {
        warn(ctx, anchor, chain.where, chain.reason);
        continue;
      }
      const where = chain.where;
      const r = match(chain);
      if (typeof r === "string") {
        warn(ctx, anchor, where, r);
        continue;
      }
      const { fused, ops: postOps } = r;
      const all = [...chain.preOps, anchor, ...postOps];
      const last = all[all.length - 1]!.result;
      if (!chain.host) {
        const why =
          m.inputs.length !== 1
            ? `the model has ${m.inputs.length} inputs (an input quantiser is recorded for a single input)`
            : !near(fused.lambda, 1)
              ? `λ = ${fmtNum(fused.lambda)}: the spike encoder quantises inputs in [0, 1], so λ must be 1`
              : !near(fused.phi, 0.5)
                ? `φ = ${fmtNum(fused.phi)}: the spike encoder rounds to the nearest level, so φ must be ½`
                : m.attrs["input_levels"] !== undefined
                  ? "the input is already quantised"
                  : undefined;
        if (why) {
          warn(ctx, anchor, where, why);
          continue;
        }
        m.attrs["input_levels"] = fused.levels;
        m.attrs["input_rounding"] = fused.rounding;
        m.replaceAllUses(last, chain.source);
      } else {
        const host = chain.host;
        host.attrs = {
          ...host.attrs,
          activation: "quant",
          clip_min: 0,
          clip_max: Infinity,
          quant_levels: fused.levels,
          quant_lambda: fused.lambda,
          quant_phi: fused.phi,
          quant_rounding: fused.rounding,
        };
        host.loc = fuseLocs(host.loc, ...all.map((op) => op.loc));
        m.replaceAllUses(last, host.result);
      }
      for (const op of all) m.erase(op);
      changed = true;
    }
    if (changed) m.removeDeadCode();
    return { changed };
  },
});

/**
 * A module of `nir.*` ops → the clock engine's network (runtime/clock.ts). The discretisation happens
 * here: with step dt, the factors dt·r (I, IF) and dt/τ (LI, LIF, CubaLI, CubaLIF) are computed in
 * float64, and delays become whole numbers of steps (a delay that is not one is refused).
 */
import { fmt, M, TsccError, type Module, type Op, type Value } from "../../ir/index.js";
import type { ClockNetwork, ClockNode, ClockValue } from "./runtime/clock.js";
import { delaySteps } from "./legalize.js";

type F = Float32Array | Float64Array;

function data(v: Value | undefined): F {
  const c = v?.constant;
  if (!c) throw new Error("clock network: a parameter is not a constant");
  const d = c.data;
  if (d instanceof Float32Array || d instanceof Float64Array) return d;
  return Float64Array.from(d as ArrayLike<number | bigint>, Number);
}

function describe(op: Op): string {
  return op.loc.kind === "nir" ? op.loc.node : op.name;
}

/** Per-element factor: f(p1[j], p2[j]) in float64. */
function map2(a: F, b: F, f: (x: number, y: number) => number): Float64Array {
  const out = new Float64Array(a.length);
  for (let j = 0; j < a.length; j++) out[j] = f(a[j]!, b[j]!);
  return out;
}

export function buildClockNetwork(m: Module, dt: number): ClockNetwork {
  if (!(dt > 0) || !Number.isFinite(dt)) throw new TsccError(fmt(M.NirNoDt, [`dt must be a positive number, got ${dt}`]));
  const index = new Map<Value, number>();
  const values: ClockValue[] = [];
  const valueOf = (v: Value, name: string): number => {
    let i = index.get(v);
    if (i === undefined) {
      i = values.length;
      index.set(v, i);
      values.push({ shape: v.type.shape.slice(1), name });
    }
    return i;
  };
  const inputs = m.inputs.map((i) => ({ name: i.name, value: valueOf(i.value, i.name) }));
  const nodes: ClockNode[] = [];
  for (const op of m.ops) {
    const name = describe(op);
    const inp = (k: number): number => {
      const j = index.get(op.operands[k]!);
      if (j === undefined) throw new Error(`clock network: operand ${k} of ${op.name} is not defined earlier`);
      return j;
    };
    const p = (k: number): F => data(op.operands[k]);
    const out = valueOf(op.result, name);
    const loc = op.loc;
    switch (op.name) {
      case "nir.affine":
      case "nir.linear": {
        const ws = op.operands[1]!.type.shape;
        nodes.push({ kind: "affine", in: inp(0), out, w: p(1), rows: ws[0]!, cols: ws[1]!, ...(op.name === "nir.affine" ? { b: p(2) } : {}) });
        break;
      }
      case "nir.conv1d":
      case "nir.conv2d":
        nodes.push({ kind: "conv", in: inp(0), out, w: p(1), wShape: op.operands[1]!.type.shape, b: p(2), strides: op.ints("strides"), pads: op.ints("pads"), dilations: op.ints("dilations"), group: op.num("group") });
        break;
      case "nir.sum_pool2d":
      case "nir.avg_pool2d":
        nodes.push({ kind: "pool", in: inp(0), out, kernel: op.ints("kernel_shape"), strides: op.ints("strides"), pads: op.ints("pads"), avg: op.name === "nir.avg_pool2d" });
        break;
      case "nir.flatten":
        nodes.push({ kind: "flatten", in: inp(0), out });
        break;
      case "nir.scale":
        nodes.push({ kind: "scale", in: inp(0), out, s: p(1) });
        break;
      case "nir.threshold":
        nodes.push({ kind: "threshold", in: inp(0), out, theta: p(1) });
        break;
      case "nir.delay": {
        const d = p(1);
        const steps = new Int32Array(d.length);
        for (let j = 0; j < d.length; j++) {
          const r = delaySteps(d[j]!, dt);
          if (r === undefined) throw new TsccError(fmt(M.NirParamValue, ["delay", `${d[j]} is not a whole number of steps of dt = ${dt}`], { loc }));
          steps[j] = r;
        }
        nodes.push({ kind: "delay", in: inp(0), out, steps });
        break;
      }
      case "nir.i":
      case "nir.if": {
        const r = p(1);
        const gain = new Float64Array(r.length);
        for (let j = 0; j < r.length; j++) gain[j] = dt * r[j]!;
        nodes.push(op.name === "nir.if" ? { kind: "if", in: inp(0), out, gain, vth: p(2), vreset: p(3) } : { kind: "i", in: inp(0), out, gain });
        break;
      }
      case "nir.li":
      case "nir.lif": {
        const a = map2(p(1), p(1), (tau) => dt / tau);
        const base = { in: inp(0), out, a, r: p(2), vleak: p(3) };
        nodes.push(op.name === "nir.lif" ? { kind: "lif", ...base, vth: p(4), vreset: p(5) } : { kind: "li", ...base });
        break;
      }
      case "nir.cuba_li":
      case "nir.cuba_lif": {
        const aSyn = map2(p(1), p(1), (tau) => dt / tau);
        const aMem = map2(p(2), p(2), (tau) => dt / tau);
        const spiking = op.name === "nir.cuba_lif";
        const base = { in: inp(0), out, aSyn, aMem, r: p(3), vleak: p(4) };
        nodes.push(spiking ? { kind: "cuba_lif", ...base, vth: p(5), vreset: p(6), win: p(7) } : { kind: "cuba_li", ...base, win: p(5) });
        break;
      }
      case "nir.sum":
        nodes.push({ kind: "sum", ins: op.operands.map((_, k) => inp(k)), out });
        break;
      case "nir.prev":
        nodes.push({ kind: "prev", out, slot: op.num("slot") });
        break;
      case "nir.feed":
        nodes.push({ kind: "feed", in: inp(0), out, slot: op.num("slot") });
        break;
      default:
        throw new TsccError(fmt(M.BackendUnsupported, ["emulator", op.name, "the clock engine runs nir.* ops only"], { loc }));
    }
  }
  const outputs = m.outputs.map((o) => {
    const v = index.get(o.value);
    if (v === undefined) throw new Error(`clock network: output '${o.name}' is not produced`);
    return { name: o.name, value: v };
  });
  return { format: "clock", dt, values, nodes, inputs, outputs };
}

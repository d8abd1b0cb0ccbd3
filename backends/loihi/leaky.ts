/**
 * NIR graphs of leaky neurons on Loihi CUBA compartments (docs/loihi.md "NIR graphs of leaky neurons",
 * docs/interop.md "Loihi"): the population model the mapper (partition, place, route, report) shares
 * with the TSC networks, built from a module of `nir.*` ops.
 *
 * A population is one neuron node (nir.lif / if / cuba_lif spiking, nir.li / i / cuba_li a read-out
 * whose v is read); its synapse groups are the paths of synapse nodes feeding it (summed edges give one
 * group each). A path of one Affine/Linear is a `dense` group, one Conv2d a `conv` group, one
 * SumPool2d/AvgPool2d a depthwise `conv` group with constant weights, one uniform Scale (or a direct
 * edge) a one-to-one `scale` group; any longer path (e.g. pool → pool → flatten → affine, or a Conv1d)
 * is composed into one dense matrix by the clock engine itself. Flatten between populations relabels.
 *
 * Per neuron, NIR's forward-Euler reading (backends/emulator/clock-network.ts) on a CUBA compartment
 * (u[t] = u·(4096 − δu)/4096 + q, v[t] = v·(4096 − δv)/4096 + u + bias, spike when v > vth, v := 0):
 *
 *   LIF / LI   a = dt/τ:  δu = 4096 (u cleared every step), δv = round(4096·a), gain a·r, leak a·v_leak
 *   IF / I     δu = 4096, δv = 0, gain dt·r
 *   CubaLIF/LI a_s = dt/τ_syn, a_m = dt/τ_mem: δu = round(4096·a_s), δv = round(4096·a_m),
 *              gain a_m·r·a_s·w_in (u = a_m·r·I in v's units), leak a_m·v_leak
 *
 * Weights are stored in units of the neuron's threshold (w̃ = gain·W / v_threshold; read-outs: units of
 * v), so the TSC quantiser's rules apply unchanged: W = w_mant·2^(shift + e) ≈ w̃·Θ with Θ = vth_mant·2^6.
 *
 * Timing: a spike at step s arrives at s + 1. A population at depth d (hops from the input) computes
 * the graph's step t at chip step t + d; a group whose source is shallower than d − 1 gets a programmed
 * synaptic delay so every path arrives together. A population's bias starts at its step d.
 */
import { fmt, M, TsccError, type Module, type Op, type Value } from "../../ir/index.js";
import { buildClockNetwork } from "../emulator/clock-network.js";
import { runClock, type ClockNetwork } from "../emulator/runtime/clock.js";
import type { Geometry2d, Group, Network, Pop } from "./model.js";
import type { Profile } from "./profile.js";

const SPIKING = new Set(["nir.lif", "nir.if", "nir.cuba_lif"]);
const NEURONS = new Set([...SPIKING, "nir.li", "nir.i", "nir.cuba_li"]);
const SYNAPSES = new Set(["nir.affine", "nir.linear", "nir.conv1d", "nir.conv2d", "nir.sum_pool2d", "nir.avg_pool2d", "nir.scale", "nir.flatten"]);
/** Largest composed dense matrix (entries) of a path of several synapse nodes. */
const COMPOSE_MAX = 1 << 22;
/** Decay register: 12 bits, 4096 = full decay. */
const ONE = 4096;

/** A module of NIR primitives (tscc's own TSC export restored is `snn.*` and maps as TSC). */
export function isLeakyModule(m: Module): boolean {
  return m.ops.some((op) => op.name.startsWith("nir."));
}

/** Per-neuron compartment parameters of a population (float units; the quantiser scales them). */
export interface LeakyParams {
  readonly spiking: boolean;
  /** Current-based (CubaLIF/CubaLI): a constant input would enter u, which has no bias register. */
  readonly current: boolean;
  /** Per neuron: current and voltage decay, integers in [0, 4096] (4096: cleared every step). */
  readonly du: Int32Array;
  readonly dv: Int32Array;
  /** Per neuron: gain of a synaptic input into v's units, and the unit of v (v_threshold; 1 for read-outs). */
  readonly gain: Float64Array;
  readonly unit: Float64Array;
  /** Per neuron: the per-step bias in threshold units (v_leak term plus the synapse paths' biases). */
  readonly bias: Float64Array;
}

const params = new WeakMap<Pop, LeakyParams>();

export function leakyParams(p: Pop): LeakyParams | undefined {
  return params.get(p);
}

function fail(op: Op, why: string): never {
  throw new TsccError(fmt(M.LoihiLeaky, [why], { loc: op.loc }));
}

function constOf(op: Op, k: number, n: number): Float64Array {
  const c = op.operands[k]?.constant;
  if (!c) fail(op, `parameter ${k} is not a constant`);
  const d = Array.from(c.data as ArrayLike<number>, Number);
  if (d.length !== n && d.length !== 1) fail(op, `parameter ${k} has ${d.length} values for ${n} neurons`);
  return Float64Array.from({ length: n }, (_, j) => d[d.length === 1 ? 0 : j]!);
}

/** δ = round(4096·a) with a = dt/τ, refused outside what the decay register (and its core offset) holds. */
function decay(op: Op, what: string, a: number, min: number): number {
  const d = Math.round(ONE * a);
  if (!(a > 0) || !Number.isFinite(a) || a > 1) fail(op, `${what} gives dt/τ = ${a}; forward Euler needs 0 < dt/τ ≤ 1 (δ = ${d} is outside the 12-bit decay range)`);
  if (d < min) fail(op, `${what} gives δ = round(4096·dt/τ) = ${d}, below ${min}: the decay register cannot hold so slow a decay on a dsOffset = 1 core (use a shorter τ or a larger dt)`);
  if (d > ONE) fail(op, `${what} gives δ = ${d} > 4096`);
  return d;
}

/** The compartment parameters of a neuron op (NIR's parameters in the order of the nir.* op defs). */
function neuronParams(op: Op, n: number, dt: number): Omit<LeakyParams, "bias"> & { leak: Float64Array } {
  const spiking = SPIKING.has(op.name);
  const du = new Int32Array(n);
  const dv = new Int32Array(n);
  const gain = new Float64Array(n);
  const unit = new Float64Array(n).fill(1);
  const leak = new Float64Array(n);
  const p = (k: number): Float64Array => constOf(op, k, n);
  let vth: Float64Array | null = null;
  let vreset: Float64Array | null = null;
  const cuba = op.name === "nir.cuba_lif" || op.name === "nir.cuba_li";
  if (op.name === "nir.lif" || op.name === "nir.li") {
    const [tau, r, vl] = [p(1), p(2), p(3)];
    for (let j = 0; j < n; j++) {
      const a = dt / tau[j]!;
      du[j] = ONE;
      dv[j] = decay(op, `tau ${tau[j]}`, a, 0);
      if (dv[j] === ONE) fail(op, `tau ${tau[j]} = dt clears v every step (δ_v = 4096), which a dmOffset = 0 core cannot hold`);
      gain[j] = a * r[j]!;
      leak[j] = a * vl[j]!;
    }
    if (spiking) [vth, vreset] = [p(4), p(5)];
  } else if (op.name === "nir.if" || op.name === "nir.i") {
    const r = p(1);
    for (let j = 0; j < n; j++) {
      du[j] = ONE;
      gain[j] = dt * r[j]!;
    }
    if (spiking) [vth, vreset] = [p(2), p(3)];
  } else {
    const [ts, tm, r, vl] = [p(1), p(2), p(3), p(4)];
    const win = p(spiking ? 7 : 5);
    for (let j = 0; j < n; j++) {
      const as = dt / ts[j]!;
      const am = dt / tm[j]!;
      du[j] = decay(op, `tau_syn ${ts[j]}`, as, 1);
      dv[j] = decay(op, `tau_mem ${tm[j]}`, am, 0);
      if (dv[j] === ONE) fail(op, `tau_mem ${tm[j]} = dt clears v every step (δ_v = 4096), which a dmOffset = 0 core cannot hold`);
      gain[j] = am * r[j]! * as * win[j]!;
      leak[j] = am * vl[j]!;
    }
    if (spiking) [vth, vreset] = [p(5), p(6)];
  }
  if (vth && vreset) {
    for (let j = 0; j < n; j++) {
      if (vreset[j] !== 0) fail(op, `v_reset = ${vreset[j]}: Loihi sets v to 0 after a spike, so only v_reset = 0 maps`);
      if (!(vth[j]! > 0) || !Number.isFinite(vth[j]!)) fail(op, `v_threshold = ${vth[j]}: the threshold register holds positive values only`);
      unit[j] = vth[j]!;
    }
  }
  for (let j = 0; j < n; j++) {
    gain[j] = gain[j]! / unit[j]!;
    leak[j] = leak[j]! / unit[j]!;
  }
  return { spiking, current: cuba, du, dv, gain, unit, leak };
}

interface Path {
  /** The spikes value the path reads (a population's output, the input, or a flatten of them). */
  readonly source: Value;
  /** Synapse ops in order (flattens included). */
  readonly ops: Op[];
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * The weights and bias of a path of synapse nodes as one dense matrix [N, K] (and bias [N]), computed
 * by running the path on the clock engine with a zero input and each unit vector.
 */
function composePath(clock: ClockNetwork, opIndex: Map<Op, number>, path: Path, K: number, N: number): { w: Float64Array; b: Float64Array } {
  const nodes = path.ops.map((op) => clock.nodes[opIndex.get(op)!]!);
  const first = nodes[0]!;
  const sub: ClockNetwork = { ...clock, nodes, inputs: [{ name: "x", value: "in" in first ? first.in : 0 }], outputs: [{ name: "y", value: nodes[nodes.length - 1]!.out }] };
  const b = Float64Array.from(runClock(sub, new Float64Array(K), 1, { steps: 1, staticInput: true }).outputs[0]!);
  const w = new Float64Array(N * K);
  const CH = 256;
  for (let k0 = 0; k0 < K; k0 += CH) {
    const n = Math.min(CH, K - k0);
    const x = new Float64Array(n * K);
    for (let i = 0; i < n; i++) x[i * K + k0 + i] = 1;
    const y = runClock(sub, x, n, { steps: 1, staticInput: true }).outputs[0]!;
    for (let i = 0; i < n; i++) for (let r = 0; r < N; r++) w[r * K + k0 + i] = y[i * N + r]! - b[r]!;
  }
  return { w, b };
}

function uniform(a: Float64Array): boolean {
  return a.every((x) => x === a[0]);
}

/** Per-channel factor of a [C, H, W] population, or null when it varies inside a channel. */
function perChannel(a: Float64Array, shape: readonly number[]): Float64Array | null {
  const C = shape[0]!;
  const P = a.length / C;
  const out = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    out[c] = a[c * P]!;
    for (let k = 1; k < P; k++) if (a[c * P + k] !== out[c]) return null;
  }
  return out;
}

const RECURRENT = "a recurrent edge: the Loihi mapping of NIR graphs takes feed-forward graphs (run recurrent ones with --target emulator)";

/** Why an op maps to no leaky compartment (a recurrent edge is reported once, at its `nir.feed`). */
function unmappedWhy(op: Op): string | undefined {
  if (NEURONS.has(op.name) || SYNAPSES.has(op.name) || op.name === "nir.sum" || op.name === "nir.prev") return undefined;
  if (op.name === "nir.feed") return RECURRENT;
  return `${op.name} has no Loihi compartment mapping (mapped: Affine, Linear, Conv1d/2d, SumPool2d, AvgPool2d, Scale, Flatten into LIF, IF, CubaLIF, LI, I, CubaLI)`;
}

/** Every node of a module that no leaky compartment maps (all at once, each naming its node). */
export function unmappedNodes(m: Module): TsccError | undefined {
  const ds = m.ops.flatMap((op) => {
    const why = unmappedWhy(op);
    return why ? [fmt(M.LoihiLeaky, [why], { loc: op.loc })] : [];
  });
  return ds.length ? new TsccError(ds) : undefined;
}

/** Build the population graph of a module of NIR primitives. Throws a coded diagnostic on what does not map. */
export function buildLeakyNetwork(m: Module): Network {
  const dt = (m.attrs["nir.dt"] as number | undefined) ?? 1;
  if (m.inputs.length !== 1) throw new TsccError(fmt(M.LoihiLeaky, [`the graph has ${m.inputs.length} inputs; the mapping injects one input`]));
  const pops: Pop[] = [];
  const groups: Group[] = [];
  const pieces = new Map<Value, { pop: Pop; offset: number; count: number; map: Int32Array | null }[]>();
  const paths = new Map<Value, Path>();
  const sums = new Map<Value, (Path | Value)[]>();
  const groupOps = new Set<Op>();
  let clock: { net: ClockNetwork; index: Map<Op, number> } | undefined;
  const clockOf = (): { net: ClockNetwork; index: Map<Op, number> } => (clock ??= { net: buildClockNetwork(m, dt), index: new Map(m.ops.map((op, i) => [op, i])) });
  const inV = m.inputs[0]!.value;
  const first = m.ops[0];
  if (!first) throw new TsccError(fmt(M.LoihiLeaky, ["the graph has no nodes"]));
  // The input population has no op of its own: the first op stands in for its location.
  const input: Pop = { id: 0, kind: "input", name: "input", op: first, shape: inV.type.shape.slice(1), size: size(inV.type.shape.slice(1)), groups: [], E: 0, F: 0, windows: [], T: 1, span: 0 };
  pops.push(input);
  pieces.set(inV, [{ pop: input, offset: 0, count: input.size, map: null }]);
  const names = new Set<string>(["input"]);
  const depth = new Map<Pop, number>([[input, 0]]);
  const newGroup = (path: Path, target: Pop, lp: ReturnType<typeof neuronParams>, bias: Float64Array): void => {
    const src = pieces.get(path.source)!;
    const K = size(path.source.type.shape.slice(1));
    const eff = path.ops.filter((o) => o.name !== "nir.flatten");
    const owner = eff.length ? eff[eff.length - 1]! : target.op;
    if (groupOps.has(owner)) fail(owner, "a synapse node (or a direct edge) feeding two neuron nodes, or twice the same neuron, is not mapped: give each neuron node its own synapse node");
    groupOps.add(owner);
    const id = groups.length;
    const delay = owner.attrs["loihi.relays"] ? 1 : 0;
    const N = target.size;
    const base = { id, op: owner, target, source: path.source, K, delay, gain: 1 };
    const op = eff[0];
    const C = target.shape.length === 3 ? target.shape[0]! : 0;
    const chan = C ? perChannel(lp.gain, target.shape) : null;
    const rowBias = (b: Float64Array, rows: number): void => {
      for (let j = 0; j < N; j++) {
        const r = rows === N ? j : Math.floor(j / (N / rows));
        if (b[r] === 0) continue;
        if (lp.current) fail(owner, "a constant input (bias) into a current-based neuron: Loihi's bias register adds to v, not to the synaptic current u");
        bias[j]! += lp.gain[j]! * b[r]!;
      }
    };
    let g: Group | undefined;
    if (eff.length === 0 && K === N && uniform(lp.gain)) g = { ...base, kind: "scale", factor: lp.gain[0]! };
    else if (eff.length === 1 && op!.name === "nir.scale" && K === N && uniform(lp.gain)) {
      const s = Float64Array.from(op!.operands[1]!.constant!.data as ArrayLike<number>, Number);
      if (uniform(s)) g = { ...base, kind: "scale", factor: s[0]! * lp.gain[0]! };
    } else if (eff.length === 1 && (op!.name === "nir.affine" || op!.name === "nir.linear")) {
      const W = op!.operands[1]!.constant!.data as ArrayLike<number>;
      const w = new Float32Array(N * K);
      for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) w[j * K + k] = W[j * K + k]! * lp.gain[j]!;
      if (op!.name === "nir.affine") rowBias(Float64Array.from(op!.operands[2]!.constant!.data as ArrayLike<number>, Number), N);
      g = { ...base, kind: "dense", w };
    } else if (eff.length === 1 && chan && src.length === 1 && path.source.type.shape.length === 4 && (op!.name === "nir.conv2d" || op!.name === "nir.sum_pool2d" || op!.name === "nir.avg_pool2d")) {
      const ins = path.source.type.shape.slice(1);
      const outs = target.shape;
      const conv = op!.name === "nir.conv2d";
      const ws = conv ? op!.operands[1]!.type.shape : [C, 1, ...op!.ints("kernel_shape")];
      const group = conv ? op!.num("group") : C;
      const pads = op!.ints("pads");
      const [kh, kw] = [ws[2]!, ws[3]!];
      const geo: Geometry2d = { C: ins[0]!, H: ins[1]!, W: ins[2]!, M: ws[0]!, OH: outs[1]!, OW: outs[2]!, kh, kw, sh: op!.ints("strides")[0]!, sw: op!.ints("strides")[1]!, pt: pads[0]!, pl: pads[1]!, dh: conv ? op!.ints("dilations")[0]! : 1, dw: conv ? op!.ints("dilations")[1]! : 1, group };
      const per = size(ws.slice(1));
      const w = new Float32Array(ws[0]! * per);
      const W = conv ? (op!.operands[1]!.constant!.data as ArrayLike<number>) : null;
      const avg = op!.name === "nir.avg_pool2d" ? 1 / (kh * kw) : 1;
      for (let mm = 0; mm < ws[0]!; mm++) for (let k = 0; k < per; k++) w[mm * per + k] = (W ? W[mm * per + k]! : avg) * chan[mm]!;
      if (conv) rowBias(Float64Array.from(op!.operands[2]!.constant!.data as ArrayLike<number>, Number), ws[0]!);
      g = { ...base, kind: "conv", geo, w };
    }
    if (!g) {
      if (N * K > COMPOSE_MAX) fail(owner, `a path of ${eff.length} synapse node(s) [${eff.map((o) => o.name).join(", ")}] into a ${N}-neuron population composes to a ${N}×${K} dense matrix, more than the ${COMPOSE_MAX} entries tscc composes`);
      const c = clockOf();
      const { w: Wd, b } = path.ops.length ? composePath(c.net, c.index, path, K, N) : { w: Float64Array.from({ length: N * K }, (_, i) => (Math.floor(i / K) === i % K ? 1 : 0)), b: new Float64Array(N) };
      const w = new Float32Array(N * K);
      for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) w[j * K + k] = Wd[j * K + k]! * lp.gain[j]!;
      rowBias(b, N);
      g = { ...base, kind: "dense", w };
    }
    groups.push(g);
    target.groups.push(g);
  };
  m.ops.forEach((op) => {
    const x = op.operands[0];
    if (op.name === "nir.flatten" && x && pieces.has(x)) {
      pieces.set(op.result, pieces.get(x)!);
      return;
    }
    if (SYNAPSES.has(op.name)) {
      if (x && pieces.has(x)) paths.set(op.result, { source: x, ops: [op] });
      else if (x && paths.has(x)) paths.set(op.result, { source: paths.get(x)!.source, ops: [...paths.get(x)!.ops, op] });
      else fail(op, "its input is neither a population's spikes nor a synapse path (a sum inside a synapse path is not mapped)");
      return;
    }
    if (op.name === "nir.sum") {
      sums.set(
        op.result,
        op.operands.map((v) => {
          if (paths.has(v)) return paths.get(v)!;
          if (pieces.has(v)) return v;
          return fail(op, "a sum of anything but synapse paths and spikes is not mapped");
        }),
      );
      return;
    }
    if (NEURONS.has(op.name)) {
      const shape = op.result.type.shape.slice(1);
      const n = size(shape);
      const lp = neuronParams(op, n, dt);
      const loc = op.loc;
      let name = loc.kind === "nir" ? loc.node : `${op.name}#${pops.length}`;
      while (names.has(name)) name = `${name}#`;
      names.add(name);
      const p: Pop = { id: pops.length, kind: lp.spiking ? "lif" : "li", name, op, shape, size: n, groups: [], E: -1, F: -1, windows: [], T: 1, span: 1 };
      pops.push(p);
      const terms = sums.get(x!) ?? [paths.get(x!) ?? (pieces.has(x!) ? x! : fail(op, "its input is not a synapse path, a sum of them, or spikes"))];
      const bias = Float64Array.from(lp.leak);
      for (const t of terms) newGroup("ops" in t ? t : { source: t, ops: [] }, p, lp, bias);
      params.set(p, { spiking: lp.spiking, current: lp.current, du: lp.du, dv: lp.dv, gain: lp.gain, unit: lp.unit, bias });
      let d = 1;
      for (const g of p.groups) for (const s of pieces.get(g.source)!) d = Math.max(d, depth.get(s.pop)! + 1 + g.delay);
      depth.set(p, d);
      p.F = d;
      if (lp.spiking) {
        p.E = d;
        pieces.set(op.result, [{ pop: p, offset: 0, count: n, map: null }]);
      }
      return;
    }
    fail(op, unmappedWhy(op) ?? RECURRENT);
  });
  const outPops = m.outputs.map((o) => {
    const p = pops.find((q) => q.op.result === o.value && q.kind !== "input");
    if (!p) {
      const op = m.ops.find((q) => q.result === o.value);
      if (op) fail(op, `output '${o.name}' is not a neuron node's output: a chip is read through compartments (end the graph with a LIF or LI node)`);
      throw new TsccError(fmt(M.LoihiLeaky, [`output '${o.name}' is the input itself`]));
    }
    return p;
  });
  const placed = pops.filter((p) => p.kind !== "input");
  const maxDepth = Math.max(...outPops.map((p) => p.F));
  const steps = Math.max(1, (m.attrs["nir.steps"] as number | undefined) ?? 1);
  return {
    T: 1,
    lead: 0,
    pops,
    groups,
    placed,
    input,
    readouts: placed.filter((p) => p.kind === "li"),
    latency: steps + maxDepth,
    resolve: (v) => {
      const r = pieces.get(v);
      if (!r) throw new Error("loihi: a spikes value is not produced by a population");
      return r;
    },
    sourceOf: (v, i) => ({ pop: pieces.get(v)![0]!.pop, j: i }),
  };
}

/** Programmed synaptic delay of a group: what aligns its source's spikes with the target's depth. */
export function programmedDelay(net: Network, g: Group): number {
  const src = net.resolve(g.source)[0]!.pop;
  return g.target.F - src.F - 1 - g.delay;
}

/** Compartment profiles of a leaky population: one per distinct (δu, δv); one threshold profile. */
export function leakyProfileKeys(p: Pop): { cx: string[]; vth: string[] } | undefined {
  const lp = params.get(p);
  if (!lp) return undefined;
  const cx = new Set<string>();
  for (let j = 0; j < lp.du.length; j++) cx.add(`cuba-du${lp.du[j]}-dv${lp.dv[j]}`);
  return { cx: [...cx].sort(), vth: [lp.spiking ? `vth-${p.op.attrs["loihi.vth_mant"] ?? "?"}` : "never"] };
}

/**
 * The chip profile as the mapper counts leaky compartments: one compartment per neuron, one axon per
 * source (binary spikes, no ON/OFF pair), no layer clocks, the bias in the neuron's register; relays
 * (identity compartments forwarding a wide fan-out, one step later) share the `cuba` cores.
 */
export function leakyProfile(p: Profile): Profile {
  return { ...p, tsc: { synapse: "binary", neuron_cx: 1, or_cx: 1, readout_cx: 1, clock_cx_per_layer: 0, clock_axons_per_core: 0, bias: "neuron", one_shot_by_refractory: false, relay_class: "cuba" } };
}

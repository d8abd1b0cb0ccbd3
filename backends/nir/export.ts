/**
 * A converted spiking network (the `snn` dialect) → a NIR graph built from NIR primitives only, exact
 * under the discrete-time reading of docs/interop.md (step dt = 1, forward Euler, same-step edges,
 * a recurrent edge into a stateful node one step late). docs/interop.md derives each construction; in
 * short:
 *
 * Temporal-Switch Coding (`--coding tsc`). A TSC population of shape S firing in [a, a+T) becomes a
 * subgraph whose output is its switch events: +1 at spike 1 (switch ON), −1 at spike 2 (OFF), 0 otherwise.
 * Synapse nodes (Conv2d, Linear, Scale) turn the events of their source into ±W, which the receiving
 * population integrates twice: `current` (I) is the switch current W̃·on(t), `v_neg` (I, r = −1) is −V.
 * The fire phase compares V with a ramp: the switch is on at step a+k iff V ≥ k+1, i.e. for exactly
 * d = clip(floor(V), 0, T) steps. A Threshold gives only x > θ, so the comparator computes the
 * complement, off = [ramp + gate − V_raw > V0] (V0 = b̃·T + φ, the initial membrane), and on = 1 − off.
 * ramp and gate come from a per-population clock (Delay of a constant 1): ramp = k+1 inside the window,
 * gate = BIG outside it (BIG a power of two above any |V|), so off = 1 outside the window. The events
 * are on(t) − on(t−1). The encoder is the same population with V_raw = x·T/λ₀ (input held constant).
 * Max pooling is the OR of the inputs' switches (sum pool of the switch levels > ½). The output layer
 * integrates and is read out as λ/T·(V_raw + b̃·T).
 *
 * Rate coding (`--coding rate`). A reset-by-subtraction IF population is a subgraph with an integrator
 * `v_neg` (I, r = −1), the complement comparator off = [v_neg > v_init·θ − θ] (= [V < θ]), spikes
 * on = 1 − off, and a recurrent edge on → Scale(−θ) → v_neg that subtracts θ one step later, exactly
 * tscc's V_pre(t) = V_pre(t−1) + I(t) − θ·s(t−1). Synapses carry their bias every step (NIR's own
 * Conv2d/Affine bias), the input is x/λ₀ at every step, and the SNN Toolbox max-pool rule (pass the
 * spikes of the input with the highest count so far, the first on ties) is built from spike counts,
 * pairwise comparisons (integers, so ≥ is > −½) and two grouped 1×1 convolutions.
 *
 * What NIR cannot express is refused with a diagnostic: Poisson input (random), reset to zero (needs a
 * multiplication of two signals), concatenation, asymmetric padding, dilated or ceil-mode pooling.
 */
import { fmt, M, TsccError, type Diagnostic, type Module, type Op, type Value } from "../../ir/index.js";
import { buildNetwork } from "../emulator/build-network.js";
import { schedule } from "../emulator/runtime/schedule.js";
import type { NirArray, NirGraph, NirMeta, NirNode, NirValue } from "./format.js";

/** The NIR format version whose layout tscc writes (nir.write of NIR 1.0.x). */
export const NIR_FORMAT_VERSION = "1.0.7";

/** −FLT_MAX: every finite float32 or float64 exceeds it, so Threshold(NEG_MAX) turns any signal into 1. */
const NEG_MAX = -3.4028234663852886e38;

export interface ExportOptions {
  /** Tool version for the metadata. */
  readonly toolVersion: string;
  /** Source model file name and its SHA-256 (metadata). */
  readonly source: string;
  readonly sourceSha256: string;
}

export interface ExportResult {
  readonly graph: NirGraph;
  /** Steps a simulation needs to produce the outputs (TSC: the latency; rate: the window). */
  readonly steps: number;
  /**
   * Every IR constant and where its data went: `node/param` (a NIR parameter holding it verbatim) or
   * `metadata` (kept in the graph metadata for the round trip).
   */
  readonly constPaths: ReadonlyMap<string, string>;
}

type Arr = NirArray;

/** Shared constant arrays (many nodes need ones(S), −1·ones(S), …): one allocation per shape and value. */
class Consts {
  private readonly cache = new Map<string, Float32Array>();
  fill(shape: readonly number[], v: number): Arr {
    const key = `${shape.join("x")}|${v}`;
    let d = this.cache.get(key);
    if (!d) {
      const n = shape.reduce((a, b) => a * b, 1);
      d = new Float32Array(n).fill(v);
      if (d[0] !== v && n > 0) throw new Error(`internal: ${v} is not a float32`);
      this.cache.set(key, d);
    }
    return { shape: [...shape], data: d };
  }
}

/** One graph level under construction. */
class Level {
  readonly nodes = new Map<string, NirNode>();
  readonly edges: [string, string][] = [];
  add(name: string, type: NirNode["type"], params: Record<string, NirValue>, metadata?: NirMeta): string {
    if (this.nodes.has(name)) throw new Error(`internal: NIR node '${name}' added twice`);
    this.nodes.set(name, { type, params, ...(metadata ? { metadata } : {}) });
    return name;
  }
  sub(name: string, level: Level, metadata?: NirMeta): string {
    if (this.nodes.has(name)) throw new Error(`internal: NIR node '${name}' added twice`);
    const graph: NirGraph = { nodes: level.nodes, edges: level.edges, ...(metadata ? { metadata } : {}) };
    this.nodes.set(name, { type: "NIRGraph", params: {}, graph, ...(metadata ? { metadata } : {}) });
    return name;
  }
  edge(a: string, b: string): void {
    this.edges.push([a, b]);
  }
  /** edges a → b for every a */
  into(b: string, ...as: string[]): void {
    for (const a of as) this.edge(a, b);
  }
}

/**
 * Weights of a block-diagonal convolution: G groups, each mapping its `inPer` input channels to its
 * `outPer` output channels; `w(g, o, i, k)` is the weight of output o from input i at kernel entry k.
 * NIR 1.0's Conv2d declares its input as weight.shape[1] channels, ignoring groups, so nir.read's type
 * check rejects any groups > 1: the weights are written dense (zeros off the diagonal blocks) with
 * groups = 1 unless that would exceed `DENSE_LIMIT` entries.
 */
const DENSE_LIMIT = 1 << 22;

function blockConv(G: number, inPer: number, outPer: number, kh: number, kw: number, w: (g: number, o: number, i: number, k: number) => number): { weight: Arr; groups: number } {
  const kk = kh * kw;
  const dense = G * outPer * G * inPer * kk <= DENSE_LIMIT;
  const cin = dense ? G * inPer : inPer;
  const d = new Float32Array(G * outPer * cin * kk);
  for (let g = 0; g < G; g++)
    for (let o = 0; o < outPer; o++)
      for (let i = 0; i < inPer; i++)
        for (let k = 0; k < kk; k++) d[((g * outPer + o) * cin + (dense ? g * inPer : 0) + i) * kk + k] = w(g, o, i, k);
  return { weight: { shape: [G * outPer, cin, kh, kw], data: d }, groups: dense ? 1 : G };
}

function f64(shape: readonly number[], data: Float64Array): Arr {
  return { shape: [...shape], data };
}

/** The smallest power of two ≥ x (x > 0). */
function pow2Above(x: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(x, 1)));
}

/** Symmetric [pH, pW] from ONNX-style [top, left, bottom, right], or undefined. */
function symmetric(p: readonly number[]): [number, number] | undefined {
  return p[0] === p[2] && p[1] === p[3] ? [p[0]!, p[1]!] : undefined;
}

function safeName(s: string): string {
  const n = s.replace(/[^A-Za-z0-9_]/g, "_");
  return /^[A-Za-z_]/.test(n) ? n : `x_${n}`;
}

/** Σ_k |W_jk| per output row j (dense [N, K]) or per output channel (conv [M, C/g, kh, kw]). */
function absRowSums(w: Float32Array, rows: number): Float64Array {
  const per = w.length / rows;
  const s = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let a = 0;
    for (let k = 0; k < per; k++) a += Math.abs(w[r * per + k]!);
    s[r] = a;
  }
  return s;
}

export function exportSnnToNir(m: Module, opts: ExportOptions): ExportResult {
  const coding = m.attrs["coding"];
  if (coding !== "tsc" && coding !== "rate") throw new TsccError(fmt(M.NirExportUnsupported, ["this module", "it is not a converted spiking network (expected the snn dialect after insert-tsc-encoding or insert-rate-encoding)"]));
  if (m.inputs.length !== 1 || m.outputs.length < 1) throw new TsccError(fmt(M.NirExportUnsupported, ["this module", `it has ${m.inputs.length} inputs and ${m.outputs.length} outputs; NIR export supports one input`]));
  const problems: Diagnostic[] = [];
  for (const op of m.ops) {
    const why = unsupportedReason(op, coding);
    if (why) problems.push(fmt(M.NirExportUnsupported, [`${op.name}`, why], { loc: op.loc }));
  }
  if (problems.length) throw new TsccError(problems);
  const built = buildNetwork(m);
  const sched = schedule(built.network);
  const T = built.network.window;
  /** The op's own window (per-layer windows), the module's otherwise. */
  const Tof = (op: Op): number => sched.steps[m.ops.indexOf(op)] || T;
  const consts = new Consts();
  const top = new Level();
  const constPaths = new Map<string, string>();
  const valueIndex = new Map<Value, number>();
  m.ops.forEach((op) => valueIndex.set(op.result, built.network.nodes[m.ops.indexOf(op)]!.out));
  /** NIR node (top level) producing each IR value. */
  const producer = new Map<Value, string>();
  const inputName = safeName(m.inputs[0]!.name);
  const inShape = m.inputs[0]!.value.type.shape.slice(1);
  top.add(inputName, "Input", { shape: inShape });
  producer.set(m.inputs[0]!.value, inputName);
  const steps = sched.latency;
  /** The rate encoder's border constant: its edges mirror those of the encoder's scaling node. */
  const extraSources = new Map<string, string>();
  const record = (c: Value | undefined, path: string): void => {
    const k = c?.constant;
    if (k && !constPaths.has(k.name)) constPaths.set(k.name, path);
  };
  // Synapse ops feed populations: their NIR nodes are created when the population is, so that the bias
  // can go where the coding puts it (TSC: into V0; rate: into the synapse, every step).
  const synapseOf = new Map<Value, Op>();
  const addOf = new Map<Value, Op>();
  for (const op of m.ops) {
    if (op.name === "snn.conv" || op.name === "snn.dense" || op.name === "snn.scale") synapseOf.set(op.result, op);
    if (op.name === "snn.add") addOf.set(op.result, op);
  }
  /** The synapse ops summed into a charge value (through snn.add), in schedule term order. */
  const termsOf = (v: Value): Op[] => {
    const a = addOf.get(v);
    if (a) return [...termsOf(a.operands[0]!), ...termsOf(a.operands[1]!)];
    const s = synapseOf.get(v);
    if (!s) throw new Error("internal: a charge is not made of synapses");
    return [s];
  };
  const nameOf = (op: Op): string => {
    const base = op.name.replace(/^snn\./, "").replace("max_pool", "maxpool").replace("reshape", "flatten");
    return `${base}${m.ops.indexOf(op)}`;
  };
  /** Create the synapse nodes of a charge, edges from their sources, into `dest` (a node or subgraph). */
  const synapses = (charge: Value, dest: string, withBias: boolean): void => {
    for (const s of termsOf(charge)) {
      const name = nameOf(s);
      const src = producer.get(s.operands[0]!);
      if (!src) throw new Error(`internal: source of ${s.name} not exported`);
      const w = s.operands[1];
      const b = s.operands[2];
      const outShape = s.result.type.shape.slice(1);
      if (s.name === "snn.conv") {
        const wd = w!.constant!.data as Float32Array;
        const wShape = w!.type.shape;
        const pads = symmetric(s.ints("pads"))!;
        const bias = withBias && b ? (b.constant!.data as Float32Array) : consts.fill([wShape[0]!], 0).data;
        top.add(name, "Conv2d", {
          input_shape: s.operands[0]!.type.shape.slice(2),
          weight: { shape: wShape, data: wd },
          stride: s.ints("strides"),
          padding: pads,
          dilation: s.ints("dilations"),
          groups: s.num("group"),
          bias: { shape: [wShape[0]!], data: bias },
        });
        record(w, `${name}/weight`);
        if (withBias && b) record(b, `${name}/bias`);
      } else if (s.name === "snn.dense") {
        const wd = w!.constant!.data as Float32Array;
        if (withBias && b) {
          top.add(name, "Affine", { weight: { shape: w!.type.shape, data: wd }, bias: { shape: b.type.shape, data: b.constant!.data as Float32Array } });
          record(b, `${name}/bias`);
        } else top.add(name, "Linear", { weight: { shape: w!.type.shape, data: wd } });
        record(w, `${name}/weight`);
      } else {
        top.add(name, "Scale", { scale: consts.fill(outShape, s.num("factor")) });
      }
      top.edge(src, name);
      const extra = extraSources.get(src);
      if (extra) top.edge(extra, name);
      // Per-layer windows: a population of T steps reading a source of T_s steps weighs its charge by
      // gain T/T_s (the event engine's V += gain·I), a Scale after the synapses.
      const gain = sched.gain[m.ops.indexOf(s)] || 1;
      if (gain !== 1) {
        top.add(`${name}_gain`, "Scale", { scale: f64(outShape, new Float64Array(outShape.reduce((a, b) => a * b, 1)).fill(gain)) });
        top.edge(name, `${name}_gain`);
        top.edge(`${name}_gain`, dest);
      } else top.edge(name, dest);
    }
  };
  /** Σ of the synapses' biases per neuron, in term order (the event engine's V init), float64. */
  const biasSum = (charge: Value, shape: readonly number[]): Float64Array => {
    const n = shape.reduce((a, b) => a * b, 1);
    const out = new Float64Array(n);
    for (const s of termsOf(charge)) {
      const b = s.operands[2]?.constant?.data as Float32Array | undefined;
      if (!b) continue;
      if (s.name === "snn.conv") {
        const per = n / b.length;
        for (let c = 0; c < b.length; c++) for (let p = 0; p < per; p++) out[c * per + p]! += b[c]!;
      } else for (let j = 0; j < n; j++) out[j]! += b[j]!;
      record(s.operands[2], "metadata");
    }
    return out;
  };
  /** An upper bound of |V| over the neurons of a population of window Tp integrating `charge` (TSC). */
  const membraneBound = (charge: Value, v0: Float64Array, Tp: number): number => {
    let bound = 0;
    for (let j = 0; j < v0.length; j++) bound = Math.max(bound, Math.abs(v0[j]!));
    let syn = 0;
    for (const s of termsOf(charge)) {
      // Each term delivers gain·W̃·d with gain·d ≤ (Tp/T_source)·T_source = Tp.
      if (s.name === "snn.scale") syn += Math.abs(s.num("factor")) * Tp;
      else {
        const w = s.operands[1]!;
        const rows = absRowSums(w.constant!.data as Float32Array, w.type.shape[0]!);
        syn += Tp * Math.max(0, ...rows);
      }
    }
    return bound + syn;
  };

  for (const op of m.ops) {
    const name = nameOf(op);
    const shape = op.result.type.shape.slice(1);
    switch (op.name) {
      case "snn.conv":
      case "snn.dense":
      case "snn.scale":
      case "snn.add":
        break; // created with the population that integrates them
      case "snn.encode": {
        const scale = op.num("scale");
        const pads = op.ints("pads");
        const pv = op.attrs["pad_values"] as number[];
        const p2 = pads.length ? symmetric(pads)! : undefined;
        const C = shape[0]!;
        const T0 = Tof(op);
        if (coding === "tsc") {
          // V_raw = x·(T/λ₀) (a depthwise 1×1 conv when the encoder has a border); V0 = ½ or 0, border
          // neurons V0 = their exact interval round|floor(pv·T/λ₀).
          const k = T0 / scale;
          const pre = `${name}_scale`;
          if (p2) top.add(pre, "Conv2d", { input_shape: inShape.slice(1), ...blockConv(C, 1, 1, 1, 1, () => k), stride: [1, 1], padding: p2, dilation: [1, 1], bias: consts.fill([C], 0) });
          else top.add(pre, "Scale", { scale: consts.fill(shape, k) });
          top.edge(inputName, pre);
          const half = op.str("rounding") === "round" ? 0.5 : 0;
          const v0 = new Float64Array(shape.reduce((a, b) => a * b, 1)).fill(half);
          if (p2) {
            const [H, W] = [shape[1]!, shape[2]!];
            for (let c = 0; c < C; c++)
              for (let y = 0; y < H; y++)
                for (let x = 0; x < W; x++) {
                  if (y >= p2[0] && y < H - p2[0] && x >= p2[1] && x < W - p2[1]) continue;
                  const u = (pv[c]! * T0) / scale;
                  const d = op.str("rounding") === "floor" ? Math.floor(u) : Math.round(u);
                  v0[(c * H + y) * W + x] = d > 0 ? Math.min(d, T0) : 0;
                }
          }
          const bound = Math.max(T0 + 1, ...Array.from(v0, Math.abs)) + T0;
          top.sub(name, tscPopulation(consts, shape, 0, T0, v0, pow2Above(4 * bound + 4 * steps + 4), true), { tscc_role: "TSC input encoder: switch events of the pixels, interval round(x·T/λ₀)" });
          top.edge(pre, name);
        } else {
          // Rate coding, current mode: the analog value x/λ₀ every step (border pixels pv/λ₀).
          const pre = `${name}_scale`;
          if (p2) {
            top.add(pre, "Conv2d", { input_shape: inShape.slice(1), ...blockConv(C, 1, 1, 1, 1, () => 1 / scale), stride: [1, 1], padding: p2, dilation: [1, 1], bias: consts.fill([C], 0) });
            const [H, W] = [shape[1]!, shape[2]!];
            const border = new Float64Array(shape.reduce((a, b) => a * b, 1));
            for (let c = 0; c < C; c++)
              for (let y = 0; y < H; y++)
                for (let x = 0; x < W; x++) if (!(y >= p2[0] && y < H - p2[0] && x >= p2[1] && x < W - p2[1])) border[(c * H + y) * W + x] = pv[c]! / scale;
            top.add(`${name}_one`, "Threshold", { threshold: consts.fill(shape, NEG_MAX) });
            top.add(`${name}_border`, "Scale", { scale: f64(shape, border) });
            top.edge(inputName, pre);
            top.edge(pre, `${name}_one`);
            top.edge(`${name}_one`, `${name}_border`);
            // The synapses reading this value take both edges (pre and border): NIR adds them.
            producer.set(op.result, pre);
            extraSources.set(pre, `${name}_border`);
            break;
          }
          top.add(pre, "Scale", { scale: consts.fill(shape, 1 / scale) });
          top.edge(inputName, pre);
          producer.set(op.result, pre);
          break;
        }
        producer.set(op.result, name);
        break;
      }
      case "snn.tsc": {
        const charge = op.operands[0]!;
        const v0b = biasSum(charge, shape);
        const phi = op.num("phi");
        const v0 = new Float64Array(v0b.length);
        const win = sched.spikeWindow[valueIndex.get(op.result)!]!;
        const [a, Tp] = [win.start, win.steps];
        for (let j = 0; j < v0.length; j++) v0[j] = v0b[j]! * Tp + phi;
        const big = pow2Above(4 * membraneBound(charge, v0, Tp) + 4 * (steps + Tp) + 4);
        top.sub(name, tscPopulation(consts, shape, a, Tp, v0, big, false), { tscc_role: `TSC population: integrates its switch currents, fires in steps [${a}, ${a + Tp}) (spike 1 = +1, spike 2 = −1)` });
        synapses(charge, name, false);
        producer.set(op.result, name);
        break;
      }
      case "snn.if": {
        const theta = op.num("theta");
        const vInit = op.num("v_init") * theta;
        top.sub(name, ifPopulation(consts, shape, theta, vInit), { tscc_role: "integrate-and-fire population, reset by subtraction" });
        synapses(op.operands[0]!, name, true);
        producer.set(op.result, name);
        break;
      }
      case "snn.max_pool": {
        const src = producer.get(op.operands[0]!)!;
        const inS = op.operands[0]!.type.shape.slice(1);
        const k = op.ints("kernel_shape");
        const s = op.ints("strides");
        const p = symmetric(op.ints("pads"))!;
        if (coding === "tsc") top.sub(name, orPool(consts, inS, shape, k, s, p), { tscc_role: "TSC max pool: OR of the input switches" });
        else top.sub(name, ratePool(consts, inS, shape, k, s, p, op.ints("dilations")), { tscc_role: "rate max pool: passes the spikes of the input with the most spikes so far (the first on ties)" });
        top.edge(src, name);
        producer.set(op.result, name);
        break;
      }
      case "snn.reshape": {
        const src = producer.get(op.operands[0]!)!;
        const inS = op.operands[0]!.type.shape.slice(1);
        top.add(name, "Flatten", { start_dim: 0, end_dim: -1, input_type: inS });
        top.edge(src, name);
        producer.set(op.result, name);
        break;
      }
      case "snn.decode": {
        const charge = op.operands[0]!;
        const lambda = op.num("lambda");
        if (coding === "tsc") {
          const v0 = biasSum(charge, shape);
          const Td = Tof(op);
          for (let j = 0; j < v0.length; j++) v0[j] = v0[j]! * Td;
          top.sub(name, tscReadout(consts, shape, lambda / Td, v0), { tscc_role: "output layer: integrates, logits = λ/T·V at the end" });
          synapses(charge, name, false);
        } else {
          top.sub(name, rateReadout(consts, shape, lambda / T), { tscc_role: "output layer: integrates, logits = λ/steps·V" });
          synapses(charge, name, true);
        }
        producer.set(op.result, name);
        break;
      }
      default:
        throw new Error(`internal: ${op.name} passed the export check`);
    }
  }
  for (const o of m.outputs) {
    const src = producer.get(o.value);
    if (!src) throw new Error(`internal: output ${o.name} not exported`);
    const oname = `${safeName(o.name)}${top.nodes.has(safeName(o.name)) ? "_out" : ""}`;
    top.add(oname, "Output", { shape: o.value.type.shape.slice(1) });
    top.edge(src, oname);
  }
  const meta: NirMeta = {
    dt: 1,
    tscc: {
      version: opts.toolVersion,
      source: opts.source,
      source_sha256: opts.sourceSha256,
      coding,
      window: T,
      steps,
      dt: 1,
      input_scale: (m.attrs["input_scale"] as number | undefined) ?? 1,
      ...(Array.isArray(m.attrs["input_mean"]) ? { input_mean: JSON.stringify(m.attrs["input_mean"]) } : {}),
      ...(Array.isArray(m.attrs["input_std"]) ? { input_std: JSON.stringify(m.attrs["input_std"]) } : {}),
      input: "the raw input x (in [0, input_scale]) at every step; run `steps` steps",
      readout: "last",
      semantics: "docs/interop.md of tscc: forward Euler, dt = 1, edges deliver in the same step, an edge into a stateful node from its own strongly connected component one step late, state starts at 0",
    },
  };
  return { graph: { nodes: top.nodes, edges: top.edges, metadata: meta }, steps, constPaths };
}

/** Why an op cannot be exported, or undefined. */
function unsupportedReason(op: Op, coding: "tsc" | "rate"): string | undefined {
  switch (op.name) {
    case "snn.encode":
      if (coding === "rate" && op.str("mode") === "poisson") return "Poisson input is random; NIR graphs are deterministic (compile with the default constant-current input)";
      if (op.num("levels") > 0) return `the input is quantised to ${op.num("levels")} levels (a quantisation-aware trained network); NIR has no rounding primitive: export the TSC network, whose encoder quantises exactly`;
      if (op.ints("pads").length && !symmetric(op.ints("pads"))) return `the encoder's border ${JSON.stringify(op.ints("pads"))} is asymmetric; NIR's Conv2d pads symmetrically`;
      return undefined;
    case "snn.conv":
      if (!symmetric(op.ints("pads"))) return `pads ${JSON.stringify(op.ints("pads"))} are asymmetric; NIR's Conv2d pads symmetrically`;
      return undefined;
    case "snn.tsc":
      if (op.num("theta") !== 1) return `θ = ${op.num("theta")}; the export assumes the weight-normalised form θ = 1`;
      return undefined;
    case "snn.if":
      if (op.str("reset") !== "subtract") return "reset to zero needs a multiplication of two signals (v·spike), which NIR has no primitive for; compile with the default reset by subtraction";
      return undefined;
    case "snn.max_pool": {
      const p = op.ints("pads");
      if (!symmetric(p)) return `pads ${JSON.stringify(p)} are asymmetric; NIR's pooling pads symmetrically`;
      if (op.num("ceil_mode") === 1) return "ceil_mode has no NIR counterpart";
      if (coding === "tsc" && op.ints("dilations").some((d) => d !== 1)) return "dilated max pooling has no NIR SumPool2d counterpart";
      return undefined;
    }
    case "snn.reshape": {
      const s = op.result.type.shape;
      if (s.length !== 2) return `a reshape to ${JSON.stringify(s.slice(1))} is not a flatten; NIR's only reshape is Flatten`;
      return undefined;
    }
    case "snn.concat":
      return "NIR has no concatenation primitive";
    case "snn.dense":
    case "snn.scale":
    case "snn.add":
    case "snn.decode":
      return undefined;
    default:
      return "it is not an op of a converted spiking network";
  }
}

// ---------------------------------------------------------------------------------------------------
// The constructions (each a subgraph with one Input "input" and one Output "output")

/**
 * TSC population (or, `encoder`, the input encoder): input = Σ W̃·(switch events) (encoder: x·T/λ₀, held
 * constant), output = its own switch events. Fires in steps [a, a+T).
 */
function tscPopulation(c: Consts, S: readonly number[], a: number, T: number, v0: Float64Array, big: number, encoder: boolean): Level {
  const g = new Level();
  g.add("input", "Input", { shape: [...S] });
  if (encoder) {
    g.add("v_neg", "Scale", { scale: c.fill(S, -1) });
    g.edge("input", "v_neg");
  } else {
    g.add("current", "I", { r: c.fill(S, 1) });
    g.add("v_neg", "I", { r: c.fill(S, -1) });
    g.edge("input", "current");
    g.edge("current", "v_neg");
  }
  g.add("one", "Threshold", { threshold: c.fill(S, NEG_MAX) });
  g.edge("input", "one");
  g.add("start", "Delay", { delay: c.fill(S, a) });
  g.add("ramp", "I", { r: c.fill(S, 1) });
  g.add("start_neg", "Scale", { scale: c.fill(S, -1) });
  g.add("stop", "Delay", { delay: c.fill(S, a + T) });
  g.add("gate", "Scale", { scale: c.fill(S, big) });
  g.edge("one", "start");
  g.edge("start", "ramp");
  g.edge("start", "start_neg");
  g.edge("one", "stop");
  g.into("gate", "one", "start_neg", "stop");
  g.add("off", "Threshold", { threshold: f64(S, v0) });
  g.into("off", "ramp", "gate", "v_neg");
  g.add("off_neg", "Scale", { scale: c.fill(S, -1) });
  g.add("on", "Threshold", { threshold: c.fill(S, -0.5) });
  g.edge("off", "off_neg");
  g.edge("off_neg", "on");
  switchEvents(g, c, S);
  return g;
}

/** The subgraph's output: the switch events on(t) − on(t−1) of its level `on` (0 before the run). */
function switchEvents(g: Level, c: Consts, S: readonly number[]): void {
  g.add("on_prev", "Delay", { delay: c.fill(S, 1) });
  g.add("on_prev_neg", "Scale", { scale: c.fill(S, -1) });
  g.add("switch", "Scale", { scale: c.fill(S, 1) });
  g.add("output", "Output", { shape: [...S] });
  g.edge("on", "on_prev");
  g.edge("on_prev", "on_prev_neg");
  g.into("switch", "on", "on_prev_neg");
  g.edge("switch", "output");
}

/** TSC max pool: OR of the input switches. Input and output: switch events. */
function orPool(c: Consts, inS: readonly number[], S: readonly number[], k: readonly number[], s: readonly number[], p: readonly number[]): Level {
  const g = new Level();
  g.add("input", "Input", { shape: [...inS] });
  g.add("level", "I", { r: c.fill(inS, 1) });
  g.add("count", "SumPool2d", { kernel_size: [...k], stride: [...s], padding: [...p] });
  g.add("on", "Threshold", { threshold: c.fill(S, 0.5) });
  g.edge("input", "level");
  g.edge("level", "count");
  g.edge("count", "on");
  switchEvents(g, c, S);
  return g;
}

/** TSC output layer: logits = gain·(V_raw + v0) with V_raw the doubly integrated switch current. */
function tscReadout(c: Consts, S: readonly number[], gain: number, v0: Float64Array): Level {
  const g = new Level();
  g.add("input", "Input", { shape: [...S] });
  g.add("current", "I", { r: c.fill(S, 1) });
  g.add("membrane", "I", { r: c.fill(S, 1) });
  g.edge("input", "current");
  g.edge("current", "membrane");
  readout(g, S, gain, v0);
  return g;
}

/** Rate output layer: logits = gain·V, V = Σ_t I(t). */
function rateReadout(c: Consts, S: readonly number[], gain: number): Level {
  const g = new Level();
  g.add("input", "Input", { shape: [...S] });
  g.add("membrane", "I", { r: c.fill(S, 1) });
  g.edge("input", "membrane");
  readout(g, S, gain, undefined);
  return g;
}

/** membrane → gain·(membrane + v0) → output: Affine diag for [K], depthwise 1×1 conv for [C, H, W]. */
function readout(g: Level, S: readonly number[], gain: number, v0: Float64Array | undefined): void {
  const n = S.reduce((a, b) => a * b, 1);
  if (S.length === 1) {
    const w = new Float64Array(n * n);
    for (let j = 0; j < n; j++) w[j * n + j] = gain;
    const b = new Float64Array(n);
    if (v0) for (let j = 0; j < n; j++) b[j] = gain * v0[j]!;
    g.add("readout", "Affine", { weight: { shape: [n, n], data: w }, bias: f64([n], b) });
  } else if (S.length === 3) {
    const C = S[0]!;
    const per = n / C;
    const b = new Float64Array(C);
    if (v0) for (let ch = 0; ch < C; ch++) b[ch] = gain * v0[ch * per]!;
    const conv = blockConv(C, 1, 1, 1, 1, () => gain);
    g.add("readout", "Conv2d", { input_shape: S.slice(1), weight: { shape: conv.weight.shape, data: Float64Array.from(conv.weight.data) }, groups: conv.groups, stride: [1, 1], padding: [0, 0], dilation: [1, 1], bias: f64([C], b) });
  } else throw new Error(`internal: output of rank ${S.length}`);
  g.edge("membrane", "readout");
  g.add("output", "Output", { shape: [...S] });
  g.edge("readout", "output");
}

/** Integrate-and-fire with reset by subtraction, V starting at vInit; input = I(t), output = spikes. */
function ifPopulation(c: Consts, S: readonly number[], theta: number, vInit: number): Level {
  const g = new Level();
  g.add("input", "Input", { shape: [...S] });
  g.add("v_neg", "I", { r: c.fill(S, -1) });
  g.add("off", "Threshold", { threshold: f64(S, new Float64Array(S.reduce((a, b) => a * b, 1)).fill(vInit - theta)) });
  g.add("off_neg", "Scale", { scale: c.fill(S, -1) });
  g.add("on", "Threshold", { threshold: c.fill(S, -0.5) });
  g.add("reset", "Scale", { scale: f64(S, new Float64Array(S.reduce((a, b) => a * b, 1)).fill(-theta)) });
  g.add("output", "Output", { shape: [...S] });
  g.edge("input", "v_neg");
  g.edge("v_neg", "off");
  g.edge("off", "off_neg");
  g.edge("off_neg", "on");
  g.edge("on", "reset");
  g.edge("reset", "v_neg"); // recurrent: one step late
  g.edge("on", "output");
  return g;
}

/**
 * Rate max pool (SNN Toolbox rule): output o passes this step's spike of the input with the highest
 * spike count so far in its window (counts include this step; the first in window order on ties).
 */
function ratePool(c: Consts, inS: readonly number[], S: readonly number[], k: readonly number[], s: readonly number[], p: readonly number[], dil: readonly number[]): Level {
  const g = new Level();
  const C = inS[0]!;
  const P = k[0]! * k[1]!;
  const pairs: [number, number][] = [];
  for (let j = 0; j < P; j++) for (let q = 0; q < P; q++) if (j !== q) pairs.push([j, q]);
  const Q = pairs.length;
  const [OH, OW] = [S[1]!, S[2]!];
  const geo = { stride: [...s], padding: [...p], dilation: [...dil] };
  g.add("input", "Input", { shape: [...inS] });
  g.add("count", "I", { r: c.fill(inS, 1) });
  // diff[c, (j, q)] = count at tap j − count at tap q, per window.
  g.add("diff", "Conv2d", { input_shape: inS.slice(1), ...blockConv(C, 1, Q, k[0]!, k[1]!, (_, i, _i, t) => (t === pairs[i]![0] ? 1 : t === pairs[i]![1] ? -1 : 0)), ...geo, bias: c.fill([C * Q], 0) });
  // tap j beats tap q: count_j > count_q (q earlier: it wins ties) or count_j ≥ count_q (q later).
  const th = new Float32Array(C * Q * OH * OW);
  for (let ch = 0; ch < C; ch++) pairs.forEach(([j, q], i) => th.fill(q < j ? 0.5 : -0.5, (ch * Q + i) * OH * OW, (ch * Q + i + 1) * OH * OW));
  g.add("beats", "Threshold", { threshold: { shape: [C * Q, OH, OW], data: th } });
  // wins[c, j] = Σ_q beats[c, (j, q)]: a 1×1 conv from C·Q to C·P channels.
  g.add("wins", "Conv2d", { input_shape: [OH, OW], ...blockConv(C, Q, P, 1, 1, (_, j, i) => (pairs[i]![0] === j ? 1 : 0)), stride: [1, 1], padding: [0, 0], dilation: [1, 1], bias: c.fill([C * P], 0) });
  g.add("winner", "Threshold", { threshold: c.fill([C * P, OH, OW], P - 1.5) });
  // the input's spike at tap j of each window
  g.add("taps", "Conv2d", { input_shape: inS.slice(1), ...blockConv(C, 1, P, k[0]!, k[1]!, (_, j, _i, t) => (t === j ? 1 : 0)), ...geo, bias: c.fill([C * P], 0) });
  g.add("pass", "Threshold", { threshold: c.fill([C * P, OH, OW], 1.5) });
  g.add("merge", "Conv2d", { input_shape: [OH, OW], ...blockConv(C, P, 1, 1, 1, () => 1), stride: [1, 1], padding: [0, 0], dilation: [1, 1], bias: c.fill([C], 0) });
  g.add("output", "Output", { shape: [...S] });
  g.edge("input", "count");
  g.edge("count", "diff");
  g.edge("diff", "beats");
  g.edge("beats", "wins");
  g.edge("wins", "winner");
  g.edge("input", "taps");
  g.into("pass", "winner", "taps");
  g.edge("pass", "merge");
  g.edge("merge", "output");
  return g;
}

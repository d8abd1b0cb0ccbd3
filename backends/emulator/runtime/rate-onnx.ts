/**
 * The rate-coded baseline with its synaptic arithmetic on onnxruntime: layer by layer, each synapse group
 * is one ONNX model (written by onnx-writer.ts) applied to a layer's whole spike train at once (the time
 * steps are the batch), and the integrate-and-fire dynamics, the max-pool rule and the read-out run in
 * JavaScript step by step exactly as in rate.ts. Feed-forward with no delay means layer l's train depends
 * only on layer l−1's, so this computes the same network as the event engine, 20–50× faster on big
 * networks; the operation counts are derived from the spike counts with rate.ts's definitions
 * (synaptic additions = spikes × fan-out, current-mode input as input MACs, every neuron every step).
 *
 * Arithmetic: the charges come from onnxruntime in float32 (the event engine sums in float64), so a
 * membrane that lands within float32 rounding of θ may spike one step apart; tests bound the effect.
 */
import { Tally } from "./counters.js";
import type { Network } from "./network.js";
import { writeModel } from "./onnx-writer.js";
import { createOrtSession, type OrtModule, type OrtSession } from "./onnx-engine.js";
import { decodeValue, fanout, inputRate, planOf, splitInputs, type MaxPoolPlan, type Plan, type SynapsePlan } from "./plan.js";
import { mulberry32, poissonSeed, poolWinner } from "./rate.js";
import type { Checkpoint, RunOptions, RunResult } from "./types.js";

/** Steps per onnxruntime call (bounds the memory of one call). */
const STEPS_PER_CALL = 128;

const sessions = new WeakMap<Network, Map<number, Promise<OrtSession>>>();

function synapseModel(plan: Plan, i: number): Uint8Array {
  const net = plan.net;
  const n = net.nodes[i]!;
  const inShape = [...net.values[(n as { in: number }).in]!.shape];
  const outShape = [...net.values[n.out]!.shape];
  const inits: { name: string; dims: number[]; data: Float32Array; type: "float" }[] = [];
  let node;
  if (n.kind === "conv") {
    inits.push({ name: "w", dims: [...n.wShape], data: n.w, type: "float" });
    if (n.b) inits.push({ name: "b", dims: [n.wShape[0]], data: n.b, type: "float" });
    node = {
      op: "Conv",
      inputs: n.b ? ["x", "w", "b"] : ["x", "w"],
      outputs: ["y"],
      attrs: {
        kernel_shape: { ints: [n.wShape[2], n.wShape[3]] },
        strides: { ints: [...n.strides] },
        pads: { ints: [...n.pads] },
        dilations: { ints: [...n.dilations] },
        group: { int: n.group },
      },
    };
  } else if (n.kind === "dense") {
    const N = outShape[0]!;
    inits.push({ name: "w", dims: [N, n.w.length / N], data: n.w, type: "float" });
    if (n.b) inits.push({ name: "b", dims: [N], data: n.b, type: "float" });
    node = { op: "Gemm", inputs: n.b ? ["x", "w", "b"] : ["x", "w"], outputs: ["y"], attrs: { transB: { int: 1 } } };
  } else if (n.kind === "scale") {
    inits.push({ name: "f", dims: [], data: Float32Array.of(n.factor), type: "float" });
    node = { op: "Mul", inputs: ["x", "f"], outputs: ["y"] };
  } else throw new Error(`not a synapse node: ${n.kind}`);
  return writeModel({ nodes: [node], initializers: inits, inputs: [{ name: "x", shape: inShape }], outputs: [{ name: "y", shape: outShape }] });
}

function sessionFor(ort: OrtModule, plan: Plan, i: number, threads: number): Promise<OrtSession> {
  let m = sessions.get(plan.net);
  if (!m) sessions.set(plan.net, (m = new Map()));
  let s = m.get(i);
  if (!s) {
    s = createOrtSession(ort, synapseModel(plan, i), threads);
    m.set(i, s);
  }
  return s;
}

/** Apply synapse node i to `steps` input frames: [steps × inSize] → [steps × outSize] (bias included). */
async function applySynapse(ort: OrtModule, plan: Plan, i: number, x: Float32Array, steps: number, threads: number): Promise<Float32Array> {
  const net = plan.net;
  const n = net.nodes[i]! as { in: number; out: number };
  const inShape = net.values[n.in]!.shape;
  const outSize = plan.sizes[n.out]!;
  const inSize = plan.sizes[n.in]!;
  const s = await sessionFor(ort, plan, i, threads);
  const out = new Float32Array(steps * outSize);
  for (let t0 = 0; t0 < steps; t0 += STEPS_PER_CALL) {
    const k = Math.min(STEPS_PER_CALL, steps - t0);
    const r = await s.run({ x: new ort.Tensor("float32", x.subarray(t0 * inSize, (t0 + k) * inSize), [k, ...inShape]) });
    out.set(r["y"]!.data as Float32Array, t0 * outSize);
  }
  return out;
}

/**
 * Run a rate-coded network with its synapses on onnxruntime. `threads`: onnxruntime intra-op threads of
 * the per-layer sessions (0 = onnxruntime's default; sessions are created on a network's first run).
 */
export async function runRateOnnx(net: Network, ort: OrtModule, input: Float32Array | readonly Float32Array[], batch: number, opts: RunOptions = {}, threads = 0): Promise<RunResult> {
  if (net.coding !== "rate") throw new Error("runRateOnnx runs rate-coded networks");
  const plan = planOf(net);
  const inputs = splitInputs(plan, input, batch);
  const T = net.window;
  const nodes = net.nodes;
  const sizes = plan.sizes;
  const cps = [...new Set(opts.checkpoints ?? [])].sort((a, b) => a - b);
  for (const c of cps) if (!Number.isInteger(c) || c < 1 || c > T) throw new Error(`checkpoint ${c} is not a step in [1, ${T}]`);
  // Steps after which counts are taken: every checkpoint and the end of the run.
  const bounds = [...new Set([...cps, T])].sort((a, b) => a - b);
  const boundIndex = new Int32Array(T + 1).fill(-1);
  bounds.forEach((c, k) => (boundIndex[c] = k));
  const nb = bounds.length;
  const offset = opts.sampleOffset ?? 0;
  const outputs = plan.outputNodes.map((i) => new Float32Array(batch * sizes[nodes[i]!.out]!));
  const cpOut = cps.map(() => plan.outputNodes.map((i) => new Float32Array(batch * sizes[nodes[i]!.out]!)));
  const tallies = bounds.map(() => new Tally(nodes.length));
  const spiking = nodes.map((n) => (n.kind === "if" || (n.kind === "encode" && n.mode !== "current") ? sizes[n.out]! : 0));

  for (let b = 0; b < batch; b++) {
    // Spike trains [T × size] (1 = spike at that step), analog values [size] (current-mode input),
    // charges [T × size] or constant [size]; per spiking value its spike counts at every bound.
    const trains = new Map<number, Float32Array>();
    const analog = new Map<number, Float32Array>();
    const charges = new Map<number, Float32Array>();
    const constCharge = new Map<number, Float32Array>();
    const snaps = new Map<number, Int32Array[]>();
    /** Largest spike count of one neuron at each bound (counts only grow). */
    const topAt = new Float64Array(nb);
    const spikesAt = (v: number): number[] => snaps.get(v)!.map((c) => c.reduce((a, x) => a + x, 0));
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i]!;
      const p = plan.nodes[i]!;
      const size = sizes[n.out]!;
      switch (n.kind) {
        case "encode": {
          const ep = p as Parameters<typeof inputRate>[0];
          const x = inputs[ep.input]!;
          if (n.mode === "current") {
            const a = new Float32Array(size);
            for (let j = 0; j < size; j++) a[j] = inputRate(ep, x, b, j);
            analog.set(n.out, a);
          } else {
            const rng = mulberry32(poissonSeed(n.seed, i, offset + b));
            const prob = new Float64Array(size);
            for (let j = 0; j < size; j++) prob[j] = inputRate(ep, x, b, j);
            const tr = new Float32Array(T * size);
            const counts = new Int32Array(size);
            const snap: Int32Array[] = [];
            let top = 0;
            for (let t = 0; t < T; t++) {
              const base = t * size;
              for (let j = 0; j < size; j++) {
                if (rng() < prob[j]!) {
                  tr[base + j] = 1;
                  if (++counts[j]! > top) top = counts[j]!;
                }
              }
              const k = boundIndex[t + 1]!;
              if (k >= 0) {
                snap.push(counts.slice());
                if (top > topAt[k]!) topAt[k] = top;
              }
            }
            trains.set(n.out, tr);
            snaps.set(n.out, snap);
            spikesAt(n.out).forEach((c, k) => (tallies[k]!.spikes[i]! += c));
          }
          break;
        }
        case "reshape":
          if (trains.has(n.in)) {
            trains.set(n.out, trains.get(n.in)!);
            snaps.set(n.out, snaps.get(n.in)!);
          }
          if (analog.has(n.in)) analog.set(n.out, analog.get(n.in)!);
          break;
        case "concat": {
          const cp = p as { maps: readonly Int32Array[] };
          if (analog.has(n.ins[0]!)) {
            const out = new Float32Array(size);
            n.ins.forEach((v, k) => cp.maps[k]!.forEach((o, j) => (out[o] = analog.get(v)![j]!)));
            analog.set(n.out, out);
          } else {
            const out = new Float32Array(T * size);
            const snap = bounds.map(() => new Int32Array(size));
            n.ins.forEach((v, k) => {
              const src = trains.get(v)!;
              const map = cp.maps[k]!;
              const m = map.length;
              for (let t = 0; t < T; t++) for (let j = 0; j < m; j++) out[t * size + map[j]!] = src[t * m + j]!;
              snaps.get(v)!.forEach((c, q) => map.forEach((o, j) => (snap[q]![o] = c[j]!)));
            });
            trains.set(n.out, out);
            snaps.set(n.out, snap);
          }
          break;
        }
        case "conv":
        case "dense":
        case "scale": {
          const sp = p as SynapsePlan;
          const a = analog.get(n.in);
          if (a) {
            // Constant input current: W̃·a (+ b̃) once per sample, added every step.
            constCharge.set(n.out, await applySynapse(ort, plan, i, a, 1, threads));
            let m = 0;
            for (let j = 0; j < a.length; j++) if (a[j] !== 0) m += fanout(sp, j);
            for (const t of tallies) t.macs[i]! += m;
          } else {
            charges.set(n.out, await applySynapse(ort, plan, i, trains.get(n.in)!, T, threads));
            // Synaptic additions = spikes × fan-out, from the source's counts at each bound.
            const inSize = sizes[n.in]!;
            const snap = snaps.get(n.in)!;
            const fo = new Float64Array(inSize);
            for (let j = 0; j < inSize; j++) fo[j] = fanout(sp, j);
            snap.forEach((c, k) => {
              let syn = 0;
              for (let j = 0; j < inSize; j++) syn += c[j]! * fo[j]!;
              tallies[k]!.syn[i]! += syn;
            });
          }
          break;
        }
        case "add": {
          const x = charges.get(n.a);
          const y = charges.get(n.b);
          const ca = constCharge.get(n.a);
          const cb = constCharge.get(n.b);
          if (x || y) {
            const out = new Float32Array(T * size);
            for (let t = 0; t < T; t++) {
              for (let j = 0; j < size; j++) out[t * size + j] = (x ? x[t * size + j]! : ca![j]!) + (y ? y[t * size + j]! : cb![j]!);
            }
            charges.set(n.out, out);
          } else {
            constCharge.set(n.out, ca!.map((v, j) => v + cb![j]!));
          }
          break;
        }
        case "if": {
          const ch = charges.get(n.in) ?? expand(constCharge.get(n.in)!, T);
          const r = integrateAndFire(ch, size, T, n.vInit * n.theta, n.theta, n.reset === "zero", boundIndex);
          r.top.forEach((x, k) => (topAt[k] = Math.max(topAt[k]!, x)));
          trains.set(n.out, r.train);
          snaps.set(n.out, r.snaps);
          spikesAt(n.out).forEach((c, k) => (tallies[k]!.spikes[i]! += c));
          bounds.forEach((c, k) => (tallies[k]!.neuron[i]! += size * c));
          break;
        }
        case "decode": {
          const ch = charges.get(n.in) ?? expand(constCharge.get(n.in)!, T);
          const V = new Float64Array(size);
          const k = plan.outputNodes.indexOf(i);
          let ci = 0;
          for (let t = 0; t < T; t++) {
            const base = t * size;
            for (let j = 0; j < size; j++) V[j]! += ch[base + j]!;
            while (ci < cps.length && cps[ci] === t + 1) {
              const out = cpOut[ci]![k]!;
              for (let j = 0; j < size; j++) out[b * size + j] = decodeValue(n.lambda, V[j]!, t + 1);
              ci++;
            }
          }
          const out = outputs[k]!;
          for (let j = 0; j < size; j++) out[b * size + j] = decodeValue(n.lambda, V[j]!, T);
          bounds.forEach((c, q) => (tallies[q]!.neuron[i]! += size * c));
          break;
        }
        case "maxpool": {
          // SNN-Toolbox rule, step by step: pass the spike of the input with the highest count so far.
          const mp = p as MaxPoolPlan;
          const src = trains.get(n.in)!;
          const P = mp.win.H * mp.win.W;
          const OP = mp.win.OH * mp.win.OW;
          const inSize = sizes[n.in]!;
          const cum = new Int32Array(inSize);
          const tr = new Float32Array(T * size);
          const counts = new Int32Array(size);
          const snap: Int32Array[] = [];
          for (let t = 0; t < T; t++) {
            const ib = t * inSize;
            for (let j = 0; j < inSize; j++) cum[j]! += src[ib + j]!;
            for (let ch = 0; ch < mp.C; ch++) {
              for (let o = 0; o < OP; o++) {
                const best = poolWinner(mp.fwd, cum, o, ch * P);
                if (best >= 0 && src[ib + best] !== 0) {
                  tr[t * size + ch * OP + o] = 1;
                  counts[ch * OP + o]!++;
                }
              }
            }
            if (boundIndex[t + 1]! >= 0) snap.push(counts.slice());
          }
          trains.set(n.out, tr);
          snaps.set(n.out, snap);
          spikesAt(n.out).forEach((c, k) => (tallies[k]!.relayed[i]! += c));
          break;
        }
        default:
          break;
      }
    }
    tallies.forEach((t, k) => (t.maxPerNeuron = Math.max(t.maxPerNeuron, topAt[k]!)));
  }
  const at = (step: number): Tally => tallies[bounds.indexOf(step)]!;
  const checkpoints: Checkpoint[] | undefined = cps.length ? cps.map((step, k) => ({ step, outputs: cpOut[k]!, counters: at(step).freeze(net, batch, spiking) })) : undefined;
  return { outputs, counters: at(T).freeze(net, batch, spiking), latency: plan.sched.latency, ...(checkpoints ? { checkpoints } : {}) };
}

/**
 * IF neurons over a whole charge train [T × size]: V += I each step, spike and reset when V ≥ θ. Returns
 * the spike train, the spike counts at every bound step, and the largest count of one neuron there.
 * (A small function of its own so the engine's hottest loop is optimised on its own.)
 */
function integrateAndFire(
  ch: Float32Array,
  size: number,
  T: number,
  vInit: number,
  theta: number,
  zero: boolean,
  boundIndex: Int32Array,
): { train: Float32Array; snaps: Int32Array[]; top: number[] } {
  const V = new Float64Array(size).fill(vInit);
  const train = new Float32Array(T * size);
  const counts = new Int32Array(size);
  const snaps: Int32Array[] = [];
  const tops: number[] = [];
  let top = 0;
  for (let t = 0; t < T; t++) {
    const base = t * size;
    for (let j = 0; j < size; j++) {
      let v = V[j]! + ch[base + j]!;
      if (v >= theta) {
        v = zero ? 0 : v - theta;
        train[base + j] = 1;
        const c = ++counts[j]!;
        if (c > top) top = c;
      }
      V[j] = v;
    }
    if (boundIndex[t + 1]! >= 0) {
      snaps.push(counts.slice());
      tops.push(top);
    }
  }
  return { train, snaps, top: tops };
}

/** A constant per-step charge as a train [T × size]. */
function expand(c: Float32Array, T: number): Float32Array {
  const out = new Float32Array(T * c.length);
  for (let t = 0; t < T; t++) out.set(c, t * c.length);
  return out;
}

/**
 * The closed form of a TSC network (tsc.md §8.4) as an ONNX graph, so onnxruntime can run the fast
 * engine at ANN speed: encoder Floor(x·T/s + ½) clipped to [0, T]; synapses Conv/Gemm/Mul with bias b̃·T;
 * neurons Floor((charge + φ)/θ) clipped to [0, T]; max pool = MaxPool of intervals; decode λ·V/T.
 * The operation counts are computed inside the graph too, as scalars summed over the batch, with the
 * event engine's rules: `active.<v>` (neurons of population v with d ≥ 1), `dsum.<v>` (Σd: discharge
 * steps), `syn.<node>` (synaptic additions of a synapse group: Σ over source neurons of fan-out ·
 * (2 if 0 < d < T, 1 if d = T)). The intervals themselves are outputs `d<v>` for engine comparisons;
 * a caller fetches only what it needs.
 *
 * Arithmetic is float32 inside onnxruntime, so a pre-activation within float32 rounding of an integer may
 * floor differently from the float64 engines: such floor-boundary ties are what `tscc run --check`
 * counts when it compares engines.
 */
import onnxProto from "onnx-proto";
import type { Network, Node } from "./runtime/network.js";
import { schedule } from "./runtime/schedule.js";

const { onnx } = onnxProto;
type NodeProto = onnxProto.onnx.INodeProto;
type TensorProto = onnxProto.onnx.ITensorProto;

const FLOAT = 1;
const INT64 = 7;

/** Output name of the intervals of spikes value `v`. */
export function intervalOutput(v: number): string {
  return `d${v}`;
}

/** `counters: false` leaves the operation counts out of the graph (logits and intervals only: the window search). */
export function closedFormOnnx(net: Network, opts: { readonly counters?: boolean } = {}): Uint8Array {
  if (net.coding !== "tsc") throw new Error("closed-form ONNX exists for TSC networks only");
  // Per-layer windows: each population quantises to its own T; a synapse group's charge is scaled by its
  // gain T/T_s (folded into its weights) and carries the receiving population's bias b̃·T.
  const sched = schedule(net);
  const receiverSteps = new Array<number>(net.nodes.length).fill(net.window);
  for (const n of net.nodes) {
    if (n.kind !== "tsc" && n.kind !== "decode") continue;
    for (const t of sched.charge[n.in]!.terms) receiverSteps[t.node] = sched.steps[sched.producer[n.out]!]!;
  }
  const nodeIndex = new Map(net.nodes.map((n, i) => [n, i]));
  const scaled = (w: Float32Array, g: number): Float32Array => (g === 1 ? w : w.map((v) => v * g));
  const nodes: NodeProto[] = [];
  const inits: TensorProto[] = [];
  let counter = 0;
  const fresh = (hint: string): string => `${hint}_${counter++}`;
  const scalar = (value: number): string => {
    const name = fresh("c");
    inits.push({ name, dataType: FLOAT, dims: [], floatData: [value] });
    return name;
  };
  const tensor = (hint: string, dims: number[], data: Float32Array): string => {
    const name = fresh(hint);
    inits.push({ name, dataType: FLOAT, dims, rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) });
    return name;
  };
  const ints = (hint: string, values: number[]): string => {
    const name = fresh(hint);
    inits.push({ name, dataType: INT64, dims: [values.length], int64Data: values });
    return name;
  };
  const op = (opType: string, inputs: string[], attrs: onnxProto.onnx.IAttributeProto[] = [], out?: string): string => {
    const o = out ?? fresh(opType.toLowerCase());
    nodes.push({ opType, input: inputs, output: [o], attribute: attrs, name: fresh(opType) });
    return o;
  };
  const attrInts = (name: string, v: readonly number[]): onnxProto.onnx.IAttributeProto => ({ name, type: 7, ints: [...v] });
  const attrInt = (name: string, v: number): onnxProto.onnx.IAttributeProto => ({ name, type: 2, i: v });
  const zero = scalar(0);
  // The network's own window first (its scalar keeps its place in uniform networks' files), if any population uses it.
  const tops = new Map<number, string>(sched.steps.some((t, i) => t === net.window && (net.nodes[i]!.kind === "encode" || net.nodes[i]!.kind === "tsc")) ? [[net.window, scalar(net.window)]] : []);
  /** clip(floor(x), 0, T) */
  const quantise = (x: string, T: number): string => {
    let top = tops.get(T);
    if (!top) tops.set(T, (top = scalar(T)));
    return op("Floor", [op("Clip", [x, zero, top])]);
  };

  const names: string[] = new Array<string>(net.values.length);
  // φ goes into the bias of a synapse op whose charge feeds a neuron directly (saves an Add per layer).
  const phiOf = new Map<number, number>();
  for (const n of net.nodes) {
    if (n.kind !== "tsc") continue;
    const src = net.nodes.find((m) => m.out === n.in);
    if (src && (src.kind === "conv" || src.kind === "dense")) phiOf.set(src.out, n.phi);
  }
  const folded = new Set<number>(phiOf.keys());
  const outputs: onnxProto.onnx.IValueInfoProto[] = [];
  const valueInfo = (name: string, shape: readonly number[]): onnxProto.onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: "batch" }, ...shape.map((d) => ({ dimValue: d }))] } } },
  });
  const inputs: onnxProto.onnx.IValueInfoProto[] = [];
  for (const n of net.nodes) {
    emit(n);
    if (n.kind === "encode" || n.kind === "tsc" || n.kind === "maxpool" || n.kind === "concat") {
      // The op just emitted made this population's intervals; nothing reads its output yet.
      const last = nodes[nodes.length - 1]!;
      if (last.output![0] !== names[n.out]) throw new Error(`closed-form export: intervals of value ${n.out} are not the last op's output`);
      last.output![0] = names[n.out] = intervalOutput(n.out);
    }
  }
  function emit(n: Node): void {
    switch (n.kind) {
      case "encode": {
        const T = sched.steps[nodeIndex.get(n)!]!;
        const io = net.inputs.find((i) => i.value === n.out)!;
        const shape = net.values[n.out]!.shape;
        const pads = n.pads.length ? n.pads : [0, 0, 0, 0];
        const inShape = shape.length === 3 ? [shape[0]!, shape[1]! - pads[0]! - pads[2]!, shape[2]! - pads[1]! - pads[3]!] : [...shape];
        inputs.push(valueInfo(io.name, inShape));
        const xs = op("Mul", [io.name, scalar(T / n.scale)]);
        const rounded = n.rounding === "round" ? op("Add", [xs, scalar(0.5)]) : xs;
        let d = quantise(rounded, T);
        if (n.pads.some((p) => p !== 0)) {
          d = op("Pad", [d, ints("pads", [0, 0, pads[0]!, pads[1]!, 0, 0, pads[2]!, pads[3]!])], [{ name: "mode", type: 3, s: new TextEncoder().encode("constant") }]);
          // Border pixels encode their channel's value: add a constant border to the zero padding.
          const [c, h, w] = shape as [number, number, number];
          const border = new Float32Array(c * h * w);
          for (let ch = 0; ch < c; ch++) {
            const dv = Math.min(Math.max(n.rounding === "round" ? Math.floor(((n.padValues[ch] ?? 0) * T) / n.scale + 0.5) : Math.floor(((n.padValues[ch] ?? 0) * T) / n.scale), 0), T);
            for (let y = 0; y < h; y++) {
              for (let x = 0; x < w; x++) {
                const inside = y >= pads[0]! && y < h - pads[2]! && x >= pads[1]! && x < w - pads[3]!;
                if (!inside) border[(ch * h + y) * w + x] = dv;
              }
            }
          }
          d = op("Add", [d, tensor("border", [1, c, h, w], border)]);
        }
        names[n.out] = d;
        break;
      }
      case "conv": {
        const i0 = nodeIndex.get(n)!;
        const T = receiverSteps[i0]!;
        const [m] = n.wShape;
        const bias = new Float32Array(m).fill(phiOf.get(n.out) ?? 0);
        if (n.b) for (let i = 0; i < m; i++) bias[i]! += n.b[i]! * T;
        const f = pooledFactor({ ...n, w: scaled(n.w, sched.gain[i0]!) }, net.values[n.in]!.shape, net.values[n.out]!.shape);
        const src = f ? op("AveragePool", [names[n.in]!], [attrInts("kernel_shape", [f.s, f.s]), attrInts("strides", [f.s, f.s])]) : names[n.in]!;
        const c = f ?? { w: scaled(n.w, sched.gain[i0]!), wShape: n.wShape, strides: n.strides, pads: n.pads };
        names[n.out] = op("Conv", [src, tensor("w", [...c.wShape], c.w), tensor("b", [m], bias)], [
          attrInts("kernel_shape", [c.wShape[2], c.wShape[3]]),
          attrInts("strides", c.strides),
          attrInts("pads", [c.pads[0], c.pads[1], c.pads[2], c.pads[3]]),
          attrInts("dilations", n.dilations),
          attrInt("group", n.group),
        ]);
        break;
      }
      case "dense": {
        const i0 = nodeIndex.get(n)!;
        const T = receiverSteps[i0]!;
        const nOut = net.values[n.out]!.shape[0]!;
        const k = n.w.length / nOut;
        const bias = new Float32Array(nOut).fill(phiOf.get(n.out) ?? 0);
        if (n.b) for (let i = 0; i < nOut; i++) bias[i]! += n.b[i]! * T;
        names[n.out] = op("Gemm", [names[n.in]!, tensor("w", [nOut, k], scaled(n.w, sched.gain[i0]!)), tensor("b", [nOut], bias)], [attrInt("transB", 1)]);
        break;
      }
      case "scale":
        names[n.out] = op("Mul", [names[n.in]!, scalar(n.factor * sched.gain[nodeIndex.get(n)!]!)]);
        break;
      case "add":
        names[n.out] = op("Add", [names[n.a]!, names[n.b]!]);
        break;
      case "tsc": {
        let u = folded.has(n.in) ? names[n.in]! : op("Add", [names[n.in]!, scalar(n.phi)]);
        if (n.theta !== 1) u = op("Div", [u, scalar(n.theta)]);
        names[n.out] = quantise(u, sched.steps[nodeIndex.get(n)!]!);
        break;
      }
      case "if":
        throw new Error("rate-coded networks have no closed form");
      case "maxpool": {
        const inShape = net.values[n.in]!.shape;
        const outShape = net.values[n.out]!.shape;
        const floorH = Math.floor((inShape[1]! + n.pads[0] + n.pads[2] - n.dilations[0] * (n.kernel[0] - 1) - 1) / n.strides[0]) + 1;
        const floorW = Math.floor((inShape[2]! + n.pads[1] + n.pads[3] - n.dilations[1] * (n.kernel[1] - 1) - 1) / n.strides[1]) + 1;
        const ceil = outShape[1]! > floorH || outShape[2]! > floorW ? 1 : 0;
        names[n.out] = op("MaxPool", [names[n.in]!], [
          attrInts("kernel_shape", n.kernel),
          attrInts("strides", n.strides),
          attrInts("pads", [n.pads[0], n.pads[1], n.pads[2], n.pads[3]]),
          attrInts("dilations", n.dilations),
          attrInt("ceil_mode", ceil),
        ]);
        break;
      }
      case "reshape":
        names[n.out] = op("Reshape", [names[n.in]!, ints("shape", [0, ...net.values[n.out]!.shape])]);
        break;
      case "concat":
        names[n.out] = op("Concat", n.ins.map((v) => names[v]!), [attrInt("axis", n.axis + 1)]);
        break;
      case "decode": {
        const io = net.outputs.find((o) => o.value === n.out);
        names[n.out] = op("Mul", [names[n.in]!, scalar(n.lambda / sched.steps[nodeIndex.get(n)!]!)], [], io?.name);
        break;
      }
    }
  }
  for (const o of net.outputs) outputs.push(valueInfo(o.name, net.values[o.value]!.shape));
  // Operation counts, as float64 scalars summed over the batch. Full-size tensors are only reduced over
  // the channel axis (at most C·T per entry: exact in float32), then cast to float64 and summed there,
  // so the counts stay exact integers for any batch; per value, min(d, 1) and [d = T] are reduced once
  // to per-position sums A and S, and every synapse count is a small float64 product on them.
  const DOUBLE = 11;
  const dscalar = (value: number): string => {
    const name = fresh("c");
    inits.push({ name, dataType: DOUBLE, dims: [], doubleData: [value] });
    return name;
  };
  const scalarOut = (name: string, x: string): void => {
    op("ReduceSum", [x], [attrInt("keepdims", 0)], name);
    outputs.push({ name, type: { tensorType: { elemType: DOUBLE, shape: { dim: [] } } } });
  };
  // Without counts nothing reads them (an unused initializer makes onnxruntime print a warning).
  const counting = opts.counters !== false;
  const channelAxis = counting ? ints("axes", [1]) : "";
  const batchAxis = counting ? ints("axes", [0]) : "";
  /** Σ over batch and channels of x (a [B, C, H, W] or [B, K] tensor) in float64: [H, W], or [1]. */
  const partialSum = (x: string, rank: number): string => {
    const perSample = op("Cast", [op("ReduceSum", [x, channelAxis], [attrInt("keepdims", 0)])], [attrInt("to", DOUBLE)]);
    return op("ReduceSum", [perSample, batchAxis], [attrInt("keepdims", rank === 3 ? 0 : 1)]);
  };
  /** Reshapes do not change totals: count on the value they reshape. */
  const producer = new Map(net.nodes.map((n) => [n.out, n]));
  const base = (v: number): number => {
    for (let p = producer.get(v); p?.kind === "reshape"; p = producer.get(v)) v = p.in;
    return v;
  };
  const activeSums = new Map<number, string>();
  const activeOf = (v: number): string => {
    let a = activeSums.get(v);
    if (!a) activeSums.set(v, (a = partialSum(op("Min", [names[v]!, scalar(1)]), net.values[v]!.shape.length)));
    return a;
  };
  const events = new Map<number, string>();
  /** Per position: switch events delivered, 2·A − S (2 if 0 < d < T, 1 if d = T: spike 2 at s + T is dropped). */
  const eventsOf = (v: number): string => {
    let e = events.get(v);
    if (!e) {
      const sat = partialSum(op("Relu", [op("Sub", [names[v]!, scalar(sched.spikeWindow[v]!.steps - 1)])]), net.values[v]!.shape.length);
      events.set(v, (e = op("Sub", [op("Mul", [activeOf(v), dscalar(2)]), sat])));
    }
    return e;
  };
  net.nodes.forEach((n, i) => {
    if (!counting) return;
    if (n.kind === "encode" || n.kind === "tsc" || n.kind === "maxpool") scalarOut(`active.${n.out}`, activeOf(n.out));
    if (n.kind === "tsc") scalarOut(`dsum.${n.out}`, partialSum(names[n.out]!, net.values[n.out]!.shape.length));
    if (n.kind === "conv") {
      const [h, w] = net.values[n.in]!.shape.slice(1) as [number, number];
      const [oh, ow] = net.values[n.out]!.shape.slice(1) as [number, number];
      const count = (size: number, k: number, s: number, p: number, d: number, o: number): number[] =>
        Array.from({ length: size }, (_, y) => {
          let cnt = 0;
          for (let ky = 0; ky < k; ky++) {
            const t = y + p - ky * d;
            if (t >= 0 && t % s === 0 && t / s < o) cnt++;
          }
          return cnt;
        });
      const cy = count(h, n.wShape[2], n.strides[0], n.pads[0], n.dilations[0], oh);
      const cx = count(w, n.wShape[3], n.strides[1], n.pads[1], n.dilations[1], ow);
      const mg = n.wShape[0] / n.group;
      const fan: number[] = [];
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) fan.push(mg * cy[y]! * cx[x]!);
      const fanName = fresh("fanout");
      inits.push({ name: fanName, dataType: DOUBLE, dims: [h, w], doubleData: fan });
      scalarOut(`syn.${i}`, op("Mul", [eventsOf(n.in), fanName]));
    } else if (n.kind === "dense") {
      const nOut = net.values[n.out]!.shape[0]!;
      scalarOut(`syn.${i}`, op("Mul", [eventsOf(base(n.in)), dscalar(nOut)]));
    } else if (n.kind === "scale") {
      scalarOut(`syn.${i}`, eventsOf(base(n.in)));
    }
  });
  // Intervals of every population (for comparing engines): the tensors themselves carry the names d<v>
  // (renamed as they are made, in emit), so exposing them costs no copy.
  net.nodes.forEach((n) => {
    if (n.kind === "encode" || n.kind === "tsc" || n.kind === "maxpool" || n.kind === "concat") outputs.push(valueInfo(intervalOutput(n.out), net.values[n.out]!.shape));
  });
  const model: onnxProto.onnx.IModelProto = {
    irVersion: 7,
    producerName: "tscc",
    opsetImport: [{ domain: "", version: 13 }],
    graph: { name: "tsc_closed_form", node: nodes, initializer: inits, input: inputs, output: outputs },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}


/**
 * An average pool merged into the convolution after it (the conversion's default) leaves a kernel of
 * s×s constant blocks with stride s: conv(W', stride s, pads p·s) = conv(s²·W'[::s, ::s], stride 1, pads p)
 * ∘ AveragePool(s×s, stride s), exactly in real arithmetic. Found back from the weights, so onnxruntime
 * runs the factorised form (s² fewer multiply-adds in that layer) while every engine and every count
 * keeps the merged network. Undefined when the kernel is not of that form.
 */
export function pooledFactor(
  n: Extract<Node, { kind: "conv" }>,
  inShape: readonly number[],
  outShape: readonly number[],
): { s: number; w: Float32Array; wShape: [number, number, number, number]; strides: [number, number]; pads: [number, number, number, number] } | undefined {
  const [M, Cg, KH, KW] = n.wShape;
  const s = n.strides[0];
  if (s < 2 || n.strides[1] !== s || n.dilations[0] !== 1 || n.dilations[1] !== 1) return undefined;
  if (KH % s !== 0 || KW % s !== 0 || n.pads.some((p) => p % s !== 0)) return undefined;
  const [, H, W] = inShape as [number, number, number];
  // A remainder row or column would be read by the merged kernel but dropped by the pool.
  if (H % s !== 0 || W % s !== 0) return undefined;
  const kh = KH / s;
  const kw = KW / s;
  const [pt, pl, pb, pr] = n.pads.map((p) => p / s) as [number, number, number, number];
  const ph = H / s;
  const pw = W / s;
  if (ph + pt + pb - kh + 1 !== outShape[1] || pw + pl + pr - kw + 1 !== outShape[2]) return undefined;
  const w = new Float32Array(M * Cg * kh * kw);
  for (let mc = 0; mc < M * Cg; mc++) {
    for (let a = 0; a < kh; a++) {
      for (let b = 0; b < kw; b++) {
        const v = n.w[(mc * KH + a * s) * KW + b * s]!;
        for (let i = 0; i < s; i++) for (let j = 0; j < s; j++) if (n.w[(mc * KH + a * s + i) * KW + b * s + j] !== v) return undefined;
        w[(mc * kh + a) * kw + b] = v * s * s;
      }
    }
  }
  return { s, w, wShape: [M, Cg, kh, kw], strides: [1, 1], pads: [pt, pl, pb, pr] };
}

/**
 * Throughput of the emulator runtime engines on a small CIFAR-style VGG (random He-initialised weights,
 * uniform [0, 1] pixels; timing only, no accuracy):
 *   [3,32,32] → conv 3→32 → conv 32→32 → maxpool 2 → conv 32→64 → conv 64→64 → maxpool 2 → dense 4096→10
 * (3×3 convs, pad 1; 5 weight layers; 106 k weights; 24.5 M synaptic connections = MACs per image as an ANN).
 *
 * Reports the event engine's synaptic events (= synaptic additions) per second, on one core, and the
 * closed-form engine's images per second. Run: npx tsx bench/emulator-runtime.ts [T] [batch]
 */
import { runClosedForm, runEvent, type Network, type Node, type ValueInfo } from "../backends/emulator/runtime/index.js";
import { Rng } from "../test/support/random.js";

function vgg(T: number, seed = 1): Network {
  const rng = new Rng(seed);
  const values: ValueInfo[] = [];
  const nodes: Node[] = [];
  const val = (kind: "spikes" | "charge", shape: number[]) => (values.push({ kind, shape, name: `v${values.length}` }), values.length - 1);
  let x = val("spikes", [3, 32, 32]);
  nodes.push({ kind: "encode", out: x, scale: 1, rounding: "round", mode: "current", seed: 0, pads: [], padValues: [] });
  let [C, H] = [3, 32];
  const conv = (M: number) => {
    const fanin = C * 9;
    const w = rng.normalF32(M * fanin, Math.sqrt(2 / fanin));
    const b = new Float32Array(M).fill(0.02);
    const z = val("charge", [M, H, H]);
    nodes.push({ kind: "conv", in: x, out: z, w, wShape: [M, C, 3, 3], b, strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 });
    x = val("spikes", [M, H, H]);
    nodes.push({ kind: "tsc", in: z, out: x, theta: 1, phi: 0.5, lambda: 1 });
    C = M;
  };
  const pool = () => {
    H /= 2;
    const y = val("spikes", [C, H, H]);
    nodes.push({ kind: "maxpool", in: x, out: y, kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1] });
    x = y;
  };
  conv(32);
  conv(32);
  pool();
  conv(64);
  conv(64);
  pool();
  const flat = val("spikes", [C * H * H]);
  nodes.push({ kind: "reshape", in: x, out: flat });
  const z = val("charge", [10]);
  nodes.push({ kind: "dense", in: flat, out: z, w: rng.normalF32(10 * C * H * H, Math.sqrt(1 / (C * H * H))) });
  const y = val("charge", [10]);
  nodes.push({ kind: "decode", in: z, out: y, lambda: 1 });
  return { coding: "tsc", window: T, values, nodes, inputs: [{ name: "x", value: 0 }], outputs: [{ name: "y", value: y }] };
}

const T = Number(process.argv[2] ?? 32);
const batch = Number(process.argv[3] ?? 64);
const net = vgg(T);
const input = new Rng(2).f32(batch * 3 * 32 * 32, 0, 1);

// Event engine: a few samples (warm-up, then timed).
const evN = Math.min(batch, 8);
runEvent(net, input.subarray(0, 3 * 32 * 32), 1);
let t0 = performance.now();
const ev = runEvent(net, input.subarray(0, evN * 3 * 32 * 32), evN, { recordIntervals: true });
const evSec = (performance.now() - t0) / 1000;
const c = ev.counters;
console.log(`T = ${T} (latency ${ev.latency} steps)`);
console.log(
  `event engine: ${evN} images in ${evSec.toFixed(2)} s = ${(evN / evSec).toFixed(2)} images/s; ` +
    `${(c.synaptic_additions / evN / 1e6).toFixed(2)} M synaptic events/image → ${(c.synaptic_additions / evSec / 1e6).toFixed(1)} M synaptic events/s ` +
    `(+ ${(c.neuron_updates / evSec / 1e6).toFixed(1)} M neuron updates/s; spikes/neuron ${c.spikes_per_neuron_mean.toFixed(2)})`,
);
const active = net.values
  .map((v, id) => (v.kind === "spikes" ? ev.intervals![id]! : null))
  .filter((d): d is Uint16Array => d !== null)
  .map((d) => `${((100 * d.filter((x) => x > 0).length) / d.length).toFixed(0)}%/${((100 * d.filter((x) => x === T).length) / d.length).toFixed(0)}%`);
console.log(`active/saturated per spikes value: ${active.join(" ")}`);

// Closed form.
runClosedForm(net, input.subarray(0, 4 * 3 * 32 * 32), 4);
t0 = performance.now();
const cf = runClosedForm(net, input, batch, { recordIntervals: true });
const cfSec = (performance.now() - t0) / 1000;
console.log(`closed form: ${batch} images in ${cfSec.toFixed(2)} s = ${(batch / cfSec).toFixed(1)} images/s`);
// Agreement on the common samples (real weights: ±1 level at floor ties at most).
let mism = 0;
let tot = 0;
net.values.forEach((v, id) => {
  if (v.kind !== "spikes") return;
  const a = ev.intervals![id]!;
  const b = cf.intervals![id]!;
  for (let j = 0; j < a.length; j++, tot++) if (a[j] !== b[j]) mism++;
});
console.log(`event vs closed form: ${mism} of ${tot} intervals differ; counters equal on those samples: ${JSON.stringify(runClosedForm(net, input.subarray(0, evN * 3 * 32 * 32), evN).counters.synaptic_additions === c.synaptic_additions)}`);

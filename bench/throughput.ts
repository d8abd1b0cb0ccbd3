/**
 * Table 4 — event-engine throughput: synaptic events (= synaptic additions, from the engine's own
 * counters) per second of wall time, on one core (the main thread, with the worker pool idle), for both
 * networks: TSC at T = 32 and the rate baseline (current input, v-init 0.5) at T = 256.
 */
import { runClosedForm, runEvent, type Network } from "../backends/emulator/runtime/index.js";
import type { BenchContext } from "./lib/context.js";
import type { Dataset } from "./lib/fashion-mnist.js";
import { count, markdownTable } from "./lib/report.js";

export interface ThroughputRow {
  readonly model: string;
  readonly coding: string;
  readonly T: number;
  readonly images: number;
  readonly events: number;
  /** Median of the timed repetitions. */
  readonly seconds: number;
  /** events/s of the fastest and the slowest repetition. */
  readonly eventsPerSecondRange: [number, number];
  readonly eventsPerSecond: number;
  readonly imagesPerSecond: number;
  /** TSC: closed form and event engine gave identical logits and counters on these images. */
  readonly closedFormAgrees?: boolean;
}

/** Timed repetitions per measurement; the median is reported (this VM's speed varies from run to run). */
export const REPEATS = 3;

/**
 * Time the event engine on `n` images (after a one-image warm-up), on this thread: the median of REPEATS
 * runs, and the spread. For TSC, also check that the closed form gives the same logits and the same
 * counters on these images (the bench takes TSC counts from the closed form).
 */
export function timeEvent(net: Network, ds: Dataset, n: number): { events: number; seconds: number; min: number; max: number; closedFormAgrees?: boolean } {
  runEvent(net, ds.images.subarray(0, ds.per), 1);
  const x = ds.images.subarray(ds.per, (1 + n) * ds.per);
  const times: number[] = [];
  let r: ReturnType<typeof runEvent> | undefined;
  for (let k = 0; k < REPEATS; k++) {
    const t0 = performance.now();
    r = runEvent(net, x, n, { sampleOffset: 1 });
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  const seconds = times[Math.floor(times.length / 2)]!;
  const spread = { min: times[0]!, max: times.at(-1)! };
  r = r!;
  if (net.coding !== "tsc") return { events: r.counters.synaptic_additions, seconds, ...spread };
  const c = runClosedForm(net, x, n);
  const same = (a: Float32Array, b: Float32Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);
  const closedFormAgrees =
    same(r.outputs[0]!, c.outputs[0]!) &&
    (["synaptic_additions", "memory_reads", "neuron_updates", "spikes"] as const).every((k) => r.counters[k] === c.counters[k]);
  return { events: r.counters.synaptic_additions, seconds, ...spread, closedFormAgrees };
}

const CONFIGS = [
  { coding: "tsc", T: 32, opts: { coding: "tsc", window: "32" }, images: { "cnn-small": 100, "vgg-bn": 20 } },
  { coding: "rate", T: 256, opts: { coding: "rate", window: "256", "rate-input": "current", "v-init": "0.5" }, images: { "cnn-small": 8, "vgg-bn": 2 } },
] as const;

export async function throughputSuite(ctx: BenchContext): Promise<ThroughputRow[]> {
  const cached = ctx.rows.get("throughput") as ThroughputRow[] | undefined;
  if (cached) return cached;
  const rows: ThroughputRow[] = [];
  for (const model of ctx.opts.models) {
    for (const c of CONFIGS) {
      const n = (c.images as Record<string, number>)[model] ?? 8;
      const { network } = await ctx.conv.convert(ctx.model(model), c.opts);
      ctx.log.progress(`event engine ${model} ${c.coding} T=${c.T}`, 0, 1);
      const { events, seconds, min, max, closedFormAgrees } = timeEvent(network, ctx.ds, n);
      ctx.log.progress(`event engine ${model} ${c.coding} T=${c.T}`, 1, 1);
      rows.push({ model, coding: c.coding, T: c.T, images: n, events, seconds, eventsPerSecondRange: [events / max, events / min], eventsPerSecond: events / seconds, imagesPerSecond: n / seconds, ...(closedFormAgrees !== undefined ? { closedFormAgrees } : {}) });
    }
  }
  ctx.rows.set("throughput", rows);
  const { out } = ctx;
  out.print("### Event-engine throughput (one core)");
  out.print();
  out.print(
    markdownTable(
      ["network", "coding", "T", "images", "synaptic events", "seconds (median)", "events/s (median)", "events/s (range)", "images/s", "closed form = event engine"],
      rows.map((r) => [
        r.model,
        r.coding,
        String(r.T),
        String(r.images),
        count(r.events),
        r.seconds.toFixed(2),
        `${(r.eventsPerSecond / 1e6).toFixed(1)} M`,
        `${(r.eventsPerSecondRange[0] / 1e6).toFixed(1)}–${(r.eventsPerSecondRange[1] / 1e6).toFixed(1)} M`,
        r.imagesPerSecond.toFixed(2),
        r.closedFormAgrees === undefined ? "–" : r.closedFormAgrees ? "yes (logits and counters)" : "NO",
      ]),
    ),
  );
  out.print(`Synaptic events = synaptic additions counted by the event engine; wall time of one \`runEvent\` call over the images on the main thread (workers idle), after a one-image warm-up; median and range of ${REPEATS} repetitions.`);
  out.print();
  return rows;
}

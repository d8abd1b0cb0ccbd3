/**
 * Emulator runtime: executes a {@link Network} (network.ts). Self-contained: everything in this folder
 * imports only files of this folder and `node:` builtins, so it runs inside a compiled artifact.
 *
 * Engines
 * - `runEvent(net, input, batch, opts)`: the event engine, the reference. TSC: the §3 state machine step by
 *   step (switch events, V += I, subtractive fire phase, OR max pools), one sample at a time, counting every
 *   operation. Rate coding: the time-stepped IF baseline (rate.ts), with `checkpoints`.
 * - `runClosedForm(net, input, batch, opts)`: TSC only, the §8.4 theorem batched with im2col + GEMM in
 *   float64; counters derived analytically (equal to the event engine's); `ties` diagnostics. Throws for
 *   rate-coded networks (no closed form exists).
 * - `runOnnxClosedForm(net, ort, session, input, batch)`: the closed form as the artifact's closed-form.onnx
 *   run by onnxruntime (passed in by the caller), with the same analytic counters (onnx-engine.ts).
 * - `runRateOnnx(net, ort, input, batch, opts)`: the rate-coded baseline with each synapse group on
 *   onnxruntime over a layer's whole spike train (rate-onnx.ts); the same dynamics and counts, faster.
 * - `schedule(net)`: firing windows, integration windows and latency (schedule.ts).
 *
 * Arguments: `input` is one Float32Array per network input (`net.inputs` order; a bare array for a single
 * input), each [batch × unpadded per-sample size]. Options and results: types.ts ({@link RunOptions},
 * {@link RunResult}, {@link Counters}). `outputs[k]` is [batch × size] for `net.outputs[k]`.
 *
 * Both engines validate the network first (schedule.ts `validateNetwork`) and cache per-network
 * precomputation (transposed weights, window tables) keyed by the Network object: do not mutate a
 * network after running it.
 */
export { runEvent } from "./event.js";
export { runClosedForm } from "./closed-form.js";
export { createOrtSession, runOnnxClosedForm, type OrtModule, type OrtSession } from "./onnx-engine.js";
export { runRateOnnx } from "./rate-onnx.js";
export { runClock, type ClockNetwork, type ClockNode, type ClockResult, type ClockRunOptions, type ClockValue } from "./clock.js";
export { schedule, validateNetwork, type ChargeSchedule, type ChargeTerm, type Schedule } from "./schedule.js";
export type { Checkpoint, Counters, LayerCounters, OpCounts, RunOptions, RunResult, SpikeTimes, Trace, TraceRequest } from "./types.js";
export type * from "./network.js";
export { size, nodeInputs } from "./network.js";

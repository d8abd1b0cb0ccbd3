/** nn → snn with Temporal-Switch Coding: TSC encoder, TSC neurons, OR max-pool, residual integration. */
import { resolve } from "node:path";
import { definePass, fmt, M, type Module, type PassContext } from "../../ir/index.js";
import type { RTensor } from "../../ir/interp/tensor.js";
import { calibrationSplit, loadCalibration } from "../io/calibration.js";
import { readNpy } from "../io/npy.js";
import { labelValues } from "../run/inputs.js";
import { convertToSnn, tscCoding, type ConvertOptions } from "./snn/convert.js";
import { tuneWindows, TuneError, type TuneResult } from "./snn/tune.js";
import { parseWindows, WindowsSpecError } from "./snn/windows.js";

export const insertTscEncodingPass = definePass({
  name: "insert-tsc-encoding",
  summary: "convert the normalised ANN into a Temporal-Switch-Coded SNN (encoder, TSC neurons, OR max-pool, residual integration)",
  options: {
    window: { kind: "int", default: 32, doc: "time steps per layer window T (also the number of activation levels); with windows=auto the largest window the search may use" },
    windows: { kind: "str", default: "", doc: "per-layer windows: layer=T,… or a JSON file (layer: ONNX node name, the input's name for the encoder, or #k), or auto (tuned on held-out calibration samples)" },
    phi: { kind: "float", default: 0.5, doc: "rounding offset φ in units of θ (0.5 rounds to nearest, 0 floors)" },
    rounding: { kind: "enum", choices: ["round", "floor"], default: "round", doc: "input encoder rounding" },
    avgpool: { kind: "enum", choices: ["merge", "spike"], default: "merge", doc: "merge average pooling into the next layer (no window) or make it a spiking layer" },
    calibration: { kind: "str", default: "", doc: "windows=auto: calibration inputs (the last `holdout` samples are the tuning set)" },
    "calibration-labels": { kind: "str", default: "", doc: "windows=auto: labels (.npy) of the calibration inputs; the constraint is then top-1 accuracy, else agreement with the ANN" },
    holdout: { kind: "int", default: 500, doc: "windows=auto: tune on the last min(holdout, N/2) calibration samples (normalize-thresholds{holdout} leaves them out)" },
    tolerance: { kind: "float", default: 0.5, doc: "windows=auto: accuracy points the SNN may lose against the ANN" },
    margin: { kind: "float", default: 1, doc: "windows=auto: standard errors of the held-out estimate the tolerance must hold by (0: on the held-out samples as measured; lowered to what the network at the largest window holds)" },
    objective: { kind: "enum", choices: ["latency", "additions"], default: "latency", doc: "windows=auto: minimise the end-to-end latency Σ T_l or the synaptic additions" },
  },
  requires: ["normalized"],
  provides: ["spiking"],
  async run(m, ctx) {
    const window = ctx.options["window"] as number;
    const bad = (msg: string) => {
      ctx.diag.report(fmt(M.BadPassOption, ["insert-tsc-encoding", msg]));
      return { changed: false };
    };
    if (window < 1) return bad(`window must be at least 1 step, got ${window}`);
    const conv: Omit<ConvertOptions, "window" | "windows"> = {
      coding: tscCoding({ phi: ctx.options["phi"] as number, rounding: ctx.options["rounding"] as "round" | "floor" }),
      avgpool: ctx.options["avgpool"] as "merge" | "spike",
    };
    const spec = ctx.options["windows"] as string;
    let windows: ReadonlyMap<string, number>;
    if (spec.trim() === "auto") {
      const tuned = await tune(m, ctx, conv, window);
      if (!tuned) return { changed: false };
      windows = tuned.windows;
    } else {
      try {
        windows = parseWindows(spec, cwdOf(ctx));
      } catch (e) {
        if (!(e instanceof WindowsSpecError)) throw e;
        return bad(e.message);
      }
    }
    return { changed: convertToSnn(m, ctx, { ...conv, window, windows }) !== undefined };
  },
});

function cwdOf(ctx: PassContext): string {
  return (ctx.inputs["cwd"] as string | undefined) ?? process.cwd();
}

/** windows=auto: tune on the held-out calibration samples; the result also goes to `inputs.onTune`. */
async function tune(m: Module, ctx: PassContext, conv: Omit<ConvertOptions, "window" | "windows">, maxWindow: number): Promise<TuneResult | undefined> {
  const given = ctx.inputs["calibration"] as RTensor | undefined;
  const spec = ctx.options["calibration"] as string;
  if (!given && !spec) {
    ctx.diag.report(fmt(M.PassFailed, ["windows=auto tunes on calibration data: pass --calibration"]));
    return undefined;
  }
  const all = given ?? loadCalibration(spec, m.inputs[0]!.value.type.shape, { baseDir: cwdOf(ctx) });
  const { heldOut } = calibrationSplit(all, ctx.options["holdout"] as number);
  if (heldOut.shape[0]! < 1) {
    ctx.diag.report(fmt(M.PassFailed, [`windows=auto needs at least 2 calibration samples (half are held out for tuning), got ${all.shape[0]}`]));
    return undefined;
  }
  let labels: number[] | undefined;
  const labelSpec = ctx.options["calibration-labels"] as string;
  const givenLabels = ctx.inputs["calibrationLabels"] as RTensor | undefined;
  if (labelSpec || givenLabels) {
    const file = labelSpec || "calibration labels";
    const all2 = labelValues(givenLabels ?? readNpy(resolve(cwdOf(ctx), labelSpec)), file, all.shape[0]!);
    labels = all2.slice(all.shape[0]! - heldOut.shape[0]!);
  }
  try {
    const r = await tuneWindows(m, ctx, conv, heldOut, {
      maxWindow,
      tolerance: ctx.options["tolerance"] as number,
      margin: ctx.options["margin"] as number,
      objective: ctx.options["objective"] as "latency" | "additions",
      ...(labels ? { labels } : {}),
      log: ctx.log,
    });
    const onTune = ctx.inputs["onTune"] as ((r: TuneResult) => void) | undefined;
    onTune?.(r);
    ctx.log.info(`tuned windows in ${(r.ms / 1000).toFixed(1)} s (${r.evaluations} closed-form runs on ${r.samples} held-out samples): latency ${r.tuned.latency} steps (uniform ${maxWindow}: ${r.uniform.latency})`);
    return r;
  } catch (e) {
    if (!(e instanceof TuneError)) throw e;
    ctx.diag.report(fmt(M.PassFailed, [`windows=auto: ${e.message}`]));
    return undefined;
  }
}

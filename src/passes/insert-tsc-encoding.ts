/** nn → snn with Temporal-Switch Coding: TSC encoder, TSC neurons, OR max-pool, residual integration. */
import { definePass, fmt, M } from "../../ir/index.js";
import { convertToSnn, tscCoding } from "./snn/convert.js";
import { parseWindows, WindowsSpecError } from "./snn/windows.js";

export const insertTscEncodingPass = definePass({
  name: "insert-tsc-encoding",
  summary: "convert the normalised ANN into a Temporal-Switch-Coded SNN (encoder, TSC neurons, OR max-pool, residual integration)",
  options: {
    window: { kind: "int", default: 32, doc: "time steps per layer window T (also the number of activation levels)" },
    windows: { kind: "str", default: "", doc: "per-layer windows: layer=T,… or a JSON file (layer: ONNX node name, the input's name for the encoder, or #k)" },
    phi: { kind: "float", default: 0.5, doc: "rounding offset φ in units of θ (0.5 rounds to nearest, 0 floors)" },
    rounding: { kind: "enum", choices: ["round", "floor"], default: "round", doc: "input encoder rounding" },
    avgpool: { kind: "enum", choices: ["merge", "spike"], default: "merge", doc: "merge average pooling into the next layer (no window) or make it a spiking layer" },
  },
  requires: ["normalized"],
  provides: ["spiking"],
  run(m, ctx) {
    const window = ctx.options["window"] as number;
    if (window < 1) {
      ctx.diag.report(fmt(M.BadPassOption, ["insert-tsc-encoding", `window must be at least 1 step, got ${window}`]));
      return { changed: false };
    }
    let windows: Map<string, number>;
    try {
      windows = parseWindows(ctx.options["windows"] as string, (ctx.inputs["cwd"] as string | undefined) ?? process.cwd());
    } catch (e) {
      if (!(e instanceof WindowsSpecError)) throw e;
      ctx.diag.report(fmt(M.BadPassOption, ["insert-tsc-encoding", e.message]));
      return { changed: false };
    }
    const ok = convertToSnn(m, ctx, {
      coding: tscCoding({ phi: ctx.options["phi"] as number, rounding: ctx.options["rounding"] as "round" | "floor" }),
      window,
      windows,
      avgpool: ctx.options["avgpool"] as "merge" | "spike",
    });
    return { changed: ok };
  },
});

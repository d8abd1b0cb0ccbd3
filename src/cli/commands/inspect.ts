import { resolve } from "node:path";
import { Option, type Command } from "commander";
import { isSpikingModule, layerStats, moduleToJson, PassManager, printModule, silentLogger, type Module } from "../../../ir/index.js";
import { createRegistry, renamed, verifyLoaded } from "../../driver/compile.js";
import { loadModelAsync } from "../../driver/load-model.js";
import { CANONICALIZE } from "../../passes/index.js";
import { dotToSvg, moduleToDot } from "../graph.js";
import { collect, type Io } from "../main.js";
import { shapeText, table } from "../ui.js";

interface InspectFlags {
  passes: string;
  format: string;
  json?: boolean;
  inlineWeights?: boolean;
  plugin?: string[];
}

export function layerTable(m: Module): string {
  const stats = layerStats(m);
  const rows = stats.map((s) => [String(s.index), s.op, shapeText(s.shape), s.params, s.macs, s.onnx]);
  const total = stats.reduce((a, s) => ({ p: a.p + s.params, m: a.m + s.macs }), { p: 0, m: 0 });
  rows.push(["", "total", "", total.p, total.m, ""]);
  return table(["#", "op", "shape", "params", "MACs/sample", "ONNX node"], rows, ["r", "l", "l", "r", "r", "l"]);
}

export function inspectCommand(program: Command, io: Io): void {
  program
    .command("inspect")
    .description("show a model's IR and a per-layer table (op, shape, parameters, MACs, ONNX node)")
    .argument("<model>", "ONNX, .tir, .tir.json or .nir file")
    .option("--passes <pipeline>", "passes to run first ('none' for the raw import)", CANONICALIZE)
    .addOption(new Option("-f, --format <format>", "text (IR + table), ir, table, json, dot or svg").choices(["text", "ir", "table", "json", "dot", "svg"]).default("text"))
    .option("--json", "same as --format json")
    .option("--inline-weights", "print weights inside the IR text")
    .option("--plugin <spec>", "load a plugin; repeatable", collect)
    .action(async (model: string, f: InspectFlags) => {
      const file = resolve(io.cwd, model);
      const reg = await createRegistry(f.plugin ?? [], io.cwd);
      const loaded = await loadModelAsync(file, reg.ops).catch((e: unknown) => Promise.reject(renamed(e, file, model)));
      verifyLoaded(loaded, model);
      const m = loaded.module;
      // A spiking network (e.g. imported from NIR) is shown as it is unless passes are asked for.
      const passes = isSpikingModule(m) && f.passes === CANONICALIZE ? "none" : f.passes;
      if (passes !== "none" && passes !== "") {
        const pm = new PassManager(reg.passes);
        await pm.run(pm.parse(passes), m, { ops: reg.ops, log: silentLogger, inputs: { metadata: loaded.metadata, modelFile: file } });
      }
      const format = f.json ? "json" : f.format;
      switch (format) {
        case "json":
          io.stdout(JSON.stringify({ ir: moduleToJson(m, { inlineWeights: f.inlineWeights }), layers: layerStats(m) }, null, 2) + "\n");
          break;
        case "ir":
          io.stdout(printModule(m, { inlineWeights: f.inlineWeights }));
          break;
        case "table":
          io.stdout(layerTable(m));
          break;
        case "dot":
          io.stdout(moduleToDot(m));
          break;
        case "svg":
          io.stdout(await dotToSvg(moduleToDot(m)));
          break;
        default:
          io.stdout(printModule(m, { inlineWeights: f.inlineWeights }) + "\n" + layerTable(m));
      }
    });
}

import { writeFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { Option, type Command } from "commander";
import { moduleToJson, PassManager, printModule, silentLogger, writeWeights } from "../../../ir/index.js";
import { createRegistry, verifyLoaded } from "../../driver/compile.js";
import { dumpInstrumentation, resolveDumpList } from "../../driver/dump.js";
import { loadModel } from "../../driver/load-model.js";
import { collect, type Io } from "../main.js";
import { UsageError } from "../usage.js";
import { splitList } from "./compile.js";

interface OptFlags {
  passes: string;
  out?: string;
  emit: string;
  inlineWeights?: boolean;
  dumpIrAfter?: string;
  dumpIrBefore?: string;
  dumpDir?: string;
  plugin?: string[];
}

export function optCommand(program: Command, io: Io): void {
  program
    .command("opt")
    .description("run passes on IR (or ONNX) and print or write the result (the mlir-opt of tscc)")
    .argument("<input>", ".tir, .tir.json or ONNX file")
    .requiredOption("--passes <pipeline>", "pipeline, e.g. 'fold-batchnorm,fuse-activations'")
    .option("-o, --out <file>", "write the result here (weights go to <file without .tir>.weights.bin); default stdout")
    .addOption(new Option("--emit <format>", "output format").choices(["text", "json"]).default("text"))
    .option("--inline-weights", "write weights inside the IR")
    .option("--dump-ir-after <passes>", "print the IR after these passes (comma-separated, or all)")
    .option("--dump-ir-before <passes>", "print the IR before these passes (comma-separated, or all)")
    .option("--dump-dir <dir>", "write dumps as numbered .tir files")
    .option("--plugin <spec>", "load a plugin; repeatable", collect)
    .action(async (input: string, f: OptFlags) => {
      if (f.dumpDir && !f.dumpIrAfter && !f.dumpIrBefore) throw new UsageError("--dump-dir needs --dump-ir-after or --dump-ir-before");
      const file = resolve(io.cwd, input);
      const reg = await createRegistry(f.plugin ?? [], io.cwd);
      const loaded = loadModel(file, reg.ops);
      verifyLoaded(loaded, input);
      const pm = new PassManager(reg.passes);
      if (f.dumpIrAfter || f.dumpIrBefore) {
        pm.addInstrumentation(
          dumpInstrumentation({
            after: resolveDumpList(splitList(f.dumpIrAfter), reg.passes),
            before: resolveDumpList(splitList(f.dumpIrBefore), reg.passes),
            dir: f.dumpDir ? resolve(io.cwd, f.dumpDir) : undefined,
            write: io.stderr,
          }),
        );
      }
      await pm.run(pm.parse(f.passes), loaded.module, { ops: reg.ops, log: silentLogger, inputs: { metadata: loaded.metadata, modelFile: file } });
      // Write a copy: constants not touched by the passes are still loaded lazily from the input's
      // sidecar, which the loader finds through the original module's weights_file attribute.
      const m = loaded.module.clone();
      const inline = f.inlineWeights === true || !f.out;
      let weights: Uint8Array | undefined;
      let weightsPath: string | undefined;
      if (f.out && !inline) {
        const out = resolve(io.cwd, f.out);
        weightsPath = out.replace(/(\.tir)?(\.json)?$/, "") + ".weights.bin";
        m.attrs["weights_file"] = basename(weightsPath);
        weights = writeWeights(m);
      } else delete m.attrs["weights_file"];
      const text = f.emit === "json" ? JSON.stringify(moduleToJson(m, { inlineWeights: inline }), null, 1) + "\n" : printModule(m, { inlineWeights: inline });
      if (!f.out) {
        io.stdout(text);
        return;
      }
      if (weights && weightsPath) writeFileSync(weightsPath, weights);
      writeFileSync(resolve(io.cwd, f.out), text);
    });
}

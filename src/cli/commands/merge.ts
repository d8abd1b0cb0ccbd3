/**
 * `tscc merge part-*.json`: the counts files of the n shards of one evaluation (`tscc run … --shard i/n
 * --save-counts part-i.json`), checked to belong together and summed, reported as the metrics of one run
 * over all samples (the same table or JSON as `tscc run`, without the timing).
 */
import { resolve } from "node:path";
import type { Command } from "commander";
import { createRegistry } from "../../driver/compile.js";
import { writeFileAtomic } from "../../driver/output.js";
import { mergeCountsFiles, readCountsFile } from "../../run/counts-file.js";
import { collect, type Io } from "../main.js";
import { metricsText } from "../metrics.js";
import { UsageError } from "../usage.js";

interface MergeFlags {
  json?: boolean;
  out?: string;
  plugin?: string[];
}

export function mergeCommand(program: Command, io: Io): void {
  program
    .command("merge")
    .description("merge the counts of the shards of one evaluation (tscc run … --shard i/n --save-counts part-i.json)")
    .argument("<parts...>", "counts files, one per shard (any order)")
    .option("--json", "print the merged report as JSON")
    .option("-o, --out <file>", "also write the merged report (JSON) to this file")
    .option("--plugin <spec>", "load a plugin (for counts of a plugin backend); repeatable", collect)
    .action(async (files: string[], f: MergeFlags) => {
      if (!files.length) throw new UsageError("merge needs counts files");
      const parts = files.map((file) => readCountsFile(resolve(io.cwd, file), file));
      const { target, counts } = mergeCountsFiles(parts, files);
      const backend = (await createRegistry(f.plugin ?? [], io.cwd)).backend(target);
      if (!backend.metricsFromCounts) throw new UsageError(`backend '${target}' cannot turn counts into metrics`);
      const metrics = backend.metricsFromCounts(counts);
      const json = JSON.stringify({ samples: counts.samples, ...metrics }, null, 2) + "\n";
      if (f.out) writeFileAtomic(resolve(io.cwd, f.out), json, f.out);
      if (f.json) io.stdout(json);
      else io.stdout(`merged ${parts.length} shard${parts.length === 1 ? "" : "s"}: ${counts.samples} samples\n\n` + metricsText(metrics));
    });
}

import type { Command } from "commander";
import { createRegistry } from "../../driver/compile.js";
import { collect, type Io } from "../main.js";
import { table } from "../ui.js";

export function listCommands(program: Command, io: Io): void {
  program
    .command("passes")
    .description("list every pass with its summary and options")
    .option("--json", "as JSON")
    .option("--plugin <spec>", "load a plugin; repeatable", collect)
    .action(async (f: { json?: boolean; plugin?: string[] }) => {
      const reg = await createRegistry(f.plugin ?? [], io.cwd);
      const passes = reg.passes.all().map((p) => ({ name: p.name, summary: p.summary, options: p.options ?? {}, requires: p.requires ?? [], provides: p.provides ?? [] }));
      const aliases = reg.passes.allAliases().map(([name, pipeline]) => ({ name, pipeline, summary: reg.passes.aliasSummaries.get(name) ?? "" }));
      if (f.json) {
        io.stdout(JSON.stringify({ passes, aliases }, null, 2) + "\n");
        return;
      }
      for (const p of passes) {
        io.stdout(`${p.name}\n    ${p.summary}\n`);
        for (const [k, o] of Object.entries(p.options)) {
          const def = o.default !== undefined ? ` (default ${String(o.default)})` : "";
          const choices = o.choices ? ` [${o.choices.join("|")}]` : "";
          io.stdout(`      ${k}=<${o.kind}>${choices}${def}  ${o.doc}\n`);
        }
      }
      for (const a of aliases) io.stdout(`${a.name}  (alias)\n    ${a.pipeline}\n`);
    });

  program
    .command("backends")
    .description("list the available targets (built-in and from plugins)")
    .option("--json", "as JSON")
    .option("--plugin <spec>", "load a plugin; repeatable", collect)
    .action(async (f: { json?: boolean; plugin?: string[] }) => {
      const reg = await createRegistry(f.plugin ?? [], io.cwd);
      const list = reg.allBackends().map((b) => ({
        name: b.name,
        summary: b.summary,
        origin: reg.origins.get(b.name),
        options: b.options ?? {},
        pipeline: b.pipeline({}),
        passes: (b.passes?.() ?? []).map((p) => p.name),
        ...(b.describe ? { details: b.describe() } : {}),
      }));
      if (f.json) {
        io.stdout(JSON.stringify({ backends: list }, null, 2) + "\n");
        return;
      }
      io.stdout(table(["target", "origin", "summary"], list.map((b) => [b.name, b.origin ?? "", b.summary]), ["l", "l", "l"]));
    });

  program
    .command("ops")
    .description("list every IR op with its operands and attributes")
    .option("--json", "as JSON")
    .option("--plugin <spec>", "load a plugin; repeatable", collect)
    .action(async (f: { json?: boolean; plugin?: string[] }) => {
      const reg = await createRegistry(f.plugin ?? [], io.cwd);
      const ops = reg.ops.all().map((d) => ({ name: d.name, summary: d.summary, operands: d.operands, results: d.results, attrs: d.attrs }));
      if (f.json) {
        io.stdout(JSON.stringify({ ops }, (_k, v: unknown) => (v === Infinity ? "inf" : v === -Infinity ? "-inf" : v), 2) + "\n");
        return;
      }
      for (const d of ops) {
        io.stdout(`${d.name}(${d.operands.map((o) => `${o.name}${o.optional ? "?" : ""}${o.variadic ? "..." : ""}: ${o.type}`).join(", ")})\n    ${d.summary}\n`);
        for (const [k, a] of Object.entries(d.attrs)) io.stdout(`      ${k}: ${a.kind}${a.default !== undefined ? ` = ${String(a.default)}` : ""}  ${a.doc}\n`);
      }
    });
}

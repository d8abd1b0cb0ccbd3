/**
 * The `tscc` command line (commander). Exit codes: 0 success, 1 user error (rendered diagnostics,
 * no stack trace), 2 usage or internal error.
 */
import { writeFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { diagnosticsToJson, InternalPassError, isTsccError, printModule, renderDiagnostics, type Diagnostic } from "../../ir/index.js";
import { compileCommand } from "./commands/compile.js";
import { inspectCommand } from "./commands/inspect.js";
import { listCommands } from "./commands/list.js";
import { optCommand } from "./commands/opt.js";
import { runCommand } from "./commands/run.js";
import { VERSION } from "../version.js";
import { UsageError } from "./usage.js";

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  cwd: string;
  /** Whether stderr is an interactive terminal (progress bars). */
  tty: boolean;
}

export const processIo: Io = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  cwd: process.cwd(),
  tty: process.stderr.isTTY === true && !process.env["CI"],
};

/** Options every command accepts. */
export interface GlobalOptions {
  diagnostics?: "text" | "json";
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function buildProgram(io: Io): Command {
  const program = new Command();
  program
    .name("tscc")
    .description("Temporal-Switch-Coding compiler: ONNX ReLU networks → spiking neural networks")
    .version(VERSION, "-V, --version")
    .addOption(new Option("--diagnostics <format>", "how errors are printed").choices(["text", "json"]).default("text"))
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();
  compileCommand(program, io);
  inspectCommand(program, io);
  runCommand(program, io);
  optCommand(program, io);
  listCommands(program, io);
  for (const c of program.commands) c.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  return program;
}

function reportDiagnostics(io: Io, ds: readonly Diagnostic[], format: string | undefined): void {
  if (format === "json") io.stderr(JSON.stringify({ diagnostics: diagnosticsToJson(ds) }, null, 2) + "\n");
  else io.stderr(renderDiagnostics(ds) + "\n");
}

/** Run the CLI; resolves to the process exit code. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (e) {
    const format = (program.opts() as GlobalOptions).diagnostics;
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return 0;
      return 2;
    }
    if (e instanceof UsageError) {
      io.stderr(`tscc: ${e.message}\n`);
      return 2;
    }
    if (isTsccError(e)) {
      reportDiagnostics(io, e.diagnostics, format);
      return e.diagnostics.some((d) => d.code >= 9000) ? 2 : 1;
    }
    if (e instanceof InternalPassError) {
      const repro = "tscc-repro.tir";
      let wrote = "";
      try {
        writeFileSync(`${io.cwd}/${repro}`, `// pipeline: ${e.pipelineText}\n// failing pass: ${e.passName}\n${printModule(e.moduleBefore, { inlineWeights: true })}`);
        wrote = `; the IR before the pass is in ${repro} (replay: tscc opt ${repro} --passes ${e.passName})`;
      } catch {
        /* the reproducer is best effort */
      }
      io.stderr(`tscc: internal error in ${e.message}${wrote}\nplease report this at the tscc issue tracker\n`);
      if (process.env["TSCC_DEBUG"]) io.stderr(String((e.cause as Error)?.stack ?? e.cause) + "\n");
      return 2;
    }
    io.stderr(`tscc: internal error: ${(e as Error)?.message ?? String(e)}\nplease report this at the tscc issue tracker${process.env["TSCC_DEBUG"] ? "" : " (set TSCC_DEBUG=1 for a stack trace)"}\n`);
    if (process.env["TSCC_DEBUG"]) io.stderr(String((e as Error)?.stack) + "\n");
    return 2;
  }
}

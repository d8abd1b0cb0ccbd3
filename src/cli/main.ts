/**
 * The `tscc` command line (commander). Exit codes: 0 success, 1 user error (rendered diagnostics,
 * no stack trace), 2 usage or internal error.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Command, CommanderError, Option } from "commander";
import { diagnosticsToJson, fmt, InternalPassError, M, isTsccError, printModule, renderDiagnostics, type Diagnostic } from "../../ir/index.js";
import { compileCommand } from "./commands/compile.js";
import { inspectCommand } from "./commands/inspect.js";
import { listCommands } from "./commands/list.js";
import { optCommand } from "./commands/opt.js";
import { reportCommand } from "./commands/report.js";
import { runCommand } from "./commands/run.js";
import { tuneCommand } from "./commands/tune.js";
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
  tuneCommand(program, io);
  optCommand(program, io);
  reportCommand(program, io);
  listCommands(program, io);
  for (const c of program.commands) c.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  return program;
}

/** Whether `TSCC_DEBUG` asks for stack traces (set and not "0"/"false"). */
export function debugEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env["TSCC_DEBUG"];
  return v !== undefined && v !== "" && v !== "0" && v.toLowerCase() !== "false";
}

/** The `--diagnostics` format chosen on the command line (commands read it through their Command). */
export function diagnosticsFormat(cmd: Command): "text" | "json" {
  return (cmd.optsWithGlobals() as GlobalOptions).diagnostics === "json" ? "json" : "text";
}

export function reportDiagnostics(io: Io, ds: readonly Diagnostic[], format: string | undefined): void {
  if (format === "json") io.stderr(JSON.stringify({ diagnostics: diagnosticsToJson(ds) }, null, 2) + "\n");
  else io.stderr(renderDiagnostics(ds) + "\n");
}

const REPORT = "please report this at the tscc issue tracker";

/** Run the CLI; resolves to the process exit code. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (e) {
    const format = (program.opts() as GlobalOptions).diagnostics;
    if (e instanceof CommanderError) {
      // --help and --version succeed; help shown because no command was given is a usage error.
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return e.exitCode === 0 ? 0 : 2;
      return 2;
    }
    if (e instanceof UsageError) {
      if (format === "json") reportDiagnostics(io, [fmt(M.Usage, [e.message])], format);
      else io.stderr(`tscc: ${e.message}\n`);
      return 2;
    }
    if (isTsccError(e)) {
      reportDiagnostics(io, e.diagnostics, format);
      return e.diagnostics.some((d) => d.code >= 9000) ? 2 : 1;
    }
    const debug = debugEnabled();
    if (e instanceof InternalPassError) {
      const repro = "tscc-repro.tir";
      let wrote: string | undefined;
      try {
        writeFileSync(join(io.cwd, repro), `// pipeline: ${e.pipelineText}\n// failing pass: ${e.passName}\n${printModule(e.moduleBefore, { inlineWeights: true })}`);
        wrote = `the IR before the pass is in ${repro} (replay: tscc opt ${repro} --passes ${e.passName})`;
      } catch {
        /* the reproducer is best effort */
      }
      reportInternal(io, format, e.message, wrote, debug);
      if (debug) io.stderr(String((e.cause as Error)?.stack ?? e.cause) + "\n");
      return 2;
    }
    reportInternal(io, format, (e as Error)?.message ?? String(e), undefined, debug);
    if (debug) io.stderr(String((e as Error)?.stack ?? e) + "\n");
    return 2;
  }
}

/** An internal error (a bug, exit code 2): one message, where the reproducer is, and whom to tell. */
function reportInternal(io: Io, format: string | undefined, message: string, repro: string | undefined, debug: boolean): void {
  const hint = `${REPORT}${debug ? "" : " (set TSCC_DEBUG=1 for a stack trace)"}`;
  if (format === "json") {
    reportDiagnostics(io, [fmt(M.Internal, [message], { notes: repro ? [repro] : [], hint })], format);
    return;
  }
  io.stderr(`tscc: internal error: ${message}\n${repro ? `  ${repro}\n` : ""}${hint}\n`);
}

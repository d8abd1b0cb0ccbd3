/**
 * Run `tscc` under a pseudo-terminal (util-linux `script`), as a user at a terminal would: stderr is a
 * TTY (progress bars are drawn) and a Ctrl-C typed on the terminal (byte 0x03) reaches the process as
 * SIGINT through the terminal driver, exactly as from a keyboard.
 */
import { spawn } from "node:child_process";
import { BIN } from "../cli/support.js";

export interface PtyRun {
  /** Everything written to the terminal (stdout and stderr interleaved, as a user sees it). */
  readonly output: string;
  /** Exit code of tscc (script -e passes it through). */
  readonly code: number | null;
  /** Milliseconds from the Ctrl-C to the exit (when one was sent). */
  readonly afterInterrupt?: number;
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * `node bin/tscc.js <argv>` on a terminal in `cwd`, with CI unset. With `interruptWhen`, type Ctrl-C as
 * soon as the terminal shows that text.
 */
export function ttyTscc(argv: readonly string[], cwd: string, interruptWhen?: string, timeoutMs = 120_000): Promise<PtyRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: "xterm", COLUMNS: "120" };
  delete env["CI"];
  delete env["TSCC_DEBUG"];
  const command = [process.execPath, BIN, ...argv].map(quote).join(" ");
  const child = spawn("script", ["-qec", command, "/dev/null"], { cwd, env, stdio: ["pipe", "pipe", "pipe"] });
  let output = "";
  let sentAt: number | undefined;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`tscc ${argv.join(" ")} did not finish within ${timeoutMs} ms under a terminal; it printed:\n${output}`));
    }, timeoutMs);
    const read = (d: Buffer): void => {
      output += d.toString("utf8");
      if (interruptWhen && sentAt === undefined && output.includes(interruptWhen)) {
        sentAt = Date.now();
        child.stdin.write("\x03");
      }
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ output, code, ...(sentAt !== undefined ? { afterInterrupt: Date.now() - sentAt } : {}) });
    });
  });
}

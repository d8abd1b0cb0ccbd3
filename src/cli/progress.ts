/**
 * Progress bars with an ETA on stderr, drawn by cli-progress behind the `Logger.progress` seam that
 * passes, backends and the benchmarks already report through. A bar is drawn only on an interactive
 * terminal, and never with --quiet or --json or when CI is set: then every call is a no-op, so pipes and
 * logs get nothing. One bar at a time: a call with a different total (or a count that went back) starts
 * a new bar in place of the old one; a finished bar is cleared, so the terminal is left as it was.
 */
import cliProgress from "cli-progress";
import type { Logger } from "../../ir/index.js";
import { onInterrupt } from "../driver/interrupt.js";

/** What a progress bar writes to: process.stderr, or a stand-in in tests. */
export interface ProgressStream {
  write(s: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface ProgressLogger extends Logger {
  /** Whether bars are drawn at all. */
  readonly live: boolean;
  /** Clear a bar left on screen (a run that failed before reaching its total). */
  stop(): void;
}

/** Draw bars only on a terminal, without --quiet/--json, and not under CI. */
export function progressWanted(stream: ProgressStream, quiet: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  return !quiet && stream.isTTY === true && !env["CI"];
}

/** `83s` → `1m23s`; `4000s` → `1h07m`. */
export function formatDuration(s: number): string {
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, "0")}m`;
}

const format: cliProgress.Options["format"] = (options, params, payload: { label: string; start: number }) => {
  const bar = cliProgress.Format.BarFormat(params.progress, options);
  const eta = typeof params.eta === "number" && Number.isFinite(params.eta) && params.value > payload.start && params.value < params.total ? `  ETA ${formatDuration(params.eta)}` : "";
  return `${payload.label} [${bar}] ${Math.floor(params.progress * 100)}%  ${params.value}/${params.total}${eta}`;
};

export function progressLogger(stream: ProgressStream, live: boolean): ProgressLogger {
  let bar: cliProgress.SingleBar | undefined;
  let total = 0;
  let last = 0;
  let forget: (() => void) | undefined;
  const stop = (): void => {
    bar?.stop();
    bar = undefined;
    forget?.();
    forget = undefined;
  };
  return {
    live,
    stop,
    info(msg) {
      if (!live) return;
      if (bar) stream.write("\r\x1b[K");
      stream.write(msg + "\n");
    },
    progress(label, done, n) {
      if (!live) return;
      if (!bar || n !== total || done < last) {
        stop();
        if (done >= n) return;
        bar = new cliProgress.SingleBar({
          stream: stream as NodeJS.WritableStream,
          format,
          barsize: 30,
          clearOnComplete: true,
          hideCursor: false,
          linewrap: true,
          gracefulExit: false,
          etaBuffer: 50,
          fps: 10,
        });
        bar.start(n, done, { label, start: done });
        forget = onInterrupt(stop);
        total = n;
      } else bar.update(done, { label });
      last = done;
      if (done >= n) stop();
    },
  };
}

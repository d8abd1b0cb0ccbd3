/**
 * Ctrl-C (SIGINT) and SIGTERM for the `tscc` command. Long work yields to the event loop between chunks
 * (`yieldToEventLoop`), so the handler runs promptly: it runs the registered clean-ups (temporary
 * folders and files being written, a progress bar on screen), reports one diagnostic and exits with
 * 128 + the signal number (130 for Ctrl-C, 143 for SIGTERM, as a shell reports a killed command).
 * Outputs are only ever renamed into place whole (driver/output.ts), so nothing partial is left.
 *
 * Only the real process installs the handlers (`installInterruptHandlers`, from cli/main.ts); in-process
 * callers (tests, the programmatic API) keep Node's defaults.
 */
import { rmSync } from "node:fs";

const cleanups = new Set<() => void>();
let installed = false;

/** Run `fn` if the process is interrupted before the returned function is called. */
export function onInterrupt(fn: () => void): () => void {
  cleanups.add(fn);
  return () => void cleanups.delete(fn);
}

/** Remove `path` (file or folder) if the process is interrupted before the returned function is called. */
export function removeOnInterrupt(path: string): () => void {
  return onInterrupt(() => rmSync(path, { recursive: true, force: true }));
}

/** Run every registered clean-up, newest first (each at most once; failures are ignored). */
export function runInterruptCleanups(): void {
  for (const fn of [...cleanups].reverse()) {
    cleanups.delete(fn);
    try {
      fn();
    } catch {
      /* best effort: the process is exiting */
    }
  }
}

export const INTERRUPT_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * Exit cleanly on SIGINT/SIGTERM: clean-ups, then `report(signal)` (one diagnostic line), then exit
 * with 128 + signal. Idempotent.
 */
export function installInterruptHandlers(report: (signal: keyof typeof INTERRUPT_EXIT_CODES) => void): void {
  if (installed) return;
  installed = true;
  for (const signal of Object.keys(INTERRUPT_EXIT_CODES) as (keyof typeof INTERRUPT_EXIT_CODES)[]) {
    process.on(signal, () => {
      runInterruptCleanups();
      try {
        report(signal);
      } finally {
        process.exit(INTERRUPT_EXIT_CODES[signal]);
      }
    });
  }
}

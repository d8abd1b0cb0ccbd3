/**
 * What a fuzz target is: a generator of cases (files in a fresh folder plus the `tscc` command that
 * reads them). Every target is judged by the same oracle (case.ts): the command exits 0 or 1, a
 * failure prints only coded diagnostics (no stack trace, no internal error), writes no output, takes
 * at most 5 s and stays within the memory cap. Adding a reader to the fuzzer is one entry in
 * targets/index.ts.
 */
import type fc from "fast-check";

/** A file's bytes or text, or a symbolic link (to probe path escapes). */
export type FileContent = Uint8Array | string | { readonly symlink: string };

export interface FuzzCase {
  /** Files written into the case folder (relative paths), over the target's base files. */
  readonly files: Readonly<Record<string, FileContent>>;
  /** The tscc command (run in the case folder); its output folder, if any, is `out`. */
  readonly argv: readonly string[];
  /**
   * A second command run in the same folder once `argv` exited 0 (e.g. `run out` on the artifact `argv`
   * compiled), judged by the same oracle.
   */
  readonly then?: readonly string[];
  /** What the generator did, for reports. */
  readonly note: string;
  /** The input is hostile in a way tscc must refuse (a path escaping the model's folder): exit 0 is a finding. */
  readonly mustReject?: boolean;
}

export interface PrepareContext {
  /** A scratch folder of this fuzz process (corpus files may be written here). */
  readonly scratch: string;
}

export interface FuzzTarget<P = unknown> {
  readonly name: string;
  /** Generators and mutators, one line (docs/reliability.md and `npm run fuzz -- --list`). */
  readonly summary: string;
  /** Relative share of the case budget (slow targets get less). */
  readonly weight: number;
  /** Build the seed corpus once per fuzz process (deterministic). */
  prepare(ctx: PrepareContext): Promise<P>;
  /** Files present in every case folder before the case's own files are written. */
  base(p: P): Readonly<Record<string, FileContent>>;
  arbitrary(p: P): fc.Arbitrary<FuzzCase>;
  /** An unmutated case that must be accepted (exit 0): proves the target reaches the reader. */
  valid(p: P): FuzzCase;
  /**
   * Restore process-wide state a case may have broken, after every case whatever its verdict and
   * before the next case is generated (the NIR target reloads h5wasm after a corrupt file aborted it).
   */
  afterCase?(p: P): Promise<void>;
  /** Extra oracle after the command ran (e.g. generated code did not execute model strings). */
  check?(p: P, dir: string, c: FuzzCase, exitCode: number): Promise<string | undefined>;
}

/** Identity helper so that a target's P is inferred. */
export function defineTarget<P>(t: FuzzTarget<P>): FuzzTarget<P> {
  return t;
}

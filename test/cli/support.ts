/**
 * Helpers for the CLI and plugin tests: run `main()` in-process with a capturing Io, spawn the real
 * `bin/tscc.js` for exit codes and stack-trace checks, and make throw-away folders.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { main } from "../../src/cli/main.js";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const BIN = join(ROOT, "bin/tscc.js");
export const FIXTURES = join(ROOT, "test/fixtures/onnx");
/** A small MLP (MatMul+Add+ReLU, Gemm): input `input` [N, 20], output `output` [N, 8]. */
export const MATMUL_ADD = join(FIXTURES, "matmul_add.opset13.onnx");
/** Conv/BatchNorm/ReLU with pools: input [N, 3, 16, 16], output [N, 10]. */
export const BN_POOL = join(FIXTURES, "bn_pool.opset13.onnx");
/** Has Concat, Reshape and Softmax, which the example backend rejects. */
export const RELU6_CONCAT = join(FIXTURES, "relu6_concat.opset13.onnx");
export const EXAMPLE_PLUGIN = join(ROOT, "examples/custom-backend");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `tscc <argv>` in this process (fast); `cwd` is what the CLI resolves relative paths against. */
export async function tscc(argv: readonly string[], cwd: string): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), cwd, tty: false });
  return { code, stdout, stderr };
}

/** `node bin/tscc.js <argv>` as a child process: the real exit code and everything it prints. */
export function spawnTscc(argv: readonly string[], cwd: string, env: Record<string, string | undefined> = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...argv], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, TSCC_DEBUG: undefined, CI: "1", ...env },
    timeout: 30_000,
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A fresh empty folder under the OS temp folder (real path, so messages compare exactly). */
export function tempDir(prefix = "tscc-test-"): string {
  return realpathSync(mkdtempSync(join(tmpdir(), prefix)));
}

export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/** Names in a folder, sorted (hidden files included). */
export function listDir(dir: string): string[] {
  return readdirSync(dir).sort();
}

/** Lines that look like a JavaScript stack frame (`    at fn (file:1:2)`). */
export function stackLines(text: string): string[] {
  return text.split("\n").filter((l) => /^\s+at\s/.test(l));
}

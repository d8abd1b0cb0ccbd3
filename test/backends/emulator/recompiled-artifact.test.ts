/**
 * A process that runs an artifact, recompiles another network into the same folder and runs it again
 * (the fuzzer does this thousands of times; so may a long-lived caller of the API) runs the new
 * model.js: Node caches modules by URL, and a stale cached model.js asked the new weights.bin for
 * blobs it does not hold (found by fuzzing: "no weights named 'n1.a'").
 */
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { readNpy } from "../../../src/io/npy.js";
import { removeDir, ROOT, tempDir, tscc } from "../../cli/support.js";

let dir: string;
beforeAll(() => {
  dir = tempDir("tscc-recompiled-");
  for (const n of ["lif_chain", "misc"]) {
    copyFileSync(join(ROOT, "test/fixtures/nir", `${n}.nir`), join(dir, `${n}.nir`));
    copyFileSync(join(ROOT, "test/fixtures/nir", `${n}.input.npy`), join(dir, `${n}.npy`));
  }
});
afterAll(() => removeDir(dir));

async function compileAndRun(name: string, out: string): Promise<Float32Array> {
  const c = await tscc(["compile", `${name}.nir`, "--target", "emulator", "-o", out], dir);
  expect(c.code, c.stderr).toBe(0);
  const r = await tscc(["run", out, "--input", `${name}.npy`, "--save-output", `${out}-${name}.npy`], dir);
  expect(r.code, r.stderr).toBe(0);
  return readNpy(join(dir, `${out}-${name}.npy`)).data as Float32Array;
}

test("a NIR graph compiled into a folder that held another one runs its own network", { timeout: 60_000 }, async () => {
  const fresh = await compileAndRun("misc", "fresh");
  await compileAndRun("lif_chain", "same");
  // Same folder, another graph, same process: the outputs of a fresh folder.
  expect(await compileAndRun("misc", "same")).toEqual(fresh);
});

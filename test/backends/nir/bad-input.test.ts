/**
 * Bad NIR files: each problem is one diagnostic line naming the file, the NIR node and the problem, the
 * CLI exits with 1 and writes nothing. The files are written here with tscc's HDF5 layer (so that each
 * one breaks exactly one rule), plus truncated and non-HDF5 bytes.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Hdf5Error, hdf5Ready, readHdf5, writeHdf5, type WriteDataset, type WriteGroup } from "../../../backends/nir/hdf5.js";
import { removeDir, spawnTscc, tempDir, tscc, ROOT } from "../../cli/support.js";
import { f64, group, ints, nirRoot, str } from "../../support/nir-files.js";

let dir: string;
beforeAll(async () => {
  await hdf5Ready();
  dir = tempDir("tscc-nir-bad-");
});
afterAll(() => removeDir(dir));


type Nodes = Record<string, WriteGroup>;

function lif(n: number, over: Record<string, WriteDataset> = {}): WriteGroup {
  return group({ type: str("LIF"), tau: f64([n], 0.004), r: f64([n], 4), v_leak: f64([n], 0), v_threshold: f64([n], 1), v_reset: f64([n], 0), ...over });
}

/** Input [2] → Affine [3, 2] → LIF [3] → Output [3], with changes. */
function graph(nodes: Partial<Nodes> = {}, edges?: string[][], version = "1.0.7", meta: Record<string, WriteDataset> = { dt: f64([], 0.001) }): WriteGroup {
  const base: Nodes = {
    input: group({ type: str("Input"), shape: ints([2]) }),
    fc: group({ type: str("Affine"), weight: f64([3, 2], 0.5), bias: f64([3], 0) }),
    lif: lif(3),
    output: group({ type: str("Output"), shape: ints([3]) }),
  };
  const all = { ...base, ...nodes } as Record<string, WriteGroup | undefined>;
  const e = edges ?? [
    ["input", "fc"],
    ["fc", "lif"],
    ["lif", "output"],
  ];
  const children: Record<string, WriteGroup> = {};
  for (const [k, v] of Object.entries(all)) if (v) children[k] = v;
  return nirRoot(children, e, meta, version);
}

function file(name: string, tree: WriteGroup | Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, tree instanceof Uint8Array ? tree : writeHdf5(tree));
  return p;
}

/** Compile a bad file: exit 1, one error line naming the file (and node), nothing written. */
async function expectRejected(name: string, code: number, where: string | undefined, text: RegExp): Promise<string> {
  const out = join(dir, `${name}-out`);
  const r = await tscc(["compile", name, "--target", "emulator", "-o", out], dir);
  expect(r.code, r.stderr).toBe(1);
  const lines = r.stderr.trim().split("\n").filter((l) => !l.startsWith("  "));
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toContain(`${name}: `);
  if (where) expect(lines[0]).toContain(where);
  expect(lines[0]).toContain(`error TSCC${code}`);
  expect(lines[0]).toMatch(text);
  expect(existsSync(out)).toBe(false);
  return lines[0]!;
}

describe("bad NIR files", () => {
  it("a valid file compiles (the cases below each break one rule of it)", async () => {
    file("good.nir", graph());
    const r = await tscc(["compile", "good.nir", "--target", "emulator", "-o", join(dir, "good-out")], dir);
    expect(r.code, r.stderr).toBe(0);
  });

  it("subgraphs nested two deep compile, and their ports' declared shapes are checked (found by fuzzing)", async () => {
    const sub = (n: number, body: WriteGroup, self = false): WriteGroup =>
      group({
        type: str("NIRGraph"),
        nodes: group({ input: group({ type: str("Input"), shape: ints([n]) }), body, output: group({ type: str("Output"), shape: ints([n]) }) }),
        edges: { kind: "dataset", data: ["input", "body", "body", "output", ...(self ? ["body", "body"] : [])], shape: [self ? 3 : 2, 2] },
      });
    const nested = graph({ lif: sub(3, sub(3, lif(3), true)) });
    file("nested.nir", nested);
    const r = await tscc(["compile", "nested.nir", "--target", "emulator", "-o", join(dir, "nested-out")], dir);
    expect(r.code, r.stderr).toBe(0);
    // An edge bringing [3] into a subgraph whose Input declares [4].
    file("port.nir", graph({ lif: sub(4, lif(4), true), output: group({ type: str("Output"), shape: ints([4]) }) }));
    await expectRejected("port.nir", 1206, "node 'lif/input' (Input)", /'fc' \(Affine\) outputs \[3\], 'lif' \(Input\) takes \[4\]/);
    // `inspect` names the file as given too (it printed the absolute path).
    const shown = await tscc(["inspect", "port.nir"], dir);
    expect(shown.code).toBe(1);
    expect(shown.stderr).toMatch(/^port\.nir: node 'lif\/input'/);
  });

  it("unknown node type", async () => {
    file("unknown.nir", graph({ lif: group({ type: str("Banana"), r: f64([3]) }) }));
    await expectRejected("unknown.nir", 1204, "node 'lif' (Banana)", /unknown NIR node type 'Banana'/);
  });

  it("an edge naming a missing node", async () => {
    file("missing.nir", graph({}, [
      ["input", "fc"],
      ["fc", "lif2"],
      ["lif", "output"],
    ]));
    await expectRejected("missing.nir", 1205, undefined, /edge 'fc' → 'lif2' names 'lif2', which is not a node/);
  });

  it("shape mismatch between connected nodes", async () => {
    file("shape.nir", graph({ lif: lif(4), output: group({ type: str("Output"), shape: ints([4]) }) }));
    await expectRejected("shape.nir", 1206, "node 'lif' (LIF)", /'fc' \(Affine\) outputs \[3\], 'lif' \(LIF\) takes \[4\]/);
  });

  it("type mismatch: a vector into a 2-d convolution", async () => {
    const conv = group({ type: str("Conv2d"), weight: f64([2, 3, 1, 1]), stride: ints([1, 1]), padding: ints([0, 0]), dilation: ints([1, 1]), groups: { kind: "dataset", data: BigInt64Array.of(1n) }, bias: f64([2], 0) });
    file("rank.nir", graph({ conv, lif: undefined, output: group({ type: str("Output"), shape: ints([2]) }) }, [
      ["input", "fc"],
      ["fc", "conv"],
      ["conv", "output"],
    ]));
    await expectRejected("rank.nir", 1206, "node 'conv' (Conv2d)", /Conv2d takes \[C, H, W\], got \[3\]/);
  });

  it("an edge into an Input node", async () => {
    file("into-input.nir", graph({}, [
      ["input", "fc"],
      ["fc", "lif"],
      ["lif", "output"],
      ["lif", "input"],
    ]));
    await expectRejected("into-input.nir", 1203, "node 'input' (Input)", /enters an Input node/);
  });

  it("unsupported NIR version", async () => {
    file("version.nir", graph({}, undefined, "2.0.0"));
    await expectRejected("version.nir", 1202, undefined, /unsupported NIR version '2.0.0'/);
  });

  it("parameters of the wrong rank", async () => {
    file("wrong-rank.nir", graph({ fc: group({ type: str("Affine"), weight: f64([6], 0.5), bias: f64([3], 0) }) }));
    await expectRejected("wrong-rank.nir", 1207, "node 'fc' (Affine)", /parameter 'weight' has shape \[6\] \(rank 1\); expected rank 2/);
    file("wrong-shape.nir", graph({ lif: lif(3, { v_threshold: f64([3, 1], 1) }) }));
    await expectRejected("wrong-shape.nir", 1207, "node 'lif' (LIF)", /parameter 'v_threshold' has shape \[3, 1\]; expected \[3\] like 'tau'/);
  });

  it("a missing parameter", async () => {
    const broken = lif(3);
    delete (broken.children as Record<string, unknown>)["tau"];
    file("no-tau.nir", graph({ lif: broken }));
    await expectRejected("no-tau.nir", 1208, "node 'lif' (LIF)", /missing parameter 'tau'/);
  });

  it("truncated, non-HDF5 and empty files", async () => {
    const good = readFileSync(file("whole.nir", graph()));
    file("truncated.nir", good.subarray(0, Math.floor(good.length / 2)));
    await expectRejected("truncated.nir", 1201, undefined, /not a readable NIR file/);
    file("text.nir", new TextEncoder().encode("this is not an HDF5 file\n"));
    await expectRejected("text.nir", 1201, undefined, /not an HDF5 file/);
    file("empty.nir", new Uint8Array(0));
    await expectRejected("empty.nir", 1201, undefined, /the file is empty/);
  });

  it("a cycle through stateless nodes only (an algebraic loop)", async () => {
    file("loop.nir", graph({ back: group({ type: str("Linear"), weight: f64([2, 3], 0.5) }) }, [
      ["input", "fc"],
      ["fc", "lif"],
      ["lif", "output"],
      ["fc", "back"],
      ["back", "fc"],
    ]));
    // fc and back form a cycle with no state: fc's input would depend on itself within one step.
    await expectRejected("loop.nir", 1210, undefined, /algebraic loop/);
  });

  it("a delay that is not a whole number of steps, and no time step at all", async () => {
    const delay = group({ type: str("Delay"), delay: f64([3], 0.0025) });
    file("delay.nir", graph({ delay }, [
      ["input", "fc"],
      ["fc", "delay"],
      ["delay", "lif"],
      ["lif", "output"],
    ]));
    await expectRejected("delay.nir", 1209, "node 'delay' (Delay)", /0.0025 is not a whole number of steps of dt = 0.001/);
    file("no-dt.nir", graph({}, undefined, "1.0.7", {}));
    await expectRejected("no-dt.nir", 1211, "node 'lif' (LIF)", /no time step.*--dt/);
    // ... which --dt supplies.
    const r = await tscc(["compile", "no-dt.nir", "--target", "emulator", "--dt", "0.001", "-o", join(dir, "dt-out")], dir);
    expect(r.code, r.stderr).toBe(0);
  });

  it("the real binary exits with 1 and prints no stack trace", () => {
    const r = spawnTscc(["compile", join(dir, "unknown.nir"), "--target", "nir", "-o", join(dir, "x.nir")], ROOT);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error TSCC1204/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(dir, "x.nir"))).toBe(false);
  });
});

describe("corrupted bytes", () => {
  it("a corrupt variable-length string length fails without growing the HDF5 heap to 2 GiB (found by fuzzing)", async () => {
    // Before the heap cap libhdf5 allocated what the corrupt length claimed: Emscripten grew its heap to
    // the 2 GiB limit (tens of seconds, ~2 GB resident) before aborting.
    const before = process.memoryUsage().rss;
    expect(() => readHdf5(join(ROOT, "test/fixtures/fuzz/nir-vlen-length-corrupt/model.nir"))).toThrow(Hdf5Error);
    expect(process.memoryUsage().rss - before).toBeLessThan(1 << 30);
    await hdf5Ready();
  });

  it("every corrupted file is one coded diagnostic (or reads), and the reader keeps working after libhdf5 aborts", async () => {
    const { readNirFile } = await import("../../../backends/nir/format.js");
    const { isTsccError } = await import("../../../ir/index.js");
    const { Rng } = await import("../../support/random.js");
    const good = readFileSync(join(ROOT, "test/fixtures/nir/lif_chain.v107.nir"));
    const rng = new Rng(5);
    const codes = new Map<number, number>();
    let aborted = 0;
    for (let i = 0; i < 24; i++) {
      const b = Buffer.from(good);
      for (let k = 0; k < 1 + (i % 8); k++) b[rng.int(0, b.length - 1)] = rng.int(0, 255);
      const f = join(dir, `flip${i}.nir`);
      writeFileSync(f, b);
      try {
        readNirFile(f);
        codes.set(0, (codes.get(0) ?? 0) + 1);
      } catch (e) {
        if (!isTsccError(e)) throw e;
        expect(e.diagnostics).toHaveLength(1);
        const c = e.diagnostics[0]!.code;
        expect(c >= 1201 && c <= 1211, e.message).toBe(true);
        codes.set(c, (codes.get(c) ?? 0) + 1);
        if (/aborted/.test(e.diagnostics[0]!.message)) aborted++;
      }
      await hdf5Ready(); // a fresh libhdf5 instance if the last one aborted
    }
    expect(codes.get(1201) ?? 0).toBeGreaterThan(0);
    expect(aborted, "no libhdf5 abort among these files: the recovery went untested").toBeGreaterThan(0);
    expect(readNirFile(join(ROOT, "test/fixtures/nir/lif_chain.nir")).graph.nodes.size).toBe(6);
  });
});

/**
 * Importing NIR files written by NIR's own library (test/fixtures/nir, made by make_fixtures.py): both
 * layouts (gzip datasets from NIR main, plain ones from v1.0.7) read to the same graph, and the emulator's
 * clock engine reproduces the fixtures' independent numpy simulation exactly. Files tscc wrote come back as
 * the converted network; edited ones as primitives, with a note. If NIR's Python package is importable
 * (PYTHONPATH or TSCC_NIR_PYTHONPATH), nir.read must accept what tscc writes.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { builtinOps, verifyModule } from "../../../ir/index.js";
import { buildClockNetwork } from "../../../backends/emulator/clock-network.js";
import { runClock } from "../../../backends/emulator/runtime/clock.js";
import { nirFileTree, readNirFile, type NirArray, type NirMeta } from "../../../backends/nir/format.js";
import { writeHdf5 } from "../../../backends/nir/hdf5.js";
import { graphDifference } from "../../../backends/nir/roundtrip.js";
import { compile } from "../../../src/driver/compile.js";
import { importNirFile, nirReady } from "../../../src/frontend/nir/import.js";
import { readNpy } from "../../../src/io/npy.js";
import { ROOT } from "../../cli/support.js";
import { simulateNir } from "../../support/nir-reference.js";

const FIX = join(ROOT, "test/fixtures/nir");
const NAMES = ["lif_chain", "conv_if", "recurrent", "misc"];
const tmp = mkdtempSync(join(tmpdir(), "tscc-nir-imp-"));

beforeAll(async () => {
  await nirReady();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("files written by NIR's nir.write", () => {
  it.each(NAMES)("%s: the gzip (NIR main) and plain (v1.0.7) layouts read to the same graph", (name) => {
    const a = readNirFile(join(FIX, `${name}.nir`));
    const b = readNirFile(join(FIX, `${name}.v107.nir`));
    expect([a.version, b.version]).toEqual(["1.0.8.dev9", "1.0.7"]);
    expect(graphDifference(a.graph, b.graph)).toBeUndefined();
  });

  it.each(NAMES)("%s: the clock engine reproduces the numpy simulation exactly", (name) => {
    const r = importNirFile(join(FIX, `${name}.nir`), builtinOps());
    expect(r.restored).toBe(false);
    expect(verifyModule(r.module)).toEqual([]);
    const net = buildClockNetwork(r.module, r.module.attrs["nir.dt"] as number);
    const x = readNpy(join(FIX, `${name}.input.npy`));
    const want = readNpy(join(FIX, `${name}.expected.npy`)).data as Float64Array;
    const out = runClock(net, x.data as Float32Array, x.shape[1]!).outputs[0]!;
    expect(out.length).toBe(want.length);
    for (let i = 0; i < want.length; i++) if (out[i] !== want[i]) expect(`[${i}] ${out[i]}`).toBe(`[${i}] ${want[i]}`);
    expect(want.some((v) => v !== 0)).toBe(true);
  });

  it.each(NAMES)("%s: re-exported by tscc (--target nir), it still computes the same", async (name) => {
    const r = await compile({ model: join(FIX, `${name}.nir`), target: "nir" });
    const file = join(tmp, `${name}-again.nir`);
    writeFileSync(file, r.files.get("model.nir")!);
    const g = readNirFile(file).graph;
    const dt = (g.metadata as NirMeta)["dt"] as number;
    const x = readNpy(join(FIX, `${name}.input.npy`));
    const want = readNpy(join(FIX, `${name}.expected.npy`)).data as Float64Array;
    const [T, B] = [x.shape[0]!, x.shape[1]!];
    const per = x.data.length / (T * B);
    const k = want.length / (T * B);
    for (let b = 0; b < B; b++) {
      const out = simulateNir(g, dt, T, (t) => (x.data as Float32Array).subarray((t * B + b) * per, (t * B + b + 1) * per)).outputs.get("output")!;
      for (let t = 0; t < T; t++) expect(Array.from(out[t]!)).toEqual(Array.from(want.subarray((t * B + b) * k, (t * B + b + 1) * k)));
    }
  });

  it("a recurrent subgraph (snnTorch's RSynaptic) becomes a nir.prev / nir.feed pair", () => {
    const m = importNirFile(join(FIX, "recurrent.nir"), builtinOps()).module;
    const prev = m.ops.filter((op) => op.name === "nir.prev");
    const feed = m.ops.filter((op) => op.name === "nir.feed");
    expect(prev).toHaveLength(1);
    expect(feed).toHaveLength(1);
    expect(feed[0]!.operands[0]!.op!.loc).toEqual({ kind: "nir", node: "rsyn/w_rec", nodeType: "Linear" });
  });
});

describe("files written by tscc", () => {
  it("come back as the converted network; edited ones as NIR primitives with a note", async () => {
    const ex = join(ROOT, "examples/fashion-mnist");
    const r = await compile({ model: join(ex, "cnn-small.onnx"), target: "nir", backendOptions: { window: "4", calibration: join(ex, "calib-images.npy"), "calibration-limit": "100" } });
    const file = join(tmp, "cs.nir");
    writeFileSync(file, r.files.get("model.nir")!);
    const back = importNirFile(file, builtinOps());
    expect(back.restored).toBe(true);
    expect(back.module.ops.map((op) => op.name)).toEqual(r.module.ops.map((op) => op.name));
    // Another tool retrains one weight: the graph no longer is tscc's export of the embedded IR.
    const f = readNirFile(file);
    const w = f.graph.nodes.get("dense10")!.params["weight"] as NirArray;
    const edited = Float32Array.from(w.data);
    edited[0] = edited[0]! + 0.5;
    const nodes = new Map(f.graph.nodes);
    nodes.set("dense10", { ...f.graph.nodes.get("dense10")!, params: { weight: { shape: w.shape, data: edited } } });
    const file2 = join(tmp, "edited.nir");
    writeFileSync(file2, writeHdf5(nirFileTree({ version: f.version, graph: { ...f.graph, nodes } })));
    const prim = importNirFile(file2, builtinOps());
    expect(prim.restored).toBe(false);
    expect(prim.module.ops.some((op) => op.name === "nir.conv2d")).toBe(true);
    expect(prim.notes.map((d) => `${d.code} ${d.message}`)).toEqual([expect.stringMatching(/^1212 written by tscc but imported as NIR primitives: the tscc IR in its metadata does not match the graph \(constant 'fc2.snn.w' differs from the graph's data\)/)]);
    expect(prim.module.attrs["nir.dt"]).toBe(1);
  });
});

/** NIR's Python package, when importable (e.g. PYTHONPATH=/path/to/NIR or TSCC_NIR_PYTHONPATH). */
function pythonNir(): { env: NodeJS.ProcessEnv } | undefined {
  const env = { ...process.env, ...(process.env["TSCC_NIR_PYTHONPATH"] ? { PYTHONPATH: process.env["TSCC_NIR_PYTHONPATH"] } : {}) };
  const r = spawnSync("/usr/bin/python3", ["-c", "import nir, h5py"], { env, encoding: "utf8" });
  return r.status === 0 ? { env } : undefined;
}

const py = pythonNir();

describe.skipIf(!py)("NIR's own reader (nir.read, with its type check) on tscc's files [needs the nir Python package]", () => {
  it.each(["tsc", "rate"])("%s export of cnn-small", async (coding) => {
    const ex = join(ROOT, "examples/fashion-mnist");
    const r = await compile({ model: join(ex, "cnn-small.onnx"), target: "nir", backendOptions: { coding, window: coding === "tsc" ? "4" : "16", calibration: join(ex, "calib-images.npy"), "calibration-limit": "100" } });
    const file = join(tmp, `py-${coding}.nir`);
    writeFileSync(file, r.files.get("model.nir")!);
    const script = "import sys, nir\ng = nir.read(sys.argv[1])\nprint(len(g.nodes), len(g.edges), g.metadata['tscc']['coding'])";
    const out = spawnSync("/usr/bin/python3", ["-c", script, file], { env: py!.env, encoding: "utf8" });
    expect(out.stderr).toBe("");
    const f = readNirFile(file);
    expect(out.stdout.trim()).toBe(`${f.graph.nodes.size} ${f.graph.edges.length} ${(f.graph.metadata!["tscc"] as NirMeta)["coding"]}`);
  });
});

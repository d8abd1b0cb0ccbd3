/**
 * `tscc report` without a browser: the page is one self-contained file with every section, written the
 * same way twice; its per-layer attribution adds up to `tscc run`'s totals; fan-in/out are the
 * hand-counted connection numbers; the encoder's spike-time histogram is the histogram of round(x·T);
 * large Loihi mappings are drawn per chip; --format png writes the figures; bad input is one line.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { energyPj, ENERGY_SETS } from "../../backends/emulator/energy.js";
import type { LayerCounters } from "../../backends/emulator/runtime/types.js";
import { encodeNpy, parseNpy } from "../../src/io/npy.js";
import { loadArtifact, type LoihiFiles } from "../../src/report/artifact.js";
import { layerRows } from "../../src/report/layers.js";
import { CORE_MAP_MAX, loihiFigures, TRAFFIC_CELLS } from "../../src/report/loihi.js";
import { chartSvg } from "../../src/report/render.js";
import { simulateSample } from "../../src/report/sample.js";
import { NetBuilder } from "../backends/emulator/runtime/net-builder.js";
import { removeDir, stackLines, tempDir, tscc } from "../cli/support.js";
import { buildFixture, type Fixture } from "./support.js";

let fx: Fixture;
let dir: string;

beforeAll(async () => {
  dir = tempDir("tscc-report-");
  fx = await buildFixture(dir, "small", 8);
}, 180_000);
afterAll(() => removeDir(dir));

function sectionIds(html: string): string[] {
  return [...html.matchAll(/<section id="([^"]+)">/g)].map((m) => m[1]!);
}

async function report(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return tscc(["report", ...args], dir);
}

describe("the HTML page", () => {
  let html: string;
  beforeAll(async () => {
    const r = await report([fx.tsc, fx.rate, "--input", fx.x, "--labels", fx.y, "--sweep", fx.tscSweep, "--sweep", fx.rateSweep, "-o", "pair.html"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^report: wrote pair\.html \(\d+ KB, \d+ figures\)\n$/);
    html = readFileSync(join(dir, "pair.html"), "utf8");
  }, 120_000);

  test("has every section, side by side for two artifacts", () => {
    expect(sectionIds(html)).toEqual(["summary", "network", "raster", "spike-times", "membrane", "sweep"]);
    expect(html).toContain('<div class="cols">');
    expect(html.match(/<figure id="fig-(tsc|rate)-raster">/g)).toHaveLength(2);
  });

  test("is self-contained: no script, no external resource, a CSP that forbids fetching", () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\s(src|href)="(https?:)?\/\//i);
    expect(html).not.toMatch(/url\((['"]?)https?:/i);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
    for (const f of html.match(/<figure id="[^"]+">[\s\S]*?<\/figure>/g)!) expect(f).toMatch(/<svg[\s>]/);
  });

  test("ids are unique across figures", () => {
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]!);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test("is byte-identical when written again", async () => {
    const r = await report([fx.tsc, fx.rate, "--input", fx.x, "--labels", fx.y, "--sweep", fx.tscSweep, "--sweep", fx.rateSweep, "-o", "pair2.html"]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(dir, "pair2.html"), "utf8")).toBe(html);
  }, 120_000);

  test("shows the sweep's equal-accuracy windows", () => {
    const tsc = JSON.parse(readFileSync(join(dir, fx.tscSweep), "utf8")).sweep;
    expect(html).toContain(`equal-accuracy T (tsc sweep)`);
    if (tsc.equal_accuracy_window !== null) expect(html).toContain(`tsc: T = ${tsc.equal_accuracy_window}`);
  });

  test("without inputs: structure only, and says what the spike sections need", async () => {
    const r = await report([fx.tsc, "-o", "bare.html"]);
    expect(r.code, r.stderr).toBe(0);
    const bare = readFileSync(join(dir, "bare.html"), "utf8");
    expect(sectionIds(bare)).toEqual(["summary", "network", "raster", "spike-times", "membrane", "sweep"]);
    expect(bare.match(/Needs an input/g)).toHaveLength(3);
    expect(bare).not.toContain("synaptic adds</th>");
  }, 60_000);
});

describe("per-layer table", () => {
  test("adds up to tscc run's totals (additions, reads, spikes, energy) for TSC and rate", async () => {
    for (const name of [fx.tsc, fx.rate]) {
      const r = await tscc(["run", name, "--input", fx.x, "--engine", "event", "--json"], dir);
      expect(r.code, r.stderr).toBe(0);
      const m = JSON.parse(r.stdout) as Record<string, number> & { layers: LayerCounters[]; energy_params: string };
      const a = await loadArtifact(join(dir, name), name);
      const e = ENERGY_SETS[m.energy_params]!;
      const rows = layerRows(a.net, m.layers, (c) => energyPj(c, e).total);
      const sum = (f: (x: (typeof rows)[number]) => number | null): number => rows.reduce((s, x) => s + (f(x) ?? 0), 0);
      expect(sum((x) => x.additions)).toBeCloseTo(m["synaptic_additions_per_inference"]!, 6);
      expect(sum((x) => x.reads)).toBeCloseTo(m["memory_reads_per_inference"]!, 6);
      expect(sum((x) => (x.kind === "maxpool" ? 0 : x.spikes))).toBeCloseTo(m["spikes_per_inference"]!, 6);
      expect(sum((x) => x.energyPj) / m["energy_per_inference_pj"]!).toBeCloseTo(1, 9);
      expect(sum((x) => x.energyShare)).toBeCloseTo(1, 9);
    }
  }, 120_000);

  test("fan-in and fan-out are the hand-counted numbers; steps are the firing windows", () => {
    // encode [2,6,6] → conv 4×2×3×3 (pad 1) → tsc → maxpool 2×2/2 → reshape → dense 36→5 → decode,
    // and a stride-2 conv: encode [1,5,5] → conv 2×1×3×3 (/2, pad 1) → tsc → reshape → dense 18→3 → decode.
    const T = 8;
    const nb = new NetBuilder("tsc", T);
    const x = nb.encode([2, 6, 6]);
    const h = nb.tsc(nb.conv(x, new Array(4 * 2 * 9).fill(0.1), [4, 2, 3, 3], { pads: [1, 1, 1, 1] }));
    const p = nb.maxpool(h, [2, 2], [2, 2]);
    nb.decode(nb.dense(nb.reshape(p, [36]), new Array(5 * 36).fill(0.1), 5));
    const rows = layerRows(nb.build(), undefined, () => 0);
    expect(rows.map((r) => [r.kind, r.neurons, r.fanIn, r.fanOut, r.steps])).toEqual([
      ["encode", 72, null, 4 * 9, [0, T]],
      ["tsc", 144, 2 * 9, 1, [T, 2 * T]],
      ["maxpool", 36, 4, 5, [T, 2 * T]],
      ["decode", 5, 36, null, [T, 2 * T - 1]], // integrates while the pool's spikes arrive, read at 2T
    ]);
    const nb2 = new NetBuilder("tsc", T);
    const x2 = nb2.encode([1, 5, 5]);
    const h2 = nb2.tsc(nb2.conv(x2, new Array(2 * 9).fill(0.1), [2, 1, 3, 3], { strides: [2, 2], pads: [1, 1, 1, 1] }));
    nb2.decode(nb2.dense(nb2.reshape(h2, [18]), new Array(3 * 18).fill(0.1), 3));
    const r2 = layerRows(nb2.build(), undefined, () => 0);
    // A stride-2 3×3 window reads an input pixel from at most 2 × 2 output positions.
    expect(r2[0]!.fanOut).toBe(2 * 4);
    expect(r2[1]!.fanIn).toBe(9);
  });
});

describe("one input spike by spike", () => {
  test("the encoder's spike-time histogram is the histogram of d = round(x·T)", async () => {
    const a = await loadArtifact(join(dir, fx.tsc), fx.tsc);
    const xt = parseNpy(readFileSync(join(dir, fx.x)), fx.x);
    const per = xt.data.length / xt.shape[0]!;
    const s = simulateSample(a.net, xt.data as Float32Array, per, 3, undefined);
    const T = a.window;
    const want = new Map<number, number>();
    let active = 0;
    for (let j = 0; j < per; j++) {
      const d = Math.min(T, Math.max(0, Math.round((xt.data[3 * per + j] as number) * T)));
      if (d > 0) {
        active++;
        want.set(d, (want.get(d) ?? 0) + 1);
      }
    }
    const enc = s.rasters[0]!;
    expect(enc.kind).toBe("encode");
    expect(enc.histogram.filter((h) => h.kind === "ON")).toEqual([{ k: 0, kind: "ON", count: active }]);
    expect(new Map(enc.histogram.filter((h) => h.kind === "OFF").map((h) => [h.k, h.count]))).toEqual(want);
    // The raster draws every stride-th neuron: ON and OFF of each active one.
    for (const ev of enc.events) expect(ev.neuron % enc.stride).toBe(0);
    expect(s.traces.length).toBeGreaterThan(0);
  });
});

describe("Loihi", () => {
  test("the page has the core map, utilisation, traffic, DRC and bound", async () => {
    const r = await report([fx.loihi, "--input", fx.x, "--labels", fx.y, "-o", "loihi.html"]);
    expect(r.code, r.stderr).toBe(0);
    const html = readFileSync(join(dir, "loihi.html"), "utf8");
    expect(sectionIds(html)).toContain("loihi");
    for (const f of ["cores-vs-bound", "core-map", "utilisation", "traffic"]) expect(html).toContain(`<figure id="fig-loihi-${f}">`);
    const rr = JSON.parse(readFileSync(join(dir, fx.loihi, "resource-report.json"), "utf8")) as { drc: unknown[] };
    const drc = html.slice(html.indexOf('<table class="drc">'));
    expect(drc.slice(0, drc.indexOf("</table>")).match(/<tr>/g)).toHaveLength(rr.drc.length + 1);
  }, 120_000);

  test("the core map splits each core between its layers by compartments, which add up to the report's use", async () => {
    const a = await loadArtifact(join(dir, fx.loihi), fx.loihi);
    const shared = a.loihi!.report.per_core.filter((c) => a.loihi!.coreLayers.get(c.core)!.length > 1);
    expect(shared.length).toBeGreaterThan(0);
    for (const c of a.loihi!.report.per_core) expect(a.loihi!.coreLayers.get(c.core)!.reduce((s, p) => s + p.cx, 0), `core ${c.core}`).toBe(c.used["compartments"]);
  });

  test("a mapping of thousands of cores is drawn per chip and per core range, and stays small", async () => {
    const a = await loadArtifact(join(dir, fx.loihi), fx.loihi);
    const base = a.loihi!.report.per_core;
    const cores = Array.from({ length: 6000 }, (_, i) => ({ ...base[i % base.length]!, core: i, chip: Math.floor(i / 128), slot: i % 4 }));
    const routes = Array.from({ length: 3 * TRAFFIC_CELLS }, (_, i) => ({ src: i % 6000, dst: (i * 7919) % 6000, messages: 1 + (i % 13) }));
    const coreLayers = new Map(cores.map((c) => [c.core, a.loihi!.coreLayers.get(c.core % base.length)!]));
    const big: LoihiFiles = { ...a.loihi!, report: { ...a.loihi!.report, cores: 6000, chips: 47, per_core: cores }, routes: { route_count: routes.length, routes }, coreLayers };
    expect(cores.length).toBeGreaterThan(CORE_MAP_MAX);
    const f = loihiFigures(big);
    expect(f.mapLevel).toBe("chip");
    let bytes = 0;
    for (const [name, spec] of Object.entries({ map: f.coreMap, util: f.utilisation, traffic: f.traffic })) {
      const svg = await chartSvg(spec, name);
      bytes += svg.length;
      expect(svg).toMatch(/^<svg/);
    }
    expect(bytes).toBeLessThan(600_000);
    // Traffic summed over ranges of consecutive cores: the messages are all still there.
    const cells = (f.traffic as unknown as { data: { values: { messages: number }[] } }).data.values;
    expect(cells.length).toBeLessThanOrEqual(49 * 48);
    expect(cells.reduce((s, c) => s + c.messages, 0)).toBe(routes.reduce((s, r) => s + r.messages, 0));
  }, 120_000);
});

describe("--format png", () => {
  test("writes every figure as a PNG", async () => {
    const r = await report([fx.tsc, "--input", fx.x, "--format", "png", "-o", "figs"]);
    expect(r.code, r.stderr).toBe(0);
    const names = readdirSync(join(dir, "figs")).filter((n) => n.endsWith(".png")).sort();
    expect(names).toEqual(["tsc-graph.png", "tsc-membrane.png", "tsc-raster.png", "tsc-spike-times.png"]);
    for (const n of names) {
      const png = PNG.sync.read(readFileSync(join(dir, "figs", n)));
      expect(png.width).toBeGreaterThan(200);
      expect(png.height).toBeGreaterThan(100);
      // Not blank: some pixels are far from white.
      let dark = 0;
      for (let i = 0; i < png.data.length; i += 4) if (png.data[i]! + png.data[i + 1]! + png.data[i + 2]! < 300) dark++;
      expect(dark, n).toBeGreaterThan(500);
    }
  }, 120_000);
});

describe("bad input is one line, and nothing is written", () => {
  const cases: [string, string[], number, RegExp][] = [
    ["a folder tscc did not write", ["."], 1, /TSCC5004: cannot read '\.': not a folder written by `tscc compile`/],
    ["a missing artifact", ["nope"], 1, /TSCC5006: file not found: nope/],
    ["three artifacts", ["tsc", "rate", "loihi"], 2, /takes one or two artifacts/],
    ["--sample beyond the inputs", ["tsc", "--input", "x.npy", "--sample", "8"], 2, /--sample 8: the inputs hold 8 sample/],
    ["--labels without --input", ["tsc", "--labels", "y.npy"], 2, /--labels needs --input/],
    ["a sweep file without a sweep", ["tsc", "--sweep", "x.npy"], 1, /TSCC5004: cannot read 'x\.npy'/],
    ["two sweeps of one coding", ["tsc", "--sweep", "tsc-sweep.json", "--sweep", "tsc-sweep.json"], 2, /at most one tsc sweep/],
  ];
  test.each(cases)("%s", async (_, args, code, pattern) => {
    const r = await report([...args, "-o", "bad.html"]);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(pattern);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(stackLines(r.stderr)).toEqual([]);
    expect(existsSync(join(dir, "bad.html"))).toBe(false);
  });

  test("inputs of the wrong shape", async () => {
    writeFileSync(join(dir, "wrong.npy"), encodeNpy({ shape: [8, 10], dtype: "f32", data: new Float32Array(80) }));
    const r = await report(["tsc", "--input", "wrong.npy", "-o", "bad.html"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/TSCC5005: .*input 'input' has shape \[8, 10\] but the network takes \[N, 3, 16, 16\]/);
    expect(existsSync(join(dir, "bad.html"))).toBe(false);
  });
});

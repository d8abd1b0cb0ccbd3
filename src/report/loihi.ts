/**
 * The Loihi section's figures from resource-report.json, routes.json and hw-profile.json. Mappings up to
 * CORE_MAP_MAX cores are drawn core by core on each chip's floorplan; larger ones (CIFAR VGG-16 on Loihi 1
 * is ~23,000 cores) per chip, so the page stays small. Traffic is drawn per core pair up to TRAFFIC_CELLS
 * non-zero pairs, else summed over ranges of consecutive cores (placement follows the dataflow, so a range
 * is a piece of a layer) or of chips when routes.json lists chip pairs only.
 */
import { boundChart, chipLayerChart, chipUtilisationChart, coreMapChart, RESOURCES, trafficChart, utilisationChart, type CoreCell, type CoreSegment } from "./charts.js";
import type { LoihiFiles } from "./artifact.js";
import type { ChartSpec } from "./render.js";

export const CORE_MAP_MAX = 512;
export const TRAFFIC_CELLS = 4096;
/** Ranges per axis when traffic is summed over core or chip ranges. */
const TRAFFIC_BINS = 32;

export interface LoihiFigures {
  readonly coreMap: ChartSpec;
  readonly utilisation: ChartSpec;
  readonly traffic: ChartSpec;
  readonly bound: ChartSpec;
  /** How the core map was drawn: "core" (one cell per core) or "chip" (aggregated). */
  readonly mapLevel: "core" | "chip";
}

function floorplan(files: LoihiFiles): { cols: number; rows: number; place(gx: number, gy: number, slot: number): { col: number; row: number } } {
  const p = files.profile as unknown as { tiles_x?: number; tiles_y?: number; cores_per_tile?: number };
  const tx = p.tiles_x ?? 8;
  const ty = p.tiles_y ?? 4;
  const cpt = p.cores_per_tile ?? 4;
  const w = Math.ceil(Math.sqrt(cpt));
  const h = Math.ceil(cpt / w);
  return { cols: tx * w, rows: ty * h, place: (gx, gy, slot) => ({ col: (gx % tx) * w + (slot % w), row: (gy % ty) * h + Math.floor(slot / w) }) };
}

function trafficCells(files: LoihiFiles, cores: number, chips: number): { cells: { src: string; dst: string; messages: number; srcOrder: number; dstOrder: number }[]; unit: string; note: string } {
  const { routes, chip_routes: chipRoutes } = files.routes;
  const pairs = new Map<string, { s: number; d: number; m: number }>();
  let unit: string;
  let note: string;
  let nameOf: (x: number) => string;
  const add = (s: number, d: number, m: number): void => {
    const k = `${s}:${d}`;
    const e = pairs.get(k);
    if (e) e.m += m;
    else pairs.set(k, { s, d, m });
  };
  if (routes) {
    const nonzero = routes.filter((r) => r.messages > 0);
    if (nonzero.length <= TRAFFIC_CELLS) {
      unit = "core";
      note = "every core pair with traffic; worst case, every neuron active (routes.json)";
      for (const r of nonzero) add(r.src, r.dst, r.messages);
      nameOf = (x) => (x < 0 ? "host" : String(x));
    } else {
      const size = Math.ceil(cores / TRAFFIC_BINS);
      unit = "core range";
      note = `${nonzero.length.toLocaleString("en-US")} core pairs summed over ranges of ${size} consecutive cores; worst case, every neuron active`;
      for (const r of nonzero) add(r.src < 0 ? -1 : Math.floor(r.src / size), Math.floor(r.dst / size), r.messages);
      nameOf = (x) => (x < 0 ? "host" : `${x * size}–${Math.min(cores, (x + 1) * size) - 1}`);
    }
  } else {
    const size = Math.max(1, Math.ceil(chips / TRAFFIC_BINS));
    unit = size > 1 ? "chip range" : "chip";
    note = `routes.json sums its ${files.routes.route_count.toLocaleString("en-US")} core pairs per chip pair${size > 1 ? `, here over ranges of ${size} chips` : ""}; worst case, every neuron active`;
    for (const r of chipRoutes ?? []) if (r.messages > 0) add(r.src_chip < 0 ? -1 : Math.floor(r.src_chip / size), Math.floor(r.dst_chip / size), r.messages);
    nameOf = (x) => (x < 0 ? "host" : size > 1 ? `${x * size}–${Math.min(chips, (x + 1) * size) - 1}` : String(x));
  }
  const cells = [...pairs.values()].sort((a, b) => a.s - b.s || a.d - b.d).map((e) => ({ src: nameOf(e.s), dst: nameOf(e.d), messages: e.m, srcOrder: e.s, dstOrder: e.d }));
  return { cells, unit, note };
}

/** Each layer's share of a core's compartments (an empty core counts as its own "(idle)" layer). */
function shares(files: LoihiFiles, core: number): { layer: string; share: number }[] {
  const parts = files.coreLayers.get(core) ?? [];
  const total = parts.reduce((a, p) => a + p.cx, 0);
  return total > 0 ? parts.filter((p) => p.cx > 0).map((p) => ({ layer: p.layer, share: p.cx / total })) : [{ layer: "(idle)", share: 1 }];
}

export function loihiFigures(files: LoihiFiles): LoihiFigures {
  const r = files.report;
  const cores = r.per_core;
  const layerOrder = [...new Set([...r.per_layer.map((l) => l.layer), "(relays)", "(idle)"])];
  const use = (c: (typeof cores)[number], k: string): number => (c.limit[k] ? c.used[k]! / c.limit[k]! : 0);
  let coreMap: ChartSpec;
  let utilisation: ChartSpec;
  let mapLevel: "core" | "chip";
  if (cores.length <= CORE_MAP_MAX) {
    mapLevel = "core";
    const fp = floorplan(files);
    const cells: CoreCell[] = cores.map((c) => ({
      chip: c.chip,
      ...fp.place(c.mesh_xy[0], c.mesh_xy[1], c.slot),
      core: c.core,
      compartments: use(c, "compartments"),
      axons: use(c, "in_axon_slots"),
      synapses: use(c, "synapse_bits"),
    }));
    const gap = 0.08;
    const segments: CoreSegment[] = cells.flatMap((c) => {
      let x = c.col + gap;
      return shares(files, c.core).map((p) => {
        const w = (1 - 2 * gap) * p.share;
        const seg = { chip: c.chip, core: c.core, layer: p.layer, x0: x, x1: x + w, y0: c.row + gap, y1: c.row + 1 - gap };
        x += w;
        return seg;
      });
    });
    coreMap = coreMapChart(segments, fp.cols, fp.rows, layerOrder);
    utilisation = utilisationChart(cells, fp.cols, fp.rows);
  } else {
    mapLevel = "chip";
    const count = new Map<string, { chip: number; layer: string; cores: number; order: number }>();
    for (const c of cores) {
      for (const { layer, share } of shares(files, c.core)) {
        const k = `${c.chip}:${layer}`;
        const e = count.get(k);
        if (e) e.cores += share;
        else count.set(k, { chip: c.chip, layer, cores: share, order: layerOrder.indexOf(layer) });
      }
    }
    coreMap = chipLayerChart([...count.values()].sort((a, b) => a.chip - b.chip || a.order - b.order), layerOrder);
    const per = new Map<number, (typeof cores)[number][]>();
    for (const c of cores) per.set(c.chip, [...(per.get(c.chip) ?? []), c]);
    const rows: { chip: number; resource: string; stat: string; use: number }[] = [];
    const key = { compartments: "compartments", axons: "in_axon_slots", synapses: "synapse_bits" } as const;
    for (const [chip, cs] of [...per.entries()].sort((a, b) => a[0] - b[0])) {
      for (const res of RESOURCES) {
        const u = cs.map((c) => use(c, key[res.field]));
        rows.push({ chip, resource: res.title, stat: "mean", use: u.reduce((a, b) => a + b, 0) / u.length }, { chip, resource: res.title, stat: "max", use: Math.max(...u) });
      }
    }
    utilisation = chipUtilisationChart(rows);
  }
  const t = trafficCells(files, r.cores, r.chips);
  const traffic = trafficChart(t.cells, t.unit, t.note);
  const classes = Object.keys(r.compat_classes).sort();
  const boundOf = (list: readonly { cls: string; cores: number }[], cls: string): number => list.find((x) => x.cls === cls)?.cores ?? 0;
  const rows = classes.flatMap((cls) => [
    { cls, measure: "mapped", cores: r.compat_classes[cls]!.cores },
    { cls, measure: "tightened bound", cores: boundOf(r.lower_bound.tightened.per_class, cls) },
    { cls, measure: "capacity bound", cores: boundOf(r.lower_bound.per_class, cls) },
  ]);
  rows.push({ cls: "total", measure: "mapped", cores: r.cores }, { cls: "total", measure: "tightened bound", cores: r.lower_bound.tightened.cores }, { cls: "total", measure: "capacity bound", cores: r.lower_bound.cores });
  return { coreMap, utilisation, traffic, bound: boundChart(rows), mapLevel };
}

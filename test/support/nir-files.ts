/**
 * NIR files for tests, written with tscc's HDF5 layer in the layout of NIR's nir.write (docs/interop.md
 * "The file"): datasets, groups and the root graph, so a test can build exactly the graph it needs.
 */
import { writeFileSync } from "node:fs";
import { writeHdf5, type WriteDataset, type WriteGroup } from "../../backends/nir/hdf5.js";

export const str = (s: string): WriteDataset => ({ kind: "dataset", data: s });
/** A float64 dataset of `shape` filled with v (gzip, as nir.write). */
export const f64 = (shape: number[], v = 1): WriteDataset => ({ kind: "dataset", data: new Float64Array(shape.reduce((a, b) => a * b, 1)).fill(v), shape, compress: true });
/** A dataset holding `values` (row-major) with `shape`. */
export const values = (shape: number[], v: Float32Array | Float64Array): WriteDataset => ({ kind: "dataset", data: v, shape, compress: true });
export const ints = (v: number[]): WriteDataset => ({ kind: "dataset", data: BigInt64Array.from(v.map(BigInt)), shape: [v.length], compress: false });
export const group = (children: Record<string, WriteDataset | WriteGroup>): WriteGroup => ({ kind: "group", children });

/** The file's root: /version and the /node graph with its nodes, edges and metadata. */
export function nirRoot(nodes: Record<string, WriteGroup>, edges: string[][], meta: Record<string, WriteDataset>, version = "1.0.7"): WriteGroup {
  return group({ version: str(version), node: group({ type: str("NIRGraph"), nodes: group(nodes), edges: { kind: "dataset", data: edges.flat(), shape: [edges.length, 2] }, metadata: group(meta) }) });
}

export function writeNir(path: string, root: WriteGroup): string {
  writeFileSync(path, writeHdf5(root));
  return path;
}

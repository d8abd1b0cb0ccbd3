// @ts-check
/**
 * tscc-backend-example: a small, complete third-party tscc backend.
 *
 * It adds the target `example`, which
 *   - runs one backend pass, `example:count-ops`, that records how often each op occurs in the
 *     module attribute `example.op_counts` (a list of "op=count" strings);
 *   - accepts only a small set of layer ops, and reports every other op at once, each with its
 *     location (the ONNX node it came from);
 *   - emits `layers.csv` (one row per layer: index, op, output shape, parameters, MACs per sample)
 *     and `summary.json` (totals, op counts, where the model came from).
 *
 * Plain JavaScript that Node runs as is: no build step, and no run-time import of tscc. tscc hands
 * the plugin everything it needs (the IR objects, the diagnostic sink, the file writer); the types
 * below come from tscc's published declarations and are only read by editors and `tsc --checkJs`.
 *
 * Load it with `tscc compile model.onnx --target example --plugin ./path/to/custom-backend`
 * (or `--plugin tscc-backend-example` once the package is installed next to your project).
 */

/** @typedef {import("tscc/backend").Backend} Backend */
/** @typedef {import("tscc/backend").BackendOptions} BackendOptions */
/** @typedef {import("tscc/backend").EmitContext} EmitContext */
/** @typedef {import("tscc/backend").PluginApi} PluginApi */
/** @typedef {import("tscc/backend").TsccPlugin} TsccPlugin */
/** @typedef {import("tscc/ir").Module} Module */
/** @typedef {import("tscc/ir").Op} Op */
/** @typedef {import("tscc/ir").Pass} Pass */
/** @typedef {import("tscc/ir").DiagnosticSink} DiagnosticSink */

const BACKEND = "example";

/** The ops this backend can "compile"; everything else is rejected by legalize(). */
const ALLOWED_OPS = ["nn.conv", "nn.gemm", "nn.matmul", "nn.add", "nn.relu", "nn.max_pool", "nn.average_pool", "nn.global_average_pool", "nn.flatten"];

/** Module attribute written by example:count-ops and read by emit(). */
const COUNTS_ATTR = "example.op_counts";

/** The IR's marker for the dynamic batch dimension (`?`); tscc/ir exports it as BATCH. */
const BATCH = -1;

/**
 * Elements per sample (the batch dimension counts once).
 * @param {readonly number[]} shape
 */
function perSample(shape) {
  return shape.reduce((n, d) => n * (d === BATCH ? 1 : d), 1);
}

/**
 * Learnable parameters: the elements of the float constants an op reads (weights and biases).
 * @param {Op} op
 */
function paramsOf(op) {
  let n = 0;
  for (const v of op.operands) {
    const c = v.constant;
    if (c && c.type.dtype === "f32") n += perSample(c.type.shape);
  }
  return n;
}

/**
 * Multiply-accumulates per sample for the layers that have them.
 * @param {Op} op
 */
function macsOf(op) {
  const out = op.results[0];
  if (!out) return 0;
  const n = perSample(out.type.shape);
  const shapeOf = (/** @type {number} */ i) => op.operands[i]?.type.shape ?? [];
  switch (op.name) {
    case "nn.conv":
      return n * perSample(shapeOf(1).slice(1)); // weights [M, C/group, kH, kW]
    case "nn.gemm": {
      const b = shapeOf(1);
      return n * (op.attrs["transB"] === 1 ? (b[1] ?? 0) : (b[0] ?? 0));
    }
    case "nn.matmul": {
      const a = shapeOf(0);
      return n * (a[a.length - 1] ?? 0);
    }
    default:
      return 0;
  }
}

/** @param {readonly number[]} shape */
function shapeText(shape) {
  return shape.map((d) => (d === BATCH ? "?" : String(d))).join("x");
}

/**
 * The ops this compile may keep: the built-in set plus `-O allow=a,b`.
 * @param {BackendOptions} options
 */
function allowedOps(options) {
  const extra = String(options["allow"] ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return new Set([...ALLOWED_OPS, ...extra]);
}

/**
 * `example:count-ops`: how often each op occurs, stored in the module (the IR carries it to emit()).
 * A pass changes the module in place and says whether it changed anything.
 * @type {Pass}
 */
const countOpsPass = {
  name: `${BACKEND}:count-ops`,
  summary: `record op counts in the module attribute '${COUNTS_ATTR}'`,
  run(m) {
    /** @type {Map<string, number>} */
    const counts = new Map();
    for (const op of m.ops) counts.set(op.name, (counts.get(op.name) ?? 0) + 1);
    const value = [...counts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, n]) => `${name}=${n}`);
    const before = JSON.stringify(m.attrs[COUNTS_ATTR] ?? null);
    m.attrs[COUNTS_ATTR] = value;
    return { changed: before !== JSON.stringify(value) };
  },
};

/** @type {Backend} */
export const exampleBackend = {
  name: BACKEND,
  apiVersion: 1,
  summary: "example third-party backend: per-layer CSV and a JSON summary",
  options: {
    header: { kind: "bool", default: true, doc: "write a header row in layers.csv" },
    allow: { kind: "str", default: "", doc: "extra ops to accept, comma-separated (e.g. nn.softmax)" },
  },

  // Backend-private passes must be named `<backend>:<pass>`; tscc registers them with the backend.
  passes: () => [countOpsPass],

  // The backend's part of the pipeline, run after the front half (canonicalize, or --passes).
  pipeline: () => `${BACKEND}:count-ops`,

  // Report every op this backend cannot compile, not just the first: the user fixes them in one go.
  legalize(m, diag, options) {
    const allowed = allowedOps(options);
    const rejected = m.ops.map((op, index) => ({ op, index })).filter(({ op }) => !allowed.has(op.name));
    rejected.forEach(({ op, index }, i) => {
      diag.report({
        code: 4001, // TSCC4001, "backend cannot compile": see ir/diagnostics/messages.ts in tscc
        severity: "error",
        message: `backend '${BACKEND}' cannot compile op #${index} ${op.name}`,
        loc: op.loc, // printed as the ONNX node the op came from, e.g. node #40 '/Softmax' (Softmax)
        // One hint after the last problem rather than the same hint under every line.
        ...(i === rejected.length - 1 ? { hint: `supported ops: ${[...allowed].join(", ")} (add more with -O allow=<op>,...)` } : {}),
      });
    });
  },

  // Files go through ctx.writeFile; tscc writes the output folder only if the whole compile succeeds.
  emit(m, ctx) {
    const rows = m.ops.map((op, index) => ({
      index,
      op: op.name,
      shape: shapeText(op.results[0]?.type.shape ?? []),
      params: paramsOf(op),
      macs: macsOf(op),
    }));
    const lines = rows.map((r) => [r.index, r.op, r.shape, r.params, r.macs].join(","));
    if (ctx.options["header"] !== false) lines.unshift("index,op,output_shape,params,macs");
    ctx.writeFile("layers.csv", lines.join("\n") + "\n");

    const counts = /** @type {readonly string[]} */ (m.attrs[COUNTS_ATTR] ?? []);
    const summary = {
      backend: BACKEND,
      source: ctx.source,
      module: m.name,
      inputs: m.inputs.map((i) => ({ name: i.name, shape: shapeText(i.value.type.shape) })),
      outputs: m.outputs.map((o) => o.name),
      layers: rows.length,
      params: rows.reduce((a, r) => a + r.params, 0),
      macs: rows.reduce((a, r) => a + r.macs, 0),
      op_counts: Object.fromEntries(counts.map((s) => [s.slice(0, s.lastIndexOf("=")), Number(s.slice(s.lastIndexOf("=") + 1))])),
    };
    ctx.writeFile("summary.json", JSON.stringify(summary, null, 2) + "\n");
    ctx.log.info(`example: ${rows.length} layers, ${summary.macs} MACs per sample`);
  },

  // Shown by `tscc backends --json`.
  describe: () => ({ allowedOps: [...ALLOWED_OPS], files: ["layers.csv", "summary.json"] }),
};

/** @type {TsccPlugin} */
const plugin = {
  apiVersion: 1,
  name: "tscc-backend-example",
  register(api) {
    api.registerBackend(exampleBackend);
  },
};

export default plugin;

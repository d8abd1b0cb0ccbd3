/**
 * `npm run fuzz`: fuzz every input reader of tscc (docs/reliability.md).
 *
 *   npm run fuzz                                   # 100,000 cases, seed 1, all targets, 2 workers, in-process
 *   npm run fuzz -- --cases 2000 --seed 7          # a quick slice
 *   npm run fuzz -- --target npy,images            # some targets (see --list)
 *   npm run fuzz -- --cli --cases 300              # real `node bin/tscc.js` subprocesses (exit codes, stderr)
 *   npm run fuzz -- --json                         # the report as JSON on stdout
 *   npm run fuzz -- --timeout 5000 --max-rss 2048  # a case is a hang after 5 s (subprocesses: 30 s), a memory blow-up above 2 GB
 *
 * Exit code 1 when anything was found; each finding's (shrunk) case is written under --findings
 * (default fuzz/findings/<target>/<chunk seed>-<case>/, with finding.json and the case's files).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import setup from "../test/global-setup.js";
import { ROOT } from "./corpus.js";
import { fuzz, split, type FuzzReport } from "./harness.js";
import { TARGETS } from "./targets/index.js";

const { values: a } = parseArgs({
  options: {
    cases: { type: "string", default: "100000" },
    seed: { type: "string", default: "1" },
    target: { type: "string" },
    workers: { type: "string", default: "2" },
    cli: { type: "boolean", default: false },
    timeout: { type: "string" },
    "max-rss": { type: "string", default: "2048" },
    findings: { type: "string", default: join(ROOT, "fuzz/findings") },
    "no-shrink": { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    list: { type: "boolean", default: false },
  },
});

function int(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`fuzz: --${name} must be a non-negative integer, got '${v}'\n`);
    process.exit(2);
  }
  return n;
}

if (a.list) {
  for (const t of TARGETS) process.stdout.write(`${t.name.padEnd(18)} weight ${String(t.weight).padEnd(4)} ${t.summary}\n`);
  process.exit(0);
}

const names = a.target ? a.target.split(",").map((s) => s.trim()) : TARGETS.map((t) => t.name);
const unknown = names.filter((n) => !TARGETS.some((t) => t.name === n));
if (unknown.length) {
  process.stderr.write(`fuzz: unknown target(s) ${unknown.join(", ")}; known: ${TARGETS.map((t) => t.name).join(", ")}\n`);
  process.exit(2);
}
const targets = TARGETS.filter((t) => names.includes(t.name));
const cases = int("cases", a.cases);
const seed = int("seed", a.seed);
const mode = a.cli ? "cli" : "inproc";
// The subprocess mode runs bin/tscc.js, i.e. dist/: build it if the sources are newer.
if (mode === "cli") setup();

const tty = process.stderr.isTTY === true && !process.env["CI"];
let last = 0;
const scratch = mkdtempSync(join(tmpdir(), "tscc-fuzz-"));
let report: FuzzReport;
try {
  report = await fuzz({
    targets,
    cases,
    seed,
    workers: Math.max(1, int("workers", a.workers)),
    mode,
    // In-process, a case is a hang after 5 s; a subprocess also starts Node and loads tscc (seconds on a busy machine).
    timeoutMs: int("timeout", a.timeout ?? (mode === "cli" ? "30000" : "5000")),
    maxRssMb: int("max-rss", a["max-rss"]),
    findingsDir: a.findings!,
    scratch,
    shrink: !a["no-shrink"],
    onProgress(p) {
      const now = Date.now();
      if (!tty || (now - last < 200 && p.done < p.total)) return;
      last = now;
      process.stderr.write(`\rfuzz ${p.done.toLocaleString("en-US")}/${p.total.toLocaleString("en-US")} cases, ${p.findings} finding(s) [${p.target}]\x1b[K`);
      if (p.done >= p.total) process.stderr.write("\n");
    },
  });
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

if (a.json) process.stdout.write(JSON.stringify(report, null, 2) + "\n");
else {
  const planned = split(targets, cases);
  const rows = report.targets.map((t, i) => {
    const codes = Object.keys(t.codes).length;
    return `| ${t.target} | ${t.cases.toLocaleString("en-US")}${t.cases !== planned[i] ? ` (of ${planned[i]})` : ""} | ${t.accepted.toLocaleString("en-US")} | ${t.rejected.toLocaleString("en-US")} | ${codes} | ${t.findings} | ${(t.caseMs / 1000).toFixed(0)} |`;
  });
  const total = report.targets.reduce((s, t) => s + t.cases, 0);
  process.stdout.write(
    [
      `fuzz: seed ${report.seed}, ${mode === "cli" ? "node bin/tscc.js subprocesses" : "in-process CLI"}, ${report.workers} worker(s), ${total.toLocaleString("en-US")} cases in ${report.wallSeconds.toFixed(0)} s`,
      "",
      "| target | cases | accepted | rejected (coded diagnostic) | distinct codes | findings | case time (s) |",
      "|---|---:|---:|---:|---:|---:|---:|",
      ...rows,
      "",
      ...(report.findings.length ? ["findings:", ...report.findings.map((f) => `  ${f.target} #${f.seed}-${f.k}: ${f.why}${f.note ? ` (${f.note})` : ""}${f.dir ? `\n    ${f.dir}` : ""}`)] : ["no findings"]),
      "",
    ].join("\n"),
  );
}
process.exit(report.findings.length ? 1 : 0);

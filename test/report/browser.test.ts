/**
 * `tscc report` pages in a real headless browser (Debian's chromium, driven by playwright-core; never a
 * downloaded browser): each page loads with no console message, page error or network request, every
 * section is visible and every figure draws marks. A screenshot of each section is kept in
 * test-artifacts/report/ (gitignored; the path is printed).
 *
 * Built on the shipped Fashion-MNIST cnn-small (TSC, rate and Loihi) with 16 test images, so the
 * screenshots show real spikes. One browser for the whole file.
 */
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { removeDir, ROOT, tempDir, tscc } from "../cli/support.js";
import { buildFixture, type Fixture } from "./support.js";

const CHROMIUM = process.env["TSCC_CHROMIUM"] ?? "/usr/bin/chromium";
const SHOTS = join(ROOT, "test-artifacts", "report");

let dir: string;
let fx: Fixture;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`chromium not found at ${CHROMIUM}: the browser tests need Debian's chromium package; run bash scripts/setup.sh (or set TSCC_CHROMIUM to a Chromium binary)`);
  dir = tempDir("tscc-report-browser-");
  fx = await buildFixture(dir, "fashion", 16);
  rmSync(SHOTS, { recursive: true, force: true });
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // A closed network, root in CI: no sandbox, no GPU, nothing that phones home.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    timeout: 120_000,
  });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  removeDir(dir);
  console.log(`report screenshots: ${SHOTS}`);
});

interface PageCheck {
  readonly sections: string[];
  readonly messages: string[];
  readonly requests: string[];
}

/** Open a report, check it, and screenshot each section as <name>-<section>.png. */
async function openReport(file: string, name: string): Promise<PageCheck> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const messages: string[] = [];
  const requests: string[] = [];
  const url = pathToFileURL(join(dir, file)).href;
  page.on("console", (m) => messages.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => messages.push(`pageerror: ${e.message}`));
  page.on("request", (r) => {
    if (r.url() !== url) requests.push(r.url());
  });
  try {
    await page.goto(url, { waitUntil: "load", timeout: 60_000 });
    const sections = await page.$$eval("section", (s) => s.map((x) => x.id));
    for (const id of sections) {
      const sec = page.locator(`section#${id}`);
      await expect.poll(() => sec.isVisible()).toBe(true);
      const box = await sec.boundingBox();
      expect(box?.height, id).toBeGreaterThan(60);
      await sec.screenshot({ path: join(SHOTS, `${name}-${id}.png`), timeout: 60_000 });
    }
    // Every figure is on screen with a size, and draws marks (not an empty frame).
    const figures = await page.$$eval("figure", (fs) =>
      fs.map((f) => {
        const svg = f.querySelector("svg")!;
        const r = svg.getBoundingClientRect();
        const marks = svg.querySelectorAll('g[class*="mark-"] path, g[class*="mark-"] line, g[class*="mark-"] rect, g.node, g.edge').length;
        return { id: f.id, w: r.width, h: r.height, marks };
      }),
    );
    expect(figures.length).toBeGreaterThan(0);
    for (const f of figures) {
      expect(f.w, f.id).toBeGreaterThan(150);
      expect(f.h, f.id).toBeGreaterThan(80);
      expect(f.marks, f.id).toBeGreaterThan(10);
    }
    return { sections, messages, requests };
  } finally {
    await page.close();
  }
}

describe("in chromium", () => {
  test("a TSC and a rate network side by side, with both sweeps", async () => {
    const r = await tscc(["report", fx.tsc, fx.rate, "--input", fx.x, "--labels", fx.y, "--sweep", fx.tscSweep, "--sweep", fx.rateSweep, "-o", "pair.html"], dir);
    expect(r.code, r.stderr).toBe(0);
    const c = await openReport("pair.html", "tsc-vs-rate");
    expect(c.sections).toEqual(["summary", "network", "raster", "spike-times", "membrane", "sweep"]);
    expect(c.messages).toEqual([]);
    expect(c.requests).toEqual([]);
  }, 240_000);

  test("a Loihi mapping", async () => {
    const r = await tscc(["report", fx.loihi, "--input", fx.x, "--labels", fx.y, "-o", "loihi.html"], dir);
    expect(r.code, r.stderr).toBe(0);
    const c = await openReport("loihi.html", "loihi");
    expect(c.sections).toEqual(["summary", "network", "raster", "spike-times", "membrane", "sweep", "loihi"]);
    expect(c.messages).toEqual([]);
    expect(c.requests).toEqual([]);
  }, 240_000);
});

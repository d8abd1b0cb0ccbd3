/**
 * The report page: one self-contained HTML file (inline CSS and inline SVG figures, no script, no external
 * resource; a Content-Security-Policy forbids every fetch, so the page opens offline and loads nothing).
 */

export function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** A table cell: text (escaped) or a number (right-aligned). */
export type Cell = string | number | null | undefined | { readonly html: string; readonly num?: boolean };

/** Numbers as the CLI prints them: integers with separators, others to 4 significant digits. */
export function num(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x)) return x.toLocaleString("en-US");
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString("en-US");
  return Number(x.toPrecision(4)).toString();
}

export function pct(x: number | null | undefined, digits = 1): string {
  return x === null || x === undefined ? "" : `${(100 * x).toFixed(digits)}%`;
}

function cell(c: Cell, tag: "td" | "th"): string {
  if (c === null || c === undefined) return `<${tag}></${tag}>`;
  if (typeof c === "number") return `<${tag} class="n">${num(c)}</${tag}>`;
  if (typeof c === "string") return `<${tag}>${esc(c)}</${tag}>`;
  return `<${tag}${c.num ? ' class="n"' : ""}>${c.html}</${tag}>`;
}

export function htmlTable(head: readonly Cell[], rows: readonly (readonly Cell[])[], opts: { foot?: readonly Cell[]; cls?: string } = {}): string {
  const tr = (r: readonly Cell[], tag: "td" | "th"): string => `<tr>${r.map((c) => cell(c, tag)).join("")}</tr>`;
  return `<table${opts.cls ? ` class="${opts.cls}"` : ""}><thead>${tr(head, "th")}</thead><tbody>${rows.map((r) => tr(r, "td")).join("\n")}</tbody>${opts.foot ? `<tfoot>${tr(opts.foot, "td")}</tfoot>` : ""}</table>`;
}

/** A figure: the SVG inline, with an optional caption. */
export function figure(id: string, svg: string, caption?: string): string {
  return `<figure id="${esc(id)}">${svg}${caption ? `<figcaption>${caption}</figcaption>` : ""}</figure>`;
}

/** Blocks side by side (one per artifact) when there are several. */
export function columns(blocks: readonly { title: string; body: string }[]): string {
  if (blocks.length === 1) return blocks[0]!.body;
  return `<div class="cols">${blocks.map((b) => `<div class="col"><h3>${esc(b.title)}</h3>${b.body}</div>`).join("")}</div>`;
}

export interface Section {
  readonly id: string;
  readonly title: string;
  readonly body: string;
}

const CSS = `
:root { color-scheme: light; }
body { font: 14px/1.45 "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #222; margin: 0 auto; padding: 16px 24px 48px; max-width: 1560px; background: #fff; }
header h1 { font-size: 22px; margin: 8px 0 4px; }
header p { margin: 2px 0; color: #555; }
nav { margin: 10px 0 4px; padding: 6px 0; border-bottom: 1px solid #ddd; }
nav a { margin-right: 14px; color: #1f5fa8; text-decoration: none; }
section { margin: 22px 0 8px; }
h2 { font-size: 18px; border-bottom: 1px solid #eee; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 10px 0 6px; }
p.note { color: #555; margin: 4px 0 10px; max-width: 980px; }
table { border-collapse: collapse; margin: 6px 0 12px; font-size: 13px; }
th, td { border-bottom: 1px solid #e5e5e5; padding: 3px 9px; text-align: left; vertical-align: top; }
.layers td { white-space: nowrap; }
th { background: #f6f6f6; font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tfoot td { font-weight: 600; border-top: 1px solid #bbb; }
td.pass { color: #1b7e3c; } td.fail { color: #b3261e; font-weight: 600; }
figure { margin: 8px 0 16px; overflow-x: auto; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { color: #555; font-size: 12.5px; margin-top: 4px; max-width: 900px; }
.cols { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 28px; align-items: start; }
.col { min-width: 0; }
.row { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
.row > .graph { flex: 0 0 auto; max-width: 100%; }
.row > .graph figcaption { max-width: 280px; }
.row > .layers { flex: 1 1 640px; min-width: 0; overflow-x: auto; }
code { background: #f3f3f3; padding: 0 3px; border-radius: 3px; }
`;

export function page(title: string, meta: readonly string[], sections: readonly Section[]): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="tscc report">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>${esc(title)}</h1>${meta.map((m) => `<p>${m}</p>`).join("")}</header>
<nav>${sections.map((s) => `<a href="#${s.id}">${esc(s.title)}</a>`).join("")}</nav>
${sections.map((s) => `<section id="${s.id}">\n<h2>${esc(s.title)}</h2>\n${s.body}\n</section>`).join("\n")}
</body>
</html>
`;
}

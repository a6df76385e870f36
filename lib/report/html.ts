/**
 * `report.html`: one self-contained page (no network) with the results
 * tables, the best-configuration paragraph, interactive chart.js versions of
 * the report's charts (chart.js's UMD build and the report's plugins inlined,
 * the chart configurations embedded as JSON) and the augmentation grid as a
 * `data:` URI.
 *
 * After drawing, the page writes its status into
 * `<output id="medtune-status" data-status="ok|error" data-charts="N">`; any
 * uncaught error, unhandled rejection or `console.error` call during or after
 * drawing turns the status to `error` and is listed in the element, so that a
 * headless browser's `--dump-dom` shows whether the page worked.
 *
 * @module
 */

import { buildReportCharts, type ChartSpec, createChartPlugins } from "./charts.ts";
import type { StudySummary } from "./summary.ts";
import {
  axisEffectTableRows,
  axisEffectTitle,
  formatBestParagraph,
  formatSetting,
  formatStudyParagraph,
  interactionTableRows,
  perClassTableRows,
  reportNotes,
  type ReportTextOptions,
  reportTitle,
  resultTableRows,
} from "./tables.ts";

/** Options for {@linkcode renderReportHtml}. */
export interface ReportHtmlOptions extends ReportTextOptions {
  /** The charts to include (default: {@linkcode buildReportCharts} of the summary). */
  charts?: ChartSpec[];
  /** PNG bytes of the augmentation grid, embedded as a `data:` URI when given. */
  augmentGridPng?: Uint8Array;
  /** chart.js UMD source (default: read by {@linkcode chartJsUmdSource}). */
  chartJsSource?: string;
}

/**
 * The source of chart.js's UMD build (`dist/chart.umd.min.js`) from the
 * installed npm package, located next to the module that
 * `import.meta.resolve("chart.js")` resolves to (node_modules or Deno's npm
 * cache; needs read permission there).
 */
export async function chartJsUmdSource(): Promise<string> {
  const entry = import.meta.resolve("chart.js");
  if (!entry.startsWith("file:")) {
    throw new Error(
      `chartJsUmdSource: chart.js resolved to ${entry}, not a local file; run with the npm ` +
        `package installed (deno install, or nodeModulesDir "auto") so its UMD build can be inlined.`,
    );
  }
  const url = new URL("./chart.umd.min.js", entry);
  try {
    return await Deno.readTextFile(url);
  } catch (err) {
    throw new Error(
      `chartJsUmdSource: cannot read chart.js's UMD build at ${url.pathname}: ` +
        `${(err as Error).message}`,
    );
  }
}

/** Standard base64 of bytes (for `data:` URIs). */
function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;").replaceAll("'", "&#39;");
}

/** Inline Markdown (`**bold**`, `` `code` ``) of an escaped paragraph to HTML. */
function inlineMarkdown(text: string): string {
  return escapeHtml(text)
    .replace(/\*\*(.+?)\*\*/g, "<strong>$1</strong>")
    .replace(/`([^`]+)`/g, "<code>$1</code>");
}

/** Where an HTML table goes and which body row is highlighted. */
interface HtmlTableOptions {
  /** Element id. */
  id: string;
  /** Index of the body row to mark as the best. */
  bestRow?: number;
}

/** Rows of display strings (header first) as a scrollable HTML table. */
function htmlTable(rows: string[][], options: HtmlTableOptions): string {
  const [header, ...body] = rows;
  const head = `<tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr>`;
  const lines = body.map((row, i) => {
    const cls = i === options.bestRow ? ' class="best"' : "";
    return `<tr${cls}>${row.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`;
  });
  return `<div class="table-wrap"><table id="${options.id}"><thead>${head}</thead><tbody>\n${
    lines.join("\n")
  }\n</tbody></table></div>`;
}

/** JSON safe inside a `<script>` element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replaceAll("<", "\\u003c").replaceAll("\u2028", "\\u2028")
    .replaceAll("\u2029", "\\u2029");
}

/** Script source safe inside a `<script>` element. */
function scriptSource(source: string): string {
  return source.replace(/<\/(script)/gi, "<\\/$1");
}

const STYLE = `
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px;
  color: #222; background: #fff; max-width: 1400px; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.6em; }
.table-wrap { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; white-space: nowrap; }
th { background: #f2f2f2; }
tr.best td { font-weight: bold; background: #fff6d5; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0; border: 1px solid #e4e4e4; padding: 6px; background: #fff; }
figcaption { font-size: 12px; color: #555; max-width: 640px; }
.notes { font-size: 13px; color: #444; }
.warning { color: #a40000; }
#medtune-status { display: none; }
img.grid { max-width: 100%; image-rendering: pixelated; border: 1px solid #e4e4e4; }
`;

/** Installed before anything else: collects errors and console.error calls. */
const ERROR_HOOK = `
window.__medtuneErrors = [];
window.__medtuneReport = function () {
  var el = document.getElementById("medtune-status");
  if (!el) return;
  var errors = window.__medtuneErrors;
  el.setAttribute("data-status", errors.length ? "error" : "ok");
  el.textContent = errors.length ? "errors: " + errors.join(" | ") : "ok";
};
window.addEventListener("error", function (e) {
  window.__medtuneErrors.push("error: " + (e && e.message ? e.message : String(e)));
  window.__medtuneReport();
});
window.addEventListener("unhandledrejection", function (e) {
  window.__medtuneErrors.push("unhandled rejection: " + String(e && e.reason));
  window.__medtuneReport();
});
(function () {
  var original = console.error;
  console.error = function () {
    var parts = [];
    for (var i = 0; i < arguments.length; i++) parts.push(String(arguments[i]));
    window.__medtuneErrors.push("console.error: " + parts.join(" "));
    window.__medtuneReport();
    return original.apply(console, arguments);
  };
})();
`;

/** Draws every chart from the embedded JSON, then reports status. */
function drawScript(pluginsSource: string): string {
  return `
(function () {
  var specs = JSON.parse(document.getElementById("medtune-charts").textContent);
  var plugins = (${pluginsSource})();
  var drawn = 0;
  specs.forEach(function (spec) {
    try {
      var canvas = document.getElementById("chart-" + spec.name);
      var config = spec.config;
      config.plugins = plugins;
      new Chart(canvas.getContext("2d"), config);
      drawn++;
    } catch (e) {
      window.__medtuneErrors.push("chart " + spec.name + ": " + (e && e.message ? e.message : e));
    }
  });
  var el = document.getElementById("medtune-status");
  el.setAttribute("data-charts", String(drawn));
  el.setAttribute("data-expected", String(specs.length));
  if (drawn !== specs.length) {
    window.__medtuneErrors.push("drew " + drawn + " of " + specs.length + " charts");
  }
  window.__medtuneReport();
})();
`;
}

/** The document head (title, style, error hook) and the page's opening lines. */
function pageHead(summary: StudySummary, title: string): string[] {
  return [
    "<!DOCTYPE html>",
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    `<script>${ERROR_HOOK}</script>`,
    "</head><body>",
    `<h1>${escapeHtml(title)}</h1>`,
    `<p>${summary.nRuns} runs: ${summary.nOk} succeeded, ${summary.nFailed} failed; ` +
    `${summary.configs.length} configurations.</p>`,
    `<p id="study-design">${inlineMarkdown(formatStudyParagraph(summary))}</p>`,
  ];
}

/** The fixed-settings table; nothing when there are none. */
function settingsSection(fixedSettings?: Record<string, unknown>): string[] {
  const settings = Object.entries(fixedSettings ?? {});
  if (settings.length === 0) return [];
  return [
    "<h2>Fixed settings</h2>",
    `<table id="fixed-settings"><tbody>${
      settings.map(([k, v]) =>
        `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(formatSetting(v))}</td></tr>`
      ).join("")
    }</tbody></table>`,
  ];
}

/** The best-configuration paragraph, the results table and one table per axis effect. */
function resultsSection(summary: StudySummary): string[] {
  const bestRow = summary.configs.findIndex((c) => c.best);
  const parts = [
    "<h2>Best configuration</h2>",
    `<p id="best-config">${inlineMarkdown(formatBestParagraph(summary))}</p>`,
    "<h2>Results by configuration</h2>",
    htmlTable(resultTableRows(summary), {
      id: "results",
      bestRow: bestRow >= 0 ? bestRow : undefined,
    }),
    "<h2>Axis effects</h2>",
  ];
  for (const e of summary.axisEffects) {
    parts.push(
      `<h3>${escapeHtml(axisEffectTitle(e, summary))}</h3>`,
      htmlTable(axisEffectTableRows(e, summary), { id: `effect-${e.axis}` }),
    );
    if (e.missing.length > 0) {
      parts.push(
        `<p class="warning">Missing: ${e.missing.map((m) => escapeHtml(m)).join("; ")}.</p>`,
      );
    }
    for (const n of e.notes) parts.push(`<p class="notes"><em>${escapeHtml(n)}</em></p>`);
  }
  return parts;
}

/** The interaction tables (full grids) and the per-class AUC table (multi-class, multi-label). */
function interactionAndClassSections(summary: StudySummary): string[] {
  const parts: string[] = [];
  if (summary.interactions.length > 0) {
    parts.push(
      "<h2>Interactions</h2>",
      `<p class="notes">Cell means over the third axis with ${
        Math.round(summary.confidence * 1000) / 10
      }% t-intervals across seeds; γ is the interaction contrast m_ij − m_i· − m_·j + m_·· ` +
        "(0 when the two axes' effects add up).</p>",
    );
    for (const i of summary.interactions) {
      parts.push(
        `<h3>${escapeHtml(i.title)}</h3>`,
        htmlTable(interactionTableRows(i), { id: `interaction-${i.axes[0]}-${i.axes[1]}` }),
      );
    }
  }
  const perClass = perClassTableRows(summary);
  if (perClass) {
    const kind = summary.task.task === "multi-label" ? "label" : "class (one-vs-rest)";
    parts.push(
      `<h2>Test AUC per ${escapeHtml(kind)}</h2>`,
      htmlTable(perClass, { id: "per-class" }),
    );
  }
  return parts;
}

/** One canvas per chart, then the augmentation grid as a `data:` URI when given. */
function figuresSection(charts: ChartSpec[], augmentGridPng?: Uint8Array): string[] {
  const parts = ["<h2>Charts</h2>", '<div class="charts">'];
  for (const c of charts) {
    parts.push(
      `<figure><canvas id="chart-${escapeHtml(c.name)}" width="${c.width}" height="${c.height}" ` +
        `style="width:${c.width}px;height:${c.height}px"></canvas>` +
        `<figcaption>${escapeHtml(c.caption)}</figcaption></figure>`,
    );
  }
  parts.push("</div>");
  if (augmentGridPng) {
    parts.push(
      "<h2>Augmentation presets</h2>",
      `<img class="grid" id="augment-grid" alt="Augmentation presets applied to the same images" ` +
        `src="data:image/png;base64,${encodeBase64(augmentGridPng)}">`,
    );
  }
  return parts;
}

/** The notes and warnings, the status element, and the scripts that draw the charts. */
function notesAndScripts(summary: StudySummary, charts: ChartSpec[], chartJs: string): string[] {
  return [
    "<h2>Notes</h2>",
    '<ul class="notes">',
    ...reportNotes(summary).map((n) => `<li>${escapeHtml(n)}</li>`),
    ...summary.warnings.map((w) => `<li class="warning">Warning: ${escapeHtml(w)}</li>`),
    "</ul>",
    '<output id="medtune-status" data-status="pending" data-charts="0">pending</output>',
    `<script type="application/json" id="medtune-charts">${scriptJson(charts)}</script>`,
    `<script>${scriptSource(chartJs)}</script>`,
    `<script>${scriptSource(drawScript(createChartPlugins.toString()))}</script>`,
    "</body></html>",
  ];
}

/**
 * The report page as one HTML string: title, run counts, dataset and design,
 * fixed settings, the best configuration paragraph, results table (best row
 * ★ and highlighted), one axis-effect table per axis titled by its
 * comparison, interactions (full grids), per-class AUCs (multi-class,
 * multi-label), interactive charts, the augmentation grid (when given) and
 * notes. Reads chart.js's UMD build unless `chartJsSource` is given.
 */
export async function renderReportHtml(
  summary: StudySummary,
  options: ReportHtmlOptions = {},
): Promise<string> {
  const title = reportTitle(summary, options.title);
  const charts = options.charts ?? buildReportCharts(summary);
  const chartJs = options.chartJsSource ?? await chartJsUmdSource();
  const parts = [
    ...pageHead(summary, title),
    ...settingsSection(options.fixedSettings),
    ...resultsSection(summary),
    ...interactionAndClassSections(summary),
    ...figuresSection(charts, options.augmentGridPng),
    ...notesAndScripts(summary, charts, chartJs),
  ];
  return parts.join("\n") + "\n";
}

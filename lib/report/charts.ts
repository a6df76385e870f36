/**
 * The study's charts as chart.js configurations (plain JSON, so that the same
 * configuration renders to a PNG here and runs interactively in report.html)
 * and a PNG renderer on `@napi-rs/canvas`.
 *
 * chart.js needs no global shim under Deno: with no `window` it picks its
 * `BasicPlatform`, which draws on any 2D context, and `animation: false`
 * keeps it from scheduling frames. Both chart.js and the native canvas addon
 * are loaded on first render, so importing this module loads neither.
 *
 * Two small plugins ({@linkcode createChartPlugins}) go with every chart: a
 * white background (PNG would otherwise be transparent) and error bars, drawn
 * from a dataset's `errorBars: [lower, upper][]`.
 *
 * @module
 */

import type { RunAxes } from "../study/record.ts";
import { AXES, type ConfigSummary, type StudySummary } from "./summary.ts";

/** A chart.js configuration restricted to plain JSON (no callbacks). */
export interface ChartJsConfig {
  /** Chart type: `line`, `bar` or `scatter`. */
  type: "line" | "bar" | "scatter";
  /** Labels and datasets. */
  data: { labels?: (string | number)[]; datasets: Record<string, unknown>[] };
  /** chart.js options. */
  options: Record<string, unknown>;
}

/** One chart of the report. */
export interface ChartSpec {
  /** File-name stem and HTML id, e.g. `roc_augment` (letters, digits, `_`, `-`). */
  name: string;
  /** Human-readable caption. */
  caption: string;
  /** Canvas width in pixels. */
  width: number;
  /** Canvas height in pixels. */
  height: number;
  /** The chart.js configuration. */
  config: ChartJsConfig;
}

/** Categorical palette (Tableau 10). */
export const PALETTE: readonly string[] = [
  "#4e79a7",
  "#f28e2b",
  "#e15759",
  "#76b7b2",
  "#59a14f",
  "#edc948",
  "#b07aa1",
  "#ff9da7",
  "#9c755f",
  "#bab0ac",
];

const AXIS_COLORS: Record<keyof RunAxes, string> = {
  augment: PALETTE[0],
  schedule: PALETTE[1],
  backbone: PALETTE[4],
};

function baseOptions(title: string): Record<string, unknown> {
  return {
    animation: false,
    responsive: false,
    devicePixelRatio: 1,
    plugins: {
      title: { display: true, text: title, font: { size: 14 } },
      legend: { display: true, position: "bottom" },
    },
  };
}

/** A file-name-safe version of a config id. */
export function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]+/g, "_").slice(0, 80) || "_";
}

/**
 * Learning curves of one configuration: train and validation loss (left
 * axis) and validation and train AUC (right axis) per epoch, each the mean
 * over the successful seeds that reached the epoch (early stopping shortens
 * some runs; the x labels say how many seeds each epoch averages).
 */
export function learningCurveChart(config: ConfigSummary): ChartSpec {
  const c = config.curves;
  const varying = c.n.some((n) => n !== c.n[0]);
  const labels = c.epoch.map((e, i) => (varying ? `${e} (n=${c.n[i]})` : e));
  const line = (
    label: string,
    data: (number | null)[],
    color: string,
    axis: string,
    dash = false,
  ) => ({
    label,
    data,
    borderColor: color,
    backgroundColor: color,
    yAxisID: axis,
    borderDash: dash ? [6, 4] : [],
    pointRadius: 2,
    borderWidth: 2,
    spanGaps: true,
  });
  const options = baseOptions(
    `Learning curves — ${config.label} (mean over ${config.nOk} seed${
      config.nOk === 1 ? "" : "s"
    })`,
  );
  options.scales = {
    x: { title: { display: true, text: "epoch" } },
    loss: { type: "linear", position: "left", title: { display: true, text: "loss" } },
    auc: {
      type: "linear",
      position: "right",
      title: { display: true, text: "AUC" },
      grid: { drawOnChartArea: false },
    },
  };
  return {
    name: `curves_${safeName(config.configId)}`,
    caption: `Learning curves of ${config.label} (${config.configId}), mean over successful seeds`,
    width: 640,
    height: 360,
    config: {
      type: "line",
      data: {
        labels,
        datasets: [
          line("train loss", c.trainLoss, PALETTE[0], "loss"),
          line("val loss", c.valLoss, PALETTE[1], "loss"),
          line("val AUC", c.valAuc, PALETTE[4], "auc"),
          line("train AUC (augmented)", c.trainAuc, PALETTE[6], "auc", true),
        ],
      },
      options,
    },
  };
}

/**
 * ROC curves for one axis: for each level, the best configuration at that
 * level (highest mean test AUC), drawn from its seed-ensemble scores, plus the
 * chance diagonal. `null` when no level has a curve.
 */
export function rocChart(summary: StudySummary, axis: keyof RunAxes): ChartSpec | null {
  const byId = new Map(summary.configs.map((c) => [c.configId, c]));
  const datasets: Record<string, unknown>[] = [];
  let source = "";
  summary.levels.filter((l) => l.axis === axis).forEach((l, i) => {
    const roc = l.bestConfigId ? summary.rocs[l.bestConfigId] : undefined;
    if (!roc) return;
    const cfg = byId.get(l.bestConfigId!)!;
    source ||= roc.source.replace(/ \(.*\)$/, "");
    const color = PALETTE[i % PALETTE.length];
    datasets.push({
      label: `${l.level}: ${cfg.label}${roc.auc !== null ? ` (AUC ${roc.auc.toFixed(3)})` : ""}`,
      data: roc.fpr.map((x, k) => ({ x, y: roc.tpr[k] })),
      showLine: true,
      borderColor: color,
      backgroundColor: color,
      pointRadius: 0,
      borderWidth: 2,
    });
  });
  if (datasets.length === 0) return null;
  datasets.push({
    label: "chance",
    data: [{ x: 0, y: 0 }, { x: 1, y: 1 }],
    showLine: true,
    borderColor: "#999999",
    backgroundColor: "#999999",
    borderDash: [5, 5],
    pointRadius: 0,
    borderWidth: 1,
  });
  const options = baseOptions(`Test ROC — best configuration per ${axis} level (${source})`);
  options.scales = {
    x: { type: "linear", min: 0, max: 1, title: { display: true, text: "false-positive rate" } },
    y: { type: "linear", min: 0, max: 1, title: { display: true, text: "true-positive rate" } },
  };
  return {
    name: `roc_${axis}`,
    caption: `ROC curves of the best configuration at each ${axis} level (${source} scores)`,
    width: 560,
    height: 560,
    config: { type: "scatter", data: { datasets }, options },
  };
}

/**
 * Mean test AUC per axis level over all successful runs with that level, as
 * bars coloured by axis, with ± 1 std error bars.
 */
export function levelAucChart(summary: StudySummary): ChartSpec | null {
  const levels = summary.levels.filter((l) => l.testAuc !== null);
  if (levels.length === 0) return null;
  const lows = levels.map((l) => l.testAuc!.mean - (l.testAuc!.std ?? 0));
  const yMin = Math.min(0.5, Math.floor(Math.min(...lows) * 10) / 10);
  const options = baseOptions("Test AUC by axis level (mean ± std over all runs with the level)");
  (options.plugins as Record<string, unknown>).legend = { display: false };
  options.scales = {
    x: { title: { display: true, text: "axis: level" } },
    y: { min: Math.max(0, yMin), max: 1, title: { display: true, text: "test AUC" } },
  };
  return {
    name: "auc_by_level",
    caption: "Mean test AUC per axis level; error bars ± 1 standard deviation over runs",
    width: 720,
    height: 400,
    config: {
      type: "bar",
      data: {
        labels: levels.map((l) => `${l.axis}: ${l.level}`),
        datasets: [{
          label: "test AUC",
          data: levels.map((l) => l.testAuc!.mean),
          backgroundColor: levels.map((l) => AXIS_COLORS[l.axis] ?? PALETTE[9]),
          errorBars: levels.map((l) => {
            const s = l.testAuc!;
            return s.std === null ? null : [s.mean - s.std, s.mean + s.std];
          }),
        }],
      },
      options,
    },
  };
}

/**
 * The overfitting gap per configuration (rank order): train − validation AUC
 * (bottom axis) and validation − train loss (top axis), means over seeds, as
 * horizontal bars.
 */
export function gapChart(summary: StudySummary): ChartSpec | null {
  const configs = summary.configs.filter((c) => c.gapAucMean !== null || c.gapLossMean !== null);
  if (configs.length === 0) return null;
  const options = baseOptions("Overfitting gap at the selected epoch (mean over seeds)");
  options.indexAxis = "y";
  options.scales = {
    x: { position: "bottom", title: { display: true, text: "train AUC − val AUC" } },
    x2: {
      position: "top",
      title: { display: true, text: "val loss − train loss" },
      grid: { drawOnChartArea: false },
    },
    y: { ticks: { autoSkip: false } },
  };
  return {
    name: "gap_by_config",
    caption: "Overfitting gap per configuration (train − validation AUC, validation − train loss)",
    width: 760,
    height: Math.max(260, 140 + 34 * configs.length),
    config: {
      type: "bar",
      data: {
        labels: configs.map((c) => `${c.best ? "★ " : ""}${c.label}`),
        datasets: [
          {
            label: "gap AUC (train − val)",
            data: configs.map((c) => c.gapAucMean),
            backgroundColor: PALETTE[0],
            xAxisID: "x",
          },
          {
            label: "gap loss (val − train)",
            data: configs.map((c) => c.gapLossMean),
            backgroundColor: PALETTE[1],
            xAxisID: "x2",
          },
        ],
      },
      options,
    },
  };
}

/**
 * Every chart of the report, in report order: AUC by axis level, overfitting
 * gap, one ROC chart per axis, then learning curves per configuration (rank
 * order, configurations without a successful run skipped).
 */
export function buildReportCharts(summary: StudySummary): ChartSpec[] {
  const charts: (ChartSpec | null)[] = [levelAucChart(summary), gapChart(summary)];
  for (const axis of AXES) charts.push(rocChart(summary, axis));
  for (const c of summary.configs) {
    if (c.nOk > 0 && c.curves.epoch.length > 0) charts.push(learningCurveChart(c));
  }
  const out = charts.filter((c): c is ChartSpec => c !== null);
  // Distinct config ids can share a file-safe name: keep every name unique.
  const seen = new Set<string>();
  for (const c of out) {
    let name = c.name;
    for (let k = 2; seen.has(name); k++) name = `${c.name}_${k}`;
    c.name = name;
    seen.add(name);
  }
  return out;
}

/**
 * The report's chart.js plugins: a white background and error bars (from a
 * dataset's `errorBars: ([lower, upper] | null)[]`, drawn on the value axis
 * of bar charts, vertical or horizontal). Self-contained, so that
 * `createChartPlugins.toString()` runs unchanged in the browser page.
 */
export function createChartPlugins(): Record<string, unknown>[] {
  return [
    {
      id: "medtuneBackground",
      // deno-lint-ignore no-explicit-any
      beforeDraw(chart: any) {
        const ctx = chart.ctx;
        ctx.save();
        ctx.fillStyle = "#ffffff";
        ctx.fillRect(0, 0, chart.width, chart.height);
        ctx.restore();
      },
    },
    {
      id: "medtuneErrorBars",
      // deno-lint-ignore no-explicit-any
      afterDatasetsDraw(chart: any) {
        const ctx = chart.ctx;
        const area = chart.chartArea;
        const horizontal = chart.options.indexAxis === "y";
        chart.data.datasets.forEach(
          (dataset: { errorBars?: ([number, number] | null)[] }, i: number) => {
            const bars = dataset.errorBars;
            if (!Array.isArray(bars) || !chart.isDatasetVisible(i)) return;
            const meta = chart.getDatasetMeta(i);
            const scale = chart.scales[horizontal ? meta.xAxisID : meta.yAxisID];
            ctx.save();
            ctx.beginPath();
            ctx.rect(area.left, area.top, area.right - area.left, area.bottom - area.top);
            ctx.clip();
            ctx.strokeStyle = "#222222";
            ctx.lineWidth = 1.5;
            // deno-lint-ignore no-explicit-any
            meta.data.forEach((el: any, j: number) => {
              const bar = bars[j];
              if (!bar || typeof bar[0] !== "number" || typeof bar[1] !== "number") return;
              const lo = scale.getPixelForValue(bar[0]);
              const hi = scale.getPixelForValue(bar[1]);
              const size = horizontal ? el.height : el.width;
              const cap = Math.max(4, Math.min(14, (size || 12) / 3));
              ctx.beginPath();
              if (horizontal) {
                ctx.moveTo(lo, el.y);
                ctx.lineTo(hi, el.y);
                ctx.moveTo(lo, el.y - cap / 2);
                ctx.lineTo(lo, el.y + cap / 2);
                ctx.moveTo(hi, el.y - cap / 2);
                ctx.lineTo(hi, el.y + cap / 2);
              } else {
                ctx.moveTo(el.x, lo);
                ctx.lineTo(el.x, hi);
                ctx.moveTo(el.x - cap / 2, lo);
                ctx.lineTo(el.x + cap / 2, lo);
                ctx.moveTo(el.x - cap / 2, hi);
                ctx.lineTo(el.x + cap / 2, hi);
              }
              ctx.stroke();
            });
            ctx.restore();
          },
        );
      },
    },
  ];
}

let registered: Promise<unknown> | null = null;

/** Import chart.js and register the controllers, elements, scales and plugins the report uses. */
function loadChartJs(): Promise<typeof import("chart.js")> {
  registered ??= import("chart.js").then((m) => {
    m.Chart.register(
      m.LineController,
      m.BarController,
      m.ScatterController,
      m.LineElement,
      m.PointElement,
      m.BarElement,
      m.CategoryScale,
      m.LinearScale,
      m.Legend,
      m.Title,
      m.Tooltip,
    );
    return m;
  });
  return registered as Promise<typeof import("chart.js")>;
}

/**
 * Render a chart to PNG bytes with chart.js on an `@napi-rs/canvas` canvas of
 * `spec.width × spec.height` pixels (device pixel ratio 1, no animation), on
 * a white background.
 */
export async function renderChartPng(spec: ChartSpec): Promise<Uint8Array> {
  if (!(spec.width > 0 && spec.height > 0)) {
    throw new RangeError(
      `renderChartPng: chart "${spec.name}" has size ${spec.width}×${spec.height}`,
    );
  }
  const [{ createCanvas }, { Chart }] = await Promise.all([
    import("@napi-rs/canvas"),
    loadChartJs(),
  ]);
  const canvas = createCanvas(spec.width, spec.height);
  const config = structuredClone(spec.config);
  const options = { ...config.options, animation: false, responsive: false, devicePixelRatio: 1 };
  // deno-lint-ignore no-explicit-any
  const chart = new Chart(canvas.getContext("2d") as any, {
    ...config,
    options,
    plugins: createChartPlugins(),
    // deno-lint-ignore no-explicit-any
  } as any);
  try {
    return new Uint8Array(canvas.toBuffer("image/png"));
  } finally {
    chart.destroy();
  }
}

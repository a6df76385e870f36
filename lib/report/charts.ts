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

import type { RunAxes } from "./record.ts";
import { describeAxes } from "./effects.ts";
import { AXES, type ConfigSummary, type StudySummary } from "./summary.ts";
import { className } from "./task.ts";

/** A chart's data: category labels (bar and line charts) and datasets. */
export interface ChartJsData {
  /** Category labels. */
  labels?: (string | number)[];
  /** chart.js datasets (plain JSON). */
  datasets: Record<string, unknown>[];
}

/** A chart.js configuration restricted to plain JSON (no callbacks). */
export interface ChartJsConfig {
  /** Chart type: `line`, `bar` or `scatter`. */
  type: "line" | "bar" | "scatter";
  /** Labels and datasets. */
  data: ChartJsData;
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

/**
 * Split a chart title into lines of at most `maxChars` characters at spaces,
 * so that a long title (one that says which comparison is shown) is not cut
 * off at the canvas edge.
 */
export function wrapTitle(text: string, maxChars: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > maxChars) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** Options shared by every chart; the title is wrapped to the canvas width (~9 px per character in bold 14 px). */
function baseOptions(title: string, width = 640): Record<string, unknown> {
  return {
    animation: false,
    responsive: false,
    devicePixelRatio: 1,
    plugins: {
      title: { display: true, text: wrapTitle(title, Math.floor(width / 9)), font: { size: 14 } },
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
 * ROC curves for one axis (binary tasks), following the axis effect: for
 * each level, its configuration (one-at-a-time design: the other axes held
 * at the baseline) or the best configuration at that level (grid or pooled),
 * drawn from its seed-ensemble scores, plus the chance diagonal. `null` when
 * no level has a curve.
 */
export function rocChart(summary: StudySummary, axis: keyof RunAxes): ChartSpec | null {
  const effect = summary.axisEffects.find((e) => e.axis === axis);
  if (!effect) return null;
  const byId = new Map(summary.configs.map((c) => [c.configId, c]));
  const datasets: Record<string, unknown>[] = [];
  let source = "";
  effect.levels.forEach((l, i) => {
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
  datasets.push(chanceLine());
  const what = effect.comparison === "baseline"
    ? effect.title
    : `best configuration per ${axis} level (${
      effect.comparison === "main-effect" ? "grid" : "pooled"
    })`;
  const options = baseOptions(`Test ROC — ${what} (${source})`, 560);
  options.scales = rocScales();
  return {
    name: `roc_${axis}`,
    caption: `ROC curves — ${what}; ${source} scores`,
    width: 560,
    height: 560,
    config: { type: "scatter", data: { datasets }, options },
  };
}

function chanceLine(): Record<string, unknown> {
  return {
    label: "chance",
    data: [{ x: 0, y: 0 }, { x: 1, y: 1 }],
    showLine: true,
    borderColor: "#999999",
    backgroundColor: "#999999",
    borderDash: [5, 5],
    pointRadius: 0,
    borderWidth: 1,
  };
}

function rocScales(): Record<string, unknown> {
  return {
    x: { type: "linear", min: 0, max: 1, title: { display: true, text: "false-positive rate" } },
    y: { type: "linear", min: 0, max: 1, title: { display: true, text: "true-positive rate" } },
  };
}

/**
 * Per-class one-vs-rest (multi-class) or per-label (multi-label) ROC curves
 * of the best configuration's seed ensemble, legends with the dataset's class
 * names and each curve's AUC. `null` when there are none.
 */
export function classRocChart(summary: StudySummary): ChartSpec | null {
  const curves = summary.bestClassRocs;
  if (!summary.best || curves.length === 0) return null;
  const kind = summary.task.task === "multi-label" ? "label" : "class (one-vs-rest)";
  const datasets: Record<string, unknown>[] = curves.map((c, i) => {
    const color = PALETTE[i % PALETTE.length];
    return {
      label: `${c.className}${c.auc !== null ? ` (AUC ${c.auc.toFixed(3)})` : ""}`,
      data: c.fpr.map((x, k) => ({ x, y: c.tpr[k] })),
      showLine: true,
      borderColor: color,
      backgroundColor: color,
      pointRadius: 0,
      borderWidth: 2,
    };
  });
  datasets.push(chanceLine());
  const source = curves[0].source;
  const options = baseOptions(
    `Test ROC per ${kind} — best configuration ${summary.best.label}`,
    600,
  );
  options.scales = rocScales();
  return {
    name: "roc_per_class",
    caption: `ROC curve of each ${kind} of the best configuration (${summary.best.label}), ` +
      `${source}`,
    width: 600,
    height: 600,
    config: { type: "scatter", data: { datasets }, options },
  };
}

/**
 * Test AUC of each class (one-vs-rest) or label of the best configuration,
 * mean over seeds with t-interval error bars, class names on the axis.
 * `null` for binary tasks.
 */
export function perClassAucChart(summary: StudySummary): ChartSpec | null {
  const best = summary.best;
  if (!best || !best.perClassAuc || best.perClassAuc.length === 0) return null;
  const kind = summary.task.task === "multi-label" ? "label" : "class (one-vs-rest)";
  const stats = best.perClassAuc;
  const pct = `${Math.round(summary.confidence * 1000) / 10}%`;
  const width = Math.max(560, 120 + 60 * stats.length);
  const options = baseOptions(
    `Test AUC per ${kind} — best configuration ${best.label} (mean and ${pct} CI over seeds)`,
    width,
  );
  (options.plugins as Record<string, unknown>).legend = { display: false };
  options.scales = {
    x: { title: { display: true, text: kind } },
    y: { min: 0, max: 1, title: { display: true, text: "test AUC" } },
  };
  return {
    name: "auc_per_class",
    caption: `Test AUC of each ${kind} of the best configuration, mean over seeds with ` +
      `${pct} t-intervals`,
    width,
    height: 400,
    config: {
      type: "bar",
      data: {
        labels: stats.map((_, k) => className(summary.task, k)),
        datasets: [{
          label: "test AUC",
          data: stats.map((s) => s?.mean ?? null),
          backgroundColor: PALETTE[0],
          errorBars: stats.map((s) =>
            s && s.lower !== null && s.upper !== null ? [s.lower, s.upper] : null
          ),
        }],
      },
      options,
    },
  };
}

/**
 * Test AUC per axis level as the axis effects define it (see
 * `effects.ts`), bars coloured by axis, with t-interval error bars (± 1
 * std for pooled levels); the title says which comparison is shown.
 */
export function levelAucChart(summary: StudySummary): ChartSpec | null {
  const levels = summary.axisEffects.flatMap((e) =>
    e.levels.filter((l) => l.testAuc !== null).map((l) => ({ l, e }))
  );
  if (levels.length === 0) return null;
  const bar = ({ l, e }: (typeof levels)[number]): [number, number] | null => {
    const s = l.testAuc!;
    if (e.comparison !== "pooled") {
      return s.lower !== null && s.upper !== null ? [s.lower, s.upper] : null;
    }
    return s.std === null ? null : [s.mean - s.std, s.mean + s.std];
  };
  const lows = levels.map((x) => bar(x)?.[0] ?? x.l.testAuc!.mean);
  const yMin = Math.min(0.5, Math.floor(Math.min(...lows) * 10) / 10);
  const pct = `${Math.round(summary.confidence * 1000) / 10}%`;
  const kinds = new Set(summary.axisEffects.map((e) => e.comparison));
  let title: string;
  let caption: string;
  if (kinds.size === 1 && kinds.has("baseline")) {
    const b = summary.baseline ? describeAxes(summary.baseline) : "";
    title = `Test AUC by axis level — each axis varied with the other two held at the ` +
      `baseline (${b}); mean and ${pct} CI over seeds`;
    caption = `Levels of each axis with the other two axes held at the baseline (${b}); ` +
      `error bars: ${pct} t-interval over the configuration's seeds`;
  } else if (kinds.size === 1 && kinds.has("main-effect")) {
    title = `Test AUC main effects — each level marginalized over the other axes; ` +
      `mean and ${pct} CI across seeds`;
    caption = `Main effect of each axis level, marginalized over the other axes (full grid); ` +
      `error bars: ${pct} t-interval across seeds of the per-seed marginal means`;
  } else {
    title = "Test AUC by axis level — mean over the configurations with the level " +
      "(not a controlled comparison); ± 1 std";
    caption = "Mean test AUC over the configurations that have each level (they differ in the " +
      "other axes too); error bars ± 1 standard deviation over configurations";
  }
  const options = baseOptions(title, 760);
  (options.plugins as Record<string, unknown>).legend = { display: false };
  options.scales = {
    x: { title: { display: true, text: "axis: level" } },
    y: { min: Math.max(0, yMin), max: 1, title: { display: true, text: "test AUC" } },
  };
  return {
    name: "auc_by_level",
    caption,
    width: 760,
    height: 420,
    config: {
      type: "bar",
      data: {
        labels: levels.map(({ l }) => `${l.axis}: ${l.level}`),
        datasets: [{
          label: "test AUC",
          data: levels.map(({ l }) => l.testAuc!.mean),
          backgroundColor: levels.map(({ l }) => AXIS_COLORS[l.axis] ?? PALETTE[9]),
          errorBars: levels.map(bar),
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
  const options = baseOptions("Overfitting gap at the selected epoch (mean over seeds)", 760);
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
 * gap, one ROC chart per axis (binary tasks) or the best configuration's
 * per-class ROC curves and per-class AUCs (multi-class, multi-label), then
 * learning curves per configuration (rank order, configurations without a
 * successful run skipped).
 */
export function buildReportCharts(summary: StudySummary): ChartSpec[] {
  const charts: (ChartSpec | null)[] = [levelAucChart(summary), gapChart(summary)];
  if (summary.task.task === "binary") {
    for (const axis of AXES) charts.push(rocChart(summary, axis));
  } else {
    charts.push(classRocChart(summary), perClassAucChart(summary));
  }
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

/**
 * Reporting for ablation studies: summaries over seeds with t-intervals,
 * axis effects that follow the design (levels held at the baseline in a
 * one-at-a-time study, main effects and interactions in a grid), DeLong
 * tests against the best configuration (extended to the macro AUC for
 * multi-class and multi-label tasks) with Holm's correction, wording that
 * follows the dataset and task, `results.csv` / `results.md`,
 * chart PNGs (chart.js on `@napi-rs/canvas`) and a self-contained interactive
 * `report.html`, all written by {@linkcode writeStudyReport}.
 *
 * ```ts ignore
 * import { writeStudyReport } from "./mod.ts";
 * const records = (await Deno.readTextFile("runs/study/results.jsonl"))
 *   .split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
 * const files = await writeStudyReport("runs/study", records, {
 *   title: "BreastMNIST ablation",
 *   fixedSettings: { dataset: "breastmnist", epochs: 30, imageSize: 28 },
 *   design: "oat",
 *   baseline: { augment: "basic", schedule: "cosine", backbone: "resnet18" },
 * });
 * ```
 *
 * @module
 */

import type { RunRecord } from "./record.ts";
import { atomicWriteFile } from "../util/fs.ts";
import { buildReportCharts, renderChartPng } from "./charts.ts";
import { renderReportHtml } from "./html.ts";
import { type SummarizeOptions, summarizeRuns } from "./summary.ts";
import {
  formatResultsCsv,
  formatResultsMarkdown,
  type ReportFigure,
  type ReportTextOptions,
} from "./tables.ts";

export type { EpochRecord, RunAxes, RunRecord, SplitMetrics } from "./record.ts";
export type { TaskType } from "../data/dataset.ts";
export type { BrierKind, MetricTask } from "../metrics/task.ts";
export {
  AXES,
  type AxisEffect,
  type AxisLevels,
  type AxisLevelSummary,
  type ClassRoc,
  type ConfigSummary,
  type DedupedRuns,
  dedupeRuns,
  DELONG_METHOD,
  type DelongVsBest,
  type DesignKind,
  type InteractionSummary,
  type MeanCurves,
  type MetricStats,
  type RocPoints,
  type StudySummary,
  type SummarizeOptions,
  summarizeRuns,
} from "./summary.ts";
export {
  analyzeAxisEffects,
  type AxisEffectOptions,
  type AxisEffectsResult,
  type Comparison,
  type EffectInput,
} from "./effects.ts";
export { holmAdjust } from "./holm.ts";
export { type MacroDelongResult, macroDelongTest } from "./macro_delong.ts";
export {
  brierLabel,
  type ReportBrierKind,
  resolveTask,
  type ScoredTask,
  type TaskInfo,
  type TaskOptions,
} from "./task.ts";
export {
  aucName,
  axisEffectTableRows,
  axisEffectTitle,
  CSV_COLUMNS,
  csvColumns,
  DEFAULT_TITLE,
  formatBestParagraph,
  formatNumber,
  formatPValue,
  formatResultsCsv,
  formatResultsMarkdown,
  formatSetting,
  formatStats,
  formatStudyParagraph,
  interactionTableRows,
  levelTableRows,
  perClassTableRows,
  type ReportFigure,
  reportNotes,
  type ReportTextOptions,
  reportTitle,
  resultTableRows,
  TABLE_HEADER,
  writeResultsCsv,
  writeResultsMarkdown,
} from "./tables.ts";
export {
  buildReportCharts,
  type ChartJsConfig,
  type ChartJsData,
  type ChartSpec,
  classRocChart,
  createChartPlugins,
  gapChart,
  learningCurveChart,
  levelAucChart,
  PALETTE,
  perClassAucChart,
  renderChartPng,
  rocChart,
  safeName,
} from "./charts.ts";
export { chartJsUmdSource, escapeHtml, renderReportHtml, type ReportHtmlOptions } from "./html.ts";

/** Options for {@linkcode writeStudyReport}. */
export interface StudyReportOptions extends ReportTextOptions, SummarizeOptions {
  /** Name of the augmentation grid PNG in `outDir` to reference and embed if present (default `augment_grid.png`). */
  augmentGrid?: string;
}

/** Name of the folder (inside `outDir`) that holds the chart PNGs. */
export const CHARTS_DIR = "charts";

/**
 * Summarize `records` and write the study report into `outDir`, every file
 * atomically: `results.csv`, one PNG per chart under `charts/`, `results.md`
 * (referencing the PNGs and `augment_grid.png` when present) and the
 * self-contained `report.html`. Returns the paths written, in that order.
 */
export async function writeStudyReport(
  outDir: string,
  records: readonly RunRecord[],
  options: StudyReportOptions = {},
): Promise<string[]> {
  if (!Array.isArray(records) || records.length === 0) {
    throw new RangeError(`writeStudyReport: no run records to report on for ${outDir}`);
  }
  const dir = outDir.replace(/\/+$/, "") || "/";
  const summary = summarizeRuns(records, options);
  const written: string[] = [];
  const write = async (name: string, data: Uint8Array | string) => {
    const path = `${dir}/${name}`;
    await atomicWriteFile(path, data);
    written.push(path);
  };

  await write("results.csv", formatResultsCsv(summary));
  const charts = buildReportCharts(summary);
  const figures: ReportFigure[] = [];
  for (const chart of charts) {
    const file = `${CHARTS_DIR}/${chart.name}.png`;
    await write(file, await renderChartPng(chart));
    figures.push({ path: file, caption: chart.caption });
  }
  const gridName = options.augmentGrid ?? "augment_grid.png";
  let augmentGridPng: Uint8Array | undefined;
  try {
    augmentGridPng = await Deno.readFile(`${dir}/${gridName}`);
    figures.push({ path: gridName, caption: "Augmentation presets applied to the same images" });
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const text = { title: options.title, fixedSettings: options.fixedSettings };
  await write("results.md", formatResultsMarkdown(summary, { ...text, figures }));
  await write("report.html", await renderReportHtml(summary, { ...text, charts, augmentGridPng }));
  return written;
}

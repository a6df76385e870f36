/**
 * The study's results as tables: `results.csv` (one row per configuration,
 * full-precision numbers, for further analysis) and `results.md` (rounded,
 * with the fixed settings, the per-axis-level aggregates, the best
 * configuration marked ★ and in bold, and a "best configuration" paragraph).
 *
 * @module
 */

import { atomicWriteFile } from "../util/fs.ts";
import type { ConfigSummary, MetricStats, StudySummary } from "./summary.ts";

/** Options for the Markdown and HTML reports. */
export interface ReportTextOptions {
  /** Title of the report (default `"Ablation study results"`). */
  title?: string;
  /** The study's fixed settings (dataset, epochs, image size…), shown as a list. */
  fixedSettings?: Record<string, unknown>;
  /** Images to reference from `results.md` (paths relative to it), e.g. chart PNGs. */
  figures?: { path: string; caption: string }[];
}

/** Default report title. */
export const DEFAULT_TITLE = "Ablation study results";

/** Column names of `results.csv`, in order. */
export const CSV_COLUMNS: readonly string[] = [
  "rank",
  "best",
  "config_id",
  "augment",
  "schedule",
  "backbone",
  "n_ok",
  "n_failed",
  "test_auc_mean",
  "test_auc_std",
  "test_auc_ci_lower",
  "test_auc_ci_upper",
  "test_balanced_accuracy_mean",
  "test_balanced_accuracy_std",
  "test_balanced_accuracy_ci_lower",
  "test_balanced_accuracy_ci_upper",
  "test_brier_mean",
  "test_brier_std",
  "test_brier_ci_lower",
  "test_brier_ci_upper",
  "val_auc_mean",
  "best_epoch_mean",
  "epochs_run_mean",
  "gap_auc_mean",
  "gap_loss_mean",
  "seconds_mean",
  "seconds_total",
  "delong_p_vs_best",
];

function csvCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  const text = typeof value === "number"
    ? (Number.isFinite(value) ? String(value) : "")
    : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function statCells(s: MetricStats | null): (number | null)[] {
  return s ? [s.mean, s.std, s.lower, s.upper] : [null, null, null, null];
}

/** The CSV row values of one configuration, in {@linkcode CSV_COLUMNS} order. */
function csvRow(c: ConfigSummary): unknown[] {
  return [
    c.rank,
    c.best ? 1 : 0,
    c.configId,
    c.axes.augment,
    c.axes.schedule,
    c.axes.backbone,
    c.nOk,
    c.nFailed,
    ...statCells(c.testAuc),
    ...statCells(c.testBalancedAccuracy),
    ...statCells(c.testBrier),
    c.valAucMean,
    c.bestEpochMean,
    c.epochsRunMean,
    c.gapAucMean,
    c.gapLossMean,
    c.secondsMean,
    c.secondsTotal,
    c.delongVsBest?.pValue ?? null,
  ];
}

/**
 * `results.csv` text: a header ({@linkcode CSV_COLUMNS}) and one row per
 * configuration in rank order; numbers at full precision, empty cells for
 * missing values, RFC 4180 quoting, `\n` line ends.
 */
export function formatResultsCsv(summary: StudySummary): string {
  const lines = [CSV_COLUMNS.join(",")];
  for (const c of summary.configs) lines.push(csvRow(c).map(csvCell).join(","));
  return lines.join("\n") + "\n";
}

/** Format a number with `digits` decimals; `—` when missing. */
export function formatNumber(value: number | null | undefined, digits = 3): string {
  return typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "—";
}

/** `mean ± std [lower, upper]` with `digits` decimals (std and interval omitted when missing). */
export function formatStats(s: MetricStats | null, digits = 3): string {
  if (!s) return "—";
  let text = formatNumber(s.mean, digits);
  if (s.std !== null) text += ` ± ${formatNumber(s.std, digits)}`;
  if (s.lower !== null && s.upper !== null) {
    text += ` [${formatNumber(s.lower, digits)}, ${formatNumber(s.upper, digits)}]`;
  }
  return text;
}

/** A p-value for display: 3 significant digits, `< 0.001` below that. */
export function formatPValue(p: number | null | undefined): string {
  if (typeof p !== "number" || !Number.isFinite(p)) return "—";
  return p < 0.001 ? "< 0.001" : p.toFixed(3);
}

function seconds(value: number | null): string {
  return typeof value === "number" ? value.toFixed(1) : "—";
}

/** Header of the per-configuration results table (Markdown and HTML share it). */
export const TABLE_HEADER: readonly string[] = [
  "Rank",
  "Augment",
  "Schedule",
  "Backbone",
  "Seeds ok/failed",
  "Test AUC (mean ± std [95% CI])",
  "Test bal. acc.",
  "Test Brier",
  "Val AUC",
  "Best epoch",
  "Gap AUC",
  "Gap loss",
  "Time/run (s)",
  "DeLong p vs best",
];

/**
 * The per-configuration table as rows of display strings, header first (see
 * {@linkcode TABLE_HEADER}); the best row's rank reads `★ 1`. The CI column
 * header names the summary's confidence.
 */
export function resultTableRows(summary: StudySummary): string[][] {
  const pct = `${Math.round(summary.confidence * 1000) / 10}%`;
  const header = TABLE_HEADER.map((h) => h.replace("95%", pct));
  const rows = summary.configs.map((c) => [
    c.best ? `★ ${c.rank}` : String(c.rank),
    c.axes.augment,
    c.axes.schedule,
    c.axes.backbone,
    `${c.nOk}/${c.nFailed}`,
    formatStats(c.testAuc),
    formatStats(c.testBalancedAccuracy),
    formatStats(c.testBrier),
    formatNumber(c.valAucMean),
    formatNumber(c.bestEpochMean, 1),
    formatNumber(c.gapAucMean),
    formatNumber(c.gapLossMean),
    seconds(c.secondsMean),
    c.best ? "(best)" : formatPValue(c.delongVsBest?.pValue),
  ]);
  return [header, ...rows];
}

/** The per-axis-level table as rows of display strings, header first. */
export function levelTableRows(summary: StudySummary): string[][] {
  const header = ["Axis", "Level", "Runs", "Configs", "Test AUC (mean ± std)", "Best config"];
  const label = new Map(summary.configs.map((c) => [c.configId, c.label]));
  const rows = summary.levels.map((l) => [
    l.axis,
    l.level,
    String(l.nRuns),
    String(l.nConfigs),
    l.testAuc
      ? `${formatNumber(l.testAuc.mean)}${
        l.testAuc.std !== null ? ` ± ${formatNumber(l.testAuc.std)}` : ""
      }`
      : "—",
    l.bestConfigId ? label.get(l.bestConfigId) ?? l.bestConfigId : "—",
  ]);
  return [header, ...rows];
}

function mdEscape(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("|", "\\|").replaceAll("\n", " ");
}

function mdTable(rows: string[][], boldRows: Set<number> = new Set()): string {
  const [header, ...body] = rows;
  const lines = [
    `| ${header.map(mdEscape).join(" | ")} |`,
    `|${header.map(() => " --- ").join("|")}|`,
  ];
  body.forEach((row, i) => {
    const cells = row.map(mdEscape).map((c) => (boldRows.has(i) && c !== "" ? `**${c}**` : c));
    lines.push(`| ${cells.join(" | ")} |`);
  });
  return lines.join("\n");
}

/** A fixed-setting value for display: strings as they are, anything else as JSON. */
export function formatSetting(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
}

/**
 * The "best configuration" paragraph (Markdown): the best configuration's
 * axes and id, its mean test AUC with the t-interval, seeds, and how many
 * other configurations differ from it at p < 0.05 by DeLong's test.
 */
export function formatBestParagraph(summary: StudySummary): string {
  const best = summary.best;
  if (!best) {
    return `No configuration finished successfully (${summary.nFailed} of ${summary.nRuns} runs failed).`;
  }
  const pct = `${Math.round(summary.confidence * 1000) / 10}%`;
  const others = summary.configs.filter((c) => !c.best && c.delongVsBest);
  const significant = others.filter((c) => c.delongVsBest!.pValue < 0.05).length;
  const auc = best.testAuc!;
  const ci = auc.lower !== null && auc.upper !== null
    ? ` (${pct} t-interval over seeds ${formatNumber(auc.lower)}–${formatNumber(auc.upper)})`
    : "";
  const sd = auc.std !== null ? ` ± ${formatNumber(auc.std)}` : "";
  const failed = best.nFailed > 0 ? `, ${best.nFailed} failed` : "";
  return `The best configuration is **${best.label}** (\`${best.configId}\`): augmentation ` +
    `\`${best.axes.augment}\`, LR schedule \`${best.axes.schedule}\`, backbone ` +
    `\`${best.axes.backbone}\`, with mean test AUC ${formatNumber(auc.mean)}${sd}${ci} over ` +
    `${best.nOk} seed${best.nOk === 1 ? "" : "s"}${failed}, balanced accuracy ` +
    `${formatNumber(best.testBalancedAccuracy?.mean)} and Brier score ` +
    `${formatNumber(best.testBrier?.mean)}. ` +
    (others.length > 0
      ? `By DeLong's test on seed-ensemble scores, ${significant} of the other ` +
        `${others.length} configuration${others.length === 1 ? "" : "s"} differ from it at ` +
        `p < 0.05.`
      : "No other configuration could be compared with it by DeLong's test.");
}

/**
 * `results.md` text: title, fixed settings (when given), the per-config table
 * (best row ★ and bold), the per-axis-level table, the best-configuration
 * paragraph, and notes on method (and any warnings).
 */
export function formatResultsMarkdown(
  summary: StudySummary,
  options: ReportTextOptions = {},
): string {
  const parts: string[] = [`# ${options.title ?? DEFAULT_TITLE}`, ""];
  parts.push(
    `${summary.nRuns} runs: ${summary.nOk} succeeded, ${summary.nFailed} failed; ` +
      `${summary.configs.length} configurations.`,
    "",
  );
  const settings = Object.entries(options.fixedSettings ?? {});
  if (settings.length > 0) {
    parts.push("## Fixed settings", "");
    for (const [k, v] of settings) {
      parts.push(`- **${mdEscape(k)}**: ${mdEscape(formatSetting(v))}`);
    }
    parts.push("");
  }
  parts.push("## Results by configuration", "");
  const bestIndex = summary.configs.findIndex((c) => c.best);
  parts.push(mdTable(resultTableRows(summary), new Set(bestIndex >= 0 ? [bestIndex] : [])), "");
  parts.push("## Test AUC by axis level", "");
  parts.push(mdTable(levelTableRows(summary)), "");
  parts.push("## Best configuration", "", formatBestParagraph(summary), "");
  if (options.figures && options.figures.length > 0) {
    parts.push("## Figures", "");
    for (const f of options.figures) {
      parts.push(`![${f.caption.replaceAll("]", ")")}](${encodeURI(f.path)})`, "");
    }
  }
  parts.push("## Notes", "");
  parts.push(
    `- Means, standard deviations and ${Math.round(summary.confidence * 1000) / 10}% ` +
      "Student-t intervals are over the successful seeds of each configuration; failed runs " +
      "are counted but excluded.",
    `- ${summary.delongMethod}`,
    "- Gap AUC = train AUC − validation AUC, gap loss = validation loss − train loss, both at " +
      "the selected (best-validation-AUC) epoch, in eval mode.",
  );
  for (const w of summary.warnings) parts.push(`- Warning: ${mdEscape(w)}`);
  return parts.join("\n") + "\n";
}

/** Write `results.csv` (see {@linkcode formatResultsCsv}) to `path` atomically. */
export async function writeResultsCsv(path: string, summary: StudySummary): Promise<void> {
  await atomicWriteFile(path, formatResultsCsv(summary));
}

/** Write `results.md` (see {@linkcode formatResultsMarkdown}) to `path` atomically. */
export async function writeResultsMarkdown(
  path: string,
  summary: StudySummary,
  options: ReportTextOptions = {},
): Promise<void> {
  await atomicWriteFile(path, formatResultsMarkdown(summary, options));
}

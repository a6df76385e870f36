/**
 * The study's results as tables: `results.csv` (one row per configuration,
 * full-precision numbers, for further analysis) and `results.md` (rounded,
 * with the dataset and design, the fixed settings, the axis effects titled by
 * the comparison they show, interactions of a full grid, per-class AUCs, the
 * best configuration marked ★ and in bold, and a "best configuration"
 * paragraph).
 *
 * @module
 */

import { atomicWriteFile } from "../util/fs.ts";
import type {
  AxisEffect,
  ConfigSummary,
  InteractionSummary,
  MetricStats,
  StudySummary,
} from "./summary.ts";
import { describeAxes } from "./effects.ts";
import { className } from "./task.ts";

/** An image referenced from `results.md`. */
export interface ReportFigure {
  /** Path relative to `results.md`, e.g. `charts/auc_by_level.png`. */
  path: string;
  /** Caption (the image's alt text). */
  caption: string;
}

/** Options for the Markdown and HTML reports. */
export interface ReportTextOptions {
  /** Title of the report (default: `<Dataset> ablation study`, see {@linkcode reportTitle}). */
  title?: string;
  /** The study's fixed settings (dataset, epochs, image size…), shown as a list. */
  fixedSettings?: Record<string, unknown>;
  /** Images to reference from `results.md` (paths relative to it), e.g. chart PNGs. */
  figures?: ReportFigure[];
}

/** Report title when neither a title nor the dataset is known. */
export const DEFAULT_TITLE = "Ablation study results";

/** The report's title: the given one, else `<Dataset> ablation study`, else {@linkcode DEFAULT_TITLE}. */
export function reportTitle(summary: StudySummary, title?: string): string {
  if (title) return title;
  return summary.task.datasetTitle ? `${summary.task.datasetTitle} ablation study` : DEFAULT_TITLE;
}

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
  "delong_p_vs_best_holm",
  "test_brier_kind",
];

/** CSV column stem of a class name: lower case, runs of other characters as `_`. */
function classColumn(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_|_$/g, "") || "class";
}

/**
 * The CSV header of a summary: {@linkcode CSV_COLUMNS}, then for
 * multi-class and multi-label tasks `test_auc_<k>_<class>_mean` and `_std`
 * per class (or label).
 */
export function csvColumns(summary: StudySummary): string[] {
  const k = perClassCount(summary);
  const extra: string[] = [];
  for (let c = 0; c < k; c++) {
    const stem = `test_auc_${c}_${classColumn(className(summary.task, c))}`;
    extra.push(`${stem}_mean`, `${stem}_std`);
  }
  return [...CSV_COLUMNS, ...extra];
}

function perClassCount(summary: StudySummary): number {
  return Math.max(0, ...summary.configs.map((c) => c.perClassAuc?.length ?? 0));
}

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

/** The CSV row values of one configuration, in {@linkcode csvColumns} order. */
function csvRow(c: ConfigSummary, summary: StudySummary): unknown[] {
  const perClass: unknown[] = [];
  for (let k = 0; k < perClassCount(summary); k++) {
    const st = c.perClassAuc?.[k] ?? null;
    perClass.push(st?.mean ?? null, st?.std ?? null);
  }
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
    c.delongVsBest?.pHolm ?? null,
    summary.task.brierKind,
    ...perClass,
  ];
}

/**
 * `results.csv` text: a header ({@linkcode csvColumns}) and one row per
 * configuration in rank order; numbers at full precision, empty cells for
 * missing values, RFC 4180 quoting, `\n` line ends. The Brier columns hold
 * the form named in `test_brier_kind`.
 */
export function formatResultsCsv(summary: StudySummary): string {
  const lines = [csvColumns(summary).join(",")];
  for (const c of summary.configs) lines.push(csvRow(c, summary).map(csvCell).join(","));
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

/**
 * Header of the per-configuration results table in its binary form (Markdown
 * and HTML share it); {@linkcode resultTableRows} names the Brier form, the
 * AUC and the interval's coverage of the summary at hand.
 */
export const TABLE_HEADER: readonly string[] = [
  "Rank",
  "Augment",
  "Schedule",
  "Backbone",
  "Seeds ok/failed",
  "Test AUC (mean ± std [95% CI])",
  "Test bal. acc.",
  "Test Brier (binary, sklearn)",
  "Val AUC",
  "Best epoch",
  "Gap AUC",
  "Gap loss",
  "Time/run (s)",
  "DeLong p vs best (Holm-adjusted)",
];

function pctOf(summary: StudySummary): string {
  return `${Math.round(summary.confidence * 1000) / 10}%`;
}

/** What the summary's "test AUC" is, e.g. `macro one-vs-rest AUC`. */
export function aucName(summary: StudySummary): string {
  return summary.task.task === "binary"
    ? "AUC"
    : summary.task.task === "multi-class"
    ? "macro one-vs-rest AUC"
    : "mean per-label AUC";
}

/**
 * The per-configuration table as rows of display strings, header first (see
 * {@linkcode TABLE_HEADER}); the best row's rank reads `★ 1`. The DeLong
 * column holds Holm-adjusted p-values (of the macro AUC for multi-class and
 * multi-label tasks).
 */
export function resultTableRows(summary: StudySummary): string[][] {
  const binary = summary.task.task === "binary";
  const header = TABLE_HEADER.map((h) =>
    h.replace("95%", pctOf(summary))
      .replace("Test AUC", binary ? "Test AUC" : `Test ${aucName(summary)}`)
      .replace("Brier (binary, sklearn)", summary.task.brierLabel)
      .replace("best (Holm", binary ? "best (Holm" : "best (macro AUC, Holm")
  );
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
    c.best ? "(best)" : formatPValue(c.delongVsBest?.pHolm),
  ]);
  return [header, ...rows];
}

/** An axis effect's title with its metric, as the tables and charts show it. */
export function axisEffectTitle(effect: AxisEffect, summary: StudySummary): string {
  const what = effect.comparison === "baseline"
    ? "mean and t-interval over the seeds of each configuration"
    : effect.comparison === "main-effect"
    ? "mean and t-interval across seeds of the per-seed marginal means"
    : "mean ± std over configurations";
  return `Test ${aucName(summary)} — ${effect.title} (${what})`;
}

/**
 * One axis effect as rows of display strings, header first. A one-at-a-time
 * comparison adds each level's difference from the baseline, paired by seed,
 * with its t-interval.
 */
export function axisEffectTableRows(effect: AxisEffect, summary: StudySummary): string[][] {
  const label = new Map(summary.configs.map((c) => [c.configId, c.label]));
  const pct = pctOf(summary);
  const auc = summary.task.task === "binary" ? "Test AUC" : `Test ${aucName(summary)}`;
  const oat = effect.comparison === "baseline";
  const header = [
    effect.axis,
    "Configs",
    "Runs",
    effect.comparison === "pooled"
      ? `${auc} (mean ± std over configs)`
      : `${auc} (mean ± std [${pct} CI])`,
    ...(oat ? [`Δ vs baseline (paired by seed, [${pct} CI])`] : []),
    oat ? "Configuration" : "Best configuration at the level",
  ];
  const delta = (d: MetricStats | null) =>
    d
      ? signed(d.mean) +
        (d.lower !== null && d.upper !== null ? ` [${signed(d.lower)}, ${signed(d.upper)}]` : "")
      : "—";
  const rows = effect.levels.map((l) => {
    const isBaseline = oat && summary.baseline?.[effect.axis] === l.level;
    return [
      isBaseline ? `${l.level} (baseline)` : l.level,
      String(l.nConfigs),
      String(l.nRuns),
      formatStats(l.testAuc),
      ...(oat ? [isBaseline ? "0 (reference)" : delta(l.vsBaseline)] : []),
      l.bestConfigId ? label.get(l.bestConfigId) ?? l.bestConfigId : "— (missing)",
    ];
  });
  return [header, ...rows];
}

/** The per-axis-level tables of every axis, one after another (each with its own header row). */
export function levelTableRows(summary: StudySummary): string[][] {
  return summary.axisEffects.flatMap((e) => axisEffectTableRows(e, summary));
}

function signed(value: number | null, digits = 3): string {
  if (value === null || !Number.isFinite(value)) return "—";
  return `${value >= 0 ? "+" : "−"}${Math.abs(value).toFixed(digits)}`;
}

/**
 * A two-way interaction as rows of display strings, header first: rows are
 * the first axis's levels, columns the second's; each cell reads
 * `mean [lower, upper]; γ +x [lo, hi]` — the cell mean over the third axis
 * and the interaction contrast, each with its t-interval across seeds.
 */
export function interactionTableRows(inter: InteractionSummary): string[][] {
  const header = [`${inter.axes[0]} ↓ ${inter.axes[1]} →`, ...inter.colLevels];
  const rows = inter.rowLevels.map((rl, r) => [
    rl,
    ...inter.colLevels.map((_, c) => {
      const m = inter.cells[r][c];
      const g = inter.contrasts[r][c];
      const ci = (s: MetricStats, f: (v: number | null) => string) =>
        s.lower !== null && s.upper !== null ? ` [${f(s.lower)}, ${f(s.upper)}]` : "";
      return `${formatNumber(m.mean)}${ci(m, (v) => formatNumber(v))}; γ ${signed(g.mean)}${
        ci(g, (v) => signed(v))
      }`;
    }),
  ]);
  return [header, ...rows];
}

/**
 * Per-class (one-vs-rest) or per-label test AUC of every configuration, as
 * rows of display strings, header first, class names from the dataset info;
 * `null` for binary tasks or when no configuration has per-class AUCs.
 */
export function perClassTableRows(summary: StudySummary): string[][] | null {
  const k = perClassCount(summary);
  if (k === 0) return null;
  const names = Array.from({ length: k }, (_, c) => className(summary.task, c));
  const header = ["Rank", "Configuration", ...names];
  const rows = summary.configs.map((c) => [
    c.best ? `★ ${c.rank}` : String(c.rank),
    c.label,
    ...names.map((_, i) => {
      const s = c.perClassAuc?.[i] ?? null;
      return s
        ? `${formatNumber(s.mean)}${s.std !== null ? ` ± ${formatNumber(s.std)}` : ""}`
        : "—";
    }),
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
 * The dataset and design paragraph (Markdown): dataset and task (with the
 * class names, and how an ordinal task is treated), the design and its
 * baseline.
 */
export function formatStudyParagraph(summary: StudySummary): string {
  const t = summary.task;
  const parts: string[] = [];
  if (t.datasetTitle) {
    const list = t.classNames ?? [];
    const what = t.task === "multi-label" ? "labels" : "classes";
    const names = list.length === 0
      ? ""
      : list.every((n, i) => n === String(i))
      ? `; ${list.length} ${what}, named by their index 0–${list.length - 1}`
      : `; ${what}: ${list.map((n, i) => `${i} “${n}”`).join(", ")}`;
    parts.push(`Dataset: **${t.datasetTitle}**, ${t.task} task${names}.`);
  } else {
    parts.push(`Task: ${t.task}.`);
  }
  if (t.note) parts.push(t.note);
  if (summary.design === "oat" && summary.baseline) {
    parts.push(
      `Design: one axis at a time around the baseline ${describeAxes(summary.baseline)}; ` +
        "each axis's levels are compared with the other two axes held at the baseline.",
    );
  } else if (summary.design === "grid") {
    parts.push(
      "Design: full factorial grid; axis effects are main effects marginalized over the " +
        "other axes" + (summary.interactions.length > 0 ? ", with two-way interactions." : "."),
    );
  } else {
    parts.push(
      "Design: the configurations form neither a one-at-a-time design nor a full grid; axis " +
        "levels are pooled over the configurations that have them, which is not a controlled " +
        "comparison.",
    );
  }
  const fixed = Object.keys(summary.fixedAxes);
  if (fixed.length > 0) {
    parts.push(
      `Not compared (one level each): ${describeAxes(summary.fixedAxes)}.`,
    );
  }
  return parts.join(" ");
}

/**
 * The "best configuration" paragraph (Markdown): the best configuration's
 * axes and id, its mean test AUC with the t-interval, seeds, and how many
 * other configurations differ from it at Holm-adjusted p < 0.05 by DeLong's
 * test (binary tasks).
 */
export function formatBestParagraph(summary: StudySummary): string {
  const best = summary.best;
  if (!best) {
    return `No configuration finished successfully (${summary.nFailed} of ${summary.nRuns} runs failed).`;
  }
  const others = summary.configs.filter((c) => !c.best && c.delongVsBest);
  const significant = others.filter((c) => c.delongVsBest!.pHolm < 0.05).length;
  const uncorrected = others.filter((c) => c.delongVsBest!.pValue < 0.05).length;
  const auc = best.testAuc!;
  const ci = auc.lower !== null && auc.upper !== null
    ? ` (${pctOf(summary)} t-interval over seeds ${formatNumber(auc.lower)}–${
      formatNumber(auc.upper)
    })`
    : "";
  const sd = auc.std !== null ? ` ± ${formatNumber(auc.std)}` : "";
  const failed = best.nFailed > 0 ? `, ${best.nFailed} failed` : "";
  const m = others.length;
  let tests: string;
  const test = summary.task.task === "binary"
    ? "DeLong's test on seed-ensemble scores"
    : `DeLong's test extended to the ${aucName(summary)}, on seed-ensemble probabilities`;
  if (m === 1) {
    const p = others[0].delongVsBest!.pValue;
    tests = `By ${test}, the other configuration ${
      p < 0.05 ? "differs" : "does not differ"
    } from it at p < 0.05 (p ${
      p < 0.001 ? "< 0.001" : `= ${p.toFixed(3)}`
    }; one comparison, so Holm's correction leaves it unchanged).`;
  } else if (m > 1) {
    tests = `By ${test}, with Holm's step-down correction for ` +
      `the ${m} comparisons with the best, ${significant} of the other ` +
      `${m} configurations differ${significant === 1 ? "s" : ""} from it at adjusted p < 0.05` +
      (uncorrected !== significant ? ` (${uncorrected} before correction).` : ".");
  } else {
    tests = "No other configuration could be compared with it by DeLong's test.";
  }
  return `The best configuration is **${best.label}** (\`${best.configId}\`): augmentation ` +
    `\`${best.axes.augment}\`, LR schedule \`${best.axes.schedule}\`, backbone ` +
    `\`${best.axes.backbone}\`, with mean test ${aucName(summary)} ${
      formatNumber(auc.mean)
    }${sd}${ci} over ` +
    `${best.nOk} seed${best.nOk === 1 ? "" : "s"}${failed}, balanced accuracy ` +
    `${formatNumber(best.testBalancedAccuracy?.mean)} and ${summary.task.brierLabel} ` +
    `${formatNumber(best.testBrier?.mean)}. ${tests}`;
}

/** The notes under the report (method, metrics, warnings), as plain sentences. */
export function reportNotes(summary: StudySummary): string[] {
  const notes = [
    `Means, standard deviations and ${pctOf(summary)} Student-t intervals are over the ` +
    "successful seeds of each configuration (distinct run ids); failed runs are counted but " +
    "excluded.",
    summary.delongMethod,
    `The Brier score is ${
      summary.task.brierKind === "binary"
        ? "scikit-learn's binary brier_score_loss, mean (p₁ − y)², in [0, 1]"
        : summary.task.brierKind === "multiclass"
        ? "the multi-class form, mean over images of Σ_k (p_k − 1[y = k])², in [0, 2]"
        : "the per-label binary Brier score averaged over labels, in [0, 1]"
    }.`,
    "Gap AUC = train AUC − validation AUC, gap loss = validation loss − train loss, both at " +
    "the selected (best-validation-AUC) epoch, in eval mode.",
  ];
  if (summary.nDuplicates > 0) {
    notes.push(
      `${summary.nDuplicates} duplicate record${
        summary.nDuplicates === 1 ? " was" : "s were"
      } dropped (same run id recorded more than once).`,
    );
  }
  return notes;
}

/**
 * `results.md` text: title, dataset and design, fixed settings (when given),
 * the per-config table (best row ★ and bold), one axis-effect table per axis
 * titled by its comparison (missing cells listed), interactions (full grids),
 * per-class AUCs (multi-class, multi-label), the best-configuration
 * paragraph, figures, and notes on method (and any warnings).
 */
export function formatResultsMarkdown(
  summary: StudySummary,
  options: ReportTextOptions = {},
): string {
  const parts: string[] = [`# ${reportTitle(summary, options.title)}`, ""];
  parts.push(
    `${summary.nRuns} runs: ${summary.nOk} succeeded, ${summary.nFailed} failed; ` +
      `${summary.configs.length} configurations.`,
    "",
    formatStudyParagraph(summary),
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
  parts.push("## Axis effects", "");
  for (const e of summary.axisEffects) {
    parts.push(`### ${axisEffectTitle(e, summary)}`, "", mdTable(axisEffectTableRows(e, summary)));
    parts.push("");
    if (e.missing.length > 0) {
      parts.push(`Missing: ${e.missing.map((m) => `\`${m}\``).join("; ")}.`, "");
    }
    for (const n of e.notes) parts.push(`_${mdEscape(n)}_`, "");
  }
  if (summary.interactions.length > 0) {
    parts.push("## Interactions", "");
    parts.push(
      `Cell means over the third axis with ${pctOf(summary)} t-intervals across seeds; γ is ` +
        "the interaction contrast m_ij − m_i· − m_·j + m_·· (0 when the two axes' effects add up).",
      "",
    );
    for (const i of summary.interactions) {
      parts.push(`### ${i.title}`, "", mdTable(interactionTableRows(i)), "");
    }
  }
  const perClass = perClassTableRows(summary);
  if (perClass) {
    const kind = summary.task.task === "multi-label" ? "label" : "class (one-vs-rest)";
    parts.push(`## Test AUC per ${kind}`, "", mdTable(perClass), "");
  }
  parts.push("## Best configuration", "", formatBestParagraph(summary), "");
  if (options.figures && options.figures.length > 0) {
    parts.push("## Figures", "");
    for (const f of options.figures) {
      parts.push(`![${f.caption.replaceAll("]", ")")}](${encodeURI(f.path)})`, "");
    }
  }
  parts.push("## Notes", "");
  for (const n of reportNotes(summary)) parts.push(`- ${mdEscape(n)}`);
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

/**
 * What the report needs to know about the study's task, so that its wording
 * follows the dataset: how predictions are scored (binary, multi-class,
 * multi-label), the dataset's display name and class names, and which Brier
 * score the tables show.
 *
 * Everything is taken, in this order, from the report options, the run
 * records (`scoredAs`, `task`, `classNames`, `config.fixed.dataset`,
 * `test.brierKind`),
 * the MedMNIST info table, and finally the shape of the stored test scores;
 * records written before these fields existed are read as binary studies
 * whose Brier is the two-class sum.
 *
 * @module
 */

import { MEDMNIST_INFO } from "../data/medmnist.ts";
import type { RunRecord } from "./record.ts";

/** How the study's predictions are scored. */
export type ScoredTask = "binary" | "multi-class" | "multi-label";

/** Which Brier score a value is (same names as the metrics layer's `BrierKind`). */
export type ReportBrierKind = "binary" | "multiclass" | "multilabel";

/** The task as the report words it. */
export interface TaskInfo {
  /** How predictions are scored. */
  task: ScoredTask;
  /** The task as the dataset names it (e.g. `ordinal-regression`); `null` when unknown. */
  datasetTask: string | null;
  /** Dataset id, e.g. `breastmnist`; `null` when unknown. */
  dataset: string | null;
  /** Display name, e.g. `BreastMNIST` (the id when not a MedMNIST set); `null` when unknown. */
  datasetTitle: string | null;
  /** Name of each class (label, for multi-label); `null` when unknown. */
  classNames: string[] | null;
  /** The Brier score the report shows. */
  brierKind: ReportBrierKind;
  /** Table header of that Brier score, e.g. `Brier (binary, sklearn)`. */
  brierLabel: string;
  /** How the task is handled where it differs from its name (ordinal as multi-class); else `null`. */
  note: string | null;
}

/** Options naming the task explicitly (they win over what the records say). */
export interface TaskOptions {
  /** Dataset id, e.g. `retinamnist`. */
  dataset?: string;
  /** Task type, as the dataset or the record names it (`binary`, `binary-class`, `multi-class`, `multi-label`, `ordinal-regression`). */
  task?: string;
  /** Class (or label) names, in class-index order. */
  classNames?: string[];
}

/** Table header of each Brier form. */
export function brierLabel(kind: ReportBrierKind): string {
  return kind === "binary"
    ? "Brier (binary, sklearn)"
    : kind === "multiclass"
    ? "Brier (multi-class)"
    : "Brier (per-label mean)";
}

/** The dataset id a record was trained on (`config.fixed.dataset` or `config.dataset`). */
export function recordDataset(r: RunRecord): string | null {
  const config = r.config as { fixed?: { dataset?: unknown }; dataset?: unknown } | undefined;
  const d = config?.fixed?.dataset ?? config?.dataset;
  return typeof d === "string" && d ? d : null;
}

/** A field the record schema may carry (written by newer versions), read without assuming it. */
function field<T>(r: RunRecord, name: string): T | undefined {
  return (r as unknown as Record<string, unknown>)[name] as T | undefined;
}

function isMatrix(x: unknown): x is number[][] {
  return Array.isArray(x) && x.length > 0 && Array.isArray(x[0]);
}

function normalizeTask(task: string | null | undefined): string | null {
  if (!task) return null;
  return task === "binary-class" ? "binary" : task;
}

/**
 * Resolve the study's task from `options`, then the records, then the
 * MedMNIST info of the dataset, then the stored score shapes (see the module
 * documentation). Never throws: unknown parts are `null`.
 */
export function resolveTask(records: readonly RunRecord[], options: TaskOptions = {}): TaskInfo {
  const ok = records.filter((r) => r.status === "ok");
  const pool = ok.length > 0 ? ok : records;
  const dataset = options.dataset ?? pool.map(recordDataset).find((d) => d !== null) ?? null;
  const info = dataset
    ? (MEDMNIST_INFO as Record<string, (typeof MEDMNIST_INFO)[keyof typeof MEDMNIST_INFO]>)[
      dataset.toLowerCase()
    ]
    : undefined;
  const recordTask = pool.map((r) => field<string>(r, "task")).find((t) => typeof t === "string");
  const datasetTask = normalizeTask(options.task ?? recordTask ?? info?.task ?? null);
  const recordNames = pool.map((r) => field<string[]>(r, "classNames")).find(Array.isArray);
  const classNames = options.classNames ?? recordNames ?? info?.labelNames.slice() ?? null;

  const scoredAs = options.task
    ? undefined
    : pool.map((r) => field<string>(r, "scoredAs")).find((t) => typeof t === "string");
  const withScores = pool.find((r) => Array.isArray(r.testScores) && r.testScores.length > 0);
  const withProbs = pool.find((r) =>
    Array.isArray(r.testProbs) && Array.isArray(r.testTargets) && r.testTargets.length > 0
  );
  let width = classNames?.length ?? null;
  if (withScores && isMatrix(withScores.testScores)) width = withScores.testScores[0].length;
  else if (withProbs && withProbs.testProbs!.length !== withProbs.testTargets!.length) {
    width = withProbs.testProbs!.length / withProbs.testTargets!.length;
  }
  let task: ScoredTask;
  if (scoredAs === "binary" || scoredAs === "multi-class" || scoredAs === "multi-label") {
    task = scoredAs;
  } else if (datasetTask === "multi-label") task = "multi-label";
  else if (datasetTask === "binary" || width === 2) task = "binary";
  else if (datasetTask === "multi-class" || datasetTask === "ordinal-regression") {
    task = "multi-class";
  } else if (withScores && isMatrix(withScores.testLabels)) task = "multi-label";
  else if (width !== null && width > 2) task = "multi-class";
  else task = "binary";

  const brierKind: ReportBrierKind = task === "binary"
    ? "binary"
    : task === "multi-class"
    ? "multiclass"
    : "multilabel";
  const k = classNames?.length ?? width;
  const note = datasetTask === "ordinal-regression"
    ? `${info?.pythonClass ?? dataset ?? "This dataset"} is an ordinal-regression task` +
      `${k ? ` (${k} ordered grades)` : ""}; it is treated as multi-class classification ` +
      "(softmax cross-entropy, macro one-vs-rest AUC), as the MedMNIST benchmark does, and the " +
      "order of the grades is not used."
    : null;
  return {
    task,
    datasetTask,
    dataset,
    datasetTitle: info?.pythonClass ?? dataset,
    classNames,
    brierKind,
    brierLabel: brierLabel(brierKind),
    note,
  };
}

/**
 * A run's test Brier score in the form `task.brierKind` names, or `null`.
 * Records without `test.brierKind` hold the multi-class form (the two-class
 * sum for binary tasks, exactly twice scikit-learn's `brier_score_loss`),
 * which is halved for a binary report.
 */
export function testBrierOf(r: RunRecord, task: TaskInfo): number | null {
  const b = r.test?.brier;
  if (typeof b !== "number" || !Number.isFinite(b)) return null;
  const kind = (r.test as { brierKind?: string }).brierKind ?? "multiclass";
  if (kind === task.brierKind) return b;
  if (kind === "multiclass" && task.brierKind === "binary") return b / 2;
  if (kind === "binary" && task.brierKind === "multiclass") return b * 2;
  return null;
}

/** The name of class `k`: from the class names, else `class k`. */
export function className(task: TaskInfo, k: number): string {
  return task.classNames?.[k] ?? `class ${k}`;
}

/**
 * How a dataset's task is trained and scored: the three metric families
 * (binary, multi-class, multi-label), which Brier form each reports, and the
 * mapping from a MedMNIST task type (ordinal regression is scored as
 * multi-class).
 *
 * @module
 */

/**
 * How predictions are scored:
 * - `"binary"`: K = 2 softmax; AUC of class 1, sklearn's binary Brier;
 * - `"multi-class"`: K > 2 softmax; macro one-vs-rest AUC, multi-class Brier;
 * - `"multi-label"`: K independent sigmoids; mean per-label AUC, per-label Brier.
 */
export type MetricTask = "binary" | "multi-class" | "multi-label";

/**
 * Which Brier score a metric holds:
 * - `"binary"`: sklearn's `brier_score_loss`, mean (p₁ − y)² with class 1 positive, in [0, 1];
 * - `"multiclass"`: mean over samples of Σ_k (p_k − 1[y = k])², in [0, 2];
 * - `"multilabel"`: mean over samples and labels of (p_l − y_l)² (per-label binary Brier, averaged), in [0, 1].
 */
export type BrierKind = "binary" | "multiclass" | "multilabel";

/** The Brier form reported for each metric task. */
export function brierKindOf(task: MetricTask): BrierKind {
  return task === "binary" ? "binary" : task === "multi-class" ? "multiclass" : "multilabel";
}

/** A dataset task as the data layer names it (see `TaskType` in `data/dataset.ts`). */
export type DatasetTask = "binary" | "multi-class" | "multi-label" | "ordinal-regression";

/**
 * The metric task of a dataset task with `numClasses` classes: ordinal
 * regression (RetinaMNIST) is trained and scored as multi-class
 * classification, as the MedMNIST benchmark does; a 2-class "multi-class"
 * task is scored as binary.
 */
export function metricTaskOf(task: DatasetTask, numClasses: number): MetricTask {
  if (task === "multi-label") return "multi-label";
  if (task === "binary" || numClasses === 2) return "binary";
  if (task === "multi-class" || task === "ordinal-regression") return "multi-class";
  throw new RangeError(
    `unknown task "${task}"; expected "binary", "multi-class", "multi-label" or "ordinal-regression"`,
  );
}

/**
 * A sentence on how a dataset task is handled when it differs from its
 * name (ordinal regression scored as multi-class), else `undefined`.
 */
export function taskNote(task: DatasetTask, numClasses: number): string | undefined {
  if (task !== "ordinal-regression") return undefined;
  return `ordinal regression (${numClasses} ordered grades) is trained with softmax ` +
    `cross-entropy and scored as ${numClasses}-class classification (macro one-vs-rest AUC), ` +
    `as the MedMNIST benchmark does; the order of the grades is not used.`;
}

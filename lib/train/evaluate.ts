/**
 * Scoring predicted probabilities on the host: the study's split metrics
 * (selection AUC, accuracy, balanced accuracy, Brier in the task's form, ECE,
 * unsmoothed cross-entropy) for binary, multi-class and multi-label tasks.
 *
 * @module
 */

import {
  evaluateMultiLabel,
  evaluateScores,
  rocCurvesOvr,
  rocCurvesPerLabel,
} from "../metrics/mod.ts";
import type { ClassificationReport, MetricTask, MultiLabelReport } from "../metrics/mod.ts";
import { brierKindOf } from "../metrics/task.ts";
import type { SplitMetrics } from "../metrics/history.ts";

/** Mean cross-entropy `−log p[label]` of N×K probabilities (clamped at 1e-12). */
export function crossEntropyOfProbs(probs: Float32Array, labels: Int32Array, k: number): number {
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    sum -= Math.log(Math.max(probs[i * k + labels[i]], 1e-12));
  }
  return sum / labels.length;
}

/** The full report of a split plus the study's headline metrics. */
export interface ScoredPredictions {
  /** How the predictions were scored. */
  task: MetricTask;
  /** Headline metrics. */
  metrics: SplitMetrics;
  /**
   * Every single-label metric (confusion matrix, per-class stats, DeLong CI,
   * …); `null` for multi-label tasks (see `multiLabel`).
   */
  report: ClassificationReport | null;
  /** Every multi-label metric (per-label AUC, accuracy, Brier); `null` for single-label tasks. */
  multiLabel: MultiLabelReport | null;
}

/** Options of {@linkcode scoreProbabilities}. */
export interface ScoreOptions {
  /**
   * How to score (default: `"binary"` when K = 2, else `"multi-class"`).
   * `"multi-label"` reads `labels` as N×K 0/1 values and `probs` as per-label
   * sigmoid probabilities.
   */
  task?: MetricTask;
}

/**
 * Score N×K probabilities against labels (N class indices, or N×K 0/1 values
 * for multi-label). The selection AUC is the AUC of class 1 (binary), the
 * macro one-vs-rest AUC (multi-class) or the mean per-label AUC
 * (multi-label); the Brier score is sklearn's binary form, the multi-class
 * form or the per-label mean, as `metrics.brierKind` says.
 */
export function scoreProbabilities(
  probs: Float32Array,
  labels: Int32Array,
  k: number,
  options: ScoreOptions = {},
): ScoredPredictions {
  const task = options.task ?? (k === 2 ? "binary" : "multi-class");
  if (task === "multi-label") {
    const n = labels.length / k;
    if (!Number.isInteger(n) || probs.length !== labels.length) {
      throw new RangeError(
        `scoreProbabilities: multi-label scoring needs N×${k} labels and probabilities, ` +
          `got ${labels.length} labels and ${probs.length} probabilities`,
      );
    }
    const ml = evaluateMultiLabel({ data: probs, dims: [n, k] }, { data: labels, dims: [n, k] });
    return {
      task,
      report: null,
      multiLabel: ml,
      metrics: {
        auc: ml.auc,
        accuracy: ml.accuracy,
        balancedAccuracy: ml.balancedAccuracy,
        brier: ml.brier,
        brierKind: "multilabel",
        perClassAuc: ml.aucPerLabel,
        ece: ml.ece,
        loss: ml.loss,
      },
    };
  }
  if (task === "binary" && k !== 2) {
    throw new RangeError(`scoreProbabilities: a binary task needs K = 2 columns, got ${k}`);
  }
  const report = evaluateScores({ data: probs, dims: [labels.length, k] }, labels);
  return {
    task,
    report,
    multiLabel: null,
    metrics: {
      auc: report.auc,
      accuracy: report.accuracy,
      balancedAccuracy: report.balancedAccuracy,
      brier: task === "binary" ? report.binary!.brier : report.brier,
      brierKind: brierKindOf(task),
      perClassAuc: report.aucPerClass,
      ece: report.ece,
      loss: crossEntropyOfProbs(probs, labels, k),
    },
  };
}

/** Points of a ROC curve as plain arrays (JSON-ready). */
export interface RocCurvePoints {
  /** False-positive rates, non-decreasing from 0 to 1. */
  fpr: number[];
  /** True-positive rates, non-decreasing from 0 to 1. */
  tpr: number[];
}

/**
 * ROC curve of each class (one-vs-rest) or each label (multi-label) of N×K
 * probabilities, corner points only (sklearn's `drop_intermediate`); `null`
 * where a class/label has no positives or no negatives.
 */
export function rocCurvesPerClass(
  probs: Float32Array,
  labels: Int32Array,
  k: number,
  options: ScoreOptions = {},
): (RocCurvePoints | null)[] {
  const multi = options.task === "multi-label";
  const n = multi ? labels.length / k : labels.length;
  const curves = multi
    ? rocCurvesPerLabel({ data: probs, dims: [n, k] }, { data: labels, dims: [n, k] }, {
      dropIntermediate: true,
    })
    : rocCurvesOvr({ data: probs, dims: [n, k] }, labels, { dropIntermediate: true });
  return curves.map((c) => c && { fpr: Array.from(c.fpr), tpr: Array.from(c.tpr) });
}

/**
 * Scoring predicted probabilities on the host: the study's split metrics
 * (AUC, accuracy, balanced accuracy, Brier, ECE, unsmoothed cross-entropy)
 * from an N×K probability matrix and the labels.
 *
 * @module
 */

import { evaluateScores } from "../metrics/mod.ts";
import type { ClassificationReport } from "../metrics/mod.ts";
import type { SplitMetrics } from "./history.ts";

/** Mean cross-entropy `−log p[label]` of N×K probabilities (clamped at 1e-12). */
export function crossEntropyOfProbs(probs: Float32Array, labels: Int32Array, k: number): number {
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    sum -= Math.log(Math.max(probs[i * k + labels[i]], 1e-12));
  }
  return sum / labels.length;
}

/** The full classification report plus the study's headline metrics. */
export interface ScoredPredictions {
  /** Headline metrics. */
  metrics: SplitMetrics;
  /** Every metric (confusion matrix, per-class stats, DeLong CI, …). */
  report: ClassificationReport;
}

/** Score N×K probabilities against labels. */
export function scoreProbabilities(
  probs: Float32Array,
  labels: Int32Array,
  k: number,
): ScoredPredictions {
  const report = evaluateScores({ data: probs, dims: [labels.length, k] }, labels);
  return {
    report,
    metrics: {
      auc: report.auc,
      accuracy: report.accuracy,
      balancedAccuracy: report.balancedAccuracy,
      brier: report.brier,
      ece: report.ece,
      loss: crossEntropyOfProbs(probs, labels, k),
    },
  };
}

/**
 * Probability-quality metrics: the Brier score (multi-class and sklearn's
 * binary form) and the expected calibration error with its reliability bins.
 *
 * @module
 */

import type { PositiveClassOptions } from "./auc.ts";
import {
  argmaxRows,
  checkLabelRange,
  checkProbabilities,
  checkSameLength,
  DegenerateSampleError,
  type Labels,
  type ScoreMatrix,
  type Scores,
  toFloat64,
  toLabels,
  toMatrix,
} from "./_validate.ts";

/**
 * Multi-class Brier score (Brier 1950): the mean over samples of
 * Σ_k (p_k − 1[y = k])², in [0, 2]. For K = 2 it is exactly twice
 * {@linkcode binaryBrierScore}. Rows must be probabilities (in [0, 1],
 * summing to 1 within 1e-3).
 */
export function brierScore(probs: ScoreMatrix, labels: Labels): number {
  const where = "brierScore";
  const m = toMatrix(probs, where);
  const y = toLabels(labels, where);
  checkSameLength(m.rows, y.length, where, "probs rows and labels");
  checkLabelRange(y, m.cols, where);
  checkProbabilities(m, where);
  if (m.rows === 0) throw new DegenerateSampleError(`${where}: no samples`);
  let total = 0;
  for (let i = 0; i < m.rows; i++) {
    for (let k = 0; k < m.cols; k++) {
      const d = m.data[i * m.cols + k] - (y[i] === k ? 1 : 0);
      total += d * d;
    }
  }
  return total / m.rows;
}

/**
 * Binary Brier score as sklearn's `brier_score_loss`: mean (p − y)² where `p`
 * is the predicted probability of `positiveClass` (default 1) and y is 1 for
 * that class, 0 otherwise. In [0, 1].
 */
export function binaryBrierScore(
  scores: Scores,
  labels: Labels,
  options?: PositiveClassOptions,
): number {
  const where = "binaryBrierScore";
  const p = toFloat64(scores, where, "probabilities");
  const y = toLabels(labels, where);
  checkSameLength(p.length, y.length, where, "probabilities and labels");
  if (p.length === 0) throw new DegenerateSampleError(`${where}: no samples`);
  const pos = options?.positiveClass ?? 1;
  let total = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] < 0 || p[i] > 1) {
      throw new RangeError(
        `${where}: probabilities[${i}] is ${p[i]}, outside [0, 1]; pass P(class ${pos}), ` +
          `not a logit`,
      );
    }
    const d = p[i] - (y[i] === pos ? 1 : 0);
    total += d * d;
  }
  return total / p.length;
}

/** Options for {@linkcode expectedCalibrationError} and {@linkcode reliabilityBins}. */
export interface CalibrationOptions {
  /** Number of equal-width confidence bins over [0, 1]. Default 15 (Guo et al. 2017). */
  nBins?: number;
}

/** One bin of a reliability diagram. */
export interface ReliabilityBin {
  /** Lower edge (exclusive, except that the first bin also holds confidence 0). */
  lower: number;
  /** Upper edge (inclusive). */
  upper: number;
  /** Number of samples whose top-label confidence falls in the bin. */
  count: number;
  /** Mean top-label confidence in the bin; `null` when empty. */
  confidence: number | null;
  /** Fraction of correct argmax predictions in the bin; `null` when empty. */
  accuracy: number | null;
}

/** Calibration summary: ECE, MCE and the bins they are computed from. */
export interface CalibrationReport {
  /** Expected calibration error: Σ_b (n_b / N) · |accuracy_b − confidence_b|. */
  ece: number;
  /** Maximum calibration error: max over non-empty bins of |accuracy_b − confidence_b|. */
  mce: number;
  /** The `nBins` bins, in increasing confidence order. */
  bins: ReliabilityBin[];
}

/**
 * Reliability bins of top-label confidence (Guo et al. 2017): each sample's
 * confidence is its largest probability, it is correct when the argmax equals
 * the label, and it falls in bin b when `b/nBins < confidence <= (b+1)/nBins`.
 */
export function reliabilityBins(
  probs: ScoreMatrix,
  labels: Labels,
  options?: CalibrationOptions,
): CalibrationReport {
  const where = "reliabilityBins";
  const nBins = options?.nBins ?? 15;
  if (!Number.isInteger(nBins) || nBins <= 0) {
    throw new RangeError(`${where}: nBins must be a positive integer, got ${nBins}`);
  }
  const m = toMatrix(probs, where);
  const y = toLabels(labels, where);
  checkSameLength(m.rows, y.length, where, "probs rows and labels");
  checkLabelRange(y, m.cols, where);
  checkProbabilities(m, where);
  if (m.rows === 0) throw new DegenerateSampleError(`${where}: no samples`);
  const pred = argmaxRows(m);
  const count = new Float64Array(nBins);
  const confSum = new Float64Array(nBins);
  const correct = new Float64Array(nBins);
  for (let i = 0; i < m.rows; i++) {
    const conf = m.data[i * m.cols + pred[i]];
    let b = Math.ceil(conf * nBins) - 1;
    // Guard against rounding in conf * nBins: enforce b/nBins < conf <= (b+1)/nBins.
    if (b > 0 && conf <= b / nBins) b--;
    if (b < nBins - 1 && conf > (b + 1) / nBins) b++;
    b = Math.min(nBins - 1, Math.max(0, b));
    count[b]++;
    confSum[b] += conf;
    if (pred[i] === y[i]) correct[b]++;
  }
  const bins: ReliabilityBin[] = [];
  let ece = 0;
  let mce = 0;
  for (let b = 0; b < nBins; b++) {
    const n = count[b];
    const confidence = n > 0 ? confSum[b] / n : null;
    const acc = n > 0 ? correct[b] / n : null;
    if (n > 0) {
      const gap = Math.abs(acc! - confidence!);
      ece += (n / m.rows) * gap;
      mce = Math.max(mce, gap);
    }
    bins.push({ lower: b / nBins, upper: (b + 1) / nBins, count: n, confidence, accuracy: acc });
  }
  return { ece, mce, bins };
}

/**
 * Expected calibration error with `nBins` (default 15) equal-width bins of
 * top-label confidence; see {@linkcode reliabilityBins} for the binning.
 */
export function expectedCalibrationError(
  probs: ScoreMatrix,
  labels: Labels,
  options?: CalibrationOptions,
): number {
  return reliabilityBins(probs, labels, options).ece;
}

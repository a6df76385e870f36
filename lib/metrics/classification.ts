/**
 * Threshold-based classification metrics over predicted labels: confusion
 * matrix, accuracy, balanced accuracy, sensitivity/specificity and per-class
 * precision/recall/F1, plus helpers that turn scores into predicted labels.
 *
 * Every function takes `(predictions, labels)` in that order, matching the
 * `(scores, labels)` order of the AUC functions.
 *
 * @module
 */

import type { PositiveClassOptions } from "./auc.ts";
import {
  argmaxRows,
  checkSameLength,
  DegenerateSampleError,
  type Labels,
  type ScoreMatrix,
  type Scores,
  toFloat64,
  toLabels,
  toMatrix,
} from "./_validate.ts";

/** Options for metrics that need the number of classes. */
export interface NumClassesOptions {
  /**
   * Number of classes K. Default: one more than the largest label or
   * prediction seen. Pass it so that a class missing from a small sample still
   * gets its row and column.
   */
  numClasses?: number;
}

function prepare(
  predictions: Labels,
  labels: Labels,
  where: string,
  numClasses?: number,
): { pred: Int32Array; y: Int32Array; k: number } {
  const pred = toLabels(predictions, where, "predictions");
  const y = toLabels(labels, where, "labels");
  checkSameLength(pred.length, y.length, where, "predictions and labels");
  let maxSeen = -1;
  for (let i = 0; i < y.length; i++) maxSeen = Math.max(maxSeen, y[i], pred[i]);
  let k = maxSeen + 1;
  if (numClasses !== undefined) {
    if (!Number.isInteger(numClasses) || numClasses <= 0) {
      throw new RangeError(`${where}: numClasses must be a positive integer, got ${numClasses}`);
    }
    if (maxSeen >= numClasses) {
      throw new RangeError(
        `${where}: found class ${maxSeen} in predictions or labels but numClasses is ` +
          `${numClasses}; raise numClasses or fix the labels`,
      );
    }
    k = numClasses;
  }
  return { pred, y, k };
}

/**
 * K×K confusion matrix: `matrix[t][p]` counts samples whose true label is `t`
 * and predicted label is `p` (rows = truth, columns = prediction, as sklearn).
 */
export function confusionMatrix(
  predictions: Labels,
  labels: Labels,
  options?: NumClassesOptions,
): number[][] {
  const { pred, y, k } = prepare(predictions, labels, "confusionMatrix", options?.numClasses);
  const m: number[][] = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < y.length; i++) m[y[i]][pred[i]]++;
  return m;
}

/** Fraction of samples whose prediction equals the label. Throws on empty input. */
export function accuracy(predictions: Labels, labels: Labels): number {
  const { pred, y } = prepare(predictions, labels, "accuracy");
  if (y.length === 0) throw new DegenerateSampleError("accuracy: no samples");
  let hit = 0;
  for (let i = 0; i < y.length; i++) if (pred[i] === y[i]) hit++;
  return hit / y.length;
}

/**
 * Balanced accuracy: the mean of per-class recall over the classes present in
 * `labels` (classes with no true samples are skipped, as sklearn does after
 * warning). Equals (sensitivity + specificity) / 2 for binary problems.
 */
export function balancedAccuracy(
  predictions: Labels,
  labels: Labels,
  options?: NumClassesOptions,
): number {
  const { pred, y, k } = prepare(predictions, labels, "balancedAccuracy", options?.numClasses);
  if (y.length === 0) throw new DegenerateSampleError("balancedAccuracy: no samples");
  const support = new Float64Array(k);
  const hits = new Float64Array(k);
  for (let i = 0; i < y.length; i++) {
    support[y[i]]++;
    if (pred[i] === y[i]) hits[y[i]]++;
  }
  let sum = 0;
  let present = 0;
  for (let c = 0; c < k; c++) {
    if (support[c] > 0) {
      sum += hits[c] / support[c];
      present++;
    }
  }
  return sum / present;
}

/** Binary confusion counts with the derived sensitivity and specificity. */
export interface SensitivitySpecificity {
  /** The label value treated as positive. */
  positiveClass: number;
  /** True positives: label positive, predicted positive. */
  tp: number;
  /** False negatives: label positive, predicted anything else. */
  fn: number;
  /** True negatives: label negative, predicted not positive. */
  tn: number;
  /** False positives: label negative, predicted positive. */
  fp: number;
  /** Recall of the positive class, tp / (tp + fn); `null` without positive samples. */
  sensitivity: number | null;
  /** Recall of the negative class, tn / (tn + fp); `null` without negative samples. */
  specificity: number | null;
}

/**
 * Sensitivity (true-positive rate) and specificity (true-negative rate) with
 * `positiveClass` (default 1) as positive and every other label negative. A
 * rate whose denominator is zero is `null` rather than NaN, so the result
 * stays JSON-safe.
 */
export function sensitivitySpecificity(
  predictions: Labels,
  labels: Labels,
  options?: PositiveClassOptions,
): SensitivitySpecificity {
  const where = "sensitivitySpecificity";
  const { pred, y } = prepare(predictions, labels, where);
  const pos = options?.positiveClass ?? 1;
  if (!Number.isInteger(pos) || pos < 0) {
    throw new RangeError(`${where}: positiveClass must be a non-negative integer, got ${pos}`);
  }
  let tp = 0, fn = 0, tn = 0, fp = 0;
  for (let i = 0; i < y.length; i++) {
    const p = pred[i] === pos;
    if (y[i] === pos) p ? tp++ : fn++;
    else p ? fp++ : tn++;
  }
  return {
    positiveClass: pos,
    tp,
    fn,
    tn,
    fp,
    sensitivity: tp + fn > 0 ? tp / (tp + fn) : null,
    specificity: tn + fp > 0 ? tn / (tn + fp) : null,
  };
}

/** Precision, recall and F1 of one class (one-vs-rest). */
export interface ClassStats {
  /** The class index. */
  class: number;
  /** Number of samples whose true label is this class. */
  support: number;
  /** tp / (tp + fp); `null` when the class is never predicted. */
  precision: number | null;
  /** tp / (tp + fn); `null` when the class has no true samples. */
  recall: number | null;
  /** Harmonic mean of precision and recall; `null` when either is null, 0 when both are 0. */
  f1: number | null;
}

/** Per-class precision, recall, F1 and support, one entry per class 0..K-1. */
export function perClassStats(
  predictions: Labels,
  labels: Labels,
  options?: NumClassesOptions,
): ClassStats[] {
  const cm = confusionMatrix(predictions, labels, options);
  const k = cm.length;
  const out: ClassStats[] = [];
  for (let c = 0; c < k; c++) {
    const tp = cm[c][c];
    let support = 0;
    let predicted = 0;
    for (let j = 0; j < k; j++) {
      support += cm[c][j];
      predicted += cm[j][c];
    }
    const precision = predicted > 0 ? tp / predicted : null;
    const recall = support > 0 ? tp / support : null;
    const f1 = precision === null || recall === null
      ? null
      : precision + recall === 0
      ? 0
      : (2 * precision * recall) / (precision + recall);
    out.push({ class: c, support, precision, recall, f1 });
  }
  return out;
}

/** Predicted class of each row of an N×K score matrix: the argmax (first one on ties). */
export function argmaxPredictions(probs: ScoreMatrix): Int32Array {
  return argmaxRows(toMatrix(probs, "argmaxPredictions"));
}

/** Options for {@linkcode thresholdPredictions}. */
export interface ThresholdOptions {
  /** Scores `>= threshold` are predicted positive. Default 0.5. */
  threshold?: number;
  /** Label emitted for positive predictions. Default 1. */
  positiveClass?: number;
  /** Label emitted for negative predictions. Default 0. */
  negativeClass?: number;
}

/** Binary predictions from 1-D scores: `positiveClass` where `score >= threshold`, else `negativeClass`. */
export function thresholdPredictions(scores: Scores, options?: ThresholdOptions): Int32Array {
  const where = "thresholdPredictions";
  const s = toFloat64(scores, where);
  const threshold = options?.threshold ?? 0.5;
  const pos = options?.positiveClass ?? 1;
  const neg = options?.negativeClass ?? 0;
  if (Number.isNaN(threshold)) throw new RangeError(`${where}: threshold is NaN`);
  for (const [name, v] of [["positiveClass", pos], ["negativeClass", neg]] as const) {
    if (!Number.isInteger(v) || v < 0) {
      throw new RangeError(`${where}: ${name} must be a non-negative integer, got ${v}`);
    }
  }
  const out = new Int32Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s[i] >= threshold ? pos : neg;
  return out;
}

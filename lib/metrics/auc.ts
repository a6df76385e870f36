/**
 * Area under the ROC curve: exact binary AUC via the Mann–Whitney statistic
 * with midranks for ties, multi-class one-vs-rest AUC, and ROC curve points.
 *
 * @module
 */

import { aucFromMask, midranksOf } from "./_rank.ts";
import {
  checkLabelRange,
  checkSameLength,
  column,
  DegenerateSampleError,
  type Labels,
  type ScoreMatrix,
  type Scores,
  toFloat64,
  toLabels,
  toMatrix,
} from "./_validate.ts";

/** Options for binary metrics that need to know which class is "positive". */
export interface PositiveClassOptions {
  /** Label value treated as positive; every other label is negative. Default 1. */
  positiveClass?: number;
}

/**
 * Midranks (1-based average ranks, ties share the mean of the ranks they span)
 * of `values`, as used by the Mann–Whitney U statistic.
 *
 * @example midranks([0.1, 0.4, 0.4, 0.9]) → Float64Array [1, 2.5, 2.5, 4]
 */
export function midranks(values: Scores): Float64Array {
  return midranksOf(toFloat64(values, "midranks", "values"));
}

/** Resolve the positive-class option, validating it. */
function positiveOf(options: PositiveClassOptions | undefined, where: string): number {
  const p = options?.positiveClass ?? 1;
  if (!Number.isInteger(p) || p < 0) {
    throw new RangeError(`${where}: positiveClass must be a non-negative integer, got ${p}`);
  }
  return p;
}

/**
 * Exact binary AUC-ROC: the probability that a random positive scores higher
 * than a random negative, counting ties as one half (Mann–Whitney U / (m·n),
 * computed with midranks in O(N log N)). Equals sklearn's `roc_auc_score`.
 *
 * Samples whose label equals `positiveClass` (default 1) are positives; all
 * others are negatives. Throws {@linkcode DegenerateSampleError} when either
 * group is empty.
 */
export function aucRoc(scores: Scores, labels: Labels, options?: PositiveClassOptions): number {
  const where = "aucRoc";
  const s = toFloat64(scores, where);
  const y = toLabels(labels, where);
  checkSameLength(s.length, y.length, where, "scores and labels");
  const pos = positiveOf(options, where);
  const isPos = new Uint8Array(y.length);
  for (let i = 0; i < y.length; i++) isPos[i] = y[i] === pos ? 1 : 0;
  return aucFromMask(s, isPos, where);
}

/** Points of a ROC curve, one per distinct threshold, in decreasing threshold order. */
export interface RocCurve {
  /** False-positive rate at each threshold, non-decreasing from 0 to 1. */
  fpr: Float64Array;
  /** True-positive rate (sensitivity) at each threshold, non-decreasing from 0 to 1. */
  tpr: Float64Array;
  /**
   * Decreasing thresholds; a sample is predicted positive when `score >= threshold`.
   * The first is `Infinity` (nothing predicted positive), the last is the lowest score.
   */
  thresholds: Float64Array;
}

/** Options of {@linkcode rocCurve}. */
export interface RocCurveOptions extends PositiveClassOptions {
  /**
   * Drop points that lie on a straight segment between their neighbours, as
   * sklearn's `drop_intermediate=True` (the curve and its AUC are unchanged;
   * far fewer points to store or plot). Default `false`.
   */
  dropIntermediate?: boolean;
}

/**
 * ROC curve points like sklearn's `roc_curve(..., drop_intermediate=False)`:
 * one point per distinct score (tied scores give a single point), preceded by
 * the point (0, 0) at threshold `Infinity`; the last point is (1, 1). With
 * `dropIntermediate: true`, collinear points are dropped as sklearn's default.
 */
export function rocCurve(scores: Scores, labels: Labels, options?: RocCurveOptions): RocCurve {
  const where = "rocCurve";
  const s = toFloat64(scores, where);
  const y = toLabels(labels, where);
  checkSameLength(s.length, y.length, where, "scores and labels");
  const pos = positiveOf(options, where);
  const n = s.length;
  let nPos = 0;
  for (let i = 0; i < n; i++) if (y[i] === pos) nPos++;
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) {
    throw new DegenerateSampleError(
      `${where}: a ROC curve needs both positive and negative samples, got ${nPos} positive ` +
        `and ${nNeg} negative (positiveClass ${pos})`,
    );
  }
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => s[b] - s[a]);
  const fpr: number[] = [0];
  const tpr: number[] = [0];
  const thresholds: number[] = [Infinity];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < n; i++) {
    const idx = order[i];
    if (y[idx] === pos) tp++;
    else fp++;
    if (i + 1 === n || s[order[i + 1]] !== s[idx]) {
      fpr.push(fp / nNeg);
      tpr.push(tp / nPos);
      thresholds.push(s[idx]);
    }
  }
  if (options?.dropIntermediate && fpr.length > 3) {
    // sklearn: over the points after (0, 0), keep the ends and every point where the
    // second difference of the false- or true-positive counts is non-zero.
    const fp = fpr.map((r) => Math.round(r * nNeg));
    const tpc = tpr.map((r) => Math.round(r * nPos));
    const keep = (j: number) =>
      j <= 1 || j === fpr.length - 1 ||
      fp[j + 1] - 2 * fp[j] + fp[j - 1] !== 0 || tpc[j + 1] - 2 * tpc[j] + tpc[j - 1] !== 0;
    const idx = fpr.map((_, j) => j).filter(keep);
    return {
      fpr: Float64Array.from(idx, (j) => fpr[j]),
      tpr: Float64Array.from(idx, (j) => tpr[j]),
      thresholds: Float64Array.from(idx, (j) => thresholds[j]),
    };
  }
  return {
    fpr: Float64Array.from(fpr),
    tpr: Float64Array.from(tpr),
    thresholds: Float64Array.from(thresholds),
  };
}

/** Options for {@linkcode aucOvr}. */
export interface AucOvrOptions {
  /**
   * How per-class AUCs are combined: `"macro"` (unweighted mean, default) or
   * `"weighted"` (weighted by each class's prevalence in `labels`).
   */
  average?: "macro" | "weighted";
}

/**
 * One-vs-rest AUC of every class from an N×K score matrix: entry k is the
 * binary AUC of column k with class k as positive and all others negative.
 * Throws {@linkcode DegenerateSampleError} naming the first class absent from
 * `labels` (its AUC is undefined).
 */
export function aucPerClassOvr(probs: ScoreMatrix, labels: Labels): number[] {
  const where = "aucPerClassOvr";
  const m = toMatrix(probs, where);
  const y = toLabels(labels, where);
  checkSameLength(m.rows, y.length, where, "probs rows and labels");
  checkLabelRange(y, m.cols, where);
  if (m.rows === 0) throw new DegenerateSampleError(`${where}: no samples`);
  const out: number[] = [];
  const isPos = new Uint8Array(y.length);
  for (let k = 0; k < m.cols; k++) {
    for (let i = 0; i < y.length; i++) isPos[i] = y[i] === k ? 1 : 0;
    out.push(aucFromMask(column(m, k), isPos, `${where} (class ${k} vs rest)`));
  }
  return out;
}

/**
 * Multi-class one-vs-rest AUC from an N×K probability matrix, averaged over
 * classes (`macro` by default, as sklearn's `roc_auc_score(multi_class="ovr")`).
 * For K = 2 with rows summing to 1 it equals the binary AUC of column 1.
 */
export function aucOvr(probs: ScoreMatrix, labels: Labels, options?: AucOvrOptions): number {
  const average = options?.average ?? "macro";
  if (average !== "macro" && average !== "weighted") {
    throw new RangeError(`aucOvr: average must be "macro" or "weighted", got ${average}`);
  }
  const per = aucPerClassOvr(probs, labels);
  if (average === "macro") return per.reduce((a, b) => a + b, 0) / per.length;
  const y = toLabels(labels, "aucOvr");
  const counts = new Float64Array(per.length);
  for (let i = 0; i < y.length; i++) counts[y[i]]++;
  let acc = 0;
  for (let k = 0; k < per.length; k++) acc += (per[k] * counts[k]) / y.length;
  return acc;
}

/**
 * One-vs-rest ROC curve of each class of an N×K score matrix (class k's
 * column, class k positive); `null` for a class absent from `labels` or
 * present in every sample.
 */
export function rocCurvesOvr(
  probs: ScoreMatrix,
  labels: Labels,
  options?: Pick<RocCurveOptions, "dropIntermediate">,
): (RocCurve | null)[] {
  const where = "rocCurvesOvr";
  const m = toMatrix(probs, where);
  const y = toLabels(labels, where);
  checkSameLength(m.rows, y.length, where, "probs rows and labels");
  checkLabelRange(y, m.cols, where);
  const out: (RocCurve | null)[] = [];
  for (let k = 0; k < m.cols; k++) {
    try {
      out.push(rocCurve(column(m, k), y, { ...options, positiveClass: k }));
    } catch (err) {
      if (!(err instanceof DegenerateSampleError)) throw err;
      out.push(null);
    }
  }
  return out;
}

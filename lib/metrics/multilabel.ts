/**
 * Multi-label metrics (ChestMNIST: 14 independent findings per image) from an
 * N×K matrix of per-label sigmoid probabilities and an N×K 0/1 label matrix:
 * per-label AUC and their mean (the selection metric), accuracy at a
 * threshold, per-label balanced accuracy, per-label Brier score and a
 * calibration error over every (image, label) decision.
 *
 * @module
 */

import { type RocCurve, rocCurve, type RocCurveOptions } from "./auc.ts";
import { aucFromMask } from "./_rank.ts";
import {
  DegenerateSampleError,
  type DenseMatrix,
  type ScoreMatrix,
  toMatrix,
} from "./_validate.ts";

/** Options of {@linkcode evaluateMultiLabel}. */
export interface MultiLabelOptions {
  /** A label is predicted present when its probability is `>= threshold` (default 0.5). */
  threshold?: number;
  /** Number of ECE bins (default 15). */
  nBins?: number;
}

/** Every multi-label metric of one evaluation, from {@linkcode evaluateMultiLabel}. */
export interface MultiLabelReport {
  /** Number of images N. */
  n: number;
  /** Number of labels K. */
  numLabels: number;
  /** The decision threshold used for the accuracies. */
  threshold: number;
  /** Images with each label present. */
  support: number[];
  /**
   * Mean of the per-label AUCs over the labels where it is defined (both
   * positives and negatives present): the selection metric. `null` when no
   * label's AUC is defined.
   */
  auc: number | null;
  /** AUC of each label; `null` when the label has no positives or no negatives. */
  aucPerLabel: (number | null)[];
  /**
   * Mean per-label accuracy at `threshold`: the fraction of the N·K
   * (image, label) decisions that are right (MedMNIST's multi-label ACC).
   */
  accuracy: number;
  /** Accuracy of each label at `threshold`. */
  accuracyPerLabel: number[];
  /** Fraction of images whose K decisions are all right (exact match, sklearn's `accuracy_score`). */
  subsetAccuracy: number;
  /**
   * Mean over labels of each label's balanced accuracy at `threshold`
   * (mean of its recalls over the classes present, as sklearn).
   */
  balancedAccuracy: number;
  /** Brier score per label mean: (p − y)² averaged over all N·K entries. */
  brier: number;
  /** Binary Brier score of each label (sklearn `brier_score_loss` on its column). */
  brierPerLabel: number[];
  /**
   * Expected calibration error over the N·K binary decisions: confidence
   * max(p, 1 − p), correct when (p >= threshold) equals the label.
   */
  ece: number;
  /** Mean binary cross-entropy over the N·K entries (probabilities clamped to [1e-12, 1 − 1e-12]). */
  loss: number;
}

/** Check an N×K 0/1 label matrix against `rows` × `cols`. */
function toLabelMatrix(
  labels: ScoreMatrix,
  rows: number,
  cols: number,
  where: string,
): DenseMatrix {
  const y = toMatrix(labels, where, "labels");
  if (y.rows !== rows || y.cols !== cols) {
    throw new RangeError(
      `${where}: labels are ${y.rows}×${y.cols} but probs are ${rows}×${cols}; ` +
        `multi-label labels must be one 0/1 row per image with one column per label`,
    );
  }
  for (let i = 0; i < y.data.length; i++) {
    const v = y.data[i];
    if (v !== 0 && v !== 1) {
      throw new RangeError(
        `${where}: labels[${Math.floor(i / cols)}][${
          i % cols
        }] is ${v}; multi-label labels must be 0 or 1`,
      );
    }
  }
  return y;
}

/**
 * AUC of each label of an N×K probability matrix against N×K 0/1 labels;
 * `null` for a label without positives or without negatives.
 */
export function aucPerLabel(probs: ScoreMatrix, labels: ScoreMatrix): (number | null)[] {
  const where = "aucPerLabel";
  const p = toMatrix(probs, where);
  return aucPerLabelDense(p, toLabelMatrix(labels, p.rows, p.cols, where), where);
}

function aucPerLabelDense(p: DenseMatrix, y: DenseMatrix, where: string): (number | null)[] {
  const out: (number | null)[] = [];
  const s = new Float64Array(p.rows);
  const mask = new Uint8Array(p.rows);
  for (let k = 0; k < p.cols; k++) {
    let pos = 0;
    for (let i = 0; i < p.rows; i++) {
      s[i] = p.data[i * p.cols + k];
      mask[i] = y.data[i * p.cols + k];
      pos += mask[i];
    }
    out.push(pos === 0 || pos === p.rows ? null : aucFromMask(s, mask, `${where} (label ${k})`));
  }
  return out;
}

/**
 * ROC curve of each label of an N×K probability matrix against N×K 0/1
 * labels; `null` for a label without positives or without negatives.
 */
export function rocCurvesPerLabel(
  probs: ScoreMatrix,
  labels: ScoreMatrix,
  options?: Pick<RocCurveOptions, "dropIntermediate">,
): (RocCurve | null)[] {
  const where = "rocCurvesPerLabel";
  const p = toMatrix(probs, where);
  const y = toLabelMatrix(labels, p.rows, p.cols, where);
  const out: (RocCurve | null)[] = [];
  for (let k = 0; k < p.cols; k++) {
    const s = new Float64Array(p.rows);
    const t = new Int32Array(p.rows);
    let pos = 0;
    for (let i = 0; i < p.rows; i++) {
      s[i] = p.data[i * p.cols + k];
      t[i] = y.data[i * p.cols + k];
      pos += t[i];
    }
    out.push(pos === 0 || pos === p.rows ? null : rocCurve(s, t, options));
  }
  return out;
}

/**
 * Brier score per label mean: (p_l − y_l)² averaged over images and labels,
 * i.e. the mean of each label's binary Brier score. In [0, 1].
 */
export function multiLabelBrierScore(probs: ScoreMatrix, labels: ScoreMatrix): number {
  const where = "multiLabelBrierScore";
  const p = toMatrix(probs, where);
  const y = toLabelMatrix(labels, p.rows, p.cols, where);
  if (p.data.length === 0) throw new DegenerateSampleError(`${where}: no samples`);
  let total = 0;
  for (let i = 0; i < p.data.length; i++) total += (p.data[i] - y.data[i]) ** 2;
  return total / p.data.length;
}

/**
 * Evaluate N×K per-label probabilities (sigmoid outputs) against N×K 0/1
 * labels: per-label and mean AUC, accuracies at `threshold` (default 0.5),
 * balanced accuracy, Brier score per label and its mean, ECE and BCE loss.
 */
export function evaluateMultiLabel(
  probs: ScoreMatrix,
  labels: ScoreMatrix,
  options: MultiLabelOptions = {},
): MultiLabelReport {
  const where = "evaluateMultiLabel";
  const threshold = options.threshold ?? 0.5;
  const nBins = options.nBins ?? 15;
  if (!(threshold > 0 && threshold < 1)) {
    throw new RangeError(`${where}: threshold must be in (0, 1), got ${threshold}`);
  }
  if (!Number.isInteger(nBins) || nBins <= 0) {
    throw new RangeError(`${where}: nBins must be a positive integer, got ${nBins}`);
  }
  const p = toMatrix(probs, where);
  const y = toLabelMatrix(labels, p.rows, p.cols, where);
  const { rows: n, cols: k } = p;
  if (n === 0 || k === 0) throw new DegenerateSampleError(`${where}: no samples to evaluate`);
  checkProbabilities(p, where);
  const perLabelAuc = aucPerLabelDense(p, y, where);
  const defined = perLabelAuc.filter((a): a is number => a !== null);
  const t = tallyDecisions(p, y, { threshold, nBins });
  const balanced = t.support.map((pos, c) => {
    const neg = n - pos;
    const recalls = [pos > 0 ? t.tp[c] / pos : null, neg > 0 ? t.tn[c] / neg : null]
      .filter((r): r is number => r !== null);
    return recalls.reduce((a, b) => a + b, 0) / recalls.length;
  });
  const accuracyPerLabel = t.correct.map((c) => c / n);
  const brierPerLabel = t.brierSum.map((s) => s / n);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    n,
    numLabels: k,
    threshold,
    support: t.support,
    auc: defined.length ? mean(defined) : null,
    aucPerLabel: perLabelAuc,
    accuracy: mean(accuracyPerLabel),
    accuracyPerLabel,
    subsetAccuracy: t.exact / n,
    balancedAccuracy: mean(balanced),
    brier: mean(brierPerLabel),
    brierPerLabel,
    ece: binnedEce(t, n * k),
    loss: t.bce / (n * k),
  };
}

/** Every entry of `p` must be a probability in [0, 1]. */
function checkProbabilities(p: DenseMatrix, where: string): void {
  for (let i = 0; i < p.data.length; i++) {
    const v = p.data[i];
    if (!(v >= 0 && v <= 1)) {
      throw new RangeError(
        `${where}: probs[${Math.floor(i / p.cols)}][${i % p.cols}] is ${v}, outside [0, 1]; ` +
          `pass sigmoid probabilities, not logits`,
      );
    }
  }
}

/** Counts and sums over the N·K (image, label) decisions of {@linkcode evaluateMultiLabel}. */
interface DecisionTally {
  /** Positives per label. */
  support: number[];
  /** Right decisions per label. */
  correct: number[];
  /** Right decisions on positives per label. */
  tp: number[];
  /** Right decisions on negatives per label. */
  tn: number[];
  /** Σ (p − y)² per label. */
  brierSum: number[];
  /** Decisions per confidence bin. */
  binCount: Float64Array;
  /** Σ confidence per bin. */
  binConf: Float64Array;
  /** Right decisions per bin. */
  binHit: Float64Array;
  /** Images whose decisions are all right. */
  exact: number;
  /** Σ binary cross-entropy. */
  bce: number;
}

/** One pass over the decisions: per-label counts, Brier sums, BCE and the ECE bins. */
function tallyDecisions(
  p: DenseMatrix,
  y: DenseMatrix,
  options: { threshold: number; nBins: number },
): DecisionTally {
  const { rows: n, cols: k } = p;
  const { threshold, nBins } = options;
  const t: DecisionTally = {
    support: new Array<number>(k).fill(0),
    correct: new Array<number>(k).fill(0),
    tp: new Array<number>(k).fill(0),
    tn: new Array<number>(k).fill(0),
    brierSum: new Array<number>(k).fill(0),
    binCount: new Float64Array(nBins),
    binConf: new Float64Array(nBins),
    binHit: new Float64Array(nBins),
    exact: 0,
    bce: 0,
  };
  for (let i = 0; i < n; i++) {
    let allRight = true;
    for (let c = 0; c < k; c++) {
      const v = p.data[i * k + c];
      const label = y.data[i * k + c];
      const predicted = v >= threshold ? 1 : 0;
      const right = predicted === label;
      t.support[c] += label;
      if (right) {
        t.correct[c]++;
        if (label === 1) t.tp[c]++;
        else t.tn[c]++;
      } else allRight = false;
      t.brierSum[c] += (v - label) ** 2;
      const q = Math.min(Math.max(v, 1e-12), 1 - 1e-12);
      t.bce -= label * Math.log(q) + (1 - label) * Math.log(1 - q);
      const conf = Math.max(v, 1 - v);
      const b = confidenceBin(conf, nBins);
      t.binCount[b]++;
      t.binConf[b] += conf;
      if (right) t.binHit[b]++;
    }
    if (allRight) t.exact++;
  }
  return t;
}

/** Index of the bin `((b)/nBins, (b+1)/nBins]` holding `conf` (an edge goes to the bin below). */
function confidenceBin(conf: number, nBins: number): number {
  let b = Math.ceil(conf * nBins) - 1;
  if (b > 0 && conf <= b / nBins) b--;
  if (b < nBins - 1 && conf > (b + 1) / nBins) b++;
  return Math.min(nBins - 1, Math.max(0, b));
}

/** Expected calibration error from the bins: Σ (count / total) · |accuracy − confidence|. */
function binnedEce(t: DecisionTally, total: number): number {
  let ece = 0;
  for (let b = 0; b < t.binCount.length; b++) {
    if (t.binCount[b] > 0) {
      ece += (t.binCount[b] / total) *
        Math.abs(t.binHit[b] / t.binCount[b] - t.binConf[b] / t.binCount[b]);
    }
  }
  return ece;
}

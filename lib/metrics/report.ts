/**
 * One call that computes every metric of the study from an N×K probability
 * matrix and the labels, as a typed, JSON-safe object (undefined values are
 * `null`, never NaN).
 *
 * @module
 */

import { aucPerClassOvr, aucRoc } from "./auc.ts";
import { binaryBrierScore, brierScore, reliabilityBins } from "./calibration.ts";
import {
  accuracy,
  balancedAccuracy,
  type ClassStats,
  confusionMatrix,
  perClassStats,
  sensitivitySpecificity,
} from "./classification.ts";
import { delongAucCi } from "./delong.ts";
import {
  argmaxRows,
  checkLabelRange,
  checkProbabilities,
  checkSameLength,
  column,
  DegenerateSampleError,
  type Labels,
  type ScoreMatrix,
  toLabels,
  toMatrix,
} from "./_validate.ts";

/** Options for {@linkcode evaluateScores}. */
export interface EvaluateOptions {
  /** For K = 2: the class treated as positive for AUC, sensitivity, specificity. Default 1. */
  positiveClass?: number;
  /** Number of ECE bins. Default 15. */
  nBins?: number;
  /** Coverage of the DeLong AUC interval (binary only). Default 0.95. */
  confidence?: number;
}

/** Binary-only metrics (present when K = 2). */
export interface BinaryReport {
  /** The class treated as positive. */
  positiveClass: number;
  /** AUC of the positive-class column; `null` when a class is missing. */
  auc: number | null;
  /** DeLong interval of `auc`; `null` with fewer than 2 samples of either class. */
  aucCi: { lower: number; upper: number; se: number; confidence: number } | null;
  /** Sensitivity of the argmax predictions (threshold 0.5, ties go to class 0). */
  sensitivity: number | null;
  /** Specificity of the argmax predictions. */
  specificity: number | null;
  /** sklearn-style binary Brier score, mean (p_pos − y)², in [0, 1] (half of `brier`). */
  brier: number;
  /** Confusion counts for `positiveClass`. */
  tp: number;
  /** False negatives. */
  fn: number;
  /** True negatives. */
  tn: number;
  /** False positives. */
  fp: number;
}

/** Every metric of one evaluation, from {@linkcode evaluateScores}. */
export interface ClassificationReport {
  /** Number of samples. */
  n: number;
  /** Number of classes K (columns of the probability matrix). */
  numClasses: number;
  /** Number of samples of each class. */
  support: number[];
  /** Accuracy of the argmax predictions. */
  accuracy: number;
  /** Mean per-class recall of the argmax predictions over classes present. */
  balancedAccuracy: number;
  /**
   * Headline AUC: for K = 2 the binary AUC of the positive class's column, for
   * K > 2 the macro one-vs-rest AUC. `null` when a class is missing.
   */
  auc: number | null;
  /** One-vs-rest AUC of each class; `null` for classes absent from the labels. */
  aucPerClass: (number | null)[];
  /** Multi-class Brier score, mean Σ_k (p_k − onehot_k)², in [0, 2]. */
  brier: number;
  /** Expected calibration error (top-label, equal-width bins). */
  ece: number;
  /** Maximum calibration error over non-empty bins. */
  mce: number;
  /** K×K counts, rows = true class, columns = predicted class. */
  confusionMatrix: number[][];
  /** Precision, recall, F1 and support per class. */
  perClass: ClassStats[];
  /** Binary-only metrics when K = 2, else `null`. */
  binary: BinaryReport | null;
}

function orNull<T>(f: () => T): T | null {
  try {
    return f();
  } catch (err) {
    if (err instanceof DegenerateSampleError) return null;
    throw err;
  }
}

/**
 * Evaluate an N×K probability matrix (softmax outputs) against labels:
 * accuracy, balanced accuracy, AUC (binary or macro one-vs-rest), per-class
 * AUC, Brier score, ECE/MCE, confusion matrix, per-class precision/recall/F1,
 * and for K = 2 sensitivity, specificity, sklearn-style Brier and a DeLong AUC
 * interval. Predictions are the row argmax.
 */
export function evaluateScores(
  probs: ScoreMatrix,
  labels: Labels,
  options?: EvaluateOptions,
): ClassificationReport {
  const where = "evaluateScores";
  const m = toMatrix(probs, where);
  const y = toLabels(labels, where);
  checkSameLength(m.rows, y.length, where, "probs rows and labels");
  if (m.rows === 0) throw new DegenerateSampleError(`${where}: no samples to evaluate`);
  checkLabelRange(y, m.cols, where);
  checkProbabilities(m, where);
  const k = m.cols;
  const dense = { data: m.data, dims: [m.rows, k] as const };
  const pred = argmaxRows(m);
  const support = new Array<number>(k).fill(0);
  for (let i = 0; i < y.length; i++) support[y[i]]++;

  const aucPerClass: (number | null)[] = [];
  const allPresent = support.every((c) => c > 0);
  if (allPresent) aucPerClass.push(...aucPerClassOvr(dense, y));
  else {
    for (let c = 0; c < k; c++) {
      aucPerClass.push(orNull(() => aucRoc(column(m, c), y, { positiveClass: c })));
    }
  }
  const calib = reliabilityBins(dense, y, { nBins: options?.nBins });

  let binary: BinaryReport | null = null;
  let auc: number | null;
  if (k === 2) {
    const pos = options?.positiveClass ?? 1;
    if (pos !== 0 && pos !== 1) {
      throw new RangeError(`${where}: positiveClass must be 0 or 1 for K = 2, got ${pos}`);
    }
    const p = column(m, pos);
    const ss = sensitivitySpecificity(pred, y, { positiveClass: pos });
    const ci = orNull(() =>
      delongAucCi(p, y, { positiveClass: pos, confidence: options?.confidence })
    );
    binary = {
      positiveClass: pos,
      auc: aucPerClass[pos],
      aucCi: ci && { lower: ci.lower, upper: ci.upper, se: ci.se, confidence: ci.confidence },
      sensitivity: ss.sensitivity,
      specificity: ss.specificity,
      brier: binaryBrierScore(p, y, { positiveClass: pos }),
      tp: ss.tp,
      fn: ss.fn,
      tn: ss.tn,
      fp: ss.fp,
    };
    auc = binary.auc;
  } else {
    auc = allPresent ? aucPerClass.reduce<number>((a, b) => a + b!, 0) / k : null;
  }

  return {
    n: m.rows,
    numClasses: k,
    support,
    accuracy: accuracy(pred, y),
    balancedAccuracy: balancedAccuracy(pred, y, { numClasses: k }),
    auc,
    aucPerClass,
    brier: brierScore(dense, y),
    ece: calib.ece,
    mce: calib.mce,
    confusionMatrix: confusionMatrix(pred, y, { numClasses: k }),
    perClass: perClassStats(pred, y, { numClasses: k }),
    binary,
  };
}

/**
 * What training records: one entry per epoch (learning curves) and the
 * metrics of a split at a checkpoint. The trainer writes them and the report
 * reads them (inside a run record), so they live here, below both.
 *
 * @module
 */

import type { BrierKind } from "./task.ts";

/** One epoch of a run's learning curves. */
export interface EpochRecord {
  /** 1-based epoch. */
  epoch: number;
  /** Learning rate at the epoch's last step. */
  lr: number;
  /** Mean train loss over the epoch's steps. */
  trainLoss: number;
  /** Train accuracy (on the augmented batches as trained). */
  trainAccuracy: number;
  /** Train AUC-ROC (on the augmented batches as trained; null when undefined). */
  trainAuc: number | null;
  /** Validation loss (cross-entropy without smoothing). */
  valLoss: number;
  /** Validation accuracy. */
  valAccuracy: number;
  /** Validation AUC-ROC (null when undefined). */
  valAuc: number | null;
  /** Wall seconds of the epoch (train + eval). */
  seconds: number;
  /** Train steps taken in the epoch. */
  steps?: number;
  /** Loss of the epoch's last finite step. */
  lastLoss?: number;
  /**
   * True for an epoch cut short by divergence (the last record of a
   * `TrainingDivergedError`'s history): train fields cover `steps` steps,
   * validation fields are NaN / null.
   */
  partial?: boolean;
}

/** Metrics of one split at the selected checkpoint. */
export interface SplitMetrics {
  /**
   * The selection metric: AUC-ROC of class 1 (binary), macro one-vs-rest AUC
   * (multi-class) or mean per-label AUC (multi-label).
   */
  auc: number | null;
  /** Accuracy at argmax; multi-label: mean per-label accuracy at threshold 0.5. */
  accuracy: number;
  /** Balanced accuracy; multi-label: mean over labels of each label's balanced accuracy at 0.5. */
  balancedAccuracy: number;
  /**
   * Brier score in the form `brierKind` names: sklearn's binary
   * `brier_score_loss` (binary), Σ_k (p_k − y_k)² averaged over samples
   * (multi-class), or (p_l − y_l)² averaged over samples and labels (multi-label).
   */
  brier: number;
  /** Which Brier form `brier` is (absent in records written before it existed: multi-class form). */
  brierKind?: BrierKind;
  /**
   * AUC of each class one-vs-rest (single-label) or of each label
   * (multi-label); `null` where a class/label has no positives or no negatives.
   */
  perClassAuc?: (number | null)[];
  /**
   * Expected calibration error (15 bins, top-label); multi-label: over every
   * (image, label) decision at 0.5, confidence max(p, 1 − p).
   */
  ece: number;
  /** Cross-entropy (no smoothing); multi-label: binary cross-entropy averaged over labels. */
  loss: number;
}

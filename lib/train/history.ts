/**
 * What training records: one entry per epoch (learning curves) and the
 * metrics of a split at a checkpoint.
 *
 * @module
 */

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
}

/** Metrics of one split at the selected checkpoint. */
export interface SplitMetrics {
  /** AUC-ROC (binary, or macro one-vs-rest). */
  auc: number | null;
  /** Accuracy at argmax. */
  accuracy: number;
  /** Balanced accuracy. */
  balancedAccuracy: number;
  /** Brier score (multi-class form: Σ_k (p_k − y_k)², mean over samples). */
  brier: number;
  /** Expected calibration error (15 bins). */
  ece: number;
  /** Cross-entropy (no smoothing). */
  loss: number;
}

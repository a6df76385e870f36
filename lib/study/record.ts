/**
 * The record of one finished (or failed) run, as appended to a study's
 * `results.jsonl`: one JSON object per line. Everything the tables, charts
 * and report show is derived from these records.
 *
 * @module
 */

/** The levels of the study's three axes. */
export interface RunAxes {
  /** Augmentation preset: `none`, `basic` or `heavy`. */
  augment: string;
  /** LR schedule: `constant`, `cosine` or `warmup_cosine`. */
  schedule: string;
  /** Backbone: `resnet18`, `efficientnet_b0` or `vit_tiny_patch16_224`. */
  backbone: string;
}

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

/** One run: a configuration trained with one seed, evaluated at its best epoch. */
export interface RunRecord {
  /** Stable id of configuration + seed, e.g. `a1b2c3d4-s0`. */
  id: string;
  /** Stable id of the configuration (same for every seed). */
  configId: string;
  /** The axis levels. */
  axes: RunAxes;
  /** The full configuration (fixed settings included), as plain data. */
  config: Record<string, unknown>;
  /** Seed. */
  seed: number;
  /** `ok`, or `failed` with `error`. */
  status: "ok" | "failed";
  /** Why the run failed. */
  error?: string;
  /** Backend description. */
  backend: string;
  /** Image size trained at. */
  imageSize: number;
  /** Epochs run (early stopping may end a run before the budget). */
  epochsRun: number;
  /** Epoch whose weights were kept (best validation AUC). */
  bestEpoch: number;
  /** Learning curves. */
  history: EpochRecord[];
  /** Train metrics at the best epoch (eval mode, no augmentation). */
  train?: SplitMetrics;
  /** Validation metrics at the best epoch. */
  val?: SplitMetrics;
  /** Test metrics at the best epoch. */
  test?: SplitMetrics;
  /** Test-set probability of the positive class (binary) per image, in dataset order. */
  testScores?: number[];
  /** Test labels in dataset order. */
  testLabels?: number[];
  /** Test ROC curve. */
  roc?: { fpr: number[]; tpr: number[] };
  /** Overfitting gap at the best epoch: train AUC − validation AUC (eval mode). */
  gapAuc?: number | null;
  /** Overfitting gap at the best epoch: validation loss − train loss (eval mode). */
  gapLoss?: number;
  /** Wall seconds of the whole run. */
  seconds: number;
  /** ISO time the run finished. */
  finishedAt: string;
}

/**
 * The run record: what the study writes for one finished (or failed) run,
 * appended to its `results.jsonl` as one JSON object per line, and what the
 * report reads. Everything the tables, charts and report show is derived from
 * these records. It lives in the report layer so that the study (above)
 * imports it and the report never imports the study.
 *
 * @module
 */

import type { TaskType } from "../data/dataset.ts";
import type { BrierKind, MetricTask } from "../metrics/task.ts";
import type { EpochRecord, SplitMetrics } from "../metrics/history.ts";

export type { BrierKind, EpochRecord, MetricTask, SplitMetrics, TaskType };

/** The levels of the study's three axes. */
export interface RunAxes {
  /** Augmentation preset: `none`, `basic` or `heavy`. */
  augment: string;
  /** LR schedule: `constant`, `cosine` or `warmup_cosine`. */
  schedule: string;
  /** Backbone: `resnet18`, `efficientnet_b0` or `vit_tiny_patch16_224`. */
  backbone: string;
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
  /** Why the run failed (`diverged at epoch e, step s: …` when training diverged). */
  error?: string;
  /** Where training diverged (failed runs only); `history` then includes the partial epoch. */
  divergedAt?: { epoch: number; step: number };
  /** Backend description. */
  backend: string;
  /** Image size trained at. */
  imageSize: number;
  /** The dataset's task, as its info names it (e.g. `"ordinal-regression"` for RetinaMNIST). */
  task?: TaskType;
  /** How the run was trained and scored (ordinal regression is scored as `"multi-class"`). */
  scoredAs?: MetricTask;
  /** A sentence when `scoredAs` differs from `task` (say it in the report). */
  taskNote?: string;
  /** Class names (labels, for multi-label) from the dataset info, in class order. */
  classNames?: string[];
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
  /** Test-set probability of the positive class per image, in dataset order (binary tasks only). */
  testScores?: number[];
  /** Test labels in dataset order (binary tasks only, with `testScores`). */
  testLabels?: number[];
  /**
   * Test probabilities, N×K row-major (softmax for single-label, sigmoid per
   * label for multi-label), rounded to 6 decimals (multi-class and multi-label).
   */
  testProbs?: number[];
  /** Test labels for `testProbs`: N class indices, or N×K 0/1 values for multi-label. */
  testTargets?: number[];
  /** Test ROC curve (binary tasks: of class 1). */
  roc?: { fpr: number[]; tpr: number[] };
  /**
   * Test ROC curve of each class one-vs-rest (or of each label), corner
   * points only; `null` where the class/label has no positives or negatives.
   */
  rocPerClass?: ({ fpr: number[]; tpr: number[] } | null)[];
  /** Overfitting gap at the best epoch: train AUC − validation AUC (eval mode). */
  gapAuc?: number | null;
  /** Overfitting gap at the best epoch: validation loss − train loss (eval mode). */
  gapLoss?: number;
  /** Wall seconds of the whole run. */
  seconds: number;
  /** ISO time the run finished. */
  finishedAt: string;
}

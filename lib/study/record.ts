/**
 * The record of one finished (or failed) run, as appended to a study's
 * `results.jsonl`: one JSON object per line. Everything the tables, charts
 * and report show is derived from these records.
 *
 * @module
 */

import type { EpochRecord, SplitMetrics } from "../train/history.ts";

export type { EpochRecord, SplitMetrics };

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

/**
 * The errors training raises when numbers stop being numbers: a diverged run
 * (NaN/Inf loss, gradient norm or validation predictions) and non-finite
 * predictions from `evaluate`.
 *
 * @module
 */

import type { EpochRecord } from "../metrics/history.ts";

/** Where and how a run diverged (see {@linkcode TrainingDivergedError}). */
export interface DivergenceDetails {
  /** 1-based epoch in which it diverged. */
  epoch: number;
  /** 1-based optimizer step (counted over the whole run) at which it diverged. */
  step: number;
  /** What became non-finite. */
  cause: "loss" | "gradNorm" | "validation";
  /** The non-finite value (NaN or ±Infinity). */
  value: number;
  /** Steps of the epoch completed with finite loss and gradient norm. */
  stepsInEpoch: number;
  /** The last finite training loss of the run, or null when there was none. */
  lastFiniteLoss: number | null;
  /** Learning rate at the diverging step. */
  lr: number;
}

/**
 * Thrown when a train step's loss or gradient norm, or the validation
 * predictions, become NaN or infinite. `history` holds every completed epoch
 * and then the partial one (`partial: true`: its steps, mean and last
 * finite loss; validation fields NaN/null), so no trained step is lost.
 */
export class TrainingDivergedError extends Error {
  /** 1-based epoch in which the run diverged. */
  readonly epoch: number;
  /** 1-based optimizer step (over the whole run) at which it diverged. */
  readonly step: number;
  /** Where and how it diverged. */
  readonly details: DivergenceDetails;

  /**
   * Create the error.
   *
   * @param message What diverged, where, and what to try.
   * @param history The completed epochs, then the partial one.
   * @param details Where and how it diverged.
   */
  constructor(
    message: string,
    /** Per-epoch records: the completed epochs, then the partial one. */
    readonly history: EpochRecord[],
    details: DivergenceDetails,
  ) {
    super(message);
    this.name = "TrainingDivergedError";
    this.epoch = details.epoch;
    this.step = details.step;
    this.details = details;
  }

  /** Epochs completed (validated) before the divergence. */
  get completedEpochs(): number {
    return this.history.filter((r) => !r.partial).length;
  }
}

/** Thrown by `Trainer.evaluate` when the model's probabilities are NaN or infinite. */
export class NonFinitePredictionsError extends Error {
  /**
   * Create the error.
   *
   * @param message Which image, which value, and what to try.
   * @param image Index of the first image with a non-finite probability.
   * @param value The first non-finite value.
   */
  constructor(
    message: string,
    /** Index of the first image with a non-finite probability. */
    readonly image: number,
    /** The first non-finite value. */
    readonly value: number,
  ) {
    super(message);
    this.name = "NonFinitePredictionsError";
  }
}

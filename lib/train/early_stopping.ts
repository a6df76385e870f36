/**
 * Early stopping on the validation score, as Lightning's `EarlyStopping`
 * callback: it tracks the best score and its epoch (an epoch improves when
 * it beats the best by more than `minDelta`), says when `patience` epochs
 * have passed without improvement, and carries its state across a resume
 * through {@linkcode EarlyStopper.toJSON} and {@linkcode EarlyStopper.restore}.
 *
 * @module
 */

import type { EpochRecord } from "../metrics/history.ts";
import type { EarlyStopping } from "./options.ts";

/** What an {@linkcode EarlyStopper} carries across a resume (a training checkpoint's `best_epoch` and `best_score`). */
export interface EarlyStopperState {
  /** Epoch of the best score so far (0 before the first epoch). */
  bestEpoch: number;
  /** Best score so far (−Infinity before the first epoch). */
  bestScore: number;
}

/**
 * The score an epoch is selected by: validation AUC, or −loss when the AUC
 * is undefined.
 *
 * @param record The epoch's record.
 * @returns Its score (higher is better).
 *
 * @example
 * ```ts
 * import { validationScore } from "./early_stopping.ts";
 * validationScore({ valAuc: null, valLoss: 0.5 } as never); // -0.5
 * ```
 */
export function validationScore(record: Pick<EpochRecord, "valAuc" | "valLoss">): number {
  return record.valAuc ?? -record.valLoss;
}

/**
 * Tracks the best validation score and decides when a run stops. Without
 * options it never stops but still tracks the best epoch (the trainer
 * restores that epoch's weights).
 *
 * @example
 * ```ts
 * import { EarlyStopper } from "./early_stopping.ts";
 * const stopper = new EarlyStopper({ patience: 2 });
 * stopper.update(1, 0.8); // true: the first score improves
 * stopper.update(2, 0.7); // false
 * stopper.update(3, 0.75); // false
 * stopper.shouldStop(3); // true: 2 epochs since the best (epoch 1)
 * ```
 */
export class EarlyStopper {
  /** Epoch of the best score so far (0 before the first epoch). */
  bestEpoch = 0;
  /** Best score so far. */
  bestScore = -Infinity;
  readonly #patience: number;
  readonly #minDelta: number;
  readonly #minEpochs: number;

  /**
   * A stopper with no epoch seen.
   *
   * @param options Patience, minimum improvement and minimum epochs (default: never stop).
   */
  constructor(options?: EarlyStopping) {
    this.#patience = options?.patience ?? Infinity;
    this.#minDelta = options?.minDelta ?? 0;
    this.#minEpochs = options?.minEpochs ?? 0;
  }

  /**
   * Record `score` for `epoch`.
   *
   * @param epoch The 1-based epoch.
   * @param score Its validation score (see {@linkcode validationScore}).
   * @returns Whether it beat the best by more than `minDelta` (it is then the best).
   */
  update(epoch: number, score: number): boolean {
    if (!(score > this.bestScore + this.#minDelta)) return false;
    this.bestScore = score;
    this.bestEpoch = epoch;
    return true;
  }

  /**
   * Whether the run should end after `epoch`: at least `minEpochs` run and
   * `patience` epochs since the best.
   *
   * @param epoch The 1-based epoch just completed.
   * @returns True to stop.
   */
  shouldStop(epoch: number): boolean {
    return epoch >= this.#minEpochs && epoch - this.bestEpoch >= this.#patience;
  }

  /**
   * The state to persist.
   *
   * @returns The best epoch and score.
   */
  toJSON(): EarlyStopperState {
    return { bestEpoch: this.bestEpoch, bestScore: this.bestScore };
  }

  /**
   * Continue from a persisted state (missing fields: nothing seen yet).
   *
   * @param state What {@linkcode EarlyStopper.toJSON} returned, e.g. read back from a checkpoint.
   */
  restore(state: Partial<EarlyStopperState>): void {
    this.bestEpoch = state.bestEpoch ?? 0;
    this.bestScore = state.bestScore ?? -Infinity;
  }
}

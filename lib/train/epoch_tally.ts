/**
 * What one epoch of `fit` adds up while it trains: loss, steps, learning
 * rate, and the batches' train-mode probabilities and labels, turned into
 * the epoch's record (train accuracy and AUC from `lib/metrics`) or, when a
 * step diverges, into the partial record a `TrainingDivergedError` carries.
 *
 * @module
 */

import type { Batch } from "../data/loader.ts";
import type { EpochRecord, SplitMetrics } from "../metrics/history.ts";
import {
  accuracy,
  argmaxPredictions,
  aucOvr,
  aucPerLabel,
  aucRoc,
  DegenerateSampleError,
  thresholdPredictions,
} from "../metrics/mod.ts";
import { type DivergenceDetails, TrainingDivergedError } from "./errors.ts";
import type { StepResult } from "./session.ts";

/** The train fields of an epoch's record. */
export type TrainFields = Pick<
  EpochRecord,
  "epoch" | "lr" | "trainLoss" | "trainAccuracy" | "trainAuc" | "steps" | "lastLoss"
>;

/** Options of {@linkcode EpochTally}. */
export interface EpochTallyOptions {
  /** The 1-based epoch. */
  epoch: number;
  /** Number of classes (labels for multi-label). */
  numClasses: number;
  /** Labels are N×K 0/1 rows scored per label (sigmoid probabilities). */
  multiLabel: boolean;
  /** Learning rate to report before the first step (the base rate). */
  lr: number;
  /** The run's last finite training loss before this epoch, or null. */
  lastFiniteLoss: number | null;
}

/** Where a divergence happened, for {@linkcode EpochTally.diverged}. */
export interface DivergenceContext {
  /** The optimizer step (over the whole run) at which it happened. */
  step: number;
  /** The completed epochs. */
  history: readonly EpochRecord[];
  /** The trainer's clipping norm (the advice differs without one). */
  clipGradNorm?: number;
}

/** The running totals of one epoch. */
export class EpochTally {
  /** The 1-based epoch. */
  readonly epoch: number;
  /** Learning rate of the latest step. */
  lr: number;
  /** Steps completed with finite loss and gradient norm. */
  steps = 0;
  /** The run's last finite training loss, or null when there was none. */
  lastFiniteLoss: number | null;
  #lossSum = 0;
  readonly #probs: number[] = [];
  readonly #labels: number[] = [];
  readonly #k: number;
  readonly #multiLabel: boolean;
  readonly #t0 = performance.now();

  /**
   * Start an epoch (its clock starts now).
   *
   * @param options The epoch, class count, task, base learning rate and last finite loss.
   */
  constructor(options: EpochTallyOptions) {
    this.epoch = options.epoch;
    this.#k = options.numClasses;
    this.#multiLabel = options.multiLabel;
    this.lr = options.lr;
    this.lastFiniteLoss = options.lastFiniteLoss;
  }

  /**
   * Count a finite step on a batch of `n` images.
   *
   * @param batch The batch's image count and labels (N, or N×K for multi-label).
   * @param result What the step reported (loss and train-mode probabilities).
   */
  add(batch: Pick<Batch, "n" | "labels">, result: StepResult): void {
    const k = this.#k;
    this.#lossSum += result.loss;
    this.steps++;
    this.lastFiniteLoss = result.loss;
    for (let i = 0; i < batch.n; i++) {
      if (this.#multiLabel) {
        for (let c = 0; c < k; c++) this.#labels.push(batch.labels[i * k + c]);
      } else this.#labels.push(batch.labels[i]);
      for (let c = 0; c < k; c++) this.#probs.push(result.probs[i * k + c]);
    }
  }

  /**
   * The train fields of the epoch's record (NaN / null before any step).
   *
   * @returns Epoch, lr, mean loss, accuracy, AUC, steps and last finite loss.
   */
  trainFields(): TrainFields {
    const labels = Int32Array.from(this.#labels);
    const probs = Float32Array.from(this.#probs);
    const steps = this.steps;
    return {
      epoch: this.epoch,
      lr: this.lr,
      trainLoss: steps ? this.#lossSum / steps : NaN,
      trainAccuracy: steps ? trainAccuracy(probs, labels, this.#k, this.#multiLabel) : NaN,
      trainAuc: steps ? trainAuc(probs, labels, this.#k, this.#multiLabel) : null,
      steps,
      ...(this.lastFiniteLoss === null ? {} : { lastLoss: this.lastFiniteLoss }),
    };
  }

  /**
   * The epoch's record once validated.
   *
   * @param val The validation metrics (loss, accuracy, AUC).
   * @returns The record, its `seconds` counted up to now.
   */
  record(val: Pick<SplitMetrics, "loss" | "accuracy" | "auc">): EpochRecord {
    return {
      ...this.trainFields(),
      valLoss: val.loss,
      valAccuracy: val.accuracy,
      valAuc: val.auc,
      seconds: this.#seconds(),
    };
  }

  /**
   * The error of a run that diverged in this epoch: its history is the
   * completed epochs, then this one as a partial record.
   *
   * @param cause What became non-finite.
   * @param value The non-finite value.
   * @param what The message's description of it (e.g. `"the loss is NaN"`).
   * @param context The step, the completed epochs and the clipping norm.
   * @returns The error to throw.
   */
  diverged(
    cause: DivergenceDetails["cause"],
    value: number,
    what: string,
    context: DivergenceContext,
  ): TrainingDivergedError {
    const partial: EpochRecord = {
      ...this.trainFields(),
      valLoss: NaN,
      valAccuracy: NaN,
      valAuc: null,
      seconds: this.#seconds(),
      partial: true,
    };
    const { epoch, lr, lastFiniteLoss } = this;
    const details: DivergenceDetails = {
      epoch,
      step: context.step,
      cause,
      value,
      stepsInEpoch: this.steps,
      lastFiniteLoss,
      lr,
    };
    const advice = context.clipGradNorm === undefined
      ? "lower the learning rate (optimizer.lr) or set clipGradNorm"
      : "lower the learning rate (optimizer.lr)";
    return new TrainingDivergedError(
      `training diverged at epoch ${epoch}, step ${context.step}: ${what} (lr ${lr}` +
        `${lastFiniteLoss === null ? "" : `, last finite loss ${lastFiniteLoss}`}); ${advice}`,
      [...context.history, partial],
      details,
    );
  }

  #seconds(): number {
    return (performance.now() - this.#t0) / 1000;
  }
}

/** Train accuracy: argmax (single-label) or mean per-label accuracy at 0.5 (multi-label). */
function trainAccuracy(
  probs: Float32Array,
  labels: Int32Array,
  k: number,
  multiLabel: boolean,
): number {
  const predictions = multiLabel
    ? thresholdPredictions(probs, { threshold: 0.5 })
    : argmaxPredictions({ data: probs, dims: [labels.length, k] });
  return accuracy(predictions, labels);
}

/** Train AUC in the task's selection form; null where it is undefined (one class only). */
function trainAuc(
  probs: Float32Array,
  labels: Int32Array,
  k: number,
  multiLabel: boolean,
): number | null {
  if (multiLabel) {
    const n = labels.length / k;
    const per = aucPerLabel({ data: probs, dims: [n, k] }, { data: labels, dims: [n, k] })
      .filter((a): a is number => a !== null);
    return per.length ? per.reduce((a, b) => a + b, 0) / per.length : null;
  }
  try {
    if (k === 2) {
      const pos = new Float64Array(labels.length);
      for (let i = 0; i < labels.length; i++) pos[i] = probs[i * 2 + 1];
      return aucRoc(pos, labels);
    }
    return aucOvr({ data: probs, dims: [labels.length, k] }, labels);
  } catch (err) {
    if (err instanceof DegenerateSampleError) return null;
    throw err;
  }
}

/**
 * A trainer's checkpoints: one file written with the trainer's metadata
 * (model, model config, plain trainer options, step, epoch, best epoch and
 * score, history, `extra`), the strict checks a file passes before its
 * tensors are used, and {@linkcode RunCheckpoint}, the three files of a
 * `fit` run in its `checkpointDir` (Lightning's `ModelCheckpoint`):
 *
 * - `last.safetensors`: raw weights, optimizer state and history after
 *   every epoch (what a resume starts from);
 * - `best.safetensors`: the best epoch's (EMA) weights;
 * - `ema.safetensors`: the EMA weights after every epoch (runs with an EMA).
 *
 * @module
 */

import type { EpochRecord } from "../metrics/history.ts";
import type { Model } from "../nn/model.ts";
import type { WeightsMap } from "./best_weights.ts";
import {
  checkCheckpointTensors,
  type Checkpoint,
  loadCheckpoint,
  saveCheckpoint,
} from "./checkpoint.ts";
import type { EarlyStopperState } from "./early_stopping.ts";
import { optimizerStateShapes } from "./optim.ts";
import type { TrainerOptions } from "./options.ts";
import type { TrainingSession } from "./session.ts";
import { exists } from "../util/fs.ts";

/** What a trainer's checkpoint is written from and checked against. */
export interface CheckpointOwner {
  /** The compiled session (tensor names, shapes, step, optimizer state). */
  session: TrainingSession;
  /** The model (name and config go into the metadata). */
  model: Model;
  /** The trainer's options (written as plain data). */
  options: TrainerOptions;
  /** Whether the session trains a multi-label head (`extra.multiLabel`). */
  multiLabel: boolean;
}

/** The run fields of one checkpoint write. */
export interface CheckpointFields {
  /** Epochs completed. */
  epoch: number;
  /** Epoch of the best validation score. */
  bestEpoch?: number;
  /** Best validation score. */
  bestScore?: number;
  /** History so far. */
  history?: EpochRecord[];
  /** Include the optimizer state (a training checkpoint). */
  optimizer?: boolean;
  /** Mark the run as keeping an EMA (`extra.ema`: `ema.safetensors` sits beside it). */
  ema?: boolean;
}

/**
 * Write `weights` as a checkpoint of `owner`'s model, atomically.
 *
 * @param path The `.safetensors` file.
 * @param weights Parameters and buffers by timm name.
 * @param owner The session, model, options and task they come from.
 * @param fields Epoch, best epoch and score, history, and whether to add the optimizer state.
 * @returns When the file is in place.
 */
export async function writeTrainerCheckpoint(
  path: string,
  weights: Map<string, Float32Array>,
  owner: CheckpointOwner,
  fields: CheckpointFields,
): Promise<void> {
  const write = await captureTrainerCheckpoint(path, weights, owner, fields);
  await write();
}

/**
 * Read from the session now what a checkpoint of `weights` needs besides
 * them (step, optimizer state), and return the write of the file: the
 * session may train on while it runs.
 */
async function captureTrainerCheckpoint(
  path: string,
  weights: Map<string, Float32Array>,
  owner: CheckpointOwner,
  fields: CheckpointFields,
): Promise<() => Promise<void>> {
  const { session, multiLabel } = owner;
  const shapes = optimizerStateShapes(session.options.optimizer, session.parameters);
  for (const p of session.parameters) shapes.set(p.name, p.shape);
  for (const b of session.buffers) shapes.set(b.name, b.shape);
  const info = {
    model: owner.model.name,
    modelConfig: { ...owner.model.config },
    trainer: plainOptions(owner.options),
    step: session.step,
    epoch: fields.epoch,
    bestEpoch: fields.bestEpoch,
    bestScore: fields.bestScore,
    history: fields.history ? [...fields.history] : undefined,
    extra: fields.ema || multiLabel
      ? { ...(fields.ema ? { ema: true } : {}), ...(multiLabel ? { multiLabel: true } : {}) }
      : undefined,
  };
  const optimizer = fields.optimizer ? await session.getOptimizerState() : undefined;
  return () => saveCheckpoint(path, weights, info, { shapes, optimizer });
}

/**
 * Throw unless a checkpoint was written for `model` (by name).
 *
 * @param checkpointModel The model name the checkpoint records.
 * @param path The checkpoint's file (named in the error).
 * @param model The trainer's model.
 */
export function checkCheckpointModel(checkpointModel: string, path: string, model: Model): void {
  if (checkpointModel !== model.name) {
    throw new Error(
      `${path}: checkpoint is for model "${checkpointModel}", this trainer has "${model.name}"`,
    );
  }
}

/**
 * Strict by name and shape: the checkpoint must hold every parameter and
 * buffer of the session's model with its shape, and nothing else (and, with
 * `optimizer`, the state of the session's optimizer).
 *
 * @param ckpt The checkpoint read back.
 * @param session The session whose tensors it must match.
 * @param options `optimizer`: also check the optimizer state (resuming).
 */
export function checkTrainerCheckpoint(
  ckpt: Checkpoint,
  session: TrainingSession,
  options: CheckTrainerCheckpointOptions = {},
): void {
  const weights = new Map<string, readonly number[]>();
  for (const p of session.parameters) weights.set(p.name, p.shape);
  for (const b of session.buffers) weights.set(b.name, b.shape);
  const optimizer = options.optimizer
    ? optimizerStateShapes(session.options.optimizer, session.parameters)
    : undefined;
  checkCheckpointTensors(ckpt, { weights, optimizer }, `the trainer's ${session.model.name}`);
}

/** Options of {@linkcode checkTrainerCheckpoint}. */
export interface CheckTrainerCheckpointOptions {
  /** Also require the optimizer state of the session's optimizer (resuming). */
  optimizer?: boolean;
}

/** Options of {@linkcode RunCheckpoint}. */
export interface RunCheckpointOptions {
  /** The run keeps an EMA of the weights (`ema.safetensors`). */
  ema: boolean;
}

/** Where a resumed run continues from, read by {@linkcode RunCheckpoint.resume}. */
export interface ResumePoint {
  /** The checkpoint file it was read from. */
  path: string;
  /** Epochs completed. */
  epoch: number;
  /** Optimizer steps taken. */
  step: number;
  /** History of the completed epochs. */
  history: EpochRecord[];
  /** The early stopper's state. */
  stopper: Partial<EarlyStopperState>;
  /** The best epoch's weights, when its file exists. */
  best?: WeightsMap;
}

/** The checkpoint files of one `fit` run in a folder. */
export class RunCheckpoint {
  /** Raw weights, optimizer state and history after every epoch. */
  readonly lastPath: string;
  /** The best epoch's (EMA) weights. */
  readonly bestPath: string;
  /** The EMA weights after every epoch (runs with an EMA). */
  readonly emaPath: string;
  readonly #owner: CheckpointOwner;
  readonly #ema: boolean;
  /** The files being written, in order (each write waits for the one before). */
  #writing: Promise<void> = Promise.resolve();
  /** The first write that failed: every later save and `flush` throws it. */
  #failure: { error: unknown } | null = null;

  /**
   * The files of a run in `dir`.
   *
   * @param dir The run's `checkpointDir`.
   * @param owner The session, model, options and task the files belong to.
   * @param options `ema`: the run keeps an EMA of the weights.
   */
  constructor(dir: string, owner: CheckpointOwner, options: RunCheckpointOptions) {
    this.lastPath = `${dir}/last.safetensors`;
    this.bestPath = `${dir}/best.safetensors`;
    this.emaPath = `${dir}/ema.safetensors`;
    this.#owner = owner;
    this.#ema = options.ema;
  }

  /**
   * Whether a run to resume is there.
   *
   * @returns True when `last.safetensors` exists.
   */
  canResume(): Promise<boolean> {
    return exists(this.lastPath, { followLinks: true });
  }

  /**
   * Load `last.safetensors` (checked against the session) into the session:
   * weights, optimizer state and step, and the EMA weights when the run
   * kept them; read the best epoch's weights.
   *
   * @returns The epoch, history and early-stopping state to continue from.
   */
  async resume(): Promise<ResumePoint> {
    const { session, model } = this.#owner;
    const ckpt = await loadCheckpoint(this.lastPath);
    checkCheckpointModel(ckpt.info.model, this.lastPath, model);
    checkTrainerCheckpoint(ckpt, session, { optimizer: true });
    session.setWeights(ckpt.weights);
    session.setOptimizerState(ckpt.optimizer, ckpt.info.step);
    const point: ResumePoint = {
      path: this.lastPath,
      epoch: ckpt.info.epoch,
      step: ckpt.info.step,
      history: ckpt.info.history ?? [],
      stopper: { bestEpoch: ckpt.info.bestEpoch, bestScore: ckpt.info.bestScore },
    };
    if ((ckpt.info.bestEpoch ?? 0) > 0 && (await exists(this.bestPath, { followLinks: true }))) {
      const best = await loadCheckpoint(this.bestPath);
      checkTrainerCheckpoint(best, session);
      point.best = best.weights;
    }
    if (this.#ema && ckpt.info.extra?.ema) {
      const ema = await loadCheckpoint(this.emaPath);
      checkTrainerCheckpoint(ema, session);
      session.setWeights(ema.weights, { ema: true });
    }
    return point;
  }

  /**
   * Write `best.safetensors` in the background, after the writes already
   * queued (see {@linkcode RunCheckpoint.flush}).
   *
   * @param weights The best epoch's (EMA) weights (not modified afterwards).
   * @param epoch The best epoch.
   * @param history The history up to it.
   * @param stopper The early stopper's state (its best epoch and score).
   * @returns When the write is queued.
   * @throws The error of an earlier write that failed.
   */
  async saveBest(
    weights: WeightsMap,
    epoch: number,
    history: EpochRecord[],
    stopper: EarlyStopperState,
  ): Promise<void> {
    this.#throwFailure();
    const write = await captureTrainerCheckpoint(this.bestPath, weights, this.#owner, {
      epoch,
      ...stopper,
      history,
    });
    this.#queue(write);
  }

  /**
   * Capture the session's weights, optimizer state (and EMA weights for a
   * run with an EMA) after `epoch`, and write them to `last.safetensors`
   * (and `ema.safetensors`) in the background while the next epoch trains:
   * the fsynced write of a ResNet-18's 134 MB costs about half a second,
   * 2-3% of an epoch of the study on two cores. Each file still replaces
   * the previous one atomically, so an interrupted run resumes from the
   * last epoch whose file is complete.
   *
   * @param epoch The epoch just completed.
   * @param history The history so far.
   * @param stopper The early stopper's state.
   * @returns When the session's state is captured and its write queued.
   * @throws The error of an earlier write that failed.
   */
  async saveEpoch(
    epoch: number,
    history: EpochRecord[],
    stopper: EarlyStopperState,
  ): Promise<void> {
    this.#throwFailure();
    const { session } = this.#owner;
    const last = await captureTrainerCheckpoint(
      this.lastPath,
      await session.getWeights(),
      this.#owner,
      {
        epoch,
        ...stopper,
        history,
        optimizer: true,
        ema: this.#ema,
      },
    );
    const ema = this.#ema
      ? await captureTrainerCheckpoint(
        this.emaPath,
        await session.getWeights({ ema: true }),
        this.#owner,
        { epoch, ...stopper },
      )
      : undefined;
    this.#queue(last);
    if (ema) this.#queue(ema);
  }

  /**
   * Wait for the queued writes.
   *
   * @returns When every file saved so far is in place.
   * @throws The error of the first write that failed.
   */
  async flush(): Promise<void> {
    await this.#writing;
    this.#throwFailure();
  }

  #queue(write: () => Promise<void>): void {
    this.#writing = this.#writing.then(async () => {
      if (this.#failure) return;
      try {
        await write();
      } catch (error) {
        this.#failure = { error };
      }
    });
  }

  #throwFailure(): void {
    if (this.#failure) throw this.#failure.error;
  }
}

/** The trainer's options as plain data: the backend by name, the log callbacks left out. */
export function plainOptions(options: TrainerOptions): Record<string, unknown> {
  const { backend, log: _log, logEpochs: _logEpochs, ...rest } = options;
  return { ...rest, backend: typeof backend === "string" ? backend : backend?.name };
}

/**
 * `Trainer`: fine-tunes a model on a dataset the way a PyTorch Lightning or
 * timm user expects — epochs of augmented, shuffled batches; an LR schedule
 * evaluated per step; validation each epoch; early stopping on validation
 * AUC; the best weights restored at the end; per-epoch history; callbacks;
 * optional weight EMA; atomic checkpoints and exact resumption; seeded and
 * reproducible (same seed and backend → same history).
 *
 * `fit` is the loop; its parts live beside it: {@linkcode EarlyStopper}
 * (best score, patience), {@linkcode BestWeights} (the best epoch's weights),
 * {@linkcode RunCheckpoint} (the run's checkpoint files and resume) and
 * {@linkcode EpochTally} (an epoch's totals and divergence errors).
 *
 * @module
 */

import type { NormalizeOption } from "../augment/pipeline.ts";
import { type Dataset, datasetLabel, validateDataset } from "../data/dataset.ts";
import { createLoader, type Loader } from "../data/loader.ts";
import type { EpochRecord, SplitMetrics } from "../metrics/history.ts";
import { metricTaskOf } from "../metrics/mod.ts";
import { exportOnnx } from "../models/export.ts";
import type { Model } from "../nn/model.ts";
import type { Backend } from "../runtime/backend.ts";
import { createBackend } from "../runtime/select.ts";
import { atomicWriteFile } from "../util/fs.ts";
import {
  loadPretrained,
  type PretrainedOptions,
  type PretrainedReport,
} from "../weights/pretrained.ts";
import { BestWeights } from "./best_weights.ts";
import { loadCheckpoint } from "./checkpoint.ts";
import { EarlyStopper, validationScore } from "./early_stopping.ts";
import { type DivergenceContext, EpochTally } from "./epoch_tally.ts";
import { NonFinitePredictionsError } from "./errors.ts";
import { type ScoredPredictions, scoreProbabilities } from "./evaluate.ts";
import type { OptimizerConfig } from "./optim.ts";
import {
  defaultOptimizer,
  type FitSettings,
  type StepInfo,
  type TrainerOptions,
} from "./options.ts";
import {
  checkCheckpointModel,
  type CheckpointOwner,
  checkTrainerCheckpoint,
  RunCheckpoint,
  writeTrainerCheckpoint,
} from "./run_checkpoint.ts";
import { constant, lrAt, type LrSchedule } from "./schedules.ts";
import { initialWeights } from "./programs.ts";
import { evenBatchSize, TrainingSession } from "./session.ts";
import { checkFitOptions, checkTrainerOptions } from "./validate.ts";

export type { EarlyStopping, FitSettings, StepInfo, TrainerOptions } from "./options.ts";
export {
  type DivergenceDetails,
  NonFinitePredictionsError,
  TrainingDivergedError,
} from "./errors.ts";

/** What a callback sees after each epoch. */
export interface EpochEvent {
  /** The epoch's record. */
  record: EpochRecord;
  /** Whether validation AUC improved (the best weights were updated). */
  improved: boolean;
  /** The trainer. */
  trainer: Trainer;
}

/** Options of {@linkcode Trainer.fit}: its settings and callbacks. */
export interface FitOptions extends FitSettings {
  /** Called after each epoch; return `false` to stop. */
  onEpochEnd?: (event: EpochEvent) => void | boolean | Promise<void | boolean>;
  /** Called after each step (`gradNorm`: global gradient norm before clipping). */
  onStep?: (info: StepInfo) => void;
}

/** The outcome of {@linkcode Trainer.fit}. */
export interface FitResult {
  /** Per-epoch records. */
  history: EpochRecord[];
  /** Epoch whose weights were restored (best validation AUC). */
  bestEpoch: number;
  /** Best validation AUC (or −loss when AUC is undefined). */
  bestScore: number;
  /** Epochs run. */
  epochsRun: number;
  /** True when early stopping (or a callback) ended the run. */
  stoppedEarly: boolean;
  /** Wall seconds. */
  seconds: number;
}

/** Predictions and metrics of a dataset. */
export interface Evaluation extends ScoredPredictions {
  /** N×K probabilities in dataset order. */
  probs: Float32Array;
  /** Labels in dataset order: N class indices, or N×K 0/1 values for a multi-label dataset. */
  labels: Int32Array;
}

/** Options of {@linkcode Trainer.evaluate}. */
export interface TrainerEvaluateOptions {
  /** Predict with the EMA of the weights (the trainer must keep one: `emaDecay`). */
  ema?: boolean;
}

/** How a run's steps are laid out: what the LR schedule is evaluated with. */
interface StepPlan {
  schedule: LrSchedule;
  baseLr: number;
  stepsPerEpoch: number;
  totalSteps: number;
}

/** Where `fit` starts: the history so far and the first epoch to run. */
interface StartPoint {
  history: EpochRecord[];
  startEpoch: number;
}

/**
 * Fine-tunes one model: `fit` on a train and a validation set, then
 * `evaluate`, `save`, `exportOnnx`.
 *
 * @example
 * ```ts ignore
 * import { createModel, loadMedMNISTSplits, Trainer, warmupCosine } from "medtune";
 *
 * const { train, val, test } = await loadMedMNISTSplits("breastmnist");
 * const model = createModel("resnet18", { numClasses: 2, inChannels: 1, imageSize: 28 });
 * const trainer = new Trainer(model, { schedule: warmupCosine({ warmupEpochs: 1 }), seed: 0 });
 * const fit = await trainer.fit(train, val, { epochs: 20, batchSize: 32, augment: "heavy" });
 * const { metrics } = await trainer.evaluate(test); // with the best epoch's weights
 * await trainer.dispose();
 * ```
 */
export class Trainer {
  /** The compiled session (after the first `fit`, `evaluate` or `load`). */
  session?: TrainingSession;
  /** History of the last `fit`. */
  history: EpochRecord[] = [];
  #backend?: Backend;
  #batchSize = 0;
  /** Weights came from `load` or `loadPretrained`: `fit` starts from them instead of a fresh init. */
  #weightsGiven = false;
  /** Weights `loadPretrained` adapted before any session existed: the next session starts from them. */
  #pendingWeights?: Map<string, Float32Array>;
  /** The session trains a multi-label head (sigmoid BCE): set from the data by `fit` and `evaluate`. */
  #multiLabel = false;
  #normalize: NormalizeOption | "dataset" = "imagenet";

  /**
   * A trainer for `model`; nothing is compiled until the first `fit`,
   * `evaluate`, `load` or `loadPretrained`.
   *
   * @param model The model to fine-tune.
   * @param options Backend, optimizer, schedule, loss, EMA, seed and logging.
   * @throws {RangeError} When a numeric option is out of range (the error names it).
   *
   * @example
   * ```ts ignore
   * const trainer = new Trainer(model, {
   *   backend: "cpu",
   *   optimizer: { name: "adamw", lr: 1e-3, weightDecay: 1e-2 },
   *   labelSmoothing: 0.1,
   *   clipGradNorm: 1,
   *   seed: 0,
   * });
   * ```
   */
  constructor(
    /** The model. */
    readonly model: Model,
    /** Options. */
    readonly options: TrainerOptions = {},
  ) {
    checkTrainerOptions(options, model.numClasses);
  }

  get #optimizer(): OptimizerConfig {
    return this.options.optimizer ?? defaultOptimizer();
  }

  /**
   * The backend, created on first use from `options.backend` (default `auto`).
   *
   * @returns The backend every program of this trainer runs on.
   *
   * @example
   * ```ts ignore
   * const backend = await trainer.backend();
   * console.log(backend.name); // "cpu", "wasm" or "webgpu"
   * ```
   */
  async backend(): Promise<Backend> {
    if (!this.#backend) {
      const b = this.options.backend ?? "auto";
      this.#backend = typeof b === "string" ? await createBackend(b) : b;
    }
    return this.#backend;
  }

  async #ensureSession(batchSize: number): Promise<TrainingSession> {
    if (
      this.session && this.#batchSize === batchSize &&
      (this.session.options.multiLabel ?? false) === this.#multiLabel
    ) return this.session;
    const backend = await this.backend();
    const previous = this.session ? await this.session.getWeights() : this.#pendingWeights;
    await this.session?.dispose();
    this.session = await TrainingSession.create(backend, this.model, {
      batchSize,
      evalBatchSize: this.options.evalBatchSize ?? 64,
      optimizer: this.#optimizer,
      labelSmoothing: this.options.labelSmoothing,
      classWeights: this.options.classWeights,
      clipGradNorm: this.options.clipGradNorm,
      emaDecay: this.options.emaDecay,
      multiLabel: this.#multiLabel,
      convWeightGrad: this.options.convWeightGrad,
      seed: this.options.seed ?? 0,
    });
    if (previous) this.session.setWeights(previous);
    this.#pendingWeights = undefined;
    this.#batchSize = batchSize;
    return this.session;
  }

  #log(line: string): void {
    this.options.log?.(line);
  }

  /**
   * Train on `train`, validating on `val` after every epoch; at the end the
   * best epoch's weights (by validation AUC, or −loss where AUC is
   * undefined) are in the session. With `checkpointDir` the run writes
   * `last.safetensors` (and `best.safetensors`, `ema.safetensors`) after
   * every epoch and resumes from it when it exists.
   *
   * @param train The training split (augmented, shuffled, last partial batch dropped).
   * @param val The validation split (same task and class count).
   * @param options Epochs, batch size, augmentation, early stopping, checkpoints, callbacks.
   * @returns The history, the best epoch and score, and whether the run stopped early.
   * @throws {TrainingDivergedError} When a loss, gradient norm or validation prediction is not finite.
   *
   * @example
   * ```ts ignore
   * const fit = await trainer.fit(train, val, {
   *   epochs: 60,
   *   batchSize: 32,
   *   augment: "heavy",
   *   earlyStopping: { patience: 8 },
   *   checkpointDir: "runs/resnet18",
   * });
   * console.log(fit.bestEpoch, fit.history[fit.bestEpoch - 1].valAuc);
   * ```
   */
  async fit(train: Dataset, val: Dataset, options: FitOptions): Promise<FitResult> {
    this.#checkFitInputs(train, val, options);
    const t0 = performance.now();
    const session = await this.#ensureSession(options.batchSize);
    this.#normalize = options.normalize ?? "imagenet";
    const loader = this.#trainLoader(train, options);
    const plan = this.#stepPlan(loader, options);
    const useEma = this.options.emaDecay !== undefined;
    const stopper = new EarlyStopper(options.earlyStopping);
    const best = new BestWeights({ ema: useEma });
    const checkpoint = options.checkpointDir
      ? new RunCheckpoint(options.checkpointDir, this.#owner(session), { ema: useEma })
      : undefined;
    const { history, startEpoch } = await this.#start(session, checkpoint, options, stopper, best);
    this.history = history;
    let stoppedEarly = startEpoch > 1 && stopper.shouldStop(startEpoch - 1);
    let lastFiniteLoss = history.length ? history[history.length - 1].lastLoss ?? null : null;
    try {
      for (let epoch = startEpoch; epoch <= options.epochs && !stoppedEarly; epoch++) {
        const tally = new EpochTally({
          epoch,
          numClasses: this.model.numClasses,
          multiLabel: this.#multiLabel,
          lr: plan.baseLr,
          lastFiniteLoss,
        });
        await this.#trainEpoch(session, loader, tally, plan, history, options);
        lastFiniteLoss = tally.lastFiniteLoss;
        const record = await this.#validateEpoch(session, val, tally, history, useEma);
        history.push(record);
        const improved = stopper.update(epoch, validationScore(record));
        if (improved) {
          const weights = await best.capture(session, epoch);
          await checkpoint?.saveBest(weights, epoch, history, stopper.toJSON());
        }
        await checkpoint?.saveEpoch(epoch, history, stopper.toJSON());
        this.#logEpoch(record, options.epochs, improved);
        const verdict = await options.onEpochEnd?.({ record, improved, trainer: this });
        if (verdict === false || stopper.shouldStop(epoch)) stoppedEarly = epoch < options.epochs;
      }
    } catch (err) {
      // The epochs whose files are being written stay resumable.
      await checkpoint?.flush().catch(() => {});
      throw err;
    }
    await checkpoint?.flush();
    best.restore(session);
    return {
      history,
      bestEpoch: stopper.bestEpoch,
      bestScore: stopper.bestScore,
      epochsRun: history.length,
      stoppedEarly,
      seconds: (performance.now() - t0) / 1000,
    };
  }

  /** `fit`'s checks before anything is compiled; sets the task (multi-label or not). */
  #checkFitInputs(train: Dataset, val: Dataset, options: FitOptions): void {
    checkFitOptions(options);
    checkDataset(train, this.model, "train");
    checkDataset(val, this.model, "val");
    if ((train.task === "multi-label") !== (val.task === "multi-label")) {
      throw new Error(
        `fit: train set ${train.name} is ${train.task} but val set ${val.name} is ${val.task}; ` +
          `pass two splits of the same dataset`,
      );
    }
    this.#multiLabel = train.task === "multi-label";
    if (options.batchSize > train.n) {
      throw new RangeError(
        `fit: batchSize must be an integer in [1, ${train.n}] (the number of images of ` +
          `${datasetLabel(train)}), got ${options.batchSize}`,
      );
    }
  }

  /** The shuffled, augmented train loader of `fit` (label smoothing set in one place only). */
  #trainLoader(train: Dataset, options: FitOptions): Loader {
    const loader = createLoader(train, {
      batchSize: options.batchSize,
      shuffle: true,
      dropLast: true,
      balanced: options.balanced,
      imageSize: this.model.imageSize,
      channels: this.model.inChannels,
      normalize: this.#normalize,
      augment: options.augment ?? "none",
      seed: this.options.seed ?? 0,
    });
    if (loader.augment.labelSmoothing > 0 && (this.options.labelSmoothing ?? 0) > 0) {
      throw new Error(
        "fit: label smoothing is set both in the augmentation config and in the Trainer; " +
          "keep one (the study smooths in the loss: set augment.labelSmoothing to 0)",
      );
    }
    return loader;
  }

  #stepPlan(loader: Loader, options: FitOptions): StepPlan {
    const stepsPerEpoch = Math.min(loader.numBatches, options.maxStepsPerEpoch ?? Infinity);
    return {
      schedule: this.options.schedule ?? constant(),
      baseLr: this.#optimizer.lr,
      stepsPerEpoch,
      totalSteps: stepsPerEpoch * options.epochs,
    };
  }

  #owner(session: TrainingSession): CheckpointOwner {
    return { session, model: this.model, options: this.options, multiLabel: this.#multiLabel };
  }

  /** Resume from the run's checkpoint, or start from the given weights, or initialize. */
  async #start(
    session: TrainingSession,
    checkpoint: RunCheckpoint | undefined,
    options: FitOptions,
    stopper: EarlyStopper,
    best: BestWeights,
  ): Promise<StartPoint> {
    if (checkpoint && (options.resume ?? true) && (await checkpoint.canResume())) {
      const point = await checkpoint.resume();
      stopper.restore(point.stopper);
      if (point.best) best.set(point.best, stopper.bestEpoch);
      this.#log(`resumed from ${point.path} after epoch ${point.epoch} (step ${point.step})`);
      return { history: point.history, startEpoch: point.epoch + 1 };
    }
    if (this.#weightsGiven) {
      session.resetOptimizer();
      session.resetEma();
    } else {
      session.initialize(this.options.seed ?? 0);
    }
    return { history: [], startEpoch: 1 };
  }

  /** One epoch's optimizer steps, each at the schedule's learning rate. */
  async #trainEpoch(
    session: TrainingSession,
    loader: Loader,
    tally: EpochTally,
    plan: StepPlan,
    history: readonly EpochRecord[],
    options: FitOptions,
  ): Promise<void> {
    const where = (): DivergenceContext => ({
      step: session.step,
      history,
      clipGradNorm: this.options.clipGradNorm,
    });
    for await (const batch of loader.epoch(tally.epoch)) {
      if (tally.steps >= plan.stepsPerEpoch) break;
      const lr = lrAt(plan.schedule, {
        step: session.step,
        baseLr: plan.baseLr,
        stepsPerEpoch: plan.stepsPerEpoch,
        totalSteps: plan.totalSteps,
      });
      tally.lr = lr;
      const r = await session.trainStep(batch, lr);
      if (!Number.isFinite(r.loss)) {
        throw tally.diverged("loss", r.loss, `the loss is ${r.loss}`, where());
      }
      if (!Number.isFinite(r.gradNorm)) {
        throw tally.diverged("gradNorm", r.gradNorm, `the gradient norm is ${r.gradNorm}`, where());
      }
      tally.add(batch, r);
      options.onStep?.({
        epoch: tally.epoch,
        step: session.step,
        loss: r.loss,
        lr,
        gradNorm: r.gradNorm,
      });
    }
  }

  /** Validate after an epoch's steps: its record, or a divergence error when not finite. */
  async #validateEpoch(
    session: TrainingSession,
    val: Dataset,
    tally: EpochTally,
    history: readonly EpochRecord[],
    useEma: boolean,
  ): Promise<EpochRecord> {
    const where = (): DivergenceContext => ({
      step: session.step,
      history,
      clipGradNorm: this.options.clipGradNorm,
    });
    let metrics: SplitMetrics;
    try {
      metrics = (await this.evaluate(val, { ema: useEma })).metrics;
    } catch (err) {
      if (!(err instanceof NonFinitePredictionsError)) throw err;
      throw tally.diverged(
        "validation",
        err.value,
        `the ${useEma ? "EMA " : ""}model's validation probabilities are ${err.value} ` +
          `(image ${err.image} of ${datasetLabel(val)}) after the epoch's updates`,
        where(),
      );
    }
    const record = tally.record(metrics);
    const score = validationScore(record);
    if (!Number.isFinite(score)) {
      throw tally.diverged("validation", score, `the validation score is ${score}`, where());
    }
    return record;
  }

  #logEpoch(record: EpochRecord, epochs: number, improved: boolean): void {
    if (!(this.options.logEpochs ?? true)) return;
    this.#log(
      `epoch ${record.epoch}/${epochs} lr ${record.lr.toExponential(2)} loss ${
        record.trainLoss.toFixed(4)
      } ` +
        `val loss ${record.valLoss.toFixed(4)} val AUC ${record.valAuc?.toFixed(4) ?? "n/a"}` +
        `${improved ? " *" : ""} (${record.seconds.toFixed(1)} s)`,
    );
  }

  /**
   * Probabilities and metrics of `dataset` in eval mode (running batch-norm
   * statistics, no dropout, no augmentation), with the normalization of the
   * last `fit`.
   *
   * @param dataset The images to predict (its class count must be the model's).
   * @param options `ema`: use the EMA of the weights.
   * @returns Probabilities and labels in dataset order, and their metrics.
   * @throws {NonFinitePredictionsError} When a probability is NaN or infinite.
   *
   * @example
   * ```ts ignore
   * const { metrics, probs } = await trainer.evaluate(test);
   * console.log(metrics.auc, metrics.accuracy, probs.length / 2); // N images × 2 classes
   * ```
   */
  async evaluate(dataset: Dataset, options: TrainerEvaluateOptions = {}): Promise<Evaluation> {
    checkDataset(dataset, this.model, "evaluate");
    this.#multiLabel = dataset.task === "multi-label";
    const session = await this.#ensureSession(
      this.session ? this.#batchSize : Math.min(32, dataset.n),
    );
    const loader = createLoader(dataset, {
      // Even batches: 78 images as 2 × 39, not 64 + 14 padded to 128.
      batchSize: evenBatchSize(dataset.n, session.evalBatchSize),
      shuffle: false,
      dropLast: false,
      imageSize: this.model.imageSize,
      channels: this.model.inChannels,
      normalize: this.#normalize,
      augment: "none",
      prefetch: false,
    });
    const k = this.model.numClasses;
    const probs = new Float32Array(dataset.n * k);
    const per = this.#multiLabel ? k : 1;
    const labels = new Int32Array(dataset.n * per);
    let offset = 0;
    for await (const batch of loader.epoch(0)) {
      const p = await session.predict(batch.x, batch.n, { ema: options.ema });
      probs.set(p, offset * k);
      labels.set(batch.labels.subarray(0, batch.n * per), offset * per);
      offset += batch.n;
    }
    checkFinite(probs, k, dataset);
    const task = metricTaskOf(dataset.task, k);
    return { probs, labels, ...scoreProbabilities(probs, labels, k, { task }) };
  }

  /**
   * Save the current weights as a model checkpoint: timm state-dict names,
   * with the model, its config, the trainer's options and the history as
   * metadata (written atomically).
   *
   * @param path The `.safetensors` file to write.
   * @returns When the file is in place.
   * @throws {Error} When the trainer has no weights yet (no `fit` or `load`).
   *
   * @example
   * ```ts ignore
   * await trainer.fit(train, val, { epochs: 10, batchSize: 32 });
   * await trainer.save("model.safetensors");
   * ```
   */
  async save(path: string): Promise<void> {
    const session = await this.#sessionWithWeights("save");
    await writeTrainerCheckpoint(path, await session.getWeights(), this.#owner(session), {
      epoch: this.history.length,
      history: this.history,
    });
  }

  /**
   * Load weights from a model or training checkpoint written by medtune
   * (strictly: every tensor of the model with its shape, nothing else);
   * `fit` then starts from them.
   *
   * @param path The `.safetensors` file.
   * @returns When the weights are in the session.
   * @throws {Error} When the file is for another model or its tensors do not fit (listed).
   *
   * @example
   * ```ts ignore
   * const trainer = new Trainer(createModel("resnet18", { numClasses: 2, inChannels: 1 }));
   * await trainer.load("model.safetensors");
   * const { metrics } = await trainer.evaluate(test);
   * ```
   */
  async load(path: string): Promise<void> {
    const ckpt = await loadCheckpoint(path);
    checkCheckpointModel(ckpt.info.model, path, this.model);
    // a multi-label checkpoint predicts (and exports) sigmoid probabilities per label
    this.#multiLabel = ckpt.info.extra?.multiLabel === true;
    const session = await this.#ensureSession(this.session ? this.#batchSize : 32);
    checkTrainerCheckpoint(ckpt, session);
    session.setWeights(ckpt.weights);
    this.history = ckpt.info.history ?? [];
    this.#weightsGiven = true;
  }

  /**
   * Start from published timm weights (safetensors): shapes checked, the head
   * reset when the class count differs, input channels and ViT position
   * embeddings adapted. `fit` then fine-tunes from them. Without a session
   * yet, nothing is compiled here: the weights are adapted on the host and
   * go into the session the next `fit`, `evaluate` or `save` compiles (for
   * its batch size and head, so it is compiled once).
   *
   * @param path The timm `.safetensors` file.
   * @param options How to adapt the first conv and what to skip.
   * @returns What was loaded, adapted, kept and ignored.
   *
   * @example
   * ```ts ignore
   * const report = await trainer.loadPretrained("resnet18.a1_in1k.safetensors");
   * console.log(report.kept.map((k) => k.name)); // e.g. ["fc.weight", "fc.bias"]
   * await trainer.fit(train, val, { epochs: 20, batchSize: 32 });
   * ```
   */
  async loadPretrained(path: string, options: PretrainedOptions = {}): Promise<PretrainedReport> {
    const adapt = { ...options, model: this.model };
    let report: PretrainedReport;
    if (this.session) report = await loadPretrained(this.session, path, adapt);
    else {
      const weights = this.#pendingWeights ?? initialWeights(this.model, this.options.seed ?? 0);
      report = await loadPretrained(weights, path, adapt);
      this.#pendingWeights = weights;
    }
    this.#weightsGiven = true;
    return report;
  }

  /**
   * Write the inference model (current weights as initializers, dynamic
   * batch, softmax or per-label sigmoid probabilities) as an ONNX file.
   *
   * @param path The `.onnx` file to write (atomically).
   * @returns When the file is in place.
   * @throws {Error} When the trainer has no weights yet (no `fit` or `load`).
   *
   * @example
   * ```ts ignore
   * await trainer.exportOnnx("model.onnx"); // runs in onnxruntime-web / -node / Python
   * ```
   */
  async exportOnnx(path: string): Promise<void> {
    const session = await this.#sessionWithWeights("exportOnnx");
    await atomicWriteFile(
      path,
      exportOnnx(this.model, await session.getWeights(), {
        probs: this.#multiLabel ? "sigmoid" : "softmax",
      }),
    );
  }

  /**
   * Release the session's programs and device memory (the trainer can
   * compile a new one on its next call).
   *
   * @returns When everything is released.
   *
   * @example
   * ```ts ignore
   * try {
   *   await trainer.fit(train, val, { epochs: 10, batchSize: 32 });
   * } finally {
   *   await trainer.dispose();
   * }
   * ```
   */
  async dispose(): Promise<void> {
    await this.session?.dispose();
    this.session = undefined;
    this.#pendingWeights = undefined;
  }

  /** The session, compiled first when only `loadPretrained`'s host weights exist. */
  async #sessionWithWeights(what: string): Promise<TrainingSession> {
    if (!this.session && this.#pendingWeights) await this.#ensureSession(32);
    return this.#requireSession(what);
  }

  #requireSession(what: string): TrainingSession {
    if (!this.session) {
      throw new Error(`${what}: the trainer has no weights yet; call fit or load first`);
    }
    return this.session;
  }
}

function checkDataset(ds: Dataset, model: Model, where: string): void {
  validateDataset(ds);
  if (ds.numClasses !== model.numClasses) {
    throw new Error(
      `${where}: ${ds.name} has ${ds.numClasses} classes but ${model.name} was created with ` +
        `numClasses ${model.numClasses}; create the model with numClasses: ${ds.numClasses}`,
    );
  }
}

/** Throw {@linkcode NonFinitePredictionsError} at the first non-finite probability of `dataset`. */
function checkFinite(probs: Float32Array, k: number, dataset: Dataset): void {
  const bad = probs.findIndex((p) => !Number.isFinite(p));
  if (bad < 0) return;
  const image = Math.floor(bad / k);
  throw new NonFinitePredictionsError(
    `evaluate: the model's probabilities for image ${image} of ${datasetLabel(dataset)} are ` +
      `${probs[bad]}: its weights are not finite (a diverged run?); ` +
      `load a checkpoint from before the divergence or train with a lower learning rate`,
    image,
    probs[bad],
  );
}

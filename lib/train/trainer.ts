/**
 * `Trainer`: fine-tunes a model on a dataset the way a PyTorch Lightning or
 * timm user expects — epochs of augmented, shuffled batches; an LR schedule
 * evaluated per step; validation each epoch; early stopping on validation
 * AUC; the best weights restored at the end; per-epoch history; callbacks;
 * optional weight EMA; atomic checkpoints and exact resumption; seeded and
 * reproducible (same seed and backend → same history).
 *
 * @module
 */

import type { AugmentConfig, PresetName } from "../augment/presets.ts";
import type { NormalizeOption } from "../augment/pipeline.ts";
import { type Dataset, datasetLabel, validateDataset } from "../data/dataset.ts";
import { createLoader } from "../data/loader.ts";
import {
  aucOvr,
  aucPerLabel,
  aucRoc,
  DegenerateSampleError,
  metricTaskOf,
} from "../metrics/mod.ts";
import type { ConvWeightGrad } from "../autodiff/vjp.ts";
import type { Model } from "../nn/model.ts";
import type { Backend, BackendChoice } from "../runtime/backend.ts";
import { createBackend } from "../runtime/select.ts";
import { exportOnnx } from "../models/export.ts";
import { atomicWriteFile } from "../util/fs.ts";
import {
  loadPretrained,
  type PretrainedOptions,
  type PretrainedReport,
} from "../weights/pretrained.ts";
import {
  checkCheckpointTensors,
  type Checkpoint,
  loadCheckpoint,
  saveCheckpoint,
} from "./checkpoint.ts";
import { type ScoredPredictions, scoreProbabilities } from "./evaluate.ts";
import type { EpochRecord } from "../metrics/history.ts";
import type { OptimizerConfig } from "./optim.ts";
import { constant, lrAt, type LrSchedule } from "./schedules.ts";
import { TrainingSession } from "./session.ts";
import { checkFitOptions, checkTrainerOptions } from "./validate.ts";

/** Options of {@linkcode Trainer}. */
export interface TrainerOptions {
  /** Backend, or a choice resolved on first use (default `auto`). */
  backend?: BackendChoice | Backend;
  /** Optimizer (default AdamW, lr 1e-3, weight decay 1e-2). */
  optimizer?: OptimizerConfig;
  /** Learning-rate schedule over the whole run (default constant). */
  schedule?: LrSchedule;
  /** Label smoothing of the loss (0.1 in the study). */
  labelSmoothing?: number;
  /** Per-class loss weights. */
  classWeights?: number[];
  /** Clip gradients to this global norm (1.0 in the study). */
  clipGradNorm?: number;
  /** Keep an EMA of the weights with this decay; validation and the final weights use it. */
  emaDecay?: number;
  /** Seed of initialization, data order, augmentation and noise (default 0). */
  seed?: number;
  /** Eval batch size (default 64). */
  evalBatchSize?: number;
  /** Conv weight-gradient formulation (default by backend). */
  convWeightGrad?: ConvWeightGrad;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** Include one line per epoch in `log` (default true; resume notices always go there). */
  logEpochs?: boolean;
}

/** Early stopping on validation AUC. */
export interface EarlyStopping {
  /** Epochs without improvement before stopping (8 in the study). */
  patience: number;
  /** Smallest increase that counts as an improvement (default 0). */
  minDelta?: number;
  /**
   * Never stop before this many epochs (default 0), as Lightning's
   * `min_epochs`: validation AUC on a small split is noisy while the learning
   * rate is high, and a run stopped in its first epochs never reaches the
   * low-LR phase where it improves.
   */
  minEpochs?: number;
}

/** What a callback sees after each epoch. */
export interface EpochEvent {
  /** The epoch's record. */
  record: EpochRecord;
  /** Whether validation AUC improved (the best weights were updated). */
  improved: boolean;
  /** The trainer. */
  trainer: Trainer;
}

/** Options of {@linkcode Trainer.fit}. */
export interface FitOptions {
  /** Epoch budget. */
  epochs: number;
  /** Train batch size (the program is built for it; the last partial batch is dropped). */
  batchSize: number;
  /** Augmentation preset or config (default `none`). */
  augment?: PresetName | AugmentConfig;
  /** Input normalization (default `imagenet`). */
  normalize?: NormalizeOption | "dataset";
  /** Class-balanced sampling. */
  balanced?: boolean;
  /** Early stopping (default: none). */
  earlyStopping?: EarlyStopping;
  /** Stop each epoch after this many steps (quick runs and tests). */
  maxStepsPerEpoch?: number;
  /**
   * Folder for `last.safetensors` (weights, optimizer, history; written
   * after every epoch) and `best.safetensors` (best weights so far).
   */
  checkpointDir?: string;
  /** Continue from `checkpointDir/last.safetensors` when it exists (default true). */
  resume?: boolean;
  /** Called after each epoch; return `false` to stop. */
  onEpochEnd?: (event: EpochEvent) => void | boolean | Promise<void | boolean>;
  /** Called after each step (`gradNorm`: global gradient norm before clipping). */
  onStep?: (
    info: { epoch: number; step: number; loss: number; lr: number; gradNorm: number },
  ) => void;
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

  /** Create the error. */
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

/** Thrown by {@linkcode Trainer.evaluate} when the model's probabilities are NaN or infinite. */
export class NonFinitePredictionsError extends Error {
  /** Create the error. */
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

/** Predictions and metrics of a dataset. */
export interface Evaluation extends ScoredPredictions {
  /** N×K probabilities in dataset order. */
  probs: Float32Array;
  /** Labels in dataset order: N class indices, or N×K 0/1 values for a multi-label dataset. */
  labels: Int32Array;
}

/** Fine-tunes one model. */
export class Trainer {
  /** The compiled session (after the first `fit`, `evaluate` or `load`). */
  session?: TrainingSession;
  /** History of the last `fit`. */
  history: EpochRecord[] = [];
  #backend?: Backend;
  #batchSize = 0;
  /** Weights came from `load` or `loadPretrained`: `fit` starts from them instead of a fresh init. */
  #weightsGiven = false;
  /** The session trains a multi-label head (sigmoid BCE): set from the data by `fit` and `evaluate`. */
  #multiLabel = false;
  #normalize: NormalizeOption | "dataset" = "imagenet";

  /** A trainer for `model`. */
  constructor(
    /** The model. */
    readonly model: Model,
    /** Options. */
    readonly options: TrainerOptions = {},
  ) {
    checkTrainerOptions(options, model.numClasses);
  }

  get #optimizer(): OptimizerConfig {
    return this.options.optimizer ?? { name: "adamw", lr: 1e-3, weightDecay: 1e-2 };
  }

  /** The backend (created on first use). */
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
    const previous = this.session ? await this.session.getWeights() : undefined;
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
    this.#batchSize = batchSize;
    return this.session;
  }

  #log(line: string): void {
    this.options.log?.(line);
  }

  /** Train on `train`, validating on `val` after every epoch. */
  async fit(train: Dataset, val: Dataset, options: FitOptions): Promise<FitResult> {
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
    const t0 = performance.now();
    const seed = this.options.seed ?? 0;
    const session = await this.#ensureSession(options.batchSize);
    this.#normalize = options.normalize ?? "imagenet";
    const loader = createLoader(train, {
      batchSize: options.batchSize,
      shuffle: true,
      dropLast: true,
      balanced: options.balanced,
      imageSize: this.model.imageSize,
      channels: this.model.inChannels,
      normalize: this.#normalize,
      augment: options.augment ?? "none",
      seed,
    });
    if (loader.augment.labelSmoothing > 0 && (this.options.labelSmoothing ?? 0) > 0) {
      throw new Error(
        "fit: label smoothing is set both in the augmentation config and in the Trainer; " +
          "keep one (the study smooths in the loss: set augment.labelSmoothing to 0)",
      );
    }
    const stepsPerEpoch = Math.min(loader.numBatches, options.maxStepsPerEpoch ?? Infinity);
    const totalSteps = stepsPerEpoch * options.epochs;
    const schedule = this.options.schedule ?? constant();
    const baseLr = this.#optimizer.lr;
    const useEma = this.options.emaDecay !== undefined;
    const k = this.model.numClasses;

    let history: EpochRecord[] = [];
    let bestEpoch = 0;
    let bestScore = -Infinity;
    let bestWeights: Map<string, Float32Array> | undefined;
    let startEpoch = 1;
    const lastPath = options.checkpointDir ? `${options.checkpointDir}/last.safetensors` : "";
    const bestPath = options.checkpointDir ? `${options.checkpointDir}/best.safetensors` : "";
    if (lastPath && (options.resume ?? true) && (await exists(lastPath))) {
      const ckpt = await loadCheckpoint(lastPath);
      this.#checkCompatible(ckpt.info.model, lastPath);
      this.#checkTensors(ckpt, session, { optimizer: true });
      session.setWeights(ckpt.weights);
      session.setOptimizerState(ckpt.optimizer, ckpt.info.step);
      history = ckpt.info.history ?? [];
      startEpoch = ckpt.info.epoch + 1;
      bestEpoch = ckpt.info.bestEpoch ?? 0;
      bestScore = ckpt.info.bestScore ?? -Infinity;
      if (bestEpoch > 0 && (await exists(bestPath))) {
        const best = await loadCheckpoint(bestPath);
        this.#checkTensors(best, session);
        bestWeights = best.weights;
      }
      if (useEma && ckpt.info.extra?.ema) {
        const ema = await loadCheckpoint(`${options.checkpointDir}/ema.safetensors`);
        this.#checkTensors(ema, session);
        session.setWeights(ema.weights, { ema: true });
      }
      this.#log(`resumed from ${lastPath} after epoch ${ckpt.info.epoch} (step ${ckpt.info.step})`);
    } else if (this.#weightsGiven) {
      session.resetOptimizer();
      session.resetEma();
    } else {
      session.initialize(seed);
    }
    this.history = history;

    let stoppedEarly = false;
    const patience = options.earlyStopping?.patience ?? Infinity;
    const minDelta = options.earlyStopping?.minDelta ?? 0;
    const minEpochs = options.earlyStopping?.minEpochs ?? 0;
    const shouldStop = (epoch: number) => epoch >= minEpochs && epoch - bestEpoch >= patience;
    if (startEpoch > 1 && shouldStop(startEpoch - 1)) stoppedEarly = true;

    let lastFiniteLoss: number | null = history.length
      ? history[history.length - 1].lastLoss ?? null
      : null;
    for (let epoch = startEpoch; epoch <= options.epochs && !stoppedEarly; epoch++) {
      const te = performance.now();
      let lossSum = 0;
      let steps = 0;
      let lr = baseLr;
      const trainProbs: number[] = [];
      const trainLabels: number[] = [];
      const trainRecord = () => {
        const labels = Int32Array.from(trainLabels);
        const probs = Float32Array.from(trainProbs);
        return {
          epoch,
          lr,
          trainLoss: steps ? lossSum / steps : NaN,
          trainAccuracy: steps ? accuracyOf(probs, labels, k, this.#multiLabel) : NaN,
          trainAuc: steps ? safeAuc(probs, labels, k, this.#multiLabel) : null,
          steps,
          ...(lastFiniteLoss === null ? {} : { lastLoss: lastFiniteLoss }),
        };
      };
      const diverged = (cause: DivergenceDetails["cause"], value: number, what: string) => {
        const partial: EpochRecord = {
          ...trainRecord(),
          valLoss: NaN,
          valAccuracy: NaN,
          valAuc: null,
          seconds: (performance.now() - te) / 1000,
          partial: true,
        };
        const details: DivergenceDetails = {
          epoch,
          step: session.step,
          cause,
          value,
          stepsInEpoch: steps,
          lastFiniteLoss,
          lr,
        };
        const advice = this.options.clipGradNorm === undefined
          ? "lower the learning rate (optimizer.lr) or set clipGradNorm"
          : "lower the learning rate (optimizer.lr)";
        return new TrainingDivergedError(
          `training diverged at epoch ${epoch}, step ${session.step}: ${what} (lr ${lr}` +
            `${lastFiniteLoss === null ? "" : `, last finite loss ${lastFiniteLoss}`}); ${advice}`,
          [...history, partial],
          details,
        );
      };
      for await (const batch of loader.epoch(epoch)) {
        if (steps >= stepsPerEpoch) break;
        lr = lrAt(schedule, { step: session.step, baseLr, stepsPerEpoch, totalSteps });
        const r = await session.trainStep(batch, lr);
        if (!Number.isFinite(r.loss)) throw diverged("loss", r.loss, `the loss is ${r.loss}`);
        if (!Number.isFinite(r.gradNorm)) {
          throw diverged("gradNorm", r.gradNorm, `the gradient norm is ${r.gradNorm}`);
        }
        lossSum += r.loss;
        steps++;
        lastFiniteLoss = r.loss;
        for (let i = 0; i < batch.n; i++) {
          if (this.#multiLabel) {
            for (let c = 0; c < k; c++) trainLabels.push(batch.labels[i * k + c]);
          } else trainLabels.push(batch.labels[i]);
          for (let c = 0; c < k; c++) trainProbs.push(r.probs[i * k + c]);
        }
        options.onStep?.({ epoch, step: session.step, loss: r.loss, lr, gradNorm: r.gradNorm });
      }
      let valEval: Evaluation;
      try {
        valEval = await this.evaluate(val, { ema: useEma });
      } catch (err) {
        if (!(err instanceof NonFinitePredictionsError)) throw err;
        throw diverged(
          "validation",
          err.value,
          `the ${useEma ? "EMA " : ""}model's validation probabilities are ${err.value} ` +
            `(image ${err.image} of ${datasetLabel(val)}) after the epoch's updates`,
        );
      }
      const record: EpochRecord = {
        ...trainRecord(),
        valLoss: valEval.metrics.loss,
        valAccuracy: valEval.metrics.accuracy,
        valAuc: valEval.metrics.auc,
        seconds: (performance.now() - te) / 1000,
      };
      const score = record.valAuc ?? -record.valLoss;
      if (!Number.isFinite(score)) {
        throw diverged("validation", score, `the validation score is ${score}`);
      }
      history.push(record);
      const improved = score > bestScore + minDelta;
      if (improved) {
        bestScore = score;
        bestEpoch = epoch;
        bestWeights = await session.getWeights({ ema: useEma });
        if (bestPath) {
          await this.#save(bestPath, bestWeights, { epoch, bestEpoch, bestScore, history });
        }
      }
      if (lastPath) {
        await this.#save(lastPath, await session.getWeights(), {
          epoch,
          bestEpoch,
          bestScore,
          history,
          optimizer: true,
          ema: useEma,
        });
        if (useEma) {
          await this.#save(
            `${options.checkpointDir}/ema.safetensors`,
            await session.getWeights({ ema: true }),
            {
              epoch,
              bestEpoch,
              bestScore,
            },
          );
        }
      }
      if (this.options.logEpochs ?? true) {
        this.#log(
          `epoch ${epoch}/${options.epochs} lr ${lr.toExponential(2)} loss ${
            record.trainLoss.toFixed(4)
          } ` +
            `val loss ${record.valLoss.toFixed(4)} val AUC ${record.valAuc?.toFixed(4) ?? "n/a"}` +
            `${improved ? " *" : ""} (${record.seconds.toFixed(1)} s)`,
        );
      }
      const verdict = await options.onEpochEnd?.({ record, improved, trainer: this });
      if (verdict === false || shouldStop(epoch)) stoppedEarly = epoch < options.epochs;
    }
    if (bestWeights) session.setWeights(bestWeights);
    return {
      history,
      bestEpoch,
      bestScore,
      epochsRun: history.length,
      stoppedEarly,
      seconds: (performance.now() - t0) / 1000,
    };
  }

  /** Probabilities and metrics of `dataset` (eval mode, no augmentation). */
  async evaluate(dataset: Dataset, options: { ema?: boolean } = {}): Promise<Evaluation> {
    checkDataset(dataset, this.model, "evaluate");
    this.#multiLabel = dataset.task === "multi-label";
    const session = await this.#ensureSession(
      this.session ? this.#batchSize : Math.min(32, dataset.n),
    );
    const loader = createLoader(dataset, {
      batchSize: session.evalBatchSize,
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
    const bad = probs.findIndex((p) => !Number.isFinite(p));
    if (bad >= 0) {
      const image = Math.floor(bad / k);
      throw new NonFinitePredictionsError(
        `evaluate: the model's probabilities for image ${image} of ${datasetLabel(dataset)} are ` +
          `${probs[bad]}: its weights are not finite (a diverged run?); ` +
          `load a checkpoint from before the divergence or train with a lower learning rate`,
        image,
        probs[bad],
      );
    }
    const task = metricTaskOf(dataset.task, k);
    return { probs, labels, ...scoreProbabilities(probs, labels, k, { task }) };
  }

  /** Save the current weights as a model checkpoint (timm names + metadata). */
  async save(path: string): Promise<void> {
    const session = this.#requireSession("save");
    await this.#save(path, await session.getWeights(), {
      epoch: this.history.length,
      history: this.history,
    });
  }

  /** Load weights from a model or training checkpoint written by medtune. */
  async load(path: string): Promise<void> {
    const ckpt = await loadCheckpoint(path);
    this.#checkCompatible(ckpt.info.model, path);
    // a multi-label checkpoint predicts (and exports) sigmoid probabilities per label
    this.#multiLabel = ckpt.info.extra?.multiLabel === true;
    const session = await this.#ensureSession(this.session ? this.#batchSize : 32);
    this.#checkTensors(ckpt, session);
    session.setWeights(ckpt.weights);
    this.history = ckpt.info.history ?? [];
    this.#weightsGiven = true;
  }

  /**
   * Start from published timm weights (safetensors): shapes checked, the head
   * reset when the class count differs, input channels and ViT position
   * embeddings adapted. `fit` then fine-tunes from them.
   */
  async loadPretrained(path: string, options: PretrainedOptions = {}): Promise<PretrainedReport> {
    const session = this.session ?? await this.#ensureSession(32);
    const report = await loadPretrained(session, path, { ...options, model: this.model });
    this.#weightsGiven = true;
    return report;
  }

  /** Write the inference model (current weights as initializers, dynamic batch) to `path`. */
  async exportOnnx(path: string): Promise<void> {
    const session = this.#requireSession("exportOnnx");
    await atomicWriteFile(
      path,
      exportOnnx(this.model, await session.getWeights(), {
        probs: this.#multiLabel ? "sigmoid" : "softmax",
      }),
    );
  }

  /** Release device memory. */
  async dispose(): Promise<void> {
    await this.session?.dispose();
    this.session = undefined;
  }

  #requireSession(what: string): TrainingSession {
    if (!this.session) {
      throw new Error(`${what}: the trainer has no weights yet; call fit or load first`);
    }
    return this.session;
  }

  /**
   * Strict by name and shape: the checkpoint must hold every parameter and
   * buffer of the model with its shape, and nothing else (and, when resuming,
   * the optimizer state of this trainer's optimizer).
   */
  #checkTensors(ckpt: Checkpoint, session: TrainingSession, options: { optimizer?: boolean } = {}) {
    const weights = new Map<string, readonly number[]>();
    for (const p of session.parameters) weights.set(p.name, p.shape);
    for (const b of session.buffers) weights.set(b.name, b.shape);
    let optimizer: Map<string, readonly number[]> | undefined;
    if (options.optimizer) {
      const opt = this.#optimizer;
      const prefixes = opt.name === "adamw"
        ? ["adam_m:", "adam_v:"]
        : (opt.momentum ?? 0.9) !== 0
        ? ["sgd_buf:"]
        : [];
      optimizer = new Map();
      for (const p of session.parameters) {
        for (const prefix of prefixes) optimizer.set(prefix + p.name, p.shape);
      }
    }
    checkCheckpointTensors(ckpt, { weights, optimizer }, `the trainer's ${this.model.name}`);
  }

  #checkCompatible(model: string, path: string): void {
    if (model !== this.model.name) {
      throw new Error(
        `${path}: checkpoint is for model "${model}", this trainer has "${this.model.name}"`,
      );
    }
  }

  async #save(
    path: string,
    weights: Map<string, Float32Array>,
    info: {
      epoch: number;
      bestEpoch?: number;
      bestScore?: number;
      history?: EpochRecord[];
      optimizer?: boolean;
      ema?: boolean;
    },
  ): Promise<void> {
    const session = this.#requireSession("save");
    const shapes = new Map<string, readonly number[]>();
    for (const p of session.parameters) {
      shapes.set(p.name, p.shape);
      shapes.set(`adam_m:${p.name}`, p.shape);
      shapes.set(`adam_v:${p.name}`, p.shape);
      shapes.set(`sgd_buf:${p.name}`, p.shape);
    }
    for (const b of session.buffers) shapes.set(b.name, b.shape);
    await saveCheckpoint(path, weights, {
      model: this.model.name,
      modelConfig: { ...this.model.config },
      trainer: plainOptions(this.options),
      step: session.step,
      epoch: info.epoch,
      bestEpoch: info.bestEpoch,
      bestScore: info.bestScore,
      history: info.history,
      extra: info.ema || this.#multiLabel
        ? { ...(info.ema ? { ema: true } : {}), ...(this.#multiLabel ? { multiLabel: true } : {}) }
        : undefined,
    }, {
      shapes,
      optimizer: info.optimizer ? await session.getOptimizerState() : undefined,
    });
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

function accuracyOf(
  probs: Float32Array,
  labels: Int32Array,
  k: number,
  multiLabel: boolean,
): number {
  if (multiLabel) {
    // mean per-label accuracy at 0.5 (labels and probs are both N×K)
    let right = 0;
    for (let i = 0; i < labels.length; i++) {
      right += Number((probs[i] >= 0.5 ? 1 : 0) === labels[i]);
    }
    return labels.length ? right / labels.length : 0;
  }
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (probs[i * k + c] > probs[i * k + best]) best = c;
    correct += Number(best === labels[i]);
  }
  return labels.length ? correct / labels.length : 0;
}

function safeAuc(
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

function plainOptions(options: TrainerOptions): Record<string, unknown> {
  const { backend, log: _log, logEpochs: _logEpochs, ...rest } = options;
  return { ...rest, backend: typeof backend === "string" ? backend : backend?.name };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

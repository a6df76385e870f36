/**
 * A model compiled for training on one backend: the train-step program
 * (forward, loss, backward, clipping, optimizer update) and the eval
 * program, sharing one device-resident state store (parameters, buffers,
 * optimizer moments). Parameters never leave the device between steps; they
 * are read back only when asked (checkpoints, export).
 *
 * @module
 */

import { gradients } from "../autodiff/gradients.ts";
import type { ConvWeightGrad } from "../autodiff/vjp.ts";
import { ModelContext } from "../nn/context.ts";
import { initValues } from "../nn/init.ts";
import type { Model } from "../nn/model.ts";
import type { Tensor } from "../onnx/graph.ts";
import { add, mul, sigmoid, softmax } from "../onnx/ops.ts";
import type { Backend } from "../runtime/backend.ts";
import { Program, StateStore } from "../runtime/program.ts";
import { hashSeed, Rng } from "../util/rng.ts";
import { FROZEN_EVAL_MIN_IMAGES, FrozenEval, type FrozenEvalPolicy } from "./frozen_eval.ts";
import { sigmoidBinaryCrossEntropy, softmaxCrossEntropy } from "./loss.ts";
import {
  adamWUpdate,
  clipByGlobalNorm,
  type OptimizerConfig,
  optimizerScalars,
  type OptimizerUpdate,
  sgdUpdate,
  validateOptimizer,
} from "./optim.ts";

/** Options of {@linkcode TrainingSession.create}. */
export interface TrainingSessionOptions {
  /** Train batch size (static: the program is built for it). */
  batchSize: number;
  /** Eval batch size (default: the train batch size). */
  evalBatchSize?: number;
  /** Optimizer. */
  optimizer: OptimizerConfig;
  /** Label smoothing of the loss (0.1 in the study). */
  labelSmoothing?: number;
  /** Class weights of the loss (per-label weights when `multiLabel`). */
  classWeights?: readonly number[];
  /**
   * Train a multi-label head: sigmoid binary cross-entropy per label (label
   * smoothing towards ½ per label) instead of softmax cross-entropy, and
   * per-label sigmoid probabilities from `predict` (default `false`).
   */
  multiLabel?: boolean;
  /** Clip gradients to this global L2 norm (default: no clipping). */
  clipGradNorm?: number;
  /** Conv weight-gradient formulation (default: `dilated` on webgpu, `im2col` elsewhere). */
  convWeightGrad?: ConvWeightGrad;
  /** Seed of initialization and noise (default 0). */
  seed?: number;
  /**
   * Keep an exponential moving average of the weights, updated inside the
   * train program after each step: `ema ← d·ema + (1−d)·w` (parameters and
   * batch-norm statistics, as timm's ModelEmaV3). Evaluate it with
   * `predict(x, n, { ema: true })`.
   */
  emaDecay?: number;
  /**
   * When `predict` compiles the current weights into a frozen program, where
   * ONNX Runtime folds batch norms, fuses activations and pre-packs conv
   * weights (3-5x faster eval on the convnets; see `frozen_eval.ts`):
   * `auto` (default on the cpu backend) once 512 images have been asked for
   * with the same weights, `always`, or `never` (default elsewhere). The
   * frozen and generic programs agree to float rounding (~1e-6).
   */
  frozenEval?: FrozenEvalPolicy;
}

/** A batch for one train step. */
export interface TrainBatch {
  /** Images `[N, C, H, W]` as float32. */
  x: Float32Array;
  /** Target distributions `[N, K]` (one-hot or soft). */
  targets: Float32Array;
}

/** What one train step reports. */
export interface StepResult {
  /** Mean loss of the batch (before the update). */
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Probabilities `[N, K]` of the batch (train mode): softmax, or sigmoid per label when multi-label. */
  probs: Float32Array;
}

const PARAM = "param:";
const BUFFER = "buffer:";
const EMA = "ema:";

/** A model compiled for training and evaluation on one backend. */
export class TrainingSession {
  /** Compile `model`'s train and eval programs on `backend` and initialize its state. */
  static async create(
    backend: Backend,
    model: Model,
    options: TrainingSessionOptions,
  ): Promise<TrainingSession> {
    validateOptimizer(options.optimizer);
    const b = options.batchSize;
    if (!Number.isInteger(b) || b < 1) {
      throw new Error(`batchSize must be a positive integer, got ${b}`);
    }
    const evalB = options.evalBatchSize ?? b;
    const inShape = (n: number) => [n, model.inChannels, model.imageSize, model.imageSize];

    // Train program.
    const train = new ModelContext("train", { name: `${model.name}_train` });
    const g = train.graph;
    const x = g.input("x", "float32", inShape(b));
    const targets = g.input("targets", "float32", [b, model.numClasses]);
    const logits = model.build(train, x);
    checkLogits(model, logits, b);
    const { loss, probs } = options.multiLabel
      ? sigmoidBinaryCrossEntropy(logits, targets, {
        labelSmoothing: options.labelSmoothing,
        labelWeights: options.classWeights,
      })
      : softmaxCrossEntropy(logits, targets, {
        labelSmoothing: options.labelSmoothing,
        classWeights: options.classWeights,
      });
    const params = [...train.params.values()];
    const grads = gradients(loss, params.map((p) => p.tensor), {
      convWeightGrad: options.convWeightGrad ?? (backend.name === "webgpu" ? "dilated" : "im2col"),
      // WebGPU keeps the ConvTranspose form verified there (DESIGN.md).
      convInputGrad: backend.name === "webgpu" ? "convTranspose" : "conv",
    });
    const missing = params.filter((_, i) => !grads[i]).map((p) => p.info.name);
    if (missing.length) {
      throw new Error(`${model.name}: the loss does not depend on ${missing.join(", ")}`);
    }
    const clipped = clipByGlobalNorm(grads as Tensor[], options.clipGradNorm ?? Infinity);
    const withGrads = params.map((p, i) => ({
      name: p.info.name,
      value: p.tensor,
      grad: clipped.grads[i],
      decay: p.info.decay,
    }));
    const update: OptimizerUpdate = options.optimizer.name === "adamw"
      ? adamWUpdate(g, withGrads, options.optimizer)
      : sgdUpdate(g, withGrads, options.optimizer);
    g.output("loss", loss);
    g.output("probs", probs);
    g.output("grad_norm", clipped.norm);
    const trainState: Record<string, string> = {};
    const trainUpdates: Record<string, string> = {};
    for (const p of params) {
      trainState[p.tensor.name] = PARAM + p.info.name;
      const out = `new:${p.info.name}`;
      g.output(out, update.newParams.get(p.info.name)!);
      trainUpdates[out] = PARAM + p.info.name;
    }
    for (const s of update.stateInputs) trainState[s.input.name] = s.key;
    for (const [key, t] of update.newState) {
      g.output(`new:${key}`, t);
      trainUpdates[`new:${key}`] = key;
    }
    for (const buf of train.buffers.values()) {
      trainState[buf.tensor.name] = BUFFER + buf.info.name;
      if (buf.next) {
        g.output(`new:${buf.info.name}`, buf.next);
        trainUpdates[`new:${buf.info.name}`] = BUFFER + buf.info.name;
      }
    }
    const emaDecay = options.emaDecay;
    if (emaDecay !== undefined) {
      if (!(emaDecay > 0 && emaDecay < 1)) {
        throw new Error(`emaDecay must be in (0, 1), got ${emaDecay}`);
      }
      const averaged = [
        ...params.map((p) => ({
          key: PARAM + p.info.name,
          next: update.newParams.get(p.info.name)!,
        })),
        ...[...train.buffers.values()].map((b) => ({
          key: BUFFER + b.info.name,
          next: b.next ?? b.tensor,
        })),
      ];
      for (const { key, next } of averaged) {
        const ema = g.input(EMA + key, "float32", next.shape);
        trainState[ema.name] = EMA + key;
        g.output(`new:${EMA}${key}`, add(mul(ema, emaDecay), mul(next, 1 - emaDecay)));
        trainUpdates[`new:${EMA}${key}`] = EMA + key;
      }
    }

    // Eval program.
    const evalCtx = new ModelContext("eval", { name: `${model.name}_eval` });
    const ex = evalCtx.graph.input("x", "float32", inShape(evalB));
    const evalLogits = model.build(evalCtx, ex);
    checkLogits(model, evalLogits, evalB);
    evalCtx.graph.output("logits", evalLogits);
    evalCtx.graph.output(
      "probs",
      options.multiLabel ? sigmoid(evalLogits) : softmax(evalLogits, -1),
    );
    const evalState: Record<string, string> = {};
    for (const p of evalCtx.params.values()) evalState[p.tensor.name] = PARAM + p.info.name;
    for (const buf of evalCtx.buffers.values()) evalState[buf.tensor.name] = BUFFER + buf.info.name;

    const label = `${model.name} on ${backend.name}`;
    const trainProgram = await Program.compile(backend, g, {
      state: trainState,
      updates: trainUpdates,
      label: `train step of ${label} (batch ${b})`,
    });
    const evalProgram = await Program.compile(backend, evalCtx.graph, {
      state: evalState,
      label: `eval program of ${label} (batch ${evalB})`,
    });
    const session = new TrainingSession(
      backend,
      model,
      options,
      train,
      trainProgram,
      evalProgram,
      [...update.stateInputs.map((s) => s.key)],
      evalB,
    );
    session.initialize(options.seed ?? 0);
    return session;
  }

  /** Device-resident state: parameters, buffers, optimizer moments. */
  readonly store: StateStore;
  /** Optimizer steps taken (Adam's bias correction uses it). */
  step = 0;
  #seed: number;
  #pendingCopies: Promise<void>[] = [];
  /** Bumped whenever the weights (index 0) or their EMA (index 1) change. */
  #versions: [number, number] = [0, 0];
  /** Images predicted with the current weights (index 0) or EMA (index 1). */
  #imagesAtVersion: [number, number] = [0, 0];
  #frozen: [FrozenEval | null, FrozenEval | null] = [null, null];

  private constructor(
    /** The backend. */
    readonly backend: Backend,
    /** The model. */
    readonly model: Model,
    /** The options it was created with. */
    readonly options: TrainingSessionOptions,
    private readonly trainCtx: ModelContext,
    private readonly trainProgram: Program,
    private readonly evalProgram: Program,
    private readonly optimizerKeys: string[],
    /** Eval batch size. */
    readonly evalBatchSize: number,
  ) {
    this.store = new StateStore(backend);
    this.#seed = options.seed ?? 0;
  }

  /** Wait for state copies started by `initialize`, `setWeights` or `resetEma`. */
  async #settle(): Promise<void> {
    const pending = this.#pendingCopies;
    this.#pendingCopies = [];
    await Promise.all(pending);
  }

  /** Names and shapes of the trainable parameters (timm state-dict names). */
  get parameters(): { name: string; shape: number[]; decay: boolean }[] {
    return [...this.trainCtx.params.values()].map((p) => ({
      name: p.info.name,
      shape: p.info.shape,
      decay: p.info.decay,
    }));
  }

  /** Names and shapes of the buffers. */
  get buffers(): { name: string; shape: number[] }[] {
    return [...this.trainCtx.buffers.values()].map((b) => ({
      name: b.info.name,
      shape: b.info.shape,
    }));
  }

  /** Number of trainable parameter elements. */
  get parameterCount(): number {
    return this.trainCtx.parameterCount;
  }

  /** (Re)initialize parameters, buffers and optimizer state from `seed`; resets the step count. */
  initialize(seed: number): void {
    const rng = new Rng(seed);
    for (const { info } of this.trainCtx.params.values()) {
      const size = info.shape.reduce((a, b) => a * b, 1);
      this.store.set(PARAM + info.name, initValues(info.init, size, rng), info.shape);
    }
    for (const { info } of this.trainCtx.buffers.values()) {
      const size = info.shape.reduce((a, b) => a * b, 1);
      this.store.set(BUFFER + info.name, initValues(info.init, size, rng), info.shape);
    }
    this.resetOptimizer();
    this.resetEma();
    this.#seed = seed;
    this.#weightsChanged(true);
  }

  /** Whether an EMA of the weights is kept. */
  get hasEma(): boolean {
    return this.options.emaDecay !== undefined;
  }

  /** Set the EMA weights to the current weights (no-op without EMA). */
  resetEma(): void {
    if (!this.hasEma) return;
    this.#weightsChanged(false, true);
    for (const { info } of this.trainCtx.params.values()) this.#copyState(PARAM + info.name);
    for (const { info } of this.trainCtx.buffers.values()) this.#copyState(BUFFER + info.name);
  }

  #copyState(key: string): void {
    // Through the host: rare (init, load), and backends have no device copy op.
    const shape = this.store.shape(key);
    this.#pendingCopies.push(
      this.store.read(key).then((data) => this.store.set(EMA + key, data, shape)),
    );
  }

  /** Zero the optimizer state and the step count. */
  resetOptimizer(): void {
    for (const key of this.optimizerKeys) {
      const name = key.slice(key.indexOf(":") + 1);
      const shape = this.trainCtx.params.get(name)!.info.shape;
      this.store.set(key, new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
    }
    this.step = 0;
  }

  /** One optimizer step on `batch` at learning rate `lr`. */
  async trainStep(batch: TrainBatch, lr: number): Promise<StepResult> {
    await this.#settle();
    this.step++;
    this.#weightsChanged(true);
    const feeds: Record<string, Float32Array> = {
      x: batch.x,
      targets: batch.targets,
      ...optimizerScalars(this.options.optimizer, this.step, lr),
    };
    // Noise depends only on (seed, step): a resumed run draws the same masks.
    const rng = new Rng(hashSeed(this.#seed, [this.step]));
    for (const { info } of this.trainCtx.noise.values()) {
      const size = info.shape.reduce((a, b) => a * b, 1);
      const mask = new Float32Array(size);
      const keep = 1 / (1 - info.rate);
      for (let i = 0; i < size; i++) mask[i] = rng.float() < info.rate ? 0 : keep;
      feeds[info.name] = mask;
    }
    const out = await this.trainProgram.run(this.store, feeds);
    return {
      loss: (out.loss as Float32Array)[0],
      gradNorm: (out.grad_norm as Float32Array)[0],
      probs: out.probs as Float32Array,
    };
  }

  /**
   * Class probabilities `[n, K]` of `n` images `[n, C, H, W]` with the eval
   * program (running statistics, no noise), in eval-batch chunks.
   */
  async predict(
    x: Float32Array,
    n: number,
    options: { ema?: boolean } = {},
  ): Promise<Float32Array> {
    await this.#settle();
    if (options.ema && !this.hasEma) {
      throw new Error("predict: this session keeps no EMA (set emaDecay)");
    }
    const remapState = options.ema ? (key: string) => EMA + key : undefined;
    const m = this.model;
    const per = m.inChannels * m.imageSize * m.imageSize;
    if (x.length !== n * per) {
      throw new Error(`predict: expected ${n} images of ${per} values, got ${x.length} values`);
    }
    const frozen = await this.#frozenFor(n, options.ema ?? false);
    if (frozen) return await frozen.predict(x, n, this.evalBatchSize);
    const k = m.numClasses;
    const out = new Float32Array(n * k);
    const b = this.evalBatchSize;
    const chunk = new Float32Array(b * per);
    for (let start = 0; start < n; start += b) {
      const count = Math.min(b, n - start);
      chunk.fill(0);
      chunk.set(x.subarray(start * per, (start + count) * per));
      const res = await this.evalProgram.run(this.store, { x: chunk }, { remapState });
      out.set((res.probs as Float32Array).subarray(0, count * k), start * k);
    }
    return out;
  }

  /** Record a change of the weights and/or their EMA: frozen programs of older versions are stale. */
  #weightsChanged(weights: boolean, ema = weights): void {
    const which = [weights, ema];
    for (const i of [0, 1] as const) {
      if (!which[i]) continue;
      this.#versions[i]++;
      this.#imagesAtVersion[i] = 0;
    }
  }

  /** The frozen program to predict `n` images with, compiling one if the policy says so. */
  async #frozenFor(n: number, ema: boolean): Promise<FrozenEval | null> {
    const policy = this.options.frozenEval ?? (this.backend.name === "cpu" ? "auto" : "never");
    if (policy === "never") return null;
    const i = ema ? 1 : 0;
    const version = this.#versions[i];
    this.#imagesAtVersion[i] += n;
    const cached = this.#frozen[i];
    if (cached?.version === version) return cached;
    if (policy === "auto" && this.#imagesAtVersion[i] < FROZEN_EVAL_MIN_IMAGES) return null;
    this.#frozen[i] = null;
    await cached?.release();
    const weights = await this.getWeights({ ema });
    const frozen = await FrozenEval.compile(this.backend, this.model, weights, {
      version,
      label: `frozen eval program of ${this.model.name} on ${this.backend.name}`,
      probs: this.options.multiLabel ? "sigmoid" : "softmax",
    });
    this.#frozen[i] = frozen;
    return frozen;
  }

  /** Parameters and buffers by timm name (copied to the host). */
  async getWeights(options: { ema?: boolean } = {}): Promise<Map<string, Float32Array>> {
    await this.#settle();
    if (options.ema && !this.hasEma) throw new Error("getWeights: this session keeps no EMA");
    const prefix = options.ema ? EMA : "";
    const out = new Map<string, Float32Array>();
    for (const name of this.trainCtx.params.keys()) {
      out.set(name, (await this.store.read(prefix + PARAM + name)) as Float32Array);
    }
    for (const name of this.trainCtx.buffers.keys()) {
      out.set(name, (await this.store.read(prefix + BUFFER + name)) as Float32Array);
    }
    return out;
  }

  /**
   * Replace parameters and buffers (shapes checked; names not given stay as
   * they are). With `ema: true` the EMA copy is set instead; otherwise the EMA
   * restarts from the new weights.
   */
  setWeights(weights: ReadonlyMap<string, Float32Array>, options: { ema?: boolean } = {}): void {
    if (options.ema && !this.hasEma) throw new Error("setWeights: this session keeps no EMA");
    this.#weightsChanged(!options.ema, true);
    for (const [name, data] of weights) {
      const p = this.trainCtx.params.get(name);
      const b = this.trainCtx.buffers.get(name);
      const info = p?.info ?? b?.info;
      if (!info) throw new Error(`setWeights: ${this.model.name} has no tensor "${name}"`);
      const size = info.shape.reduce((a, c) => a * c, 1);
      if (data.length !== size) {
        throw new Error(
          `setWeights: "${name}" has ${data.length} values; ${this.model.name} expects [${info.shape}]`,
        );
      }
      const key = (p ? PARAM : BUFFER) + name;
      this.store.set(options.ema ? EMA + key : key, data, info.shape);
      if (!options.ema && this.hasEma) this.store.set(EMA + key, data, info.shape);
    }
  }

  /** Optimizer state by key (e.g. `adam_m:conv1.weight`), copied to the host. */
  async getOptimizerState(): Promise<Map<string, Float32Array>> {
    await this.#settle();
    const out = new Map<string, Float32Array>();
    for (const key of this.optimizerKeys) {
      out.set(key, (await this.store.read(key)) as Float32Array);
    }
    return out;
  }

  /** Restore optimizer state and step count. */
  setOptimizerState(state: ReadonlyMap<string, Float32Array>, step: number): void {
    for (const key of this.optimizerKeys) {
      const data = state.get(key);
      if (!data) throw new Error(`setOptimizerState: missing "${key}"`);
      this.store.set(key, data, this.store.shape(key));
    }
    this.step = step;
  }

  /** Release programs and device memory. */
  async dispose(): Promise<void> {
    await this.#settle();
    // State first: device tensors are released through the runtime that made them.
    this.store.dispose();
    await this.trainProgram.release();
    await this.evalProgram.release();
    for (const frozen of this.#frozen) await frozen?.release();
    this.#frozen = [null, null];
  }
}

function checkLogits(model: Model, logits: Tensor, n: number): void {
  if (logits.rank !== 2 || logits.shape[0] !== n || logits.shape[1] !== model.numClasses) {
    throw new Error(
      `${model.name}: build() must return logits [${n}, ${model.numClasses}], got ${logits}`,
    );
  }
}

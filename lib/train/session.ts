/**
 * A model compiled for training on one backend: the train-step program
 * (forward, loss, backward, clipping, optimizer update) and the eval
 * program, sharing one device-resident state store (parameters, buffers,
 * optimizer moments). Parameters never leave the device between steps; they
 * are read back only when asked (checkpoints, export).
 *
 * @module
 */

import type { ModelContext } from "../nn/context.ts";
import type { Model } from "../nn/model.ts";
import type { Backend } from "../runtime/backend.ts";
import { Program, StateStore } from "../runtime/program.ts";
import { hashSeed, Rng } from "../util/rng.ts";
import { sizeOf } from "../util/shape.ts";
import { FROZEN_EVAL_MIN_IMAGES, FrozenEval, type FrozenEvalPolicy } from "./frozen_eval.ts";
import { optimizerScalars, optimizerStateKeys, SCALARS, validateOptimizer } from "./optim.ts";
import {
  buildEvalGraph,
  buildTrainGraph,
  type EvalGraph,
  GRAD_SCALE_OUTPUT,
  initialValues,
  STATE_KEY,
  type TrainGraph,
  type TrainGraphOptions,
} from "./programs.ts";
import { WasmAdamW } from "./wasm_adamw.ts";

/** Options of {@linkcode TrainingSession.create}. */
export interface TrainingSessionOptions extends TrainGraphOptions {
  /** Eval batch size (default: the train batch size). */
  evalBatchSize?: number;
  /** Seed of initialization and noise (default 0). */
  seed?: number;
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

/** Which copy of the weights a call uses. */
export interface WeightsOptions {
  /** The exponential moving average instead of the raw weights (the session must keep one). */
  ema?: boolean;
}

/** A buffer's name and shape. */
export interface BufferShape {
  /** timm state-dict name. */
  name: string;
  /** Shape. */
  shape: number[];
}

/** A trainable parameter's name, shape and whether weight decay applies. */
export interface ParameterShape extends BufferShape {
  /** Whether weight decay applies. */
  decay: boolean;
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

/**
 * The most eval programs (batch sizes) one session compiles: its eval batch
 * and the even splits of up to three dataset sizes (a study's val, test and
 * train sets). Beyond that, chunks are zero-padded to a compiled size.
 */
export const MAX_EVAL_PROGRAMS = 4;

/**
 * The batch size that splits `n` images into as few batches of at most
 * `maxBatch` as possible, of near-equal sizes (they differ by less than
 * the number of batches): 78 images at most 64 a batch are 2 × 39, not
 * 64 + 14 padded to 128.
 *
 * @param n Images to process (≥ 1).
 * @param maxBatch The largest batch (≥ 1).
 * @returns The batch size, in [1, maxBatch].
 */
export function evenBatchSize(n: number, maxBatch: number): number {
  if (n <= 0) return maxBatch;
  return Math.ceil(n / Math.ceil(n / maxBatch));
}

const PARAM = STATE_KEY.param;
const BUFFER = STATE_KEY.buffer;
const EMA = STATE_KEY.ema;

/** A model compiled for training and evaluation on one backend. */
export class TrainingSession {
  /**
   * Compile `model`'s train and eval programs on `backend` and initialize
   * its state from `options.seed`.
   *
   * @param backend The backend to compile for.
   * @param model The model.
   * @param options Batch sizes, optimizer, loss, clipping, EMA, seed.
   * @returns The session, initialized.
   */
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
    const { train, arena } = buildTrainStep(backend, model, options);
    const evalGraph = buildEvalGraph(model, evalB, options.multiLabel ?? false);
    const { trainProgram, evalProgram } = await compilePrograms(backend, model, train, evalGraph, {
      batchSize: b,
      evalBatchSize: evalB,
      arena,
    });
    const session = new TrainingSession(
      backend,
      model,
      options,
      train.ctx,
      trainProgram,
      evalProgram,
      train.optimizerState,
      evalB,
      arena,
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
  /** Eval programs by batch size; the one of `evalBatchSize` is compiled with the session. */
  #evalPrograms = new Map<number, Program>();

  private constructor(
    /** The backend. */
    readonly backend: Backend,
    /** The model. */
    readonly model: Model,
    /** The options it was created with. */
    readonly options: TrainingSessionOptions,
    private readonly trainCtx: ModelContext,
    private readonly trainProgram: Program,
    evalProgram: Program,
    /** Shape of every optimizer state tensor by state key. */
    private readonly optimizerState: ReadonlyMap<string, readonly number[]>,
    /** Eval batch size. */
    readonly evalBatchSize: number,
    /** The host AdamW's arena, where the optimizer runs on the host. */
    private readonly arena: WasmAdamW | null,
  ) {
    this.store = new StateStore(backend);
    this.#seed = options.seed ?? 0;
    this.#evalPrograms.set(evalBatchSize, evalProgram);
    if (arena) pinToArena(this.store, arena, trainCtx, options);
  }

  /** Whether AdamW runs on the host (in wasm) instead of inside the train program. */
  get hostOptimizer(): boolean {
    return this.arena !== null;
  }

  /** Wait for state copies started by `initialize`, `setWeights` or `resetEma`. */
  async #settle(): Promise<void> {
    const pending = this.#pendingCopies;
    this.#pendingCopies = [];
    await Promise.all(pending);
  }

  /** Names and shapes of the trainable parameters (timm state-dict names). */
  get parameters(): ParameterShape[] {
    return [...this.trainCtx.params.values()].map((p) => ({
      name: p.info.name,
      shape: p.info.shape,
      decay: p.info.decay,
    }));
  }

  /** Names and shapes of the buffers. */
  get buffers(): BufferShape[] {
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
    const { params, buffers } = initialValues(this.trainCtx, seed);
    for (const [name, values] of params) {
      this.store.set(PARAM + name, values, this.trainCtx.params.get(name)!.info.shape);
    }
    for (const [name, values] of buffers) {
      this.store.set(BUFFER + name, values, this.trainCtx.buffers.get(name)!.info.shape);
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
    for (const [key, shape] of this.optimizerState) {
      this.store.set(key, new Float32Array(sizeOf(shape)), shape);
    }
    this.step = 0;
  }

  /** One optimizer step on `batch` at learning rate `lr`. */
  async trainStep(batch: TrainBatch, lr: number): Promise<StepResult> {
    await this.#settle();
    this.step++;
    this.#weightsChanged(true);
    const scalars = optimizerScalars(this.options.optimizer, this.step, lr);
    const feeds: Record<string, Float32Array> = {
      x: batch.x,
      targets: batch.targets,
      ...scalars,
    };
    // Noise depends only on (seed, step): a resumed run draws the same masks.
    const rng = new Rng(hashSeed(this.#seed, [this.step]));
    for (const { info } of this.trainCtx.noise.values()) {
      const size = sizeOf(info.shape);
      const mask = new Float32Array(size);
      const keep = 1 / (1 - info.rate);
      for (let i = 0; i < size; i++) mask[i] = rng.float() < info.rate ? 0 : keep;
      feeds[info.name] = mask;
    }
    const out = await this.trainProgram.run(this.store, feeds);
    if (this.arena) {
      this.arena.step({
        stepSize: scalars[SCALARS.stepSize][0],
        epsHat: scalars[SCALARS.epsHat][0],
        decayFactor: scalars[SCALARS.decayFactor][0],
        gradScale: (out[GRAD_SCALE_OUTPUT] as Float32Array | undefined)?.[0],
      });
      if (this.options.emaDecay !== undefined) this.arena.updateEma(this.options.emaDecay);
    }
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
    options: WeightsOptions = {},
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
    const size = evenBatchSize(n, this.evalBatchSize);
    for (let start = 0; start < n; start += size) {
      const count = Math.min(size, n - start);
      const { program, batch } = await this.#evalProgramFor(count);
      const chunk = new Float32Array(batch * per);
      chunk.set(x.subarray(start * per, (start + count) * per));
      const res = await program.run(this.store, { x: chunk }, { remapState });
      out.set((res.probs as Float32Array).subarray(0, count * k), start * k);
    }
    return out;
  }

  /** Batch sizes of the eval programs compiled so far, in order of compilation. */
  get evalBatchSizes(): number[] {
    return [...this.#evalPrograms.keys()];
  }

  /**
   * The eval program to run `count` images with (zero-padded up to its
   * batch): the smallest compiled one holding them when that pads at most
   * an eighth of `count`, else one compiled for exactly `count` while fewer
   * than {@linkcode MAX_EVAL_PROGRAMS} exist. A 78-image validation set with
   * eval batch 64 thus runs as one program of 39 twice, not 128 images.
   */
  async #evalProgramFor(count: number): Promise<{ program: Program; batch: number }> {
    let best = this.evalBatchSize;
    for (const size of this.#evalPrograms.keys()) {
      if (size >= count && size < best) best = size;
    }
    const fits = best - count <= count / 8;
    if (!fits && this.#evalPrograms.size < MAX_EVAL_PROGRAMS) {
      const evalGraph = buildEvalGraph(this.model, count, this.options.multiLabel ?? false);
      const program = await Program.compile(this.backend, evalGraph.ctx.graph, {
        state: evalGraph.state,
        label: `eval program of ${this.model.name} on ${this.backend.name} (batch ${count})`,
      });
      this.#evalPrograms.set(count, program);
      return { program, batch: count };
    }
    return { program: this.#evalPrograms.get(best)!, batch: best };
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
  async getWeights(options: WeightsOptions = {}): Promise<Map<string, Float32Array>> {
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
  setWeights(weights: ReadonlyMap<string, Float32Array>, options: WeightsOptions = {}): void {
    if (options.ema && !this.hasEma) throw new Error("setWeights: this session keeps no EMA");
    this.#weightsChanged(!options.ema, true);
    for (const [name, data] of weights) {
      const p = this.trainCtx.params.get(name);
      const b = this.trainCtx.buffers.get(name);
      const info = p?.info ?? b?.info;
      if (!info) throw new Error(`setWeights: ${this.model.name} has no tensor "${name}"`);
      if (data.length !== sizeOf(info.shape)) {
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
    for (const key of this.optimizerState.keys()) {
      out.set(key, (await this.store.read(key)) as Float32Array);
    }
    return out;
  }

  /** Restore optimizer state and step count. */
  setOptimizerState(state: ReadonlyMap<string, Float32Array>, step: number): void {
    for (const key of this.optimizerState.keys()) {
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
    for (const program of this.#evalPrograms.values()) await program.release();
    this.#evalPrograms.clear();
    for (const frozen of this.#frozen) await frozen?.release();
    this.#frozen = [null, null];
  }
}

/**
 * The train-step graph, with AdamW on the host where `options.hostOptimizer`
 * asks for it (default: on the cpu backend with AdamW, where the
 * parameters fit a wasm memory), and the host optimizer's arena then.
 */
function buildTrainStep(
  backend: Backend,
  model: Model,
  options: TrainingSessionOptions,
): { train: TrainGraph; arena: WasmAdamW | null } {
  const config = options.optimizer;
  const wanted = options.hostOptimizer ?? (backend.name === "cpu" && config.name === "adamw");
  if (!wanted || config.name !== "adamw") {
    if (options.hostOptimizer && config.name !== "adamw") {
      throw new Error(`hostOptimizer: only AdamW runs on the host, not ${config.name}`);
    }
    return {
      train: buildTrainGraph(backend, model, { ...options, hostOptimizer: false }),
      arena: null,
    };
  }
  if (backend.name !== "cpu") {
    throw new Error(`hostOptimizer: only the cpu backend runs the optimizer on the host`);
  }
  const train = buildTrainGraph(backend, model, { ...options, hostOptimizer: true });
  const params = [...train.ctx.params.values()].map((p) => ({
    name: p.info.name,
    size: sizeOf(p.info.shape),
    decay: p.info.decay,
  }));
  const ema = options.emaDecay !== undefined;
  let problem = `${model.name}'s parameters do not fit a 4 GiB wasm memory`;
  if (WasmAdamW.fits(params, ema)) {
    try {
      return { train, arena: new WasmAdamW({ params, config, ema }) };
    } catch (err) {
      // A memory this process cannot allocate: the graph's AdamW needs none.
      problem = `no wasm memory for ${model.name}'s optimizer (${(err as Error).message})`;
    }
  }
  if (options.hostOptimizer) throw new Error(`hostOptimizer: ${problem}`);
  return {
    train: buildTrainGraph(backend, model, { ...options, hostOptimizer: false }),
    arena: null,
  };
}

/** Keep parameters, AdamW moments and the parameters' EMA in the host optimizer's arena. */
function pinToArena(
  store: StateStore,
  arena: WasmAdamW,
  ctx: ModelContext,
  options: TrainingSessionOptions,
): void {
  for (const { info } of ctx.params.values()) {
    const key = PARAM + info.name;
    store.pin(key, arena.param(info.name), info.shape);
    const [m, v] = optimizerStateKeys(options.optimizer, info.name);
    store.pin(m, arena.moment1(info.name), info.shape);
    store.pin(v, arena.moment2(info.name), info.shape);
    if (options.emaDecay !== undefined) store.pin(EMA + key, arena.ema(info.name), info.shape);
  }
}

/** Compile the train and eval graphs into programs wired to the state store. */
async function compilePrograms(
  backend: Backend,
  model: Model,
  train: TrainGraph,
  evalGraph: EvalGraph,
  sizes: { batchSize: number; evalBatchSize: number; arena: WasmAdamW | null },
): Promise<{ trainProgram: Program; evalProgram: Program }> {
  const label = `${model.name} on ${backend.name}`;
  const outputs: Record<string, Float32Array> = {};
  for (const [name, output] of train.gradOutputs) outputs[output] = sizes.arena!.grad(name);
  const trainProgram = await Program.compile(backend, train.ctx.graph, {
    state: train.state,
    updates: train.updates,
    outputs,
    label: `train step of ${label} (batch ${sizes.batchSize})`,
  });
  const evalProgram = await Program.compile(backend, evalGraph.ctx.graph, {
    state: evalGraph.state,
    label: `eval program of ${label} (batch ${sizes.evalBatchSize})`,
  });
  return { trainProgram, evalProgram };
}

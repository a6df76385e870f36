/**
 * The graphs a `TrainingSession` compiles, built in named steps: the train
 * step (forward, loss, backward, clipping, optimizer update, optional weight
 * EMA) and the eval forward pass, each with the map from its graph inputs
 * and outputs to the keys of the session's device-resident state store.
 *
 * State keys: `param:<name>`, `buffer:<name>`, the optimizer's keys (see
 * `optimizerStateKeys`), and `ema:` before a parameter's or buffer's key.
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
import type { Backend, BackendName } from "../runtime/backend.ts";
import { Rng } from "../util/rng.ts";
import { sizeOf } from "../util/shape.ts";
import { sigmoidBinaryCrossEntropy, softmaxCrossEntropy } from "./loss.ts";
import {
  adamWUpdate,
  clipByGlobalNorm,
  type OptimizerConfig,
  optimizerStateKeys,
  type OptimizerUpdate,
  sgdUpdate,
} from "./optim.ts";

/** What the train graph is built from (the graph part of `TrainingSessionOptions`). */
export interface TrainGraphOptions {
  /** Train batch size (static: the program is built for it). */
  batchSize: number;
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
  /** Conv weight-gradient formulation (default: {@linkcode defaultConvWeightGrad}). */
  convWeightGrad?: ConvWeightGrad;
  /**
   * Keep an exponential moving average of the weights, updated inside the
   * train program after each step: `ema ← d·ema + (1−d)·w` (parameters and
   * batch-norm statistics, as timm's ModelEmaV3). Evaluate it with
   * `predict(x, n, { ema: true })`.
   */
  emaDecay?: number;
  /**
   * Leave the AdamW update out of the graph: the train program outputs each
   * parameter's raw gradient (`grad:<name>`) and the clipping factor
   * (`grad_scale`, with clipping), and the caller updates parameters,
   * moments and the parameters' EMA itself (`WasmAdamW`, the cpu backend's
   * default). Buffers and their EMA stay in the graph. AdamW only.
   */
  hostOptimizer?: boolean;
}

/** Prefixes of the state store's keys for parameters, buffers and their EMA. */
export const STATE_KEY = { param: "param:", buffer: "buffer:", ema: "ema:" } as const;

/** A graph's wiring to the state store. */
export interface StateWiring {
  /** Graph input name → state key read before each run. */
  state: Record<string, string>;
  /** Graph output name → state key written after each run. */
  updates: Record<string, string>;
}

/** The train-step graph and what the session needs to run it. */
export interface TrainGraph extends StateWiring {
  /** The context the graph was built in (parameters, buffers, noise). */
  ctx: ModelContext;
  /** Shape of every optimizer state tensor by state key. */
  optimizerState: Map<string, readonly number[]>;
  /**
   * With `hostOptimizer`: parameter name → the output holding its raw
   * gradient (empty otherwise).
   */
  gradOutputs: Map<string, string>;
}

/** The train graph's output of the clipping factor, with `hostOptimizer` and clipping. */
export const GRAD_SCALE_OUTPUT = "grad_scale";

/** The eval graph and its state inputs. */
export interface EvalGraph {
  /** The context the graph was built in. */
  ctx: ModelContext;
  /** Graph input name → state key. */
  state: Record<string, string>;
}

/**
 * Build the train-step graph of `model` for `options.batchSize` images:
 * outputs `loss`, `probs`, `grad_norm` and the new value of every state key.
 *
 * @param backend The backend (picks the conv gradient formulations).
 * @param model The model.
 * @param options The session's options.
 * @returns The graph's context, its state wiring and the optimizer state's shapes.
 */
export function buildTrainGraph(
  backend: Backend,
  model: Model,
  options: TrainGraphOptions,
): TrainGraph {
  const b = options.batchSize;
  const ctx = new ModelContext("train", { name: `${model.name}_train` });
  const g = ctx.graph;
  const x = g.input("x", "float32", inputShape(model, b));
  const targets = g.input("targets", "float32", [b, model.numClasses]);
  const logits = model.build(ctx, x);
  checkLogits(model, logits, b);
  const { loss, probs } = lossOf(logits, targets, options);
  g.output("loss", loss);
  g.output("probs", probs);
  if (options.hostOptimizer) return hostOptimizerGraph(ctx, loss, backend, model, options);
  const { update, norm } = optimizerStep(ctx, loss, backend, model, options);
  g.output("grad_norm", norm);
  const wiring = wireTrainState(ctx, update);
  if (options.emaDecay !== undefined) addEma(ctx, update, wiring, options.emaDecay);
  const optimizerState = new Map<string, readonly number[]>(
    update.stateInputs.map((s) => [s.key, s.input.shape]),
  );
  return { ctx, ...wiring, optimizerState, gradOutputs: new Map() };
}

/**
 * The rest of a `hostOptimizer` train graph: gradients, their norm and
 * clipping factor as outputs; parameters are inputs only; buffers are
 * updated (and averaged) in the graph.
 */
function hostOptimizerGraph(
  ctx: ModelContext,
  loss: Tensor,
  backend: Backend,
  model: Model,
  options: TrainGraphOptions,
): TrainGraph {
  if (options.optimizer.name !== "adamw") {
    throw new Error(`hostOptimizer: only AdamW runs on the host, not ${options.optimizer.name}`);
  }
  const g = ctx.graph;
  const params = [...ctx.params.values()];
  const grads = parameterGradients(ctx, loss, backend, model, options);
  const clipped = clipByGlobalNorm(grads, options.clipGradNorm ?? Infinity);
  g.output("grad_norm", clipped.norm);
  if (clipped.scale) g.output(GRAD_SCALE_OUTPUT, clipped.scale);
  const gradOutputs = new Map<string, string>();
  const state: Record<string, string> = {};
  const updates: Record<string, string> = {};
  params.forEach((p, i) => {
    const out = `grad:${p.info.name}`;
    g.output(out, grads[i]);
    gradOutputs.set(p.info.name, out);
    state[p.tensor.name] = STATE_KEY.param + p.info.name;
  });
  for (const buf of ctx.buffers.values()) {
    state[buf.tensor.name] = STATE_KEY.buffer + buf.info.name;
    if (buf.next) {
      g.output(`new:${buf.info.name}`, buf.next);
      updates[`new:${buf.info.name}`] = STATE_KEY.buffer + buf.info.name;
    }
  }
  const wiring = { state, updates };
  if (options.emaDecay !== undefined) {
    const buffers = [...ctx.buffers.values()].map((b) => ({
      key: STATE_KEY.buffer + b.info.name,
      next: b.next ?? b.tensor,
    }));
    averageInGraph(ctx, buffers, wiring, options.emaDecay);
  }
  const optimizerState = new Map<string, readonly number[]>();
  for (const p of params) {
    for (const key of optimizerStateKeys(options.optimizer, p.info.name)) {
      optimizerState.set(key, p.info.shape);
    }
  }
  return { ctx, ...wiring, optimizerState, gradOutputs };
}

/**
 * Build the eval graph of `model` for `batchSize` images: outputs `logits`
 * and `probs` (softmax, or sigmoid per label when multi-label).
 *
 * @param model The model.
 * @param batchSize The eval batch size.
 * @param multiLabel Sigmoid probabilities per label.
 * @returns The graph's context and its state inputs.
 */
export function buildEvalGraph(model: Model, batchSize: number, multiLabel: boolean): EvalGraph {
  const ctx = new ModelContext("eval", { name: `${model.name}_eval` });
  const x = ctx.graph.input("x", "float32", inputShape(model, batchSize));
  const logits = model.build(ctx, x);
  checkLogits(model, logits, batchSize);
  ctx.graph.output("logits", logits);
  ctx.graph.output("probs", multiLabel ? sigmoid(logits) : softmax(logits, -1));
  const state: Record<string, string> = {};
  for (const p of ctx.params.values()) state[p.tensor.name] = STATE_KEY.param + p.info.name;
  for (const buf of ctx.buffers.values()) state[buf.tensor.name] = STATE_KEY.buffer + buf.info.name;
  return { ctx, state };
}

/** Fresh values of a model's tensors, from {@linkcode initialValues}. */
export interface InitialValues {
  /** Parameters by timm name, in declaration order. */
  params: Map<string, Float32Array>;
  /** Buffers by timm name, in declaration order. */
  buffers: Map<string, Float32Array>;
}

/**
 * Fresh values of every parameter, then every buffer, of a built model
 * context, drawn in declaration order from one `Rng(seed)`: what
 * `TrainingSession.initialize(seed)` stores.
 *
 * @param ctx A context `model.build` has run in.
 * @param seed The seed.
 * @returns The values by name.
 */
export function initialValues(ctx: ModelContext, seed: number): InitialValues {
  const rng = new Rng(seed);
  const params = new Map<string, Float32Array>();
  const buffers = new Map<string, Float32Array>();
  for (const { info } of ctx.params.values()) {
    params.set(info.name, initValues(info.init, sizeOf(info.shape), rng));
  }
  for (const { info } of ctx.buffers.values()) {
    buffers.set(info.name, initValues(info.init, sizeOf(info.shape), rng));
  }
  return { params, buffers };
}

/**
 * The weights a `TrainingSession` of `model` starts from with `seed`
 * (parameters, then buffers), computed on the host without compiling
 * anything.
 *
 * @param model The model.
 * @param seed The seed.
 * @returns Every parameter and buffer by timm name.
 */
export function initialWeights(model: Model, seed: number): Map<string, Float32Array> {
  const ctx = new ModelContext("train", { name: `${model.name}_init` });
  model.build(ctx, ctx.graph.input("x", "float32", inputShape(model, 1)));
  const { params, buffers } = initialValues(ctx, seed);
  return new Map([...params, ...buffers]);
}

function inputShape(model: Model, n: number): number[] {
  return [n, model.inChannels, model.imageSize, model.imageSize];
}

/** The loss: softmax cross-entropy, or sigmoid binary cross-entropy per label. */
function lossOf(
  logits: Tensor,
  targets: Tensor,
  options: TrainGraphOptions,
): { loss: Tensor; probs: Tensor } {
  return options.multiLabel
    ? sigmoidBinaryCrossEntropy(logits, targets, {
      labelSmoothing: options.labelSmoothing,
      labelWeights: options.classWeights,
    })
    : softmaxCrossEntropy(logits, targets, {
      labelSmoothing: options.labelSmoothing,
      classWeights: options.classWeights,
    });
}

/** Every parameter's gradient of `loss`, in declaration order. */
function parameterGradients(
  ctx: ModelContext,
  loss: Tensor,
  backend: Backend,
  model: Model,
  options: TrainGraphOptions,
): Tensor[] {
  const params = [...ctx.params.values()];
  const grads = gradients(loss, params.map((p) => p.tensor), {
    convWeightGrad: options.convWeightGrad ?? defaultConvWeightGrad(backend.name),
    // Input gradients of stride-1 convs are a Conv of the flipped kernel on
    // the cpu backend (ORT's ConvTranspose is its slowest cpu conv kernel);
    // WebGPU keeps the ConvTranspose form its GPU runs were verified with.
    convInputGrad: backend.name === "webgpu" ? "convTranspose" : "conv",
  });
  const missing = params.filter((_, i) => !grads[i]).map((p) => p.info.name);
  if (missing.length) {
    throw new Error(`${model.name}: the loss does not depend on ${missing.join(", ")}`);
  }
  return grads as Tensor[];
}

/** Backward pass, global-norm clipping and the optimizer's update nodes. */
function optimizerStep(
  ctx: ModelContext,
  loss: Tensor,
  backend: Backend,
  model: Model,
  options: TrainGraphOptions,
): { update: OptimizerUpdate; norm: Tensor } {
  const params = [...ctx.params.values()];
  const grads = parameterGradients(ctx, loss, backend, model, options);
  const clipped = clipByGlobalNorm(grads, options.clipGradNorm ?? Infinity);
  // AdamW folds the clipping factor into its coefficients (the raw
  // gradients go in, one pass less per parameter); SGD takes clipped ones.
  const adamw = options.optimizer.name === "adamw";
  const withGrads = params.map((p, i) => ({
    name: p.info.name,
    value: p.tensor,
    grad: adamw ? grads[i] : clipped.grads[i],
    decay: p.info.decay,
  }));
  const update = options.optimizer.name === "adamw"
    ? adamWUpdate(ctx.graph, withGrads, options.optimizer, { gradScale: clipped.scale })
    : sgdUpdate(ctx.graph, withGrads, options.optimizer);
  return { update, norm: clipped.norm };
}

/** Map the train graph's state inputs and their new values to state keys (adding the outputs). */
function wireTrainState(ctx: ModelContext, update: OptimizerUpdate): StateWiring {
  const g = ctx.graph;
  const state: Record<string, string> = {};
  const updates: Record<string, string> = {};
  for (const p of ctx.params.values()) {
    state[p.tensor.name] = STATE_KEY.param + p.info.name;
    const out = `new:${p.info.name}`;
    g.output(out, update.newParams.get(p.info.name)!);
    updates[out] = STATE_KEY.param + p.info.name;
  }
  for (const s of update.stateInputs) state[s.input.name] = s.key;
  for (const [key, t] of update.newState) {
    g.output(`new:${key}`, t);
    updates[`new:${key}`] = key;
  }
  for (const buf of ctx.buffers.values()) {
    state[buf.tensor.name] = STATE_KEY.buffer + buf.info.name;
    if (buf.next) {
      g.output(`new:${buf.info.name}`, buf.next);
      updates[`new:${buf.info.name}`] = STATE_KEY.buffer + buf.info.name;
    }
  }
  return { state, updates };
}

/**
 * Add the weight EMA to the train graph: `ema ← d·ema + (1−d)·w` for every
 * parameter (after the update) and buffer (after the step's statistics), as
 * timm's ModelEmaV3.
 */
function addEma(
  ctx: ModelContext,
  update: OptimizerUpdate,
  wiring: StateWiring,
  emaDecay: number,
): void {
  const averaged = [
    ...[...ctx.params.values()].map((p) => ({
      key: STATE_KEY.param + p.info.name,
      next: update.newParams.get(p.info.name)!,
    })),
    ...[...ctx.buffers.values()].map((b) => ({
      key: STATE_KEY.buffer + b.info.name,
      next: b.next ?? b.tensor,
    })),
  ];
  averageInGraph(ctx, averaged, wiring, emaDecay);
}

/** Add `ema ← d·ema + (1−d)·next` for each state key to the graph and its wiring. */
function averageInGraph(
  ctx: ModelContext,
  averaged: readonly { key: string; next: Tensor }[],
  wiring: StateWiring,
  emaDecay: number,
): void {
  checkEmaDecay(emaDecay);
  const g = ctx.graph;
  for (const { key, next } of averaged) {
    const ema = g.input(STATE_KEY.ema + key, "float32", next.shape);
    wiring.state[ema.name] = STATE_KEY.ema + key;
    const out = `new:${STATE_KEY.ema}${key}`;
    g.output(out, add(mul(ema, emaDecay), mul(next, 1 - emaDecay)));
    wiring.updates[out] = STATE_KEY.ema + key;
  }
}

/** Check an EMA decay, in (0, 1). */
export function checkEmaDecay(emaDecay: number): void {
  if (!(emaDecay > 0 && emaDecay < 1)) {
    throw new Error(`emaDecay must be in (0, 1), got ${emaDecay}`);
  }
}

function checkLogits(model: Model, logits: Tensor, n: number): void {
  if (logits.rank !== 2 || logits.shape[0] !== n || logits.shape[1] !== model.numClasses) {
    throw new Error(
      `${model.name}: build() must return logits [${n}, ${model.numClasses}], got ${logits}`,
    );
  }
}

/**
 * The conv weight-gradient formulation a backend trains with: `dilated` on
 * webgpu (the form its GPU runs were verified with), `blocked` on cpu (the
 * dilated form of large maps runs on its NCHWc kernels, 4×4 maps take
 * Winograd as its lowering does), `im2col` on wasm.
 *
 * @param backend The backend's name.
 * @returns Its default {@linkcode ConvWeightGrad}.
 */
export function defaultConvWeightGrad(backend: BackendName): ConvWeightGrad {
  return backend === "webgpu" ? "dilated" : backend === "cpu" ? "blocked" : "im2col";
}

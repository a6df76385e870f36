/**
 * Losses for train programs, each one region with a fused gradient:
 * softmax cross-entropy (single-label tasks) with label smoothing, soft
 * targets (Mixup/CutMix) and class weights, `dL/dz = w · (p · Σt − t)`; and
 * sigmoid binary cross-entropy (multi-label tasks) with per-label smoothing
 * and weights, `dL/dz = w · (σ(z) − t) / (N·K)`.
 *
 * @module
 */

import type { Tensor } from "../onnx/graph.ts";
import {
  add,
  allAxes,
  div,
  exp,
  log,
  mul,
  neg,
  reduceMax,
  reduceSum,
  relu,
  sigmoid,
  sub,
} from "../onnx/ops.ts";

/** Options of {@linkcode softmaxCrossEntropy}. */
export interface CrossEntropyOptions {
  /** Mix targets with the uniform distribution: `t·(1−ε) + ε/K` (timm/PyTorch semantics). */
  labelSmoothing?: number;
  /** Per-class weights `[K]`: each sample counts `Σ_k t_k w_k`, and the loss is the weighted mean. */
  classWeights?: readonly number[];
}

/** Loss and probabilities of a batch. */
export interface CrossEntropyResult {
  /** Mean (or weighted mean) loss, a scalar. */
  loss: Tensor;
  /** Softmax probabilities `[N, K]` (no gradient flows through them). */
  probs: Tensor;
}

/**
 * Cross-entropy of `logits` `[N, K]` against target distributions `targets`
 * `[N, K]` (one-hot for hard labels, soft for Mixup/CutMix).
 */
export function softmaxCrossEntropy(
  logits: Tensor,
  targets: Tensor,
  options: CrossEntropyOptions = {},
): CrossEntropyResult {
  if (logits.rank !== 2 || targets.rank !== 2 || logits.shape[1] !== targets.shape[1]) {
    throw new Error(`cross-entropy: logits ${logits} and targets ${targets} must both be [N, K]`);
  }
  const [n, k] = logits.shape;
  const eps = options.labelSmoothing ?? 0;
  if (eps < 0 || eps >= 1) throw new Error(`labelSmoothing must be in [0, 1), got ${eps}`);
  const g = logits.graph;
  const t = eps > 0 ? add(mul(targets, 1 - eps), eps / k) : targets;
  let weights: Tensor | null = null; // [N, 1]
  if (options.classWeights) {
    if (options.classWeights.length !== k) {
      throw new Error(`classWeights needs ${k} entries, got ${options.classWeights.length}`);
    }
    const cw = g.constant(Float32Array.from(options.classWeights), [1, k]);
    weights = reduceSum(mul(targets, cw), [1]);
  }
  let probs!: Tensor;
  let rowMass!: Tensor;
  let denom!: Tensor | number;
  const [loss] = g.withCustomGradient([logits], () => {
    const shifted = sub(logits, reduceMax(logits, [1]));
    const e = exp(shifted);
    const s = reduceSum(e, [1]);
    probs = div(e, s);
    const logProbs = sub(shifted, log(s));
    const perSample = neg(reduceSum(mul(t, logProbs), [1])); // [N, 1]
    rowMass = reduceSum(t, [1]);
    if (weights) {
      denom = reduceSum(weights, allAxes(weights), { keepdims: false });
      return [
        div(reduceSum(mul(perSample, weights), allAxes(perSample), { keepdims: false }), denom),
      ];
    }
    denom = n;
    return [mul(reduceSum(perSample, allAxes(perSample), { keepdims: false }), 1 / n)];
  }, ([dLoss]) => {
    if (!dLoss) return [null];
    let dz = sub(mul(probs, rowMass), t); // [N, K]
    if (weights) dz = mul(dz, weights);
    const scale = typeof denom === "number" ? mul(dLoss, 1 / denom) : div(dLoss, denom);
    return [mul(dz, scale)];
  });
  return { loss, probs };
}

/** Options of {@linkcode sigmoidBinaryCrossEntropy}. */
export interface BinaryCrossEntropyOptions {
  /** Smooth each label towards ½: `t·(1−ε) + ε/2`. */
  labelSmoothing?: number;
  /** Per-label weights `[K]` (PyTorch `BCEWithLogitsLoss(weight=...)` broadcast over the batch). */
  labelWeights?: readonly number[];
}

/**
 * Multi-label binary cross-entropy of `logits` `[N, K]` against 0/1 (or
 * mixed, for Mixup/CutMix) targets `[N, K]`, averaged over all N·K entries as
 * PyTorch's `BCEWithLogitsLoss`. Computed in the stable form
 * `max(z, 0) − z·t + log(1 + exp(−|z|))` from Relu, Exp and Log only (ops the
 * WebGPU EP runs), with `−|z| = z − 2·max(z, 0)`. `probs` are `σ(z)` per label.
 */
export function sigmoidBinaryCrossEntropy(
  logits: Tensor,
  targets: Tensor,
  options: BinaryCrossEntropyOptions = {},
): CrossEntropyResult {
  if (logits.rank !== 2 || targets.rank !== 2 || logits.shape[1] !== targets.shape[1]) {
    throw new Error(
      `binary cross-entropy: logits ${logits} and targets ${targets} must both be [N, K]`,
    );
  }
  const [n, k] = logits.shape;
  const eps = options.labelSmoothing ?? 0;
  if (eps < 0 || eps >= 1) throw new Error(`labelSmoothing must be in [0, 1), got ${eps}`);
  const g = logits.graph;
  const t = eps > 0 ? add(mul(targets, 1 - eps), eps / 2) : targets;
  let weights: Tensor | null = null; // [1, K]
  if (options.labelWeights) {
    if (options.labelWeights.length !== k) {
      throw new Error(`labelWeights needs ${k} entries, got ${options.labelWeights.length}`);
    }
    weights = g.constant(Float32Array.from(options.labelWeights), [1, k]);
  }
  const scale = 1 / (n * k);
  let probs!: Tensor;
  const [loss] = g.withCustomGradient([logits], () => {
    const pos = relu(logits);
    const negAbs = sub(logits, mul(pos, 2));
    let perEntry = add(sub(pos, mul(logits, t)), log(add(exp(negAbs), 1)));
    if (weights) perEntry = mul(perEntry, weights);
    probs = sigmoid(logits);
    return [mul(reduceSum(perEntry, allAxes(perEntry), { keepdims: false }), scale)];
  }, ([dLoss]) => {
    if (!dLoss) return [null];
    let dz = sub(probs, t);
    if (weights) dz = mul(dz, weights);
    return [mul(dz, mul(dLoss, scale))];
  });
  return { loss, probs };
}

/**
 * Softmax cross-entropy for train programs, with label smoothing, soft
 * targets (Mixup/CutMix) and optional class weights, as one region with a
 * fused gradient `dL/dz = w · (p · Σt − t)`.
 *
 * @module
 */

import type { Tensor } from "../onnx/graph.ts";
import { add, allAxes, div, exp, log, mul, neg, reduceMax, reduceSum, sub } from "../onnx/ops.ts";

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

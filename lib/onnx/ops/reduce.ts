/**
 * Reductions, softmax, cumulative sum and normalizations (part of `lib/onnx/ops.ts`).
 *
 * @module
 */

import { formatShape, type Shape, type Tensor } from "../graph.ts";
import type { AttributeValue } from "../proto.ts";
import { fail, float, floatOnly, int, ints, normAxes, normAxis, unary } from "./_util.ts";

/** Options of the reductions. */
export interface ReduceOptions {
  /** Keep reduced axes as size 1 (default true, as in ONNX). */
  keepdims?: boolean;
}

function reducedShape(shape: Shape, axes: number[], keepdims: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

function reduce(op: string, x: Tensor, axes: readonly number[], options: ReduceOptions): Tensor {
  const ax = normAxes(op, axes, x.rank);
  const keepdims = options.keepdims ?? true;
  const shape = reducedShape(x.shape, ax, keepdims);
  const attrs: Record<string, AttributeValue> = { keepdims: int(keepdims ? 1 : 0) };
  if (op === "ReduceSum") {
    return x.graph.addNode(op, [x, x.graph.int64s(ax)], [{ dtype: x.dtype, shape }], attrs)[0];
  }
  attrs.axes = ints(ax);
  return x.graph.addNode(op, [x], [{ dtype: x.dtype, shape }], attrs)[0];
}

/**
 * Sum over `axes`.
 *
 * @param x The input.
 * @param axes The axes to reduce (negative counts from the end).
 * @param options Whether to keep reduced axes as size 1 (default true).
 * @returns The reduced tensor.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [2, 3, 4]);
 * const y = ops.reduceSum(x, [1, 2], { keepdims: false });
 * console.log(y.shape); // [2]
 * ```
 */
export function reduceSum(
  x: Tensor,
  axes: readonly number[],
  options: ReduceOptions = {},
): Tensor {
  return reduce("ReduceSum", x, axes, options);
}
/**
 * Mean over `axes`.
 *
 * @param x The input.
 * @param axes The axes to reduce (negative counts from the end).
 * @param options Whether to keep reduced axes as size 1 (default true).
 * @returns The reduced tensor.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [2, 3, 4]);
 * const y = ops.reduceMean(x, [1, 2], { keepdims: false });
 * console.log(y.shape); // [2]
 * ```
 */
export function reduceMean(
  x: Tensor,
  axes: readonly number[],
  options: ReduceOptions = {},
): Tensor {
  return reduce("ReduceMean", x, axes, options);
}
/**
 * Maximum over `axes`.
 *
 * @param x The input.
 * @param axes The axes to reduce (negative counts from the end).
 * @param options Whether to keep reduced axes as size 1 (default true).
 * @returns The reduced tensor.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [2, 3, 4]);
 * const y = ops.reduceMax(x, [1, 2], { keepdims: false });
 * console.log(y.shape); // [2]
 * ```
 */
export function reduceMax(
  x: Tensor,
  axes: readonly number[],
  options: ReduceOptions = {},
): Tensor {
  return reduce("ReduceMax", x, axes, options);
}
/**
 * Sum of squares over `axes`.
 *
 * @param x The input.
 * @param axes The axes to reduce (negative counts from the end).
 * @param options Whether to keep reduced axes as size 1 (default true).
 * @returns The reduced tensor.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [2, 3, 4]);
 * const y = ops.reduceSumSquare(x, [1, 2], { keepdims: false });
 * console.log(y.shape); // [2]
 * ```
 */
export function reduceSumSquare(
  x: Tensor,
  axes: readonly number[],
  options: ReduceOptions = {},
): Tensor {
  return reduce("ReduceSumSquare", x, axes, options);
}

/**
 * All axes of `x`: `[0, 1, …, rank - 1]`.
 *
 * @param x The tensor.
 * @returns `[0, 1, …, rank - 1]`.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [2, 3]);
 * const total = ops.reduceSum(x, ops.allAxes(x), { keepdims: false });
 * console.log(total.shape); // []
 * ```
 */
export function allAxes(x: Tensor): number[] {
  return x.shape.map((_, i) => i);
}

/**
 * Inclusive cumulative sum along `axis`.
 *
 * @param x The input.
 * @param axis The axis to accumulate along (negative counts from the end).
 * @returns A tensor of `x`'s shape.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [2, 5]);
 * console.log(ops.cumsum(x, 1).shape); // [2, 5]
 * ```
 */
export function cumsum(x: Tensor, axis: number): Tensor {
  const a = normAxis("CumSum", axis, x.rank);
  const axisT = x.graph.constant(Int32Array.of(a), []);
  return x.graph.addNode("CumSum", [x, axisT], [{ dtype: x.dtype, shape: x.shape }])[0];
}

/**
 * Softmax along `axis` (default last).
 *
 * @param x The input (float32).
 * @param axis The axis that sums to 1 (default last).
 * @returns The probabilities, of `x`'s shape.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const logits = g.input("logits", "float32", [4, 10]);
 * console.log(ops.softmax(logits).shape); // [4, 10]
 * ```
 */
export function softmax(x: Tensor, axis = -1): Tensor {
  floatOnly("Softmax", x);
  return unary("Softmax", x, { axis: int(normAxis("Softmax", axis, x.rank)) });
}

/** Options of {@linkcode layerNormalization}. */
export interface LayerNormalizationOptions {
  /** First normalized axis; it and all later axes are normalized (default -1). */
  axis?: number;
  /** Added to the variance (default 1e-5). */
  epsilon?: number;
}

/**
 * Layer normalization over the trailing axes from `axis` (default last), with `scale` and `bias`
 * of the normalized shape. Returns `[y, mean, invStdDev]`; the last two are kept for the backward
 * pass.
 *
 * @param x The input.
 * @param scale The scale, of the normalized shape.
 * @param bias The bias, of the normalized shape, or null.
 * @param options The first normalized axis (default last) and epsilon (default 1e-5).
 * @returns `[y, mean, invStdDev]`: the output, and the statistics (reduced axes kept as 1) that the backward pass reads.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [2, 16, 192]);
 * const scale = g.input("scale", "float32", [192]);
 * const [y] = ops.layerNormalization(x, scale, null);
 * console.log(y.shape); // [2, 16, 192]
 * ```
 */
export function layerNormalization(
  x: Tensor,
  scale: Tensor,
  bias: Tensor | null,
  options: LayerNormalizationOptions = {},
): [Tensor, Tensor, Tensor] {
  const op = "LayerNormalization";
  const axis = normAxis(op, options.axis ?? -1, x.rank);
  const normShape = x.shape.slice(axis);
  if (formatShape(scale.shape) !== formatShape(normShape)) {
    fail(op, `scale must have the normalized shape ${formatShape(normShape)}`, x, scale);
  }
  const statShape = [...x.shape.slice(0, axis), ...normShape.map(() => 1)];
  const attrs = { axis: int(axis), epsilon: float(options.epsilon ?? 1e-5) };
  const outs = x.graph.addNode(op, bias ? [x, scale, bias] : [x, scale], [
    { dtype: x.dtype, shape: x.shape },
    { dtype: "float32", shape: statShape },
    { dtype: "float32", shape: statShape },
  ], attrs);
  return [outs[0], outs[1], outs[2]];
}

/** The per-channel tensors of {@linkcode batchNormalization}, each `[C]`. */
export interface BatchNormalizationParams {
  /** Scale (γ). */
  scale: Tensor;
  /** Bias (β). */
  bias: Tensor;
  /** Running mean. */
  mean: Tensor;
  /** Running variance. */
  variance: Tensor;
}

/** Options of {@linkcode batchNormalization}. */
export interface BatchNormalizationOptions {
  /** Added to the variance (default 1e-5). */
  epsilon?: number;
}

/**
 * Inference-form batch normalization with running statistics.
 *
 * @param x The input `[N, C, ...]`.
 * @param params Scale, bias, running mean and running variance, each `[C]`.
 * @param options Epsilon (default 1e-5).
 * @returns The normalized tensor, of `x`'s shape.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [2, 3, 8, 8]);
 * const p = (name: string) => g.input(name, "float32", [3]);
 * const y = ops.batchNormalization(x, {
 *   scale: p("scale"),
 *   bias: p("bias"),
 *   mean: p("mean"),
 *   variance: p("variance"),
 * });
 * console.log(y.shape); // [2, 3, 8, 8]
 * ```
 */
export function batchNormalization(
  x: Tensor,
  params: BatchNormalizationParams,
  options: BatchNormalizationOptions = {},
): Tensor {
  const c = x.shape[1];
  for (const t of [params.scale, params.bias, params.mean, params.variance]) {
    if (t.rank !== 1 || t.shape[0] !== c) {
      fail("BatchNormalization", `parameters must be [${c}]`, t);
    }
  }
  return x.graph.addNode(
    "BatchNormalization",
    [x, params.scale, params.bias, params.mean, params.variance],
    [{ dtype: x.dtype, shape: x.shape }],
    { epsilon: float(options.epsilon ?? 1e-5) },
  )[0];
}

/**
 * Matrix products: MatMul and Gemm (part of `lib/onnx/ops.ts`).
 *
 * @module
 */

import type { Tensor } from "../graph.ts";
import type { AttributeValue } from "../proto.ts";
import { broadcastShapes, fail, float, int, sameDtype } from "./_util.ts";

/**
 * Batched matrix product with numpy broadcasting of the batch dimensions (rank >= 2).
 *
 * @param a The left matrices `[..., m, k]`.
 * @param b The right matrices `[..., k, n]`.
 * @returns The products `[...batch, m, n]`.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const a = g.input("a", "float32", [8, 2, 3]);
 * const b = g.input("b", "float32", [3, 4]);
 * console.log(ops.matmul(a, b).shape); // [8, 2, 4]
 * ```
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  sameDtype("MatMul", a, b);
  if (a.rank < 2 || b.rank < 2) fail("MatMul", "inputs must have rank >= 2", a, b);
  const [m, k] = a.shape.slice(-2);
  const [k2, n] = b.shape.slice(-2);
  if (k !== k2) fail("MatMul", `inner dimensions differ (${k} vs ${k2})`, a, b);
  const batch = broadcastShapes("MatMul", a.shape.slice(0, -2), b.shape.slice(0, -2));
  return a.graph.addNode("MatMul", [a, b], [{ dtype: a.dtype, shape: [...batch, m, n] }])[0];
}

/** Options of {@linkcode gemm}. */
export interface GemmOptions {
  /** Use `A^T`. */
  transA?: boolean;
  /** Use `B^T`. */
  transB?: boolean;
  /** Scale of the product. */
  alpha?: number;
  /** Scale of `C`. */
  beta?: number;
}

/**
 * `alpha * op(A) @ op(B) + beta * C` for 2-D A and B.
 *
 * @param a `A`, 2-D.
 * @param b `B`, 2-D.
 * @param c `C`, broadcast to the product's shape, or null.
 * @param options Transposes and scales.
 * @returns The `[m, n]` result.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [4, 3]);
 * const w = g.input("w", "float32", [5, 3]);
 * const b = g.input("b", "float32", [5]);
 * console.log(ops.gemm(x, w, b, { transB: true }).shape); // [4, 5]
 * ```
 */
export function gemm(a: Tensor, b: Tensor, c: Tensor | null, options: GemmOptions = {}): Tensor {
  if (a.rank !== 2 || b.rank !== 2) fail("Gemm", "A and B must be 2-D", a, b);
  const [m, k] = options.transA ? [a.shape[1], a.shape[0]] : a.shape;
  const [k2, n] = options.transB ? [b.shape[1], b.shape[0]] : b.shape;
  if (k !== k2) fail("Gemm", `inner dimensions differ (${k} vs ${k2})`, a, b);
  if (c) broadcastShapes("Gemm", c.shape, [m, n]);
  const attrs: Record<string, AttributeValue> = {};
  if (options.transA) attrs.transA = int(1);
  if (options.transB) attrs.transB = int(1);
  if (options.alpha !== undefined && options.alpha !== 1) attrs.alpha = float(options.alpha);
  if (options.beta !== undefined && options.beta !== 1) attrs.beta = float(options.beta);
  return a.graph.addNode("Gemm", [a, b, c], [{ dtype: a.dtype, shape: [m, n] }], attrs)[0];
}

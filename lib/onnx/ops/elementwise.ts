/**
 * Elementwise arithmetic, comparisons and activations (part of `lib/onnx/ops.ts`).
 *
 * @module
 */

import type { DType, Tensor } from "../graph.ts";
import { ONNX_DTYPE } from "../proto.ts";
import { broadcastShapes, fail, floatOnly, int, lift, sameDtype, unary } from "./_util.ts";
import { reshape } from "./shape.ts";

function binary(op: string, a: Tensor, b: Tensor, outDtype?: DType): Tensor {
  const dtype = sameDtype(op, a, b);
  if (a.graph !== b.graph) fail(op, "inputs belong to different graphs", a, b);
  const shape = broadcastShapes(op, a.shape, b.shape);
  // ORT's CPU broadcasting walks the innermost dimension as its unit of work:
  // with trailing size-1 dimensions (1×1 conv weights [O, I, 1, 1], pooled
  // activations [N, C, 1, 1]) an elementwise op ran 6× slower than on the
  // same data without them. Drop them around the op; reshapes are free.
  let trailing = 0;
  while (trailing < shape.length - 1 && shape[shape.length - 1 - trailing] === 1) trailing++;
  if (trailing > 0 && shape.some((d) => d !== 1)) {
    const drop = (t: Tensor) => reshape(t, t.shape.slice(0, Math.max(0, t.rank - trailing)));
    const y = a.graph.addNode(op, [drop(a), drop(b)], [
      { dtype: outDtype ?? dtype, shape: shape.slice(0, shape.length - trailing) },
    ])[0];
    return reshape(y, shape);
  }
  return a.graph.addNode(op, [a, b], [{ dtype: outDtype ?? dtype, shape }])[0];
}

/**
 * Elementwise `a + b` (broadcasting).
 *
 * @param a The left operand.
 * @param b The right operand: a tensor of the same dtype, or a number (a scalar constant of `a`'s dtype).
 * @returns A tensor of the broadcast shape of `a` and `b`.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const a = g.input("a", "float32", [2, 3]);
 * const b = g.input("b", "float32", [3]);
 * const y = ops.add(a, b);
 * console.log(y.shape); // [2, 3]
 * ```
 */
export function add(a: Tensor, b: Tensor | number): Tensor {
  return binary("Add", a, lift(a, b));
}
/**
 * Elementwise `a - b` (broadcasting).
 *
 * @param a The left operand.
 * @param b The right operand: a tensor of the same dtype, or a number (a scalar constant of `a`'s dtype).
 * @returns A tensor of the broadcast shape of `a` and `b`.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const a = g.input("a", "float32", [2, 3]);
 * const b = g.input("b", "float32", [3]);
 * const y = ops.sub(a, b);
 * console.log(y.shape); // [2, 3]
 * ```
 */
export function sub(a: Tensor, b: Tensor | number): Tensor {
  return binary("Sub", a, lift(a, b));
}
/**
 * Elementwise `a * b` (broadcasting).
 *
 * @param a The left operand.
 * @param b The right operand: a tensor of the same dtype, or a number (a scalar constant of `a`'s dtype).
 * @returns A tensor of the broadcast shape of `a` and `b`.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const a = g.input("a", "float32", [2, 3]);
 * const b = g.input("b", "float32", [3]);
 * const y = ops.mul(a, b);
 * console.log(y.shape); // [2, 3]
 * ```
 */
export function mul(a: Tensor, b: Tensor | number): Tensor {
  return binary("Mul", a, lift(a, b));
}
/**
 * Elementwise `a / b` (broadcasting).
 *
 * @param a The left operand.
 * @param b The right operand: a tensor of the same dtype, or a number (a scalar constant of `a`'s dtype).
 * @returns A tensor of the broadcast shape of `a` and `b`.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const a = g.input("a", "float32", [2, 3]);
 * const b = g.input("b", "float32", [3]);
 * const y = ops.div(a, b);
 * console.log(y.shape); // [2, 3]
 * ```
 */
export function div(a: Tensor, b: Tensor | number): Tensor {
  return binary("Div", a, lift(a, b));
}
/**
 * Elementwise `a ** b` (broadcasting).
 *
 * @param a The left operand.
 * @param b The right operand: a tensor of the same dtype, or a number (a scalar constant of `a`'s dtype).
 * @returns A tensor of the broadcast shape of `a` and `b`.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const a = g.input("a", "float32", [2, 3]);
 * const b = g.input("b", "float32", [3]);
 * const y = ops.pow(a, b);
 * console.log(y.shape); // [2, 3]
 * ```
 */
export function pow(a: Tensor, b: Tensor | number): Tensor {
  return binary("Pow", a, lift(a, b));
}
/**
 * Elementwise maximum of two tensors (broadcasting).
 *
 * @param a The left operand.
 * @param b The right operand: a tensor of the same dtype, or a number (a scalar constant of `a`'s dtype).
 * @returns A tensor of the broadcast shape of `a` and `b`.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const a = g.input("a", "float32", [2, 3]);
 * const b = g.input("b", "float32", [3]);
 * const y = ops.maximum(a, b);
 * console.log(y.shape); // [2, 3]
 * ```
 */
export function maximum(a: Tensor, b: Tensor | number): Tensor {
  return binary("Max", a, lift(a, b));
}
/**
 * Elementwise minimum of two tensors (broadcasting).
 *
 * @param a The left operand.
 * @param b The right operand: a tensor of the same dtype, or a number (a scalar constant of `a`'s dtype).
 * @returns A tensor of the broadcast shape of `a` and `b`.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const a = g.input("a", "float32", [2, 3]);
 * const b = g.input("b", "float32", [3]);
 * const y = ops.minimum(a, b);
 * console.log(y.shape); // [2, 3]
 * ```
 */
export function minimum(a: Tensor, b: Tensor | number): Tensor {
  return binary("Min", a, lift(a, b));
}
/**
 * Elementwise `a == b` as bool.
 *
 * @param a The left operand.
 * @param b The right operand: a tensor of the same dtype, or a number.
 * @returns A bool tensor of the broadcast shape.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [4]);
 * const mask = ops.equal(x, 0);
 * console.log(mask.dtype); // "bool"
 * ```
 */
export function equal(a: Tensor, b: Tensor | number): Tensor {
  return binary("Equal", a, lift(a, b), "bool");
}
/**
 * Elementwise `a > b` as bool.
 *
 * @param a The left operand.
 * @param b The right operand: a tensor of the same dtype, or a number.
 * @returns A bool tensor of the broadcast shape.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [4]);
 * const mask = ops.greater(x, 0);
 * console.log(mask.dtype); // "bool"
 * ```
 */
export function greater(a: Tensor, b: Tensor | number): Tensor {
  return binary("Greater", a, lift(a, b), "bool");
}
/**
 * Elementwise `a < b` as bool.
 *
 * @param a The left operand.
 * @param b The right operand: a tensor of the same dtype, or a number.
 * @returns A bool tensor of the broadcast shape.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [4]);
 * const mask = ops.less(x, 0);
 * console.log(mask.dtype); // "bool"
 * ```
 */
export function less(a: Tensor, b: Tensor | number): Tensor {
  return binary("Less", a, lift(a, b), "bool");
}
/**
 * Elementwise logical not.
 *
 * @param x A bool tensor.
 * @returns A bool tensor of `x`'s shape.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [4]);
 * const y = ops.not(ops.greater(x, 0));
 * console.log(y.dtype); // "bool"
 * ```
 */
export function not(x: Tensor): Tensor {
  if (x.dtype !== "bool") fail("Not", "expects a bool input", x);
  return unary("Not", x);
}
/**
 * Elementwise `-x`.
 *
 * @param x The input.
 * @returns A tensor of `x`'s shape and dtype.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [2, 3]);
 * const y = ops.neg(x);
 * console.log(y.shape); // [2, 3]
 * ```
 */
export function neg(x: Tensor): Tensor {
  return unary("Neg", x);
}
/**
 * Elementwise square root.
 *
 * @param x The input (float32).
 * @returns A tensor of `x`'s shape and dtype.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [2, 3]);
 * const y = ops.sqrt(x);
 * console.log(y.shape); // [2, 3]
 * ```
 */
export function sqrt(x: Tensor): Tensor {
  floatOnly("Sqrt", x);
  return unary("Sqrt", x);
}
/**
 * Elementwise `e ** x`.
 *
 * @param x The input (float32).
 * @returns A tensor of `x`'s shape and dtype.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [2, 3]);
 * const y = ops.exp(x);
 * console.log(y.shape); // [2, 3]
 * ```
 */
export function exp(x: Tensor): Tensor {
  floatOnly("Exp", x);
  return unary("Exp", x);
}
/**
 * Elementwise natural logarithm.
 *
 * @param x The input (float32).
 * @returns A tensor of `x`'s shape and dtype.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [2, 3]);
 * const y = ops.log(x);
 * console.log(y.shape); // [2, 3]
 * ```
 */
export function log(x: Tensor): Tensor {
  floatOnly("Log", x);
  return unary("Log", x);
}
/**
 * Elementwise absolute value.
 *
 * @param x The input.
 * @returns A tensor of `x`'s shape and dtype.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [2, 3]);
 * const y = ops.abs(x);
 * console.log(y.shape); // [2, 3]
 * ```
 */
export function abs(x: Tensor): Tensor {
  return unary("Abs", x);
}
/**
 * Elementwise `max(x, 0)`.
 *
 * @param x The input (float32).
 * @returns A tensor of `x`'s shape and dtype.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [2, 3]);
 * const y = ops.relu(x);
 * console.log(y.shape); // [2, 3]
 * ```
 */
export function relu(x: Tensor): Tensor {
  floatOnly("Relu", x);
  return unary("Relu", x);
}
/**
 * Elementwise logistic sigmoid.
 *
 * @param x The input (float32).
 * @returns A tensor of `x`'s shape and dtype.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [2, 3]);
 * const y = ops.sigmoid(x);
 * console.log(y.shape); // [2, 3]
 * ```
 */
export function sigmoid(x: Tensor): Tensor {
  floatOnly("Sigmoid", x);
  return unary("Sigmoid", x);
}
/**
 * Elementwise hyperbolic tangent.
 *
 * @param x The input (float32).
 * @returns A tensor of `x`'s shape and dtype.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [2, 3]);
 * const y = ops.tanh(x);
 * console.log(y.shape); // [2, 3]
 * ```
 */
export function tanh(x: Tensor): Tensor {
  floatOnly("Tanh", x);
  return unary("Tanh", x);
}
/**
 * Elementwise error function.
 *
 * @param x The input (float32).
 * @returns A tensor of `x`'s shape and dtype.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [2, 3]);
 * const y = ops.erf(x);
 * console.log(y.shape); // [2, 3]
 * ```
 */
export function erf(x: Tensor): Tensor {
  floatOnly("Erf", x);
  return unary("Erf", x);
}
/**
 * A copy of `x` (a new tensor name).
 *
 * @param x The input.
 * @returns A tensor of `x`'s shape and dtype.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [2, 3]);
 * const y = ops.identity(x);
 * console.log(y.shape); // [2, 3]
 * ```
 */
export function identity(x: Tensor): Tensor {
  return unary("Identity", x);
}
/**
 * Convert `x` to `to`.
 *
 * @param x The input.
 * @param to The element type to convert to.
 * @returns `x` itself when it already has type `to`, else a Cast of it.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [4]);
 * const mask = ops.cast(ops.greater(x, 0), "float32");
 * console.log(mask.dtype); // "float32"
 * ```
 */
export function cast(x: Tensor, to: DType): Tensor {
  if (x.dtype === to) return x;
  return x.graph.addNode("Cast", [x], [{ dtype: to, shape: x.shape }], {
    to: int(ONNX_DTYPE[to]),
  })[0];
}
/**
 * `cond ? a : b` elementwise (broadcasting over all three).
 *
 * @param cond The bool condition.
 * @param a Values where `cond` is true (a tensor or a number).
 * @param b Values where it is false (a tensor or a number).
 * @returns A tensor of the broadcast shape of all three.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [2, 3]);
 * const y = ops.where(ops.less(x, 0), 0, x); // relu
 * console.log(y.shape); // [2, 3]
 * ```
 */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  if (cond.dtype !== "bool") fail("Where", "condition must be bool", cond);
  const ta = typeof a === "number"
    ? (typeof b === "number" ? cond.graph.scalar(a) : lift(b, a))
    : a;
  const tb = lift(ta, b);
  const dtype = sameDtype("Where", ta, tb);
  const shape = broadcastShapes("Where", broadcastShapes("Where", cond.shape, ta.shape), tb.shape);
  return cond.graph.addNode("Where", [cond, ta, tb], [{ dtype, shape }])[0];
}
/** Options of {@linkcode clip}. */
export interface ClipOptions {
  /** Lower bound (none when omitted). */
  min?: number;
  /** Upper bound (none when omitted). */
  max?: number;
}

/**
 * Clamp `x` into `[min, max]` (either bound may be omitted).
 *
 * @param x The input.
 * @param options The bounds; either may be omitted.
 * @returns A tensor of `x`'s shape.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [4]);
 * const y = ops.clip(x, { min: -1, max: 1 });
 * console.log(y.shape); // [4]
 * ```
 */
export function clip(x: Tensor, options: ClipOptions): Tensor {
  const g = x.graph;
  const lo = options.min === undefined ? null : g.scalar(options.min, x.dtype);
  const hi = options.max === undefined ? null : g.scalar(options.max, x.dtype);
  return g.addNode("Clip", [x, lo, hi], [{ dtype: x.dtype, shape: x.shape }])[0];
}

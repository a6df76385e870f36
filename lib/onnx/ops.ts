/**
 * ONNX operators over symbolic tensors, each with shape inference and a
 * readable error on bad shapes. Only operators that ONNX Runtime's WebGPU
 * execution provider runs on the GPU are offered for train programs (the
 * webgpu backend refuses programs that would fall back to the CPU; README,
 * "Backends"); `shape` and the dynamic-batch path of `expandToBatch` exist
 * for inference export only.
 *
 * @module
 */

import { type AttributeValue, ONNX_DTYPE } from "./proto.ts";
import { type DType, formatShape, type Shape, sizeOf, type Tensor } from "./graph.ts";

function fail(op: string, message: string, ...tensors: Tensor[]): never {
  const detail = tensors.length ? ` (inputs: ${tensors.map(String).join(", ")})` : "";
  throw new Error(`${op}: ${message}${detail}`);
}

function ints(value: readonly number[]): AttributeValue {
  return { type: "ints", value };
}
function int(value: number): AttributeValue {
  return { type: "int", value };
}
function float(value: number): AttributeValue {
  return { type: "float", value };
}

function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) fail(op, `axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/**
 * Normalize (possibly negative) axes against `rank`, sorted ascending.
 *
 * @param op The operator name used in errors.
 * @param axes The axes, possibly negative.
 * @param rank The rank they index.
 * @returns The axes in `[0, rank)`, ascending; throws when one is out of range or listed twice.
 *
 * @example Usage
 * ```ts ignore
 * import { ops } from "@medtune/medtune/engine";
 *
 * console.log(ops.normAxes("ReduceSum", [-1, 0], 3)); // [0, 2]
 * ```
 */
export function normAxes(op: string, axes: readonly number[], rank: number): number[] {
  const out = axes.map((a) => normAxis(op, a, rank)).sort((a, b) => a - b);
  for (let i = 1; i < out.length; i++) {
    if (out[i] === out[i - 1]) fail(op, `axis ${out[i]} is listed twice`);
  }
  return out;
}

/**
 * Numpy-style broadcast of two shapes; throws naming `op` when incompatible.
 *
 * @param op The operator name used in errors.
 * @param a The first shape.
 * @param b The second shape.
 * @returns The broadcast shape; throws naming `op` when the shapes do not broadcast.
 *
 * @example Usage
 * ```ts ignore
 * import { ops } from "@medtune/medtune/engine";
 *
 * console.log(ops.broadcastShapes("Add", [2, 1, 4], [3, 1])); // [2, 3, 4]
 * ```
 */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      fail(op, `shapes ${formatShape(a)} and ${formatShape(b)} do not broadcast`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

function sameDtype(op: string, ...ts: Tensor[]): DType {
  for (const t of ts) {
    if (t.dtype !== ts[0].dtype) fail(op, "inputs must have the same dtype", ...ts);
  }
  return ts[0].dtype;
}

function floatOnly(op: string, x: Tensor): void {
  if (x.dtype !== "float32") fail(op, "expects a float32 input", x);
}

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

function unary(op: string, x: Tensor, attrs: Record<string, AttributeValue> = {}): Tensor {
  return x.graph.addNode(op, [x], [{ dtype: x.dtype, shape: x.shape }], attrs)[0];
}

/** `a` or a scalar constant of `like`'s graph and dtype. */
function lift(like: Tensor, v: Tensor | number): Tensor {
  return typeof v === "number" ? like.graph.scalar(v, like.dtype) : v;
}

// ---------------------------------------------------------------- elementwise

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

// --------------------------------------------------------------- linear algebra

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

// ---------------------------------------------------------------- convolution

/** Window options of convolutions and pools (2-D). */
export interface WindowOptions {
  /** Strides `[sh, sw]` (default 1). */
  strides?: readonly number[];
  /** Pads `[top, left, bottom, right]` (default 0). */
  pads?: readonly number[];
  /** Dilations `[dh, dw]` (default 1). */
  dilations?: readonly number[];
}

/** Options of {@linkcode conv}. */
export interface ConvOptions extends WindowOptions {
  /** Number of groups (default 1; = channels for depthwise). */
  group?: number;
}

/** Resolved 2-D window parameters. */
export interface Window2d {
  /** Strides. */
  strides: [number, number];
  /** Pads `[top, left, bottom, right]`. */
  pads: [number, number, number, number];
  /** Dilations. */
  dilations: [number, number];
}

/**
 * Fill in window defaults.
 *
 * @param options Strides, pads and dilations, any omitted.
 * @returns The window with defaults filled in (1, 0, 1).
 *
 * @example Usage
 * ```ts ignore
 * import { ops } from "@medtune/medtune/engine";
 *
 * console.log(ops.window2d({ strides: [2, 2] }).pads); // [0, 0, 0, 0]
 * ```
 */
export function window2d(options: WindowOptions): Window2d {
  const s = options.strides ?? [1, 1];
  const p = options.pads ?? [0, 0, 0, 0];
  const d = options.dilations ?? [1, 1];
  return { strides: [s[0], s[1]], pads: [p[0], p[1], p[2], p[3]], dilations: [d[0], d[1]] };
}

/** Output length of a window op along one axis (floor mode). */
function windowOut(size: number, k: number, s: number, p0: number, p1: number, d: number): number {
  return Math.floor((size + p0 + p1 - d * (k - 1) - 1) / s) + 1;
}

/**
 * 2-D convolution: X `[N, C, H, W]`, W `[M, C/group, kH, kW]`, optional bias `[M]`.
 *
 * @param x The input `[N, C, H, W]`.
 * @param w The weight `[M, C/group, kH, kW]`.
 * @param bias The bias `[M]`, or null.
 * @param options Strides, pads, dilations and group.
 * @returns The output `[N, M, OH, OW]`.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [1, 3, 28, 28]);
 * const w = g.input("w", "float32", [8, 3, 3, 3]);
 * const y = ops.conv(x, w, null, { strides: [2, 2], pads: [1, 1, 1, 1] });
 * console.log(y.shape); // [1, 8, 14, 14]
 * ```
 */
export function conv(x: Tensor, w: Tensor, bias: Tensor | null, options: ConvOptions = {}): Tensor {
  const op = "Conv";
  if (x.rank !== 4 || w.rank !== 4) fail(op, "expects 4-D input and weight", x, w);
  const group = options.group ?? 1;
  const { strides, pads, dilations } = window2d(options);
  const [n, c, h, wd] = x.shape;
  const [m, cg, kh, kw] = w.shape;
  if (c !== cg * group) {
    fail(op, `input has ${c} channels but weight expects ${cg} x group ${group}`, x, w);
  }
  if (m % group !== 0) fail(op, `${m} output channels are not divisible by group ${group}`, w);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== m)) fail(op, `bias must be [${m}]`, bias);
  const oh = windowOut(h, kh, strides[0], pads[0], pads[2], dilations[0]);
  const ow = windowOut(wd, kw, strides[1], pads[1], pads[3], dilations[1]);
  if (oh < 1 || ow < 1) fail(op, "the kernel is larger than the padded input", x, w);
  const attrs: Record<string, AttributeValue> = {
    kernel_shape: ints([kh, kw]),
    strides: ints(strides),
    pads: ints(pads),
    dilations: ints(dilations),
  };
  if (group !== 1) attrs.group = int(group);
  const inputs = bias ? [x, w, bias] : [x, w];
  return x.graph.addNode(op, inputs, [{ dtype: x.dtype, shape: [n, m, oh, ow] }], attrs)[0];
}

/** Options of {@linkcode convTranspose}. */
export interface ConvTransposeOptions extends ConvOptions {
  /** Extra rows/columns at the bottom/right of the output. */
  outputPadding?: readonly number[];
}

/**
 * 2-D transposed convolution: X `[N, C, H, W]`, W `[C, M/group, kH, kW]`.
 *
 * @param x The input `[N, C, H, W]`.
 * @param w The weight `[C, M/group, kH, kW]`.
 * @param bias The bias `[M]`, or null.
 * @param options Strides, pads, dilations, group and output padding.
 * @returns The output `[N, M, OH, OW]`.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [1, 8, 14, 14]);
 * const w = g.input("w", "float32", [8, 3, 3, 3]);
 * const y = ops.convTranspose(x, w, null, {
 *   strides: [2, 2],
 *   pads: [1, 1, 1, 1],
 *   outputPadding: [1, 1],
 * });
 * console.log(y.shape); // [1, 3, 28, 28]
 * ```
 */
export function convTranspose(
  x: Tensor,
  w: Tensor,
  bias: Tensor | null,
  options: ConvTransposeOptions = {},
): Tensor {
  const op = "ConvTranspose";
  if (x.rank !== 4 || w.rank !== 4) fail(op, "expects 4-D input and weight", x, w);
  const group = options.group ?? 1;
  const { strides, pads, dilations } = window2d(options);
  const outPad = options.outputPadding ?? [0, 0];
  const [n, c, h, wd] = x.shape;
  const [cw, mg, kh, kw] = w.shape;
  if (c !== cw) fail(op, `input has ${c} channels but weight has ${cw}`, x, w);
  const oh = strides[0] * (h - 1) + outPad[0] + dilations[0] * (kh - 1) + 1 - pads[0] - pads[2];
  const ow = strides[1] * (wd - 1) + outPad[1] + dilations[1] * (kw - 1) + 1 - pads[1] - pads[3];
  const attrs: Record<string, AttributeValue> = {
    kernel_shape: ints([kh, kw]),
    strides: ints(strides),
    pads: ints(pads),
    dilations: ints(dilations),
  };
  if (group !== 1) attrs.group = int(group);
  if (outPad[0] || outPad[1]) attrs.output_padding = ints(outPad);
  const inputs = bias ? [x, w, bias] : [x, w];
  return x.graph.addNode(
    op,
    inputs,
    [{ dtype: x.dtype, shape: [n, mg * group, oh, ow] }],
    attrs,
  )[0];
}

/** Options of the 2-D pools. */
export interface PoolOptions extends WindowOptions {
  /** Kernel `[kH, kW]`. */
  kernel: readonly number[];
}

function pool(op: string, x: Tensor, options: PoolOptions, extra: Record<string, AttributeValue>) {
  if (x.rank !== 4) fail(op, "expects a 4-D input", x);
  const { strides, pads, dilations } = window2d(options);
  const [kh, kw] = options.kernel;
  const [n, c, h, w] = x.shape;
  const oh = windowOut(h, kh, strides[0], pads[0], pads[2], dilations[0]);
  const ow = windowOut(w, kw, strides[1], pads[1], pads[3], dilations[1]);
  if (oh < 1 || ow < 1) {
    fail(op, `kernel ${formatShape(options.kernel)} is larger than the input`, x);
  }
  const attrs: Record<string, AttributeValue> = {
    kernel_shape: ints([kh, kw]),
    strides: ints(strides),
    pads: ints(pads),
    ...extra,
  };
  if (dilations[0] !== 1 || dilations[1] !== 1) attrs.dilations = ints(dilations);
  return x.graph.addNode(op, [x], [{ dtype: x.dtype, shape: [n, c, oh, ow] }], attrs)[0];
}

/**
 * 2-D max pooling (floor mode, no indices output).
 *
 * @param x The input `[N, C, H, W]`.
 * @param options Kernel, strides, pads and dilations.
 * @returns The pooled `[N, C, OH, OW]`.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [1, 8, 28, 28]);
 * const y = ops.maxPool(x, { kernel: [2, 2], strides: [2, 2] });
 * console.log(y.shape); // [1, 8, 14, 14]
 * ```
 */
export function maxPool(x: Tensor, options: PoolOptions): Tensor {
  return pool("MaxPool", x, options, {});
}

/** Options of {@linkcode averagePool}. */
export interface AveragePoolOptions extends PoolOptions {
  /** Count padded cells in the divisor (default false). */
  countIncludePad?: boolean;
}

/**
 * 2-D average pooling; padded cells count in the divisor only when `countIncludePad`.
 *
 * @param x The input `[N, C, H, W]`.
 * @param options Kernel, strides, pads, dilations and `countIncludePad`.
 * @returns The pooled `[N, C, OH, OW]`.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [1, 8, 28, 28]);
 * const y = ops.averagePool(x, { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
 * console.log(y.shape); // [1, 8, 14, 14]
 * ```
 */
export function averagePool(
  x: Tensor,
  options: AveragePoolOptions,
): Tensor {
  const extra: Record<string, AttributeValue> = options.countIncludePad
    ? { count_include_pad: int(1) }
    : {};
  return pool("AveragePool", x, options, extra);
}

/**
 * Mean over the spatial dimensions: `[N, C, H, W]` → `[N, C, 1, 1]`.
 *
 * @param x The input `[N, C, H, W]`.
 * @returns The means `[N, C, 1, 1]`.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [2, 8, 7, 7]);
 * console.log(ops.globalAveragePool(x).shape); // [2, 8, 1, 1]
 * ```
 */
export function globalAveragePool(x: Tensor): Tensor {
  if (x.rank !== 4) fail("GlobalAveragePool", "expects a 4-D input", x);
  const [n, c] = x.shape;
  return x.graph.addNode("GlobalAveragePool", [x], [{ dtype: x.dtype, shape: [n, c, 1, 1] }])[0];
}

// ----------------------------------------------------------------- reductions

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

// ---------------------------------------------------------------------- shape

/**
 * Reshape to `shape` (one entry may be -1). Encodes a leading 0 ("copy") when the first dimension
 * is kept, so the graph also runs with a dynamic batch.
 *
 * @param x The input.
 * @param shape The new shape, of the same size; one entry may be -1 (inferred).
 * @returns `x` itself when the shape is unchanged, else a Reshape of it.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [2, 3, 4]);
 * console.log(ops.reshape(x, [2, -1]).shape); // [2, 12]
 * ```
 */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const op = "Reshape";
  const out = [...shape];
  const unknown = out.indexOf(-1);
  if (unknown >= 0) {
    if (out.indexOf(-1, unknown + 1) >= 0) fail(op, "at most one dimension may be -1", x);
    const known = sizeOf(out.filter((d) => d !== -1));
    if (known === 0 || x.size % known !== 0) {
      fail(op, `cannot reshape to ${formatShape(shape)}`, x);
    }
    out[unknown] = x.size / known;
  }
  if (sizeOf(out) !== x.size) fail(op, `cannot reshape to ${formatShape(shape)}`, x);
  if (formatShape(out) === formatShape(x.shape)) return x;
  const encoded = [...out];
  if (x.rank > 0 && out.length > 0) {
    if (out[0] === x.shape[0]) encoded[0] = 0;
    // Batch merged or split: with a dynamic batch, let ONNX infer the leading dimension.
    else if (x.graph.dynamicBatch && sizeOf(out.slice(1)) > 0) encoded[0] = -1;
  }
  return x.graph.addNode(op, [x, x.graph.int64s(encoded)], [{ dtype: x.dtype, shape: out }])[0];
}

/**
 * Flatten to 2-D: dimensions before `axis` become the rows.
 *
 * @param x The input.
 * @param axis The first axis folded into the columns (default 1).
 * @returns A 2-D tensor.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [2, 3, 4]);
 * console.log(ops.flatten(x).shape); // [2, 12]
 * ```
 */
export function flatten(x: Tensor, axis = 1): Tensor {
  const a = axis < 0 ? axis + x.rank : axis;
  const rows = sizeOf(x.shape.slice(0, a));
  return x.graph.addNode("Flatten", [x], [{ dtype: x.dtype, shape: [rows, x.size / rows] }], {
    axis: int(a),
  })[0];
}

/**
 * Permute the axes.
 *
 * @param x The input.
 * @param perm Output axis `i` is input axis `perm[i]`.
 * @returns `x` itself for the identity permutation, else a Transpose of it.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [2, 3, 4]);
 * console.log(ops.transpose(x, [2, 0, 1]).shape); // [4, 2, 3]
 * ```
 */
export function transpose(x: Tensor, perm: readonly number[]): Tensor {
  if (perm.length !== x.rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    fail("Transpose", `perm ${formatShape(perm)} is not a permutation of ${x.rank} axes`, x);
  }
  if (perm.every((p, i) => p === i)) return x;
  const shape = perm.map((p) => x.shape[p]);
  return x.graph.addNode("Transpose", [x], [{ dtype: x.dtype, shape }], { perm: ints(perm) })[0];
}

/**
 * Remove size-1 `axes`.
 *
 * @param x The input.
 * @param axes The size-1 axes to remove.
 * @returns The tensor without those axes.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [2, 1, 4]);
 * console.log(ops.squeeze(x, [1]).shape); // [2, 4]
 * ```
 */
export function squeeze(x: Tensor, axes: readonly number[]): Tensor {
  const ax = normAxes("Squeeze", axes, x.rank);
  for (const a of ax) if (x.shape[a] !== 1) fail("Squeeze", `axis ${a} has size ${x.shape[a]}`, x);
  const shape = x.shape.filter((_, i) => !ax.includes(i));
  return x.graph.addNode("Squeeze", [x, x.graph.int64s(ax)], [{ dtype: x.dtype, shape }])[0];
}

/**
 * Insert size-1 `axes` (positions in the output).
 *
 * @param x The input.
 * @param axes Where the new size-1 axes go, as positions in the output.
 * @returns The tensor with those axes added.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [2, 4]);
 * console.log(ops.unsqueeze(x, [0, 2]).shape); // [1, 2, 1, 4]
 * ```
 */
export function unsqueeze(x: Tensor, axes: readonly number[]): Tensor {
  const rank = x.rank + axes.length;
  const ax = normAxes("Unsqueeze", axes, rank);
  const shape: number[] = [];
  let j = 0;
  for (let i = 0; i < rank; i++) shape.push(ax.includes(i) ? 1 : x.shape[j++]);
  return x.graph.addNode("Unsqueeze", [x, x.graph.int64s(ax)], [{ dtype: x.dtype, shape }])[0];
}

/** Normalized slice parameters (positive starts/ends, step 1 only). */
export interface SliceSpec {
  /** Axes sliced. */
  axes: number[];
  /** Start per axis. */
  starts: number[];
  /** End per axis (exclusive). */
  ends: number[];
}

/**
 * `x[starts:ends]` along `axes` (step 1); negative indices count from the end.
 *
 * @param x The input.
 * @param starts The first index per axis.
 * @param ends One past the last index per axis (clamped to the size).
 * @param axes The sliced axes (default `0, 1, …`).
 * @returns `x` itself when nothing is cut, else a Slice of it.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [4, 6]);
 * console.log(ops.slice(x, [1, -4], [3, 5], [0, 1]).shape); // [2, 3]
 * ```
 */
export function slice(
  x: Tensor,
  starts: readonly number[],
  ends: readonly number[],
  axes?: readonly number[],
): Tensor {
  const spec = normSlice(x, starts, ends, axes);
  const shape = [...x.shape];
  spec.axes.forEach((a, i) => (shape[a] = spec.ends[i] - spec.starts[i]));
  if (formatShape(shape) === formatShape(x.shape)) return x;
  const g = x.graph;
  return g.addNode(
    "Slice",
    [x, g.int64s(spec.starts), g.int64s(spec.ends), g.int64s(spec.axes)],
    [{ dtype: x.dtype, shape }],
  )[0];
}

/**
 * Reverse `x` along `axes` (a Slice with step -1; not differentiable: for backward graphs).
 *
 * @param x The input.
 * @param axes The axes to reverse.
 * @returns A tensor of `x`'s shape.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const w = g.input("w", "float32", [8, 3, 3, 3]);
 * const flipped = ops.reverse(w, [2, 3]);
 * console.log(flipped.shape); // [8, 3, 3, 3]
 * ```
 */
export function reverse(x: Tensor, axes: readonly number[]): Tensor {
  const ax = axes.map((a) => normAxis("Slice", a, x.rank)).filter((a) => x.shape[a] > 1);
  if (ax.length === 0) return x;
  const g = x.graph;
  return g.addNode(
    "Slice",
    [
      x,
      g.int64s(ax.map(() => -1)),
      g.int64s(ax.map((a) => -(x.shape[a] + 1))),
      g.int64s(ax),
      g.int64s(ax.map(() => -1)),
    ],
    [{ dtype: x.dtype, shape: x.shape }],
  )[0];
}

/**
 * Resolve slice bounds against `x`'s shape (clamped as ONNX does).
 *
 * @param x The tensor sliced.
 * @param starts The first index per axis.
 * @param ends One past the last index per axis.
 * @param axes The sliced axes (default `0, 1, …`).
 * @returns Non-negative axes, starts and ends, clamped to `x`'s shape.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [4, 6]);
 * console.log(ops.normSlice(x, [-2], [99], [1]).starts); // [4]
 * ```
 */
export function normSlice(
  x: Tensor,
  starts: readonly number[],
  ends: readonly number[],
  axes?: readonly number[],
): SliceSpec {
  const ax = (axes ?? starts.map((_, i) => i)).map((a) => normAxis("Slice", a, x.rank));
  if (starts.length !== ax.length || ends.length !== ax.length) {
    fail("Slice", "starts, ends and axes must have the same length", x);
  }
  const clampIdx = (v: number, d: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
  const s = ax.map((a, i) => clampIdx(starts[i], x.shape[a]));
  const e = ax.map((a, i) => Math.max(clampIdx(ends[i], x.shape[a]), s[i]));
  return { axes: ax, starts: s, ends: e };
}

/**
 * Join tensors along `axis`.
 *
 * @param xs The tensors, equal in shape outside `axis`.
 * @param axis The axis to join along.
 * @returns The joined tensor (the input itself when there is one).
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const a = g.input("a", "float32", [2, 3]);
 * const b = g.input("b", "float32", [2, 1]);
 * console.log(ops.concat([a, b], 1).shape); // [2, 4]
 * ```
 */
export function concat(xs: readonly Tensor[], axis: number): Tensor {
  if (xs.length === 0) fail("Concat", "needs at least one input");
  if (xs.length === 1) return xs[0];
  const dtype = sameDtype("Concat", ...xs);
  const a = normAxis("Concat", axis, xs[0].rank);
  const shape = [...xs[0].shape];
  shape[a] = 0;
  for (const t of xs) {
    if (t.rank !== xs[0].rank || t.shape.some((d, i) => i !== a && d !== xs[0].shape[i])) {
      fail("Concat", `shapes disagree outside axis ${a}`, ...xs);
    }
    shape[a] += t.shape[a];
  }
  return xs[0].graph.addNode("Concat", xs, [{ dtype, shape }], { axis: int(a) })[0];
}

/**
 * Broadcast `x` to `shape`.
 *
 * @param x The input.
 * @param shape The shape to broadcast to.
 * @returns `x` itself when it has that shape already, else an Expand of it.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [3, 1]);
 * console.log(ops.expand(x, [2, 3, 4]).shape); // [2, 3, 4]
 * ```
 */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const out = broadcastShapes("Expand", x.shape, shape);
  if (formatShape(out) === formatShape(x.shape)) return x;
  return x.graph.addNode("Expand", [x, x.graph.int64s(shape)], [{ dtype: x.dtype, shape: out }])[0];
}

/**
 * Broadcast `x` (leading dimension 1) to `like`'s batch size. With a dynamic batch the size is
 * read at run time (Shape → Slice → Concat → Expand).
 *
 * @param x A tensor with leading dimension 1 (e.g. a class token).
 * @param like The tensor whose batch size to take.
 * @returns `x` broadcast along its first axis.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const tokens = g.input("tokens", "float32", [8, 196, 192]);
 * const cls = g.input("cls", "float32", [1, 1, 192]);
 * console.log(ops.expandToBatch(cls, tokens).shape); // [8, 1, 192]
 * ```
 */
export function expandToBatch(x: Tensor, like: Tensor): Tensor {
  const target = [like.shape[0], ...x.shape.slice(1)];
  if (!x.graph.dynamicBatch) return expand(x, target);
  const g = x.graph;
  const shp = g.addNode("Shape", [like], [{ dtype: "int64", shape: [like.rank] }])[0];
  const n = g.addNode(
    "Slice",
    [shp, g.int64s([0]), g.int64s([1]), g.int64s([0])],
    [{ dtype: "int64", shape: [1] }],
  )[0];
  const full = concat([n, g.int64s(x.shape.slice(1))], 0);
  return g.addNode("Expand", [x, full], [{ dtype: x.dtype, shape: target }])[0];
}

/**
 * Take entries of `x` along `axis` at `indices` (int32 or int64).
 *
 * @param x The input.
 * @param indices The indices (int32 or int64) of entries along `axis`.
 * @param axis The axis to index (default 0).
 * @returns `x` with `axis` replaced by the shape of `indices`.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const table = g.input("table", "float32", [10, 4]);
 * const rows = ops.gather(table, g.constant(Int32Array.of(2, 0, 2), [3]));
 * console.log(rows.shape); // [3, 4]
 * ```
 */
export function gather(x: Tensor, indices: Tensor, axis = 0): Tensor {
  const a = normAxis("Gather", axis, x.rank);
  if (indices.dtype !== "int32" && indices.dtype !== "int64") {
    fail("Gather", "indices must be int32 or int64", indices);
  }
  const shape = [...x.shape.slice(0, a), ...indices.shape, ...x.shape.slice(a + 1)];
  return x.graph.addNode("Gather", [x, indices], [{ dtype: x.dtype, shape }], { axis: int(a) })[0];
}

/** Options of {@linkcode scatterElements}. */
export interface ScatterElementsOptions {
  /** The axis that `indices` index (default 0). */
  axis?: number;
  /** `add` sums updates that land on one element; `none` (default) overwrites. */
  reduction?: "none" | "add";
}

/**
 * Scatter `updates` into `data` at `indices` along `axis`, with an optional reduction.
 *
 * @param data The tensor written into.
 * @param indices Where each update goes along the axis (the shape of `updates`).
 * @param updates The values written.
 * @param options The axis (default 0) and the reduction (`add` sums repeated indices).
 * @returns A copy of `data` with the updates applied.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const zeros = ops.full(g.input("like", "float32", [1]), [4], 0);
 * const idx = g.constant(Int32Array.of(1, 1), [2]);
 * const upd = g.input("u", "float32", [2]);
 * const y = ops.scatterElements(zeros, idx, upd, { reduction: "add" });
 * console.log(y.shape); // [4]
 * ```
 */
export function scatterElements(
  data: Tensor,
  indices: Tensor,
  updates: Tensor,
  options: ScatterElementsOptions = {},
): Tensor {
  const a = normAxis("ScatterElements", options.axis ?? 0, data.rank);
  if (formatShape(indices.shape) !== formatShape(updates.shape)) {
    fail("ScatterElements", "indices and updates must have the same shape", indices, updates);
  }
  const attrs: Record<string, AttributeValue> = { axis: int(a) };
  if (options.reduction && options.reduction !== "none") {
    attrs.reduction = { type: "string", value: options.reduction };
  }
  return data.graph.addNode("ScatterElements", [data, indices, updates], [
    { dtype: data.dtype, shape: data.shape },
  ], attrs)[0];
}

/**
 * Constant-pad `x`: `pads` is `[begin_0, …, begin_r, end_0, …, end_r]` (non-negative).
 *
 * @param x The input.
 * @param pads `[begin_0, …, begin_r, end_0, …, end_r]`, non-negative.
 * @param value The fill value (default 0).
 * @returns `x` itself when no pad is set, else the padded tensor.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [2, 3]);
 * console.log(ops.pad(x, [1, 0, 0, 2]).shape); // [3, 5]
 * ```
 */
export function pad(x: Tensor, pads: readonly number[], value = 0): Tensor {
  if (pads.length !== 2 * x.rank) fail("Pad", `pads needs ${2 * x.rank} entries`, x);
  if (pads.some((p) => p < 0)) fail("Pad", "negative pads are not supported; use slice", x);
  if (pads.every((p) => p === 0)) return x;
  const shape = x.shape.map((d, i) => d + pads[i] + pads[i + x.rank]);
  const g = x.graph;
  return g.addNode("Pad", [x, g.int64s(pads), g.scalar(value, x.dtype)], [
    { dtype: x.dtype, shape },
  ], { mode: { type: "string", value: "constant" } })[0];
}

/**
 * A tensor of `shape` filled with `value` (a broadcast scalar, not a stored constant).
 *
 * @param like A tensor whose graph and dtype the result takes.
 * @param shape The result's shape.
 * @param value The fill value.
 * @returns An Expand of a scalar constant.
 *
 * @example Usage
 * ```ts ignore
 * import { Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [2, 3]);
 * console.log(ops.full(x, [4, 4], 1).shape); // [4, 4]
 * ```
 */
export function full(like: Tensor, shape: readonly number[], value: number): Tensor {
  return expand(like.graph.scalar(value, like.dtype), shape);
}

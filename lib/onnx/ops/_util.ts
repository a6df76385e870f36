/**
 * Helpers shared by the op modules: errors naming the op, attribute
 * constructors, axis and dtype checks, broadcasting.
 *
 * @module
 */

import { type DType, formatShape, type Shape, type Tensor } from "../graph.ts";
import type { AttributeValue } from "../proto.ts";

/** Throw `op: message (inputs: …)`. */
export function fail(op: string, message: string, ...tensors: Tensor[]): never {
  const detail = tensors.length ? ` (inputs: ${tensors.map(String).join(", ")})` : "";
  throw new Error(`${op}: ${message}${detail}`);
}

/** An `ints` attribute. */
export function ints(value: readonly number[]): AttributeValue {
  return { type: "ints", value };
}
/** An `int` attribute. */
export function int(value: number): AttributeValue {
  return { type: "int", value };
}
/** A `float` attribute. */
export function float(value: number): AttributeValue {
  return { type: "float", value };
}

/** One axis normalized against `rank` (throws naming `op` when out of range). */
export function normAxis(op: string, axis: number, rank: number): number {
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

/** The common dtype of `ts` (throws naming `op` when they differ). */
export function sameDtype(op: string, ...ts: Tensor[]): DType {
  for (const t of ts) {
    if (t.dtype !== ts[0].dtype) fail(op, "inputs must have the same dtype", ...ts);
  }
  return ts[0].dtype;
}

/** Throw unless `x` is float32. */
export function floatOnly(op: string, x: Tensor): void {
  if (x.dtype !== "float32") fail(op, "expects a float32 input", x);
}

/** A one-input node with `x`'s dtype and shape. */
export function unary(op: string, x: Tensor, attrs: Record<string, AttributeValue> = {}): Tensor {
  return x.graph.addNode(op, [x], [{ dtype: x.dtype, shape: x.shape }], attrs)[0];
}

/** `a` or a scalar constant of `like`'s graph and dtype. */
export function lift(like: Tensor, v: Tensor | number): Tensor {
  return typeof v === "number" ? like.graph.scalar(v, like.dtype) : v;
}

/**
 * Shape, indexing and padding ops (part of `lib/onnx/ops.ts`).
 *
 * @module
 */

import { formatShape, sizeOf, type Tensor } from "../graph.ts";
import type { AttributeValue } from "../proto.ts";
import { broadcastShapes, fail, int, ints, normAxes, normAxis, sameDtype } from "./_util.ts";

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
 * The tensor that `t` is {@linkcode reverse} of along `axes` (the Slice that
 * `reverse` writes), else undefined: a graph rewrite can then reverse
 * something cheaper than `t` instead.
 *
 * @param t A tensor of some graph.
 * @param axes The axes `reverse` was given.
 * @returns The reversed tensor, or undefined when `t` is not that reversal.
 */
export function reversedFrom(t: Tensor, axes: readonly number[]): Tensor | undefined {
  const node = t.graph.producer(t);
  const x = node?.inputs[0];
  if (node?.op !== "Slice" || node.domain || !x || node.inputs.length !== 5) return undefined;
  const ax = axes.map((a) => normAxis("Slice", a, x.rank)).filter((a) => x.shape[a] > 1);
  const want = [ax.map(() => -1), ax.map((a) => -(x.shape[a] + 1)), ax, ax.map(() => -1)];
  const same = node.inputs.slice(1).every((input, i) => {
    const data = input ? t.graph.constants.get(input) : undefined;
    return data instanceof BigInt64Array && Array.from(data, Number).join() === want[i].join();
  });
  return ax.length && same ? x : undefined;
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

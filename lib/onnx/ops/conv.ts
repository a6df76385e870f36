/**
 * Convolutions and 2-D pooling (part of `lib/onnx/ops.ts`).
 *
 * @module
 */

import { formatShape, type Tensor } from "../graph.ts";
import type { AttributeValue } from "../proto.ts";
import { fail, int, ints } from "./_util.ts";

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

/** The attributes Conv and ConvTranspose share: kernel, window and group. */
function convAttributes(
  kernel: readonly number[],
  window: Window2d,
  group: number,
): Record<string, AttributeValue> {
  const attrs: Record<string, AttributeValue> = {
    kernel_shape: ints(kernel),
    strides: ints(window.strides),
    pads: ints(window.pads),
    dilations: ints(window.dilations),
  };
  if (group !== 1) attrs.group = int(group);
  return attrs;
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
  const attrs = convAttributes([kh, kw], { strides, pads, dilations }, group);
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
  const attrs = convAttributes([kh, kw], { strides, pads, dilations }, group);
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

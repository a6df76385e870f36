/**
 * A strided ConvTranspose on a small input map (a strided conv's input
 * gradient at ResNet's last two stages) as one GEMM per kernel tap over the
 * whole batch, for the cpu backend's lowering.
 *
 * onnxruntime's CPU ConvTranspose runs per image: `Wᵀ · dY[n]`, a
 * `[C·K², M] × [M, L]` GEMM with only L (≤ 49 here) columns, then col2im.
 * At ResNet-18's 4×4 maps that ran at 60 GFLOP/s where the per-tap GEMMs of
 * the forward convs run at 100. Here each tap `(ky, kx)` is one
 * `[N·rows·cols, M] × [M, C]` GEMM on the NHWC rows of dY whose tap lands
 * inside the output; output index `i = o·s + k − p` puts the product in
 * phase `(i + p) mod s` at position `⌊(i + p)/s⌋`, so each phase is a sum of
 * zero-padded products and the phases interleave into the output (16-float
 * blocks and larger: whole channel rows in NHWC).
 *
 * @module
 */

import type { Graph, Node, Tensor } from "../onnx/graph.ts";
import { attrInts } from "../autodiff/vjp.ts";
import { add, concat, expandToBatch, matmul, pad, reshape, slice, transpose } from "../onnx/ops.ts";

/**
 * Input maps of at most this many positions take the per-tap form. Per-node
 * profile of the ResNet-18 training step (28 px, batch 32, 1 thread): at
 * 4×4 → 7×7 (512 → 256 channels) 20.3 ms as ConvTranspose against about 11
 * per tap, at 7×7 → 14×14 14.0 against about 12; at 14×14 → 28×28 the
 * per-tap form lost (16 against 13.8 with its 1×1 shortcut).
 */
export const TAP_TRANSPOSE_MAX_POSITIONS = 49;

/**
 * Whether `node` is a ConvTranspose the per-tap form computes: 2-D, group 1,
 * no dilation, explicit pads, a non-constant weight and an input map of at
 * most {@linkcode TAP_TRANSPOSE_MAX_POSITIONS} positions.
 */
export function transposeTakesTaps(graph: Graph, node: Node): boolean {
  if (node.op !== "ConvTranspose" || node.domain) return false;
  const [x, w, b] = node.inputs;
  if (!x || !w || x.rank !== 4 || w.rank !== 4 || graph.constants.has(w)) return false;
  if (b && graph.constants.has(b)) return false;
  const group = node.attrs.group;
  if (group?.type === "int" && group.value !== 1) return false;
  const autoPad = node.attrs.auto_pad;
  if (autoPad?.type === "string" && autoPad.value !== "NOTSET") return false;
  if (!attrInts(node, "dilations", [1, 1]).every((d) => d === 1)) return false;
  return x.shape[2] * x.shape[3] <= TAP_TRANSPOSE_MAX_POSITIONS;
}

/** What {@linkcode convTransposeAsTapGemms} needs of one node, its rewritten inputs and weight taps. */
export interface TapTranspose {
  /** The source ConvTranspose node (strides, pads; its output's shape). */
  node: Node;
  /** dY `[N, M, H, W]` in the graph being built. */
  x: Tensor;
  /** The weight `[M, C, kh, kw]` in the graph being built. */
  w: Tensor;
  /** The bias `[C]`, if any. */
  b: Tensor | null;
  /** Tap `t` of the weight as `[M, C]` (`W[:, :, t / kw, t % kw]`), shared with other users. */
  tap: (t: number) => Tensor;
}

/** Where along one axis tap `k` lands: input positions `[lo, hi)`, phase `r`, first phase index `q0`. */
function tapSpan(
  size: number,
  out: number,
  k: number,
  stride: number,
  pad: number,
): { lo: number; hi: number; r: number; q0: number } {
  // Output index i = o·s + k − p must lie in [0, out).
  const lo = Math.max(0, Math.ceil((pad - k) / stride));
  const hi = Math.max(lo, Math.min(size, Math.floor((out - 1 + pad - k) / stride) + 1));
  return { lo, hi, r: k % stride, q0: lo + Math.floor(k / stride) };
}

/**
 * The ConvTranspose of {@linkcode transposeTakesTaps} as per-tap GEMMs,
 * summed per output phase and interleaved; returns the NCHW output.
 */
export function convTransposeAsTapGemms({ node, x, w, b, tap: taps }: TapTranspose): Tensor {
  const g = x.graph;
  const [n, m, ih, iw] = x.shape;
  const [, c, kh, kw] = w.shape;
  const [, , oh, ow] = node.outputs[0].shape;
  const [sy, sx] = attrInts(node, "strides", [1, 1]);
  const [py, px] = attrInts(node, "pads", [0, 0, 0, 0]);
  // Phase grids: u = i + p = s·q + r with q in [0, U).
  const uy = Math.ceil((oh + py) / sy), ux = Math.ceil((ow + px) / sx);
  const xt = transpose(x, [0, 2, 3, 1]); // [N, H, W, M]
  const parts: Tensor[][] = Array.from({ length: sy * sx }, () => []);
  for (let a = 0; a < kh; a++) {
    const rows = tapSpan(ih, oh, a, sy, py);
    for (let bb = 0; bb < kw; bb++) {
      const cols = tapSpan(iw, ow, bb, sx, px);
      const ny = rows.hi - rows.lo, nx = cols.hi - cols.lo;
      if (ny === 0 || nx === 0) continue;
      const inputs = reshape(
        slice(xt, [rows.lo, cols.lo], [rows.hi, cols.hi], [1, 2]),
        [n * ny * nx, m],
      );
      const tap = taps(a * kw + bb); // [M, C]
      const product = reshape(matmul(inputs, tap), [n, ny, nx, c]);
      parts[rows.r * sx + cols.r].push(
        pad(product, [0, rows.q0, cols.q0, 0, 0, uy - rows.q0 - ny, ux - cols.q0 - nx, 0]),
      );
    }
  }
  const phases = parts.map((p) => {
    if (p.length === 0) {
      return expandToBatch(g.constant(new Float32Array(uy * ux * c), [1, uy, ux, c]), x);
    }
    return p.length === 1
      ? p[0]
      : g.addNode("Sum", p, [{ dtype: "float32", shape: [n, uy, ux, c] }])[0];
  });
  // [N, U_y, s_y, U_x, s_x, C]: whole channel rows move, then the map is cropped to the output.
  const rowsOf = Array.from({ length: sy }, (_, ry) => {
    const cols = phases.slice(ry * sx, (ry + 1) * sx).map((p) => reshape(p, [n, uy, ux, 1, c]));
    return reshape(cols.length === 1 ? cols[0] : concat(cols, 3), [n, uy, 1, ux * sx * c]);
  });
  const grid = reshape(rowsOf.length === 1 ? rowsOf[0] : concat(rowsOf, 2), [
    n,
    uy * sy,
    ux * sx,
    c,
  ]);
  let y = slice(grid, [py, px], [py + oh, px + ow], [1, 2]);
  if (b) y = add(y, b);
  return transpose(y, [0, 3, 1, 2]);
}

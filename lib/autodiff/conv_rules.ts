/**
 * VJP rules of convolution and pooling, in plain ONNX ops that run on WebGPU
 * (each formulation is checked against finite differences, on cpu and wasm
 * and a subset on webgpu, by `tests/autodiff_rules_test.ts` and
 * `tests/webgpu_test.ts`):
 *
 * - Conv dX: `ConvTranspose(dY, W)` with the forward strides, pads, dilations
 *   and group, and `output_padding` for rows the forward pass left over; or,
 *   for stride-1 layers (`conv`), `Conv(dY, flip(Wᵀ))` with pads
 *   `d(K−1) − p`, which runs on the runtime's forward-conv kernels (on the
 *   cpu backend the blocked NCHWc ones).
 * - Conv dW, `dilated`: one Conv of `X^T` with `dY^T` as the kernel, strides
 *   and dilations swapped, sliced to the kernel size. Least memory (WebGPU).
 * - Conv dW, `im2col`: for stride 1, one GEMM per kernel tap of `dY` with
 *   the shifted X (no patch matrix); strided, patches by a Conv with one-hot
 *   kernels, then a batched MatMul with `dY`.
 * - Conv dW, `blocked` (the cpu backend): `im2col`, except on large maps the
 *   dilated form on an explicitly zero-padded X, which runs on onnxruntime's
 *   blocked NCHWc kernels (see {@linkcode dilatedDwPaysOff}).
 * - MaxPool: patches of the -inf padded input, first-max mask (CumSum), then
 *   ConvTranspose with the same one-hot kernels scatters the gradient back.
 *
 * @module
 */

import { type Graph, type Shape, sizeOf, type Tensor } from "../onnx/graph.ts";
import {
  cast,
  concat,
  conv,
  convTranspose,
  cumsum,
  equal,
  expand,
  matmul,
  mul,
  pad,
  reduceSum,
  reshape,
  reverse,
  slice,
  transpose,
  where,
} from "../onnx/ops.ts";
import { attrInt, attrInts, type Present, type VjpContext } from "./vjp.ts";
import { winogradFits, winogradWeightGrad } from "./winograd.ts";

interface WindowAttrs {
  kernel: [number, number];
  strides: [number, number];
  pads: [number, number, number, number];
  dilations: [number, number];
}

function windowAttrs(ctx: VjpContext): WindowAttrs {
  const k = attrInts(ctx.node, "kernel_shape", []);
  const s = attrInts(ctx.node, "strides", [1, 1]);
  const p = attrInts(ctx.node, "pads", [0, 0, 0, 0]);
  const d = attrInts(ctx.node, "dilations", [1, 1]);
  return {
    kernel: [k[0], k[1]],
    strides: [s[0], s[1]],
    pads: [p[0], p[1], p[2], p[3]],
    dilations: [d[0], d[1]],
  };
}

/**
 * One-hot kernels `[kh·kw, 1, kh, kw]` that copy each window position to its
 * own channel. Shared by value within the graph.
 */
export function eyeKernels(graph: Graph, kh: number, kw: number): Tensor {
  const kk = kh * kw;
  const data = new Float32Array(kk * kk);
  for (let i = 0; i < kk; i++) data[i * kk + i] = 1;
  return graph.sharedConstant(data, [kk, 1, kh, kw]);
}

/** Rows/columns of the (padded) input that the forward window never reached. */
function leftover(size: number, out: number, w: WindowAttrs, axis: 0 | 1): number {
  const p = w.pads[axis] + w.pads[axis + 2];
  return size + p - (w.strides[axis] * (out - 1) + w.dilations[axis] * (w.kernel[axis] - 1) + 1);
}

/** Gradient of Conv (group 1 or depthwise). */
export function convVjp(ctx: VjpContext<Present<2>>): (Tensor | null)[] {
  const [x, w, b] = ctx.inputs;
  const dy = ctx.dy;
  const group = attrInt(ctx.node, "group", 1);
  const [, c, h, wd] = x.shape;
  const [m, cg, kh, kw] = w.shape;
  const win = { ...windowAttrs(ctx), kernel: [kh, kw] as [number, number] };
  const [, , oh, ow] = dy.shape;
  const depthwise = group === c && cg === 1 && m === c;
  if (group !== 1 && !depthwise) {
    throw new Error(
      `gradient rule: Conv with group ${group} (${c} -> ${m} channels) is not supported; ` +
        `use group 1 or depthwise (group = channels = outputs)`,
    );
  }
  const outPad = [leftover(h, oh, win, 0), leftover(wd, ow, win, 1)];

  let dx: Tensor | null = null;
  const asConv = ctx.convInputGrad === "conv" && win.strides[0] === 1 && win.strides[1] === 1 &&
    win.pads.every((p, i) => p <= win.dilations[i % 2] * (win.kernel[i % 2] - 1));
  if (ctx.needs[0] && asConv) {
    // Stride 1: dX[c] = Σ_m dY[m] ⋆ W[m, c] correlated with the kernel flipped,
    // padded so the output regains the input's size (no rows are left over).
    const flipped = reverse(w, [2, 3]);
    const wT = depthwise ? flipped : transpose(flipped, [1, 0, 2, 3]); // [C, M, kh, kw]
    dx = conv(dy, wT, null, {
      dilations: win.dilations,
      pads: win.pads.map((p, i) => win.dilations[i % 2] * (win.kernel[i % 2] - 1) - p),
      group,
    });
  } else if (
    ctx.needs[0] && depthwise && ctx.convWeightGrad !== "dilated" &&
    h * wd * oh * ow <= DEPTHWISE_PAIRS_MAX
  ) {
    // Strided depthwise on a small map: onnxruntime's grouped ConvTranspose
    // is slow there (EfficientNet-B0, 28 px: 3.7 ms for [32, 672, 1, 1] 5×5).
    dx = depthwiseDxPairs(w, dy, x.shape, win);
  } else if (ctx.needs[0]) {
    dx = convTranspose(dy, w, null, {
      strides: win.strides,
      pads: win.pads,
      dilations: win.dilations,
      group,
      outputPadding: outPad,
    });
  }

  let dw: Tensor | null = null;
  if (ctx.needs[1]) {
    const useIm2col = ctx.convWeightGrad !== "dilated";
    if (depthwise) {
      if (!useIm2col) dw = depthwiseDwDilated(x, dy, win);
      else if (h * wd * oh * ow <= DEPTHWISE_PAIRS_MAX) dw = depthwiseDwPairs(x, dy, win);
      else dw = depthwiseDwIm2col(x, dy, win);
    } else if (!useIm2col) {
      dw = denseDwDilated(x, dy, win);
    } else if (
      ctx.convWeightGrad === "blocked" &&
      winogradFits({ ...win, map: [h, wd], group })
    ) {
      dw = winogradWeightGrad(x, dy);
    } else if (ctx.convWeightGrad === "blocked" && dilatedDwPaysOff(dy.shape, win.kernel)) {
      dw = denseDwDilated(paddedToWindows(x, win, outPad), dy, { ...win, pads: [0, 0, 0, 0] });
    } else {
      dw = denseDwIm2col(x, dy, win, m);
    }
  }
  const db = b && ctx.needs[2] ? reduceSum(dy, [0, 2, 3], { keepdims: false }) : null;
  return [dx, dw, db];
}

/**
 * X zero-padded as the forward conv pads it, without the rows and columns
 * its windows never reached (a strided layer's `leftover`), so that the
 * dilated weight gradient's conv has exactly the kernel's size as output and
 * runs with no padding of its own. onnxruntime's blocked kernels take their
 * fast path only for outputs whose window lies inside the input; with the
 * padding as the conv's attribute every output of this kernel-sized "image"
 * took the bounds-checked path (ResNet-18 step at 28 px: 2× slower), and
 * ResNet-18's stride-2 3×3 layers computed a 4×4 output for a 3×3 kernel.
 */
function paddedToWindows(x: Tensor, win: WindowAttrs, left: readonly number[]): Tensor {
  const [, , h, w] = x.shape;
  const [pt, pl, pb, pr] = win.pads;
  const bottom = pb - left[0], right = pr - left[1];
  const cropped = bottom < 0 || right < 0
    ? slice(x, [0, 0], [h + Math.min(0, bottom), w + Math.min(0, right)], [2, 3])
    : x;
  return pad(cropped, [0, 0, pt, pl, 0, 0, Math.max(0, bottom), Math.max(0, right)]);
}

/**
 * Fewest output positions of a dense conv whose weight gradient the
 * `blocked` formulation takes as the dilated convolution: one Conv of the
 * padded `Xᵀ [C, N, H, W]` with `dYᵀ [M, N, OH, OW]` as its kernel, which
 * onnxruntime's blocked NCHWc kernels run faster than one GEMM per tap on
 * large maps. Measured at batch 32, 1 thread, dW alone (taps → dilated):
 * 64 ch at 28×28 33–35 → 26 ms, 128 ch at 14×14 31 → 24; at 7×7 (49
 * positions) 24 → 25, and a tie in the whole ResNet-18 step. The ResNet-18
 * step at 28 px: 4.8% faster on 1 thread, 3% beside a second one-thread
 * trainer (the study's workers), 5% on 2 threads.
 */
export const DILATED_DW_MIN_POSITIONS = 196;

/**
 * Most output-gradient values (`N·M·OH·OW`) for the dilated form: its kernel
 * is re-read for every input channel and output row, and past this (8 MiB)
 * it falls out of cache: 128 ch at 32×32 (4.2M values) 152 → 170 ms, 64 ch
 * at 64×64 (8.4M) 182 → 261 ms.
 */
export const DILATED_DW_MAX_VALUES = 2 ** 21;

/**
 * Whether the `blocked` formulation takes a dense conv's dW in the dilated
 * form: a kernel larger than 1×1 (a 1×1 layer's dW is a plain GEMM), a map
 * of {@linkcode DILATED_DW_MIN_POSITIONS} or more, a `dY` of at most
 * {@linkcode DILATED_DW_MAX_VALUES}, and a batch (the dilated conv's input
 * channels) that onnxruntime's blocked kernels take: a multiple of 4, or
 * fewer than 8 (below the block, the unblocked-input kernel).
 */
export function dilatedDwPaysOff(
  dyShape: readonly number[],
  kernel: readonly number[],
): boolean {
  const [n, m, oh, ow] = dyShape;
  return kernel[0] * kernel[1] > 1 && oh * ow >= DILATED_DW_MIN_POSITIONS &&
    n * m * oh * ow <= DILATED_DW_MAX_VALUES && (n % 4 === 0 || n < 8);
}

function denseDwDilated(x: Tensor, dy: Tensor, win: WindowAttrs): Tensor {
  const xt = transpose(x, [1, 0, 2, 3]); // [C, N, H, W]
  const dyt = transpose(dy, [1, 0, 2, 3]); // [M, N, OH, OW]
  const full = conv(xt, dyt, null, {
    strides: win.dilations,
    dilations: win.strides,
    pads: win.pads,
  }); // [C, M, >=kh, >=kw]
  const cut = slice(full, [0, 0], win.kernel, [2, 3]);
  return transpose(cut, [1, 0, 2, 3]);
}

function patches(x: Tensor, win: WindowAttrs): Tensor {
  // [N·C, 1, H, W] ⊛ one-hot kernels -> [N·C, kh·kw, OH, OW]
  const [n, c, h, w] = x.shape;
  return conv(reshape(x, [n * c, 1, h, w]), eyeKernels(x.graph, ...win.kernel), null, {
    strides: win.strides,
    pads: win.pads,
    dilations: win.dilations,
  });
}

function denseDwIm2col(x: Tensor, dy: Tensor, win: WindowAttrs, m: number): Tensor {
  if (win.strides[0] === 1 && win.strides[1] === 1) return denseDwTaps(x, dy, win, m);
  const [n, c] = x.shape;
  const [kh, kw] = win.kernel;
  const [, , oh, ow] = dy.shape;
  const l = oh * ow;
  const ckk = c * kh * kw;
  const p = reshape(patches(x, win), [n, ckk, l]); // [N, C·K², L]
  if (l >= m) {
    // Many positions: one GEMM per sample, then sum the N small [C·K², M] results.
    const dyT = transpose(reshape(dy, [n, m, l]), [0, 2, 1]); // [N, L, M]
    const dwT = reshape(sumLeading(matmul(p, dyT)), [ckk, m]);
    return reshape(transpose(dwT, [1, 0]), [m, c, kh, kw]);
  }
  // Few positions (deep layers): one GEMM over all N·L positions. Summing N
  // per-sample products would materialize N·C·K²·M values (75M at layer 4).
  const rows = reshape(transpose(p, [0, 2, 1]), [n * l, ckk]);
  const dyRows = reshape(transpose(reshape(dy, [n, m, l]), [0, 2, 1]), [n * l, m]);
  return reshape(matmul(transpose(dyRows, [1, 0]), rows), [m, c, kh, kw]);
}

/**
 * The output positions `[lo, hi)` along `axis` whose window tap `t` lands
 * inside the input (stride 1), and the input index of position `lo`'s tap.
 * The cpu backend's per-tap GEMMs slice with the same ranges, so that
 * onnxruntime's CSE shares the slices of the forward conv, its input
 * gradient and its weight gradient.
 */
export function tapRange(
  size: number,
  out: number,
  t: number,
  win: { pads: readonly number[]; dilations: readonly number[] },
  axis: 0 | 1,
): { lo: number; hi: number; inputLo: number } {
  const offset = t * win.dilations[axis] - win.pads[axis]; // input index of output 0's tap
  const lo = Math.max(0, -offset);
  const hi = Math.max(lo, Math.min(out, size - offset));
  return { lo, hi, inputLo: lo + offset };
}

/**
 * Stride-1 dW one kernel tap at a time, `dW[:, :, a, b] = Σ dY · X shifted
 * by the tap`, with no patch matrix: im2col's one-hot conv writes K² copies
 * of X (16 channels in onnxruntime's blocked layout, then reordered to K²),
 * which cost more than the GEMMs' own traffic. Per sample (many positions:
 * `[M, L] × [L, C]` on a shifted view of the zero-padded X, summed over the
 * batch as before) or, with few positions, one GEMM per tap over the batch
 * on only the output positions whose tap lands inside X: at ResNet-18's
 * 4×4 maps 31% of im2col's rows are padding. Measured at batch 32, 1 thread:
 * 64 ch at 28 px 33.1 → 23.0 ms, 128 ch at 14 px 28.5 → 22.5, 256 ch at 7 px
 * 28.3 → 19.0, 512 ch at 4 px 30.6 → 23.2.
 */
function denseDwTaps(x: Tensor, dy: Tensor, win: WindowAttrs, m: number): Tensor {
  const [n, c, h, wd] = x.shape;
  const [kh, kw] = win.kernel;
  const [, , oh, ow] = dy.shape;
  const [d0, d1] = win.dilations;
  const l = oh * ow;
  const taps: Tensor[] = [];
  if (l >= m) {
    const [pt, pl, pb, pr] = win.pads;
    const xp = pad(x, [0, 0, pt, pl, 0, 0, pb, pr]);
    const dyl = reshape(dy, [n, m, l]);
    for (let a = 0; a < kh; a++) {
      for (let b = 0; b < kw; b++) {
        const shifted = slice(xp, [a * d0, b * d1], [a * d0 + oh, b * d1 + ow], [2, 3]);
        const perSample = matmul(dyl, transpose(reshape(shifted, [n, c, l]), [0, 2, 1])); // [N, M, C]
        taps.push(reshape(sumLeading(perSample), [m, c, 1]));
      }
    }
    return reshape(concat(taps, 2), [m, c, kh, kw]);
  }
  // NHWC rows, sliced as the cpu backend's per-tap GEMMs of the forward conv
  // (x) and of its input gradient (dY) slice them, so that onnxruntime
  // computes each slice once for all three.
  const xt = transpose(x, [0, 2, 3, 1]); // [N, H, W, C]
  const dyt = transpose(dy, [0, 2, 3, 1]); // [N, OH, OW, M]
  for (let a = 0; a < kh; a++) {
    const rows = tapRange(h, oh, a, win, 0);
    for (let b = 0; b < kw; b++) {
      const cols = tapRange(wd, ow, b, win, 1);
      const count = n * (rows.hi - rows.lo) * (cols.hi - cols.lo);
      if (count === 0) {
        taps.push(x.graph.constant(new Float32Array(m * c), [m, c, 1]));
        continue;
      }
      const xs = slice(
        xt,
        [rows.inputLo, cols.inputLo],
        [rows.inputLo + rows.hi - rows.lo, cols.inputLo + cols.hi - cols.lo],
        [1, 2],
      );
      const ds = slice(dyt, [rows.lo, cols.lo], [rows.hi, cols.hi], [1, 2]);
      const tap = matmul(transpose(reshape(ds, [count, m]), [1, 0]), reshape(xs, [count, c]));
      taps.push(reshape(tap, [m, c, 1]));
    }
  }
  return reshape(concat(taps, 2), [m, c, kh, kw]);
}

/**
 * Sum over the first axis as a `[1, N] × [N, rest]` product: ORT's ReduceSum
 * over a leading axis is strided and several times slower than this GEMV.
 */
export function sumLeading(t: Tensor): Tensor {
  const [n, ...rest] = t.shape;
  const size = sizeOf(rest);
  const ones = t.graph.constant(new Float32Array(n).fill(1), [1, n]);
  return reshape(matmul(ones, reshape(t, [n, size])), rest);
}

function depthwiseDwDilated(x: Tensor, dy: Tensor, win: WindowAttrs): Tensor {
  const [n, c, h, w] = x.shape;
  const xt = reshape(transpose(x, [1, 0, 2, 3]), [1, c * n, h, w]);
  const dyt = transpose(dy, [1, 0, 2, 3]); // [C, N, OH, OW]
  const full = conv(xt, dyt, null, {
    strides: win.dilations,
    dilations: win.strides,
    pads: win.pads,
    group: c,
  }); // [1, C, >=kh, >=kw]
  const cut = slice(full, [0, 0], win.kernel, [2, 3]);
  return reshape(cut, [c, 1, ...win.kernel]);
}

/**
 * The most (input position, output position) pairs per channel for which
 * depthwise dW is formed from pairs ({@linkcode depthwiseDwPairs}) rather
 * than patches. Measured per EfficientNet-B0 shape (batch 32, 1 thread,
 * pairs vs patches): 672 ch 4×4 5×5 0.46 vs 13.8 ms, 240 ch 8×8 5×5 1.5 vs
 * 16.9, 144 ch 16×16 3×3 (65,536 pairs) 12.5 vs 14.4; 32 ch 32×32 3×3
 * (1M pairs) 38.5 vs 11.9.
 */
export const DEPTHWISE_PAIRS_MAX = 65536;

/**
 * Depthwise dW on small maps as products of every input position with every
 * output position: `G[c] = X[c]ᵀ · dY[c]` contracts over the batch (one
 * `[H·W, N] × [N, OH·OW]` GEMM per channel), then a constant 0/1 matrix sums
 * each tap's (input, output) pairs. No patch matrix: im2col's one-hot conv
 * writes K² copies of X (padded to onnxruntime's channel block, reordered),
 * then runs one tiny `[K², L] × [L, 1]` product per sample and channel.
 */
function depthwiseDwPairs(x: Tensor, dy: Tensor, win: WindowAttrs): Tensor {
  const [n, c, h, w] = x.shape;
  const [kh, kw] = win.kernel;
  const [, , oh, ow] = dy.shape;
  const hw = h * w;
  const l = oh * ow;
  const taps = pairTaps(x.graph, [h, w], [oh, ow], win, "input-major");
  const xc = transpose(reshape(x, [n, c, hw]), [1, 2, 0]); // [C, H·W, N]
  const dyc = transpose(reshape(dy, [n, c, l]), [1, 0, 2]); // [C, N, L]
  const pairs = reshape(matmul(xc, dyc), [c, hw * l]); // [C, H·W·L]
  const dw = matmul(pairs, taps); // [C, K²]
  return reshape(dw, [c, 1, kh, kw]);
}

/**
 * Depthwise dX on a small map through the dense per-channel matrix
 * `W[c]: [L, H·W]` (each output position's taps placed at the input
 * positions they read): `dX[c] = dY[c] · W[c]`, one `[N, L] × [L, H·W]`
 * GEMM per channel.
 */
function depthwiseDxPairs(w: Tensor, dy: Tensor, xShape: Shape, win: WindowAttrs): Tensor {
  const [n, c, h, wd] = xShape;
  const [kh, kw] = win.kernel;
  const [, , oh, ow] = dy.shape;
  const hw = h * wd;
  const l = oh * ow;
  const taps = pairTaps(w.graph, [h, wd], [oh, ow], win, "output-major"); // [K², L·H·W]
  const dense = reshape(matmul(reshape(w, [c, kh * kw]), taps), [c, l, hw]);
  const dyc = transpose(reshape(dy, [n, c, l]), [1, 0, 2]); // [C, N, L]
  const dxc = matmul(dyc, dense); // [C, N, H·W]
  return reshape(transpose(dxc, [1, 0, 2]), [n, c, h, wd]);
}

/**
 * The 0/1 matrix joining each (input position q, output position p) pair to
 * the kernel tap that links them (none where the tap falls in padding):
 * `[H·W·L, K²]` with rows `q·L + p` ("input-major"), or `[K², L·H·W]` with
 * columns `p·H·W + q` ("output-major").
 */
function pairTaps(
  graph: Graph,
  [h, w]: readonly number[],
  [oh, ow]: readonly number[],
  win: WindowAttrs,
  order: "input-major" | "output-major",
): Tensor {
  const [kh, kw] = win.kernel;
  const [pt, pl] = win.pads;
  const hw = h * w;
  const l = oh * ow;
  const kk = kh * kw;
  const data = new Float32Array(hw * l * kk);
  for (let pi = 0; pi < oh; pi++) {
    for (let pj = 0; pj < ow; pj++) {
      const p = pi * ow + pj;
      for (let a = 0; a < kh; a++) {
        const qi = pi * win.strides[0] - pt + a * win.dilations[0];
        if (qi < 0 || qi >= h) continue;
        for (let b = 0; b < kw; b++) {
          const qj = pj * win.strides[1] - pl + b * win.dilations[1];
          if (qj < 0 || qj >= w) continue;
          const q = qi * w + qj;
          const tap = a * kw + b;
          if (order === "input-major") data[(q * l + p) * kk + tap] = 1;
          else data[tap * l * hw + p * hw + q] = 1;
        }
      }
    }
  }
  return graph.sharedConstant(data, order === "input-major" ? [hw * l, kk] : [kk, l * hw]);
}

function depthwiseDwIm2col(x: Tensor, dy: Tensor, win: WindowAttrs): Tensor {
  const [n, c] = x.shape;
  const [kh, kw] = win.kernel;
  const [, , oh, ow] = dy.shape;
  const l = oh * ow;
  const p = reshape(patches(x, win), [n, c, kh * kw, l]);
  const dyc = reshape(dy, [n, c, l, 1]);
  const perSample = matmul(p, dyc); // [N, C, K², 1]
  return reshape(sumLeading(perSample), [c, 1, kh, kw]);
}

/** Gradient of MaxPool (no Indices output: mask of the first maximum per window). */
export function maxPoolVjp(ctx: VjpContext<Present<1>>): (Tensor | null)[] {
  const x = ctx.inputs[0];
  const y = ctx.outputs[0];
  const dy = ctx.dy;
  const win = windowAttrs(ctx);
  if (win.dilations[0] !== 1 || win.dilations[1] !== 1) {
    throw new Error("gradient rule: dilated MaxPool is not supported");
  }
  const [n, c, h, w] = x.shape;
  const [, , oh, ow] = y.shape;
  const [kh, kw] = win.kernel;
  const [pt, pl, pb, pr] = win.pads;
  const xr = pad(reshape(x, [n * c, 1, h, w]), [0, 0, pt, pl, 0, 0, pb, pr], -3.4e38);
  const eye = eyeKernels(x.graph, kh, kw);
  const p = conv(xr, eye, null, { strides: win.strides }); // [N·C, K², OH, OW]
  const yr = reshape(y, [n * c, 1, oh, ow]);
  const mask = cast(equal(p, yr), "float32");
  const first = where(equal(cumsum(mask, 1), 1), mask, 0);
  const dp = mul(first, reshape(dy, [n * c, 1, oh, ow]));
  const hp = h + pt + pb;
  const wp = w + pl + pr;
  const back = convTranspose(dp, eye, null, {
    strides: win.strides,
    outputPadding: [hp - (win.strides[0] * (oh - 1) + kh), wp - (win.strides[1] * (ow - 1) + kw)],
  }); // [N·C, 1, Hp, Wp]
  const cut = slice(back, [pt, pl], [pt + h, pl + w], [2, 3]);
  return [reshape(cut, [n, c, h, w])];
}

/** Gradient of AveragePool (any padding; `count_include_pad` respected). */
export function averagePoolVjp(ctx: VjpContext<Present<1>>): (Tensor | null)[] {
  const x = ctx.inputs[0];
  const dy = ctx.dy;
  const win = windowAttrs(ctx);
  const includePad = attrInt(ctx.node, "count_include_pad", 0) === 1;
  const [n, c, h, w] = x.shape;
  const [, , oh, ow] = dy.shape;
  const [kh, kw] = win.kernel;
  const [pt, pl, pb, pr] = win.pads;
  // Divisor of each output cell.
  const counts = new Float32Array(oh * ow);
  for (let i = 0; i < oh; i++) {
    for (let j = 0; j < ow; j++) {
      const r0 = i * win.strides[0] - pt;
      const c0 = j * win.strides[1] - pl;
      const rows = includePad
        ? Math.min(r0 + kh, h + pb) - r0
        : Math.min(r0 + kh, h) - Math.max(r0, 0);
      const cols = includePad
        ? Math.min(c0 + kw, w + pr) - c0
        : Math.min(c0 + kw, w) - Math.max(c0, 0);
      counts[i * ow + j] = 1 / (rows * cols);
    }
  }
  const scale = x.graph.constant(counts, [1, 1, oh, ow]);
  const scaled = mul(reshape(dy, [n * c, 1, oh, ow]), scale);
  const ones = x.graph.constant(new Float32Array(kh * kw).fill(1), [1, 1, kh, kw]);
  const back = convTranspose(scaled, ones, null, {
    strides: win.strides,
    pads: win.pads,
    dilations: win.dilations,
    outputPadding: [
      leftover(h, oh, win, 0),
      leftover(w, ow, win, 1),
    ],
  });
  return [reshape(back, [n, c, h, w])];
}

/** Gradient of GlobalAveragePool: the output gradient spread evenly. */
export function globalAveragePoolVjp(ctx: VjpContext<Present<1>>): (Tensor | null)[] {
  const x = ctx.inputs[0];
  const [, , h, w] = x.shape;
  return [expand(mul(ctx.dy, 1 / (h * w)), x.shape)];
}

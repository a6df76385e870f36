/**
 * 3×3 stride-1 "same" convolutions on small maps as Winograd F(2×2, 3×3)
 * (Lavin & Gray, 2016), in plain ONNX: the forward conv and its input
 * gradient (the cpu backend's lowering) and its weight gradient (the
 * `blocked` weight-gradient form). Each is 16 batched GEMMs, one per
 * component of the 4×4 transformed tile, with 2.25× fewer multiplies than
 * the direct conv (and 1.56× fewer than the per-tap GEMMs, which skip the
 * padding), plus transforms that are small GEMMs with constant matrices:
 *
 * - input `x [N, C, H, W]` → `V [16, T·N, C]` (T tiles of 2×2 outputs per
 *   image): one `[16·T, H·W]` matrix, the padding folded in;
 * - weight `w [M, C, 3, 3]` → `U [16, M, C]`: one `[16, 9]` matrix;
 * - output `[16, T·N, M]` → `y [N, M, H, W]`: one `[16·T, H·W]` matrix.
 *
 * The input gradient's kernel `flip(W)ᵀ` transforms to `U` with the
 * components permuted (`G·J = P·G`, P swapping rows 0 and 3), so it reuses
 * `U` with permuted input and output matrices instead of flipping the
 * weight. The weight gradient is `Gᵀ (Σ_tiles (A dY Aᵀ) ⊙ (Bᵀ d B)) G`: the
 * same `V` of X, the output transform's adjoint applied to dY, 16 GEMMs
 * over the batch's tiles and a `[16, 9]` matrix back.
 *
 * Only ResNet's 4×4 maps take it (`winogradFits`): there the engine's
 * per-tap GEMMs run at ≈ 85% of the FMA peak on 69% of im2col's rows, and
 * the blocked kernels that larger maps run on reach ≈ 97%, which Winograd's
 * transforms as separate nodes did not beat (`bench/winograd_experiment.ts`).
 * Training step, batch 32, two sessions alternating in one process (Zen 3):
 * small-stem ResNet-18 at 28 px (layer 4) 1,093 → 1,045 ms on one thread,
 * 728 → 690 on two; the 7×7 stem at 28 px (layer 2) 120 → 116 ms and at
 * 64 px (layer 3) 280 → 270 on two. Its results differ from the direct
 * conv's by float rounding (≈ 1e-6 of the largest value).
 *
 * @module
 */

import type { Tensor } from "../onnx/graph.ts";
import { matmul, reshape, transpose } from "../onnx/ops.ts";

/** Bᵀ of F(2, 3): input tile (4) → transformed components (4). */
const BT = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]];
/** G of F(2, 3): kernel taps (3) → components (4). */
const G = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]];
/** Aᵀ of F(2, 3): components (4) → outputs (2). */
const AT = [[1, 1, 1, 0], [0, 1, -1, -1]];
/** The input gradient's component order: `G·J = P·G` swaps components 0 and 3. */
const FLIP = [3, 1, 2, 0];
const SAME = [0, 1, 2, 3];

/** The geometry a convolution needs for F(2×2, 3×3) here. */
export interface WinogradGeometry {
  /** Input (and output) map `[H, W]`. */
  map: readonly [number, number];
  /** Kernel `[kh, kw]`. */
  kernel: readonly number[];
  /** Strides. */
  strides: readonly number[];
  /** Pads `[top, left, bottom, right]`. */
  pads: readonly number[];
  /** Dilations. */
  dilations: readonly number[];
  /** Groups. */
  group: number;
}

/**
 * Largest map (positions) that takes the Winograd form: ResNet's 4×4
 * stages. Measured and not taken: 8×8 maps (ResNet-18 at 64 px, from the
 * blocked kernels: 1.011× and 0.992× the step), 7×7 with tiles over 8×8
 * (0.990×).
 */
export const WINOGRAD_MAX_POSITIONS = 16;

/**
 * Whether a conv is a 3×3, stride-1, pad-1, group-1 "same" convolution on
 * a map with even sides of at least 4 and at most
 * {@linkcode WINOGRAD_MAX_POSITIONS} positions, i.e. 4×4 (at 2×2 the per-tap
 * GEMMs skip as many multiplies as Winograd saves).
 */
export function winogradFits(g: WinogradGeometry): boolean {
  const [h, w] = g.map;
  return g.group === 1 && g.kernel[0] === 3 && g.kernel[1] === 3 &&
    g.strides.every((s) => s === 1) && g.dilations.every((d) => d === 1) &&
    g.pads.every((p) => p === 1) && h % 2 === 0 && w % 2 === 0 && h >= 4 && w >= 4 &&
    h * w <= WINOGRAD_MAX_POSITIONS;
}

/**
 * `[16·T, H·W]`: row `(ξ, t)` holds the coefficients of map position `p`
 * in component `ξ = (i, j)` of tile `t = (ty, tx)`, `rows[i][r]·rows[j][s]`
 * for the tile's 4×4 input window starting one row and column above its
 * outputs (positions outside the map are the padding: no column). With
 * `rows = Bᵀ` this is the input transform; with `rows = A` over a 2×2
 * window at the tile's outputs, the adjoint of the output transform.
 */
function tileMatrix(
  h: number,
  w: number,
  rows: readonly (readonly number[])[],
  order: readonly number[],
  window: { size: number; offset: number },
): Float32Array {
  const ty = h / 2, tx = w / 2, t = ty * tx;
  const out = new Float32Array(16 * t * h * w);
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) {
      const xi = i * 4 + j;
      const [ri, rj] = [rows[order[i]], rows[order[j]]];
      for (let a = 0; a < ty; a++) {
        for (let b = 0; b < tx; b++) {
          const row = (xi * t + a * tx + b) * h * w;
          for (let u = 0; u < window.size; u++) {
            const r = 2 * a + u + window.offset;
            if (r < 0 || r >= h) continue;
            for (let v = 0; v < window.size; v++) {
              const s = 2 * b + v + window.offset;
              if (s < 0 || s >= w) continue;
              out[row + r * w + s] = ri[u] * rj[v];
            }
          }
        }
      }
    }
  }
  return out;
}

/** `[16, 9]`: component `(i, j)` of the kernel tap `(a, b)`, `G[i][a]·G[j][b]`. */
function kernelMatrix(): Float32Array {
  const out = new Float32Array(16 * 9);
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) {
      for (let a = 0; a < 3; a++) {
        for (let b = 0; b < 3; b++) out[(i * 4 + j) * 9 + a * 3 + b] = G[i][a] * G[j][b];
      }
    }
  }
  return out;
}

/** `Aᵀ` as columns: `A[u][i]` for output `u` of component `i` (`[4][2]` read as rows of A). */
const A_ROWS = [0, 1, 2, 3].map((i) => [AT[0][i], AT[1][i]]);

/**
 * `[N, C, H, W]` → `[16, T·N, C]` (GEMM rows in tile-major order) through
 * `m` `[16·T, H·W]`: one `m × X[N·C, H·W]ᵀ` for the whole batch, whose
 * `[16·T, N·C]` result is already component-major (onnxruntime folds the
 * transpose into the GEMM). Per image with the components moved to the
 * front afterwards, the moves cost 15 single-threaded transposes a
 * ResNet-18 step (6 ms on one thread; the step 1.011× slower).
 */
function toTiles(x: Tensor, m: Float32Array): Tensor {
  const [n, c, h, w] = x.shape;
  const t = (h / 2) * (w / 2);
  const mt = x.graph.sharedConstant(m, [16 * t, h * w]);
  const all = matmul(mt, transpose(reshape(x, [n * c, h * w]), [1, 0])); // [16·T, N·C]
  return reshape(all, [16, t * n, c]);
}

/**
 * `[16, T·N, M]` (rows as {@linkcode toTiles} orders them) → `[N, M, H, W]`:
 * `tiles[16·T, N·M]ᵀ × m` with `m` `[16·T, H·W]`, NCHW as it comes out.
 */
function fromTiles(tiles: Tensor, n: number, h: number, w: number, m: Float32Array): Tensor {
  const [, , k] = tiles.shape;
  const t = (h / 2) * (w / 2);
  const mt = tiles.graph.sharedConstant(m, [16 * t, h * w]);
  const flat = reshape(tiles, [16 * t, n * k]);
  return reshape(matmul(transpose(flat, [1, 0]), mt), [n, k, h, w]);
}

/** Input transform `[16·T, H·W]` in `order`: row `(ξ, t)` gathers component ξ from the tile's 4×4 window. */
function inputMatrix(h: number, w: number, order: readonly number[]): Float32Array {
  return tileMatrix(h, w, BT, order, { size: 4, offset: -1 });
}

/**
 * Output transform `[16·T, H·W]` in `order`: row `(ξ, t)` scatters component
 * ξ to the tile's 2×2 outputs (as `toTiles`' matrix, its adjoint: dY's
 * transform in the weight gradient).
 */
function outputMatrix(h: number, w: number, order: readonly number[]): Float32Array {
  return tileMatrix(h, w, A_ROWS, order, { size: 2, offset: 0 });
}

/**
 * The weight transform `U [16, M, C]` of `w [M, C, 3, 3]`: `[16, 9] ×
 * w[M·C, 9]ᵀ` (one GEMM; onnxruntime folds the transpose into it).
 */
export function winogradWeight(w: Tensor): Tensor {
  const [m, c] = w.shape;
  const k = w.graph.sharedConstant(kernelMatrix(), [16, 9]);
  return reshape(matmul(k, transpose(reshape(w, [m * c, 9]), [1, 0])), [16, m, c]);
}

/**
 * `conv(x, w)` for a conv that {@linkcode winogradFits}, from `x [N, C, H, W]`
 * and `u = winogradWeight(w)`: `[N, M, H, W]`.
 */
export function winogradConv(x: Tensor, u: Tensor): Tensor {
  const [n, , h, w] = x.shape;
  const v = toTiles(x, inputMatrix(h, w, SAME));
  const prod = matmul(v, transpose(u, [0, 2, 1])); // [16, T·N, M]
  return fromTiles(prod, n, h, w, outputMatrix(h, w, SAME));
}

/**
 * The input gradient `conv(dy, flip(S)ᵀ)` of a conv with weight `S` that
 * {@linkcode winogradFits}, from `dy [N, M, H, W]` and `u = winogradWeight(S)`:
 * `[N, C, H, W]`. Component `ξ` of `flip(S)ᵀ` is `U[P·ξ]ᵀ`, so the input
 * and output matrices take their components in P's order and the GEMMs
 * use `U` as it is.
 */
export function winogradConvInputGrad(dy: Tensor, u: Tensor): Tensor {
  const [n, , h, w] = dy.shape;
  const v = toTiles(dy, inputMatrix(h, w, FLIP));
  const prod = matmul(v, u); // [16, T·N, C]
  return fromTiles(prod, n, h, w, outputMatrix(h, w, FLIP));
}

/**
 * The weight gradient `[M, C, 3, 3]` of a conv that {@linkcode winogradFits},
 * from its input `x [N, C, H, W]` and output gradient `dy [N, M, H, W]`:
 * `dU[ξ] = Σ_tiles (A dY Aᵀ)[ξ]ᵀ (Bᵀ X B)[ξ]` as 16 GEMMs, then `Gᵀ dU G`.
 */
export function winogradWeightGrad(x: Tensor, dy: Tensor): Tensor {
  const [, c, h, w] = x.shape;
  const m = dy.shape[1];
  const v = toTiles(x, inputMatrix(h, w, SAME));
  const dv = toTiles(dy, outputMatrix(h, w, SAME));
  const du = matmul(transpose(dv, [0, 2, 1]), v); // [16, M, C]
  const k = x.graph.sharedConstant(kernelMatrix(), [16, 9]);
  const dw = matmul(transpose(reshape(du, [16, m * c]), [1, 0]), k); // [M·C, 9]
  return reshape(dw, [m, c, 3, 3]);
}

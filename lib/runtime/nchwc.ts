/**
 * Lower convolutions to onnxruntime's blocked (NCHWc) CPU kernels.
 *
 * onnxruntime runs a Conv on its fast NCHWc kernels (MLAS, the ones behind
 * its inference speed) only after a graph optimization that needs the
 * weights to be constant initializers: it reorders them into the blocked
 * layout once, at load time. In a training program the weights are graph
 * inputs (they change every step), so every Conv falls back to the generic
 * im2col + GEMM kernel. The NCHWc kernels themselves take the reordered
 * weights as an ordinary input, so this pass rewrites each qualifying Conv
 * into
 *
 *     ReorderInput(x) ─┐
 *     W → Reshape → Transpose → Reshape (OIHW → OIHWBiBo or OIHWBo) ─┤
 *                                                   com.microsoft.nchwc Conv → ReorderOutput
 *
 * so the weight reorder runs in the graph, every step, and the convolution
 * on the blocked kernels. Convolutions whose weights are constants are left
 * to onnxruntime's own transformer. Small maps run as GEMMs per kernel tap
 * instead, and so do strided ConvTransposes on small maps (conv input
 * gradients; `conv_transpose_taps.ts`). The layouts follow MLAS's
 * `MlasReorderFilterOIHWBiBo` / `MlasReorderFilterOIHWBo` and the
 * conditions its NCHWc transformer applies (group 1 or depthwise), with
 * channel counts padded up to the block where its transformer would give up.
 *
 * @module
 */

import type { Graph, Node, Tensor } from "../onnx/graph.ts";
import { GraphRewrite } from "../onnx/rewrite.ts";
import type { AttributeValue } from "../onnx/proto.ts";
import {
  add,
  conv,
  matmul,
  pad,
  reshape,
  reverse,
  reversedFrom,
  slice,
  transpose,
} from "../onnx/ops.ts";
import { eyeKernels, tapRange } from "../autodiff/conv_rules.ts";
import { attrInts } from "../autodiff/vjp.ts";
import {
  winogradConv,
  winogradConvInputGrad,
  winogradFits,
  winogradWeight,
} from "../autodiff/winograd.ts";
import { convTransposeAsTapGemms, transposeTakesTaps } from "./conv_transpose_taps.ts";

/** onnxruntime's domain of the NCHWc CPU kernels. */
export const NCHWC_DOMAIN = "com.microsoft.nchwc";

/** Options of {@linkcode lowerConvsToNchwc}. */
export interface NchwcLoweringOptions {
  /** The CPU's NCHWc block size (`MlasNchwcGetBlockSize`: 8 on AVX2, 16 on AVX-512). */
  blockSize: number;
}

/** Result of {@linkcode lowerConvsToNchwc}. */
export interface NchwcLowering {
  /** The rewritten graph (the input graph when nothing qualified). */
  graph: Graph;
  /** Number of Conv nodes moved to the NCHWc kernels (or per-tap GEMMs on small maps). */
  lowered: number;
  /** Number of strided ConvTranspose nodes (conv input gradients) moved to per-tap GEMMs. */
  loweredTransposes: number;
}

/** How one Conv node is lowered. */
interface Plan {
  /**
   * Blocked weight layout: OIHWBiBo (blocked input), or OIHWBo (NCHW input,
   * depthwise); `gemm`: small output maps as patches + one MatMul instead.
   */
  layout: "OIHWBiBo" | "OIHWBo" | "gemm";
  /** Whether the input is reordered into blocks (not for an NCHW input of < B channels). */
  reorderInput: boolean;
  /** Output channels rounded up to the block (zero filters fill the rest). */
  outPadded: number;
  /** Weight input channels after padding (the blocked input's channels, or 1 for depthwise). */
  inPadded: number;
  /** The group count the NCHWc conv runs with (the padded channels for depthwise). */
  group: number;
}

/** The plan of a Conv that runs on the blocked kernels. */
type BlockedPlan = Plan & { layout: "OIHWBiBo" | "OIHWBo" };

const roundUp = (n: number, block: number) => Math.ceil(n / block) * block;

/**
 * Output maps of at most this many positions run as one GEMM over the whole
 * batch instead: the NCHWc kernels vectorize along output rows, and at
 * 4×4, 2×2 and 1×1 maps (ResNet's last stages at 28 px) they, like the
 * generic kernel, ran 1.2–12× slower than patches + one MatMul (measured per
 * layer, batch 32; see bench notes).
 */
export const GEMM_MAX_POSITIONS = 16;

/**
 * Largest kernel (taps) of a small-map Conv that runs as GEMMs: ResNet's
 * 3×3 and 1×1 layers. A `blocked` weight gradient's dilated convolution has
 * a 3×3 output and a whole map (≥ 196 taps) as its kernel; as per-tap GEMMs
 * it made 784 of them per layer (ResNet-18 step at 28 px: 1.1 → 2.0 s).
 */
export const GEMM_MAX_TAPS = 9;

/**
 * How one Conv node is lowered, or null when it does not qualify. Channel
 * counts that are not multiples of the block are padded with zero filters
 * and zero input channels (ReorderInput zero-fills a partial block; it needs
 * a multiple of 4), so EfficientNet's 24-, 40- and 112-channel layers
 * qualify too.
 */
function plan(graph: Graph, node: Node, block: number): Plan | null {
  if (node.op !== "Conv" || node.domain) return null;
  const [x, w, b] = node.inputs;
  if (!x || !w || x.rank !== 4 || w.rank !== 4 || graph.constants.has(w)) return null;
  if (b && graph.constants.has(b)) return null;
  const groupAttr = node.attrs.group;
  const group = groupAttr?.type === "int" ? groupAttr.value : 1;
  const c = x.shape[1];
  const [m, cg] = w.shape;
  const outPadded = roundUp(m, block);
  const [, , oh, ow] = node.outputs[0].shape;
  // A large kernel (the dilated weight gradient's kernel is a whole output
  // map) would make one GEMM per tap: it stays on the blocked kernels.
  if (group === 1 && oh * ow <= GEMM_MAX_POSITIONS && w.shape[2] * w.shape[3] <= GEMM_MAX_TAPS) {
    return { layout: "gemm", reorderInput: false, outPadded: m, inPadded: cg, group: 1 };
  }
  if (group === 1) {
    if (c < block) {
      return { layout: "OIHWBo", reorderInput: false, outPadded, inPadded: c, group: 1 };
    }
    if (c % 4 !== 0) return null;
    const inPadded = roundUp(c, block);
    return { layout: "OIHWBiBo", reorderInput: true, outPadded, inPadded, group: 1 };
  }
  if (cg === 1 && group === c && m === c && c % 4 === 0) {
    return { layout: "OIHWBo", reorderInput: true, outPadded, inPadded: 1, group: outPadded };
  }
  return null;
}

/**
 * The weight `[O, I, kh, kw]` in MLAS's blocked order (same dims, blocked
 * data). `swapped` is the weight's `[I, O, kh, kw]` source when the weight is
 * that tensor transposed (a conv input gradient's kernel), and `flipped` says
 * that source is itself `swapped` with both kernel axes reversed.
 *
 * In two steps, each a layout onnxruntime copies fast: a 2-D transpose that
 * brings the kernel taps outside the output channels, then one that moves
 * whole 16-float blocks. Its transpose straight into the blocked order has
 * a strided innermost axis and copies element by element: 2.1 ms for a
 * 256×256×3×3 kernel against 1.0 ms for the two steps (per-node profile,
 * ResNet-18 training step, 1 thread).
 *
 * A swapped source `S [I, O, K²]` is already ordered by output block inside
 * input block, so its first step moves whole runs of `B·K²` floats (block
 * pairs to the front) and the second transposes each block pair's
 * `[Bi·Bo, K²]` to `[K², Bi·Bo]`; moving 8-float blocks (AVX2) was the
 * slowest copy of the step. Measured, 1 thread, median of 15 (these two
 * steps against the two above): a `blocked` weight gradient's `dY` as the
 * kernel (`[32, 64, 28, 28]`) 6.6 → 4.0 ms, `[32, 256, 16, 16]` 9.6 → 4.7,
 * a 256×256×3×3 kernel 1.6 → 1.4. An input gradient's kernel flip reverses
 * whole `Bi·Bo` rows of the second step's output.
 */
function reorderWeight(
  w: Tensor,
  layout: "OIHWBiBo" | "OIHWBo",
  block: number,
  swapped?: { source: Tensor; flipped: boolean },
): Tensor {
  const [o, i, kh, kw] = w.shape;
  const k = kh * kw;
  if (swapped && layout === "OIHWBiBo") {
    const pairs = (o / block) * (i / block);
    // S[ib][bi][ob][bo·k] → R[ob][ib][bi][bo·k]
    const runs = transpose(reshape(swapped.source, [i / block, block, o / block, block * k]), [
      2,
      0,
      1,
      3,
    ]);
    const rows = fenced(reshape(runs, [pairs, block * block * k]));
    // D[ob][ib][k][bi][bo] = R[ob][ib][bi][bo][k]; flipped: k ← K²−1−k
    let blocked = transpose(reshape(rows, [pairs, block * block, k]), [0, 2, 1]);
    if (swapped.flipped) blocked = reverse(blocked, [1]);
    return reshape(blocked, w.shape);
  }
  // [O, I·K²] → [I·K², O] = T[i][k][ob][bo]
  const t = fenced(transpose(reshape(w, [o, i * k]), [1, 0]));
  const blocked = layout === "OIHWBiBo"
    // D[ob][ib][k][bi][bo] = T[ib][bi][k][ob][bo]
    ? transpose(reshape(t, [i / block, block, k, o / block, block]), [3, 0, 2, 1, 4])
    // D[ob][i][k][bo] = T[i][k][ob][bo]
    : transpose(reshape(t, [i, k, o / block, block]), [2, 0, 1, 3]);
  return reshape(blocked, w.shape);
}

/**
 * `t` behind a Flatten (a no-op on a 2-D tensor) that onnxruntime's transpose
 * optimizer does not look through: it would otherwise merge the two steps of
 * {@linkcode reorderWeight} back into one slow transpose.
 */
function fenced(t: Tensor): Tensor {
  if (t.rank !== 2) throw new Error(`fenced: expected a 2-D tensor, got ${t}`);
  return t.graph.addNode("Flatten", [t], [{ dtype: t.dtype, shape: t.shape }], {
    axis: { type: "int", value: 1 },
  })[0];
}

/**
 * A small-map conv as Winograd F(2×2, 3×3) (3×3 "same" on 4×4), else per
 * tap (stride 1, a kernel larger than 1×1), else as patches + one GEMM. Only
 * the Winograd and per-tap forms use `unflipped`: the gradient rule flips
 * kernels for stride-1 convs only, and a 1×1 kernel has no flip.
 */
function smallMapConv(ctx: Lowering, small: SmallMapConv): Tensor {
  const [kh, kw] = small.w.shape.slice(2);
  const [, , h, w] = small.x.shape;
  const geometry = {
    map: [h, w] as const,
    kernel: [kh, kw],
    strides: attrInts(small.node, "strides", [1, 1]),
    pads: attrInts(small.node, "pads", [0, 0, 0, 0]),
    dilations: attrInts(small.node, "dilations", [1, 1]),
    group: 1,
  };
  if (winogradFits(geometry)) return winogradSmallMapConv(ctx, small);
  const perTap = kh * kw > 1 && geometry.strides.every((s) => s === 1);
  return perTap ? convAsTapGemms(ctx, small) : convAsGemm(small);
}

/**
 * A 3×3 "same" conv on a 4×4 map as Winograd F(2×2, 3×3); the weight
 * transform is made once per source weight and shared by the conv and its
 * input gradient (whose kernel `flip(S)ᵀ` reuses `S`'s transform).
 */
function winogradSmallMapConv(ctx: Lowering, { x, w, b, unflipped }: SmallMapConv): Tensor {
  const source = unflipped ?? w;
  const u = sharedWeight(ctx, `${source.id}/winograd`, () => winogradWeight(source));
  const y = unflipped ? winogradConvInputGrad(x, u) : winogradConv(x, u);
  return b ? add(y, reshape(b, [1, b.shape[0], 1, 1])) : y;
}

/** A group-1 Conv on a small output map, as the GEMM forms take it. */
interface SmallMapConv {
  /** The input `[N, C, H, W]`. */
  x: Tensor;
  /** The weight `[M, C, kh, kw]`. */
  w: Tensor;
  /** The bias `[M]`, if any. */
  b: Tensor | null;
  /** The source Conv node (strides, pads, dilations). */
  node: Node;
  /** The output's shape. */
  yShape: readonly number[];
  /**
   * For a conv input gradient's kernel `flip(S)ᵀ`, `S` (see
   * {@linkcode flipSource}): the per-tap form takes `S`'s taps in reverse
   * order instead of the flipped kernel.
   */
  unflipped?: Tensor;
}

/**
 * A group-1 Conv as one GEMM over all N·L output positions: patches by a
 * convolution with one-hot kernels (constant weights, which onnxruntime runs
 * on its own fast path), `[N·L, C·K²] × [C·K², M]`, then back to NCHW.
 */
function convAsGemm({ x, w, b, node, yShape }: SmallMapConv): Tensor {
  const g = x.graph;
  const [n, c, h, wd] = x.shape;
  const [m, , kh, kw] = w.shape;
  const [, , oh, ow] = yShape;
  const l = oh * ow;
  const ckk = c * kh * kw;
  const strides = attrInts(node, "strides", [1, 1]);
  const pads = attrInts(node, "pads", [0, 0, 0, 0]);
  const dilations = attrInts(node, "dilations", [1, 1]);
  let patches: Tensor; // [N, C·K², L]
  if (kh * kw === 1 && strides.every((s) => s === 1) && pads.every((p) => p === 0)) {
    patches = reshape(x, [n, c, l]);
  } else {
    const cols = conv(reshape(x, [n * c, 1, h, wd]), eyeKernels(g, kh, kw), null, {
      strides,
      pads,
      dilations,
    }); // [N·C, K², OH, OW]
    patches = reshape(cols, [n, ckk, l]);
  }
  const rows = reshape(transpose(patches, [0, 2, 1]), [n * l, ckk]);
  const wm = reshape(w, [m, ckk]);
  if (n * l < m && ckk > MLAS_MIN_STRIDE_K) {
    // Fewer rows than columns: MLAS would split the columns between threads,
    // and a thread's share of them sets how it blocks K (above its stride of
    // 128 that means more or fewer partial sums): the result would depend on
    // the thread count. As [M, N·L] it splits rows, whose sums never change.
    // (EfficientNet's squeeze-excite reductions at the batch of 32: 1152→48.)
    let yCols = matmul(wm, transpose(rows, [1, 0])); // [M, N·L]
    if (b) yCols = add(yCols, reshape(b, [m, 1]));
    return reshape(transpose(reshape(yCols, [m, n, l]), [1, 0, 2]), [n, m, oh, ow]);
  }
  let yRows = matmul(rows, transpose(wm, [1, 0])); // [N·L, M]
  if (b) yRows = add(yRows, b);
  return reshape(transpose(reshape(yRows, [n, l, m]), [0, 2, 1]), [n, m, oh, ow]);
}

/**
 * MLAS's smallest SGEMM block along K: a product whose K fits in it is one
 * pass of the kernel whatever the blocking, so its sums never depend on how
 * the work is split between threads.
 */
const MLAS_MIN_STRIDE_K = 128;

/**
 * Tap `t` of a weight `[A, B, kh, kw]` as `[A, B]` (`t = a·kw + b`), made
 * once per weight and tap and shared by its users (a conv and its input
 * gradient): a slice of the `[A·B, K²]` view, which onnxruntime merges into
 * one Split when every tap is taken. (A transpose to `[K², A·B]` first cost
 * a copy per tap as well: onnxruntime pushed it below the slices. A Gather
 * of one tap ran 2.1 ms against the slice's 1.4 for a 512×512×3×3 kernel.)
 */
function weightTap(ctx: Lowering, source: Tensor, t: number): Tensor {
  return sharedWeight(ctx, `${source.id}/tap${t}`, () => {
    const [sa, sb, kh, kw] = source.shape;
    const flat = reshape(source, [sa * sb, kh * kw]);
    return reshape(slice(flat, [t], [t + 1], [1]), [sa, sb]);
  });
}

/** The weight-derived tensor cached under `key`, made by `make` the first time it is asked for. */
function sharedWeight(ctx: Lowering, key: string, make: () => Tensor): Tensor {
  let t = ctx.weights.get(key);
  if (!t) {
    t = make();
    ctx.weights.set(key, t);
  }
  return t;
}

/**
 * A stride-1 group-1 Conv on a small map as one GEMM per kernel tap over
 * only the output positions where that tap lands inside the input: at 4×4
 * maps with 3×3 kernels, 31% of im2col's rows are padding, and im2col's
 * one-hot patch conv with its reorder and row transpose go too. The input
 * in NHWC once; per tap a slice of it `[N·rows·cols, C]` times the tap's
 * `[C, M]`, zero-padded back to the map, all summed, back to NCHW. The taps
 * of the weight come from one `[K², M·C]` transpose shared by the forward
 * conv and its input gradient (whose kernel `flip(S)ᵀ` has `S`'s taps in
 * reverse order, transposed: no flip, no weight transpose).
 */
function convAsTapGemms(ctx: Lowering, { x, w, b, node, yShape, unflipped }: SmallMapConv): Tensor {
  const { out } = ctx;
  const [n, c, h, wd] = x.shape;
  const [m, , kh, kw] = w.shape;
  const [, , oh, ow] = yShape;
  const win = {
    pads: attrInts(node, "pads", [0, 0, 0, 0]),
    dilations: attrInts(node, "dilations", [1, 1]),
  };
  const source = unflipped ?? w; // [A, B, kh, kw]
  const xt = transpose(x, [0, 2, 3, 1]); // [N, H, W, C]
  const parts: Tensor[] = [];
  for (let a = 0; a < kh; a++) {
    const { lo: y0, hi: y1, inputLo: iy } = tapRange(h, oh, a, win, 0);
    for (let bb = 0; bb < kw; bb++) {
      const { lo: x0, hi: x1, inputLo: ix } = tapRange(wd, ow, bb, win, 1);
      if (y1 <= y0 || x1 <= x0) continue;
      const rows = reshape(
        slice(xt, [iy, ix], [iy + y1 - y0, ix + x1 - x0], [1, 2]),
        [n * (y1 - y0) * (x1 - x0), c],
      );
      // Forward: W[:, :, a, b] is [M, C] (multiplied transposed). Input
      // gradient: its kernel's tap is S[:, :, kh-1-a, kw-1-b]ᵀ, so S's tap
      // [C_out, ...] as is.
      const t = unflipped ? (kh - 1 - a) * kw + (kw - 1 - bb) : a * kw + bb;
      const tap = weightTap(ctx, source, t);
      const product = matmul(rows, unflipped ? tap : transpose(tap, [1, 0])); // [·, M]
      parts.push(
        pad(reshape(product, [n, y1 - y0, x1 - x0, m]), [
          0,
          y0,
          x0,
          0,
          0,
          oh - y1,
          ow - x1,
          0,
        ]),
      );
    }
  }
  let y = parts.length === 1 ? parts[0] : out.addNode(
    "Sum",
    parts,
    [{ dtype: "float32", shape: [n, oh, ow, m] }],
  )[0];
  if (b) y = add(y, b);
  return transpose(y, [0, 3, 1, 2]);
}

/**
 * `S` when `w` is `Transpose(reverse(S, [2, 3]), [1, 0, 2, 3])` (a stride-1
 * conv input gradient's kernel, as the gradient rule writes it), else
 * undefined. Its GEMM form reverses the patches' taps instead, so the
 * weight-sized Slice (onnxruntime copies a step −1 slice element by element:
 * 6.5 ms for a 512×512×3×3 kernel) drops out of the program.
 */
function flipSource(
  graph: Graph,
  w: Tensor,
  get: (t: Tensor) => Tensor,
): Tensor | undefined {
  const transposed = graph.producer(w);
  const perm = transposed?.attrs.perm;
  if (transposed?.op !== "Transpose" || perm?.type !== "ints" || perm.value.join() !== "1,0,2,3") {
    return undefined;
  }
  const source = reversedFrom(transposed.inputs[0]!, [2, 3]);
  return source && get(source);
}

/** What the rewrite of one graph shares between nodes. */
interface Lowering {
  /** The source graph. */
  source: Graph;
  /** The graph being built. */
  out: Graph;
  /** The NCHWc block size. */
  block: number;
  /** The rewritten tensor of a source tensor. */
  get: (t: Tensor) => Tensor;
  /** Blocked weights by source weight and layout: reordered once even when several convs share one. */
  weights: Map<string, Tensor>;
}

/**
 * Rewrite every qualifying Conv of `graph` (non-constant weights) onto the
 * NCHWc kernels. Returns a new graph with the same inputs, constants and
 * outputs (by name); node order stays topological.
 *
 * @param graph The graph to rewrite (not modified).
 * @param options The CPU's block size.
 * @returns The rewritten graph and how many Conv nodes were lowered.
 */
export function lowerConvsToNchwc(graph: Graph, options: NchwcLoweringOptions): NchwcLowering {
  const block = options.blockSize;
  const plans = block > 1 ? graph.nodes.map((n) => plan(graph, n, block)) : [];
  const tapTransposes = graph.nodes.map((n) => transposeTakesTaps(graph, n));
  if (!plans.some((p) => p) && !tapTransposes.some((t) => t)) {
    return { graph, lowered: 0, loweredTransposes: 0 };
  }
  // Small constants (shapes, one-hot kernels) are shared by value, so the
  // gradient rules' patches and the GEMM forms' patches are the same nodes.
  const rewrite = new GraphRewrite(graph, {
    label: "lowerConvsToNchwc",
    constant: (out, t, data) =>
      data.length <= 1024
        ? out.sharedConstant(data, t.shape, t.dtype)
        : out.constant(data, t.shape, t.dtype),
  });
  const get = (t: Tensor) => rewrite.get(t);
  const ctx: Lowering = { source: graph, out: rewrite.out, block, get, weights: new Map() };
  let lowered = 0, loweredTransposes = 0;
  const operands = (node: Node) =>
    node.inputs.map((t) => (t ? get(t) : null)) as [Tensor, Tensor, Tensor | null];
  graph.nodes.forEach((node, i) => {
    const how = plans[i];
    if (tapTransposes[i]) {
      const [x, w, b] = operands(node);
      rewrite.set(
        node.outputs[0],
        convTransposeAsTapGemms({ node, x, w, b, tap: (t) => weightTap(ctx, w, t) }),
      );
      loweredTransposes++;
      return;
    }
    if (!how) {
      rewrite.copy(node);
      return;
    }
    const [x, w, b] = operands(node);
    const y = node.outputs[0];
    rewrite.set(
      y,
      how.layout === "gemm"
        ? smallMapConv(ctx, {
          x,
          w,
          b,
          node,
          yShape: y.shape,
          unflipped: flipSource(graph, node.inputs[1]!, get),
        })
        : blockedConv(ctx, node, { ...how, layout: how.layout }, [x, w, b]),
    );
    lowered++;
  });
  return { graph: rewrite.finish(), lowered, loweredTransposes };
}

/** A Conv's weight in the blocked layout, padded to the planned channels (shared per weight). */
function blockedWeight(
  ctx: Lowering,
  node: Node,
  how: BlockedPlan,
  w: Tensor,
): Tensor {
  const [m, wIn] = w.shape;
  const padded = how.outPadded !== m || how.inPadded !== wIn;
  return sharedWeight(ctx, `${node.inputs[1]!.id}/${how.layout}`, () => {
    const producer = ctx.source.producer(node.inputs[1]!);
    const perm = producer?.op === "Transpose" ? producer.attrs.perm : undefined;
    const swapped = !padded && perm?.type === "ints" && perm.value.join() === "1,0,2,3"
      ? swappedSource(ctx, producer!.inputs[0]!)
      : undefined;
    const wPadded = pad(w, [0, 0, 0, 0, how.outPadded - m, how.inPadded - wIn, 0, 0]);
    return reorderWeight(wPadded, how.layout, ctx.block, swapped);
  });
}

/** A transposed weight's source, seen through a kernel flip (reversed in the blocked reorder). */
function swappedSource(ctx: Lowering, source: Tensor): { source: Tensor; flipped: boolean } {
  const unflipped = reversedFrom(source, [2, 3]);
  return unflipped
    ? { source: ctx.get(unflipped), flipped: true }
    : { source: ctx.get(source), flipped: false };
}

/** One Conv as ReorderInput → NCHWc Conv → ReorderOutput; returns the NCHW output. */
function blockedConv(
  ctx: Lowering,
  node: Node,
  how: BlockedPlan,
  [x, w, b]: [Tensor, Tensor, Tensor | null],
): Tensor {
  const { out, block } = ctx;
  const y = node.outputs[0];
  const m = w.shape[0];
  const wBlocked = blockedWeight(ctx, node, how, w);
  const [n, c, h, wd] = x.shape;
  const xBlocked = how.reorderInput
    ? out.addNode(
      "ReorderInput",
      [x],
      [{ dtype: "float32", shape: [n, roundUp(c, block), h, wd] }],
      {},
      NCHWC_DOMAIN,
    )[0]
    : x;
  const attrs: Record<string, AttributeValue> = {
    ...node.attrs,
    group: { type: "int", value: how.group },
  };
  const bias = b && how.outPadded !== m ? pad(b, [0, how.outPadded - m]) : b;
  const yBlocked = out.addNode(
    "Conv",
    bias ? [xBlocked, wBlocked, bias] : [xBlocked, wBlocked],
    [{ dtype: "float32", shape: [y.shape[0], how.outPadded, y.shape[2], y.shape[3]] }],
    attrs,
    NCHWC_DOMAIN,
  )[0];
  const channels: AttributeValue = { type: "int", value: y.shape[1] };
  return out.addNode(
    "ReorderOutput",
    [yBlocked],
    [{ dtype: "float32", shape: y.shape }],
    { channels },
    NCHWC_DOMAIN,
  )[0];
}

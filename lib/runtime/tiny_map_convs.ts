/**
 * Convolutions on tiny feature maps, with constant weights, as one dense GEMM.
 *
 * Where a kernel covers the whole map (ResNet-18's 3×3 convolutions at 2×2
 * and 1×1, the deep stages of a 7×7-stem network at 28 px), every input
 * position reaches every output position through exactly one tap: the
 * convolution is a plain linear map from the `C·H·W` inputs to the
 * `M·OH·OW` outputs, with no zero blocks. onnxruntime's convolution kernels
 * loop over taps and padding instead and reach a fraction of the GEMM's
 * speed there (profiled, frozen eval of ResNet-18 7×7 at 28 px, batch 32: a
 * 256-channel 3×3 conv at 2×2 takes 770 µs, one at 1×1 with 512 channels
 * 310 µs). This rewrite unrolls such a weight into its `[C·H·W, M·OH·OW]`
 * matrix once, at build time, folds a following inference-form batch norm
 * into it, and runs Reshape → Gemm → Reshape.
 *
 * Only for weights known when the program is built (inference exports,
 * frozen eval programs): training programs, whose weights change every
 * step, keep the engine's own small-map lowering.
 *
 * @module
 */

import type { Graph, Node, Shape, Tensor } from "../onnx/graph.ts";
import { GraphRewrite } from "../onnx/rewrite.ts";
import { gemm, reshape } from "../onnx/ops.ts";

/** Options of {@linkcode denseTinyMapConvs}. */
export interface TinyMapConvOptions {
  /** The largest unrolled weight matrix, in bytes (default 64 MiB). */
  maxMatrixBytes?: number;
}

/** What {@linkcode denseTinyMapConvs} did. */
export interface TinyMapConvRewrite {
  /** The rewritten graph (the input graph itself when nothing qualified). */
  graph: Graph;
  /** Convolutions replaced by a dense GEMM. */
  rewritten: number;
  /** Batch norms folded into them. */
  foldedBatchNorms: number;
}

const DEFAULT_MAX_MATRIX_BYTES = 64 * 1024 * 1024;

/** The geometry of a Conv that qualifies: every input position meets every output position once. */
interface DensePlan {
  c: number;
  h: number;
  w: number;
  m: number;
  oh: number;
  ow: number;
  kh: number;
  kw: number;
  strides: readonly number[];
  pads: readonly number[];
  dilations: readonly number[];
}

function intsAttr(node: Node, name: string, fallback: readonly number[]): readonly number[] {
  const a = node.attrs[name];
  return a?.type === "ints" ? a.value : fallback;
}

/**
 * Whether `node` is a group-1 float Conv with constant weights whose unrolled
 * matrix has no zero block (each (input, output) position pair is joined by
 * exactly one tap) and fits `maxBytes`.
 */
function planDense(graph: Graph, node: Node, maxBytes: number): DensePlan | undefined {
  if (node.op !== "Conv" || node.domain) return undefined;
  const [x, weight, bias] = node.inputs;
  if (!x || !weight || x.dtype !== "float32" || x.rank !== 4) return undefined;
  if (!graph.constants.has(weight) || (bias && !graph.constants.has(bias))) return undefined;
  const group = node.attrs.group;
  if (group && group.type === "int" && group.value !== 1) return undefined;
  const autoPad = node.attrs.auto_pad;
  if (autoPad && !(autoPad.type === "string" && autoPad.value === "NOTSET")) return undefined;
  const [, c, h, w] = x.shape;
  const [m, cw, kh, kw] = weight.shape;
  const [, , oh, ow] = node.outputs[0].shape;
  if (cw !== c) return undefined;
  const strides = intsAttr(node, "strides", [1, 1]);
  const pads = intsAttr(node, "pads", [0, 0, 0, 0]);
  const dilations = intsAttr(node, "dilations", [1, 1]);
  if (c * h * w * m * oh * ow * 4 > maxBytes) return undefined;
  const plan: DensePlan = { c, h, w, m, oh, ow, kh, kw, strides, pads, dilations };
  // Each (output row, input row) pair must meet through exactly one kernel row; same for columns.
  const covers = (out: number, inp: number, k: number, axis: 0 | 1) => {
    for (let o = 0; o < out; o++) {
      for (let i = 0; i < inp; i++) {
        if (tapOf(plan, axis, o, i, k) < 0) return false;
      }
    }
    return true;
  };
  if (!covers(oh, h, kh, 0) || !covers(ow, w, kw, 1)) return undefined;
  return plan;
}

/** The kernel index joining output `o` to input `i` along `axis`, or -1 if none. */
function tapOf(plan: DensePlan, axis: 0 | 1, o: number, i: number, k: number): number {
  const d = i - o * plan.strides[axis] + plan.pads[axis];
  const dilation = plan.dilations[axis];
  if (d < 0 || d % dilation !== 0) return -1;
  const tap = d / dilation;
  return tap < k ? tap : -1;
}

/**
 * The unrolled weight `[C·H·W, M·OH·OW]` (row `c·H·W + i·W + j`, column
 * `m·OH·OW + p·OW + q`) and its bias `[M·OH·OW]`, each output channel scaled
 * by `scale[m]` and shifted by `shift[m]` (a folded batch norm).
 */
function unroll(
  plan: DensePlan,
  weight: Float32Array,
  bias: Float32Array | undefined,
  scale: Float64Array,
  shift: Float64Array,
): { matrix: Float32Array; vector: Float32Array } {
  const { c, h, w, m, oh, ow, kh, kw } = plan;
  const cols = m * oh * ow;
  const matrix = new Float32Array(c * h * w * cols);
  const vector = new Float32Array(cols);
  for (let p = 0; p < oh; p++) {
    for (let i = 0; i < h; i++) {
      const ti = tapOf(plan, 0, p, i, kh);
      for (let q = 0; q < ow; q++) {
        for (let j = 0; j < w; j++) {
          const tj = tapOf(plan, 1, q, j, kw);
          for (let ch = 0; ch < c; ch++) {
            const row = (ch * h + i) * w + j;
            for (let mo = 0; mo < m; mo++) {
              matrix[row * cols + (mo * oh + p) * ow + q] =
                weight[((mo * c + ch) * kh + ti) * kw + tj] *
                scale[mo];
            }
          }
        }
      }
    }
  }
  for (let mo = 0; mo < m; mo++) {
    const value = (bias ? bias[mo] : 0) * scale[mo] + shift[mo];
    vector.fill(value, mo * oh * ow, (mo + 1) * oh * ow);
  }
  return { matrix, vector };
}

/**
 * The inference-form BatchNormalization that alone reads `t`, with constant
 * parameters: its per-channel scale and shift, or undefined.
 */
function foldableBatchNorm(
  graph: Graph,
  t: Tensor,
  readers: ReadonlyMap<Tensor, Node[]>,
  outputs: ReadonlySet<Tensor>,
): { node: Node; scale: Float64Array; shift: Float64Array } | undefined {
  const users = readers.get(t) ?? [];
  if (users.length !== 1 || outputs.has(t)) return undefined;
  const node = users[0];
  if (node.op !== "BatchNormalization" || node.domain || node.inputs[0] !== t) return undefined;
  if (node.outputs.length !== 1) return undefined;
  const training = node.attrs.training_mode;
  if (training && training.type === "int" && training.value !== 0) return undefined;
  const params = node.inputs.slice(1, 5).map((p) => (p ? graph.constants.get(p) : undefined));
  if (params.some((p) => !(p instanceof Float32Array))) return undefined;
  const [gamma, beta, mean, variance] = params as Float32Array[];
  const epsAttr = node.attrs.epsilon;
  const eps = epsAttr?.type === "float" ? epsAttr.value : 1e-5;
  const scale = new Float64Array(gamma.length);
  const shift = new Float64Array(gamma.length);
  for (let k = 0; k < gamma.length; k++) {
    scale[k] = gamma[k] / Math.sqrt(variance[k] + Math.fround(eps));
    shift[k] = beta[k] - mean[k] * scale[k];
  }
  return { node, scale, shift };
}

/**
 * Replace each constant-weight Conv whose kernel covers its whole (tiny) map
 * by Reshape → Gemm → Reshape on its unrolled weight, folding a batch norm
 * that follows it. Same function, fewer multiplies of zero padding, and
 * onnxruntime's GEMM instead of its convolution loops.
 *
 * @param graph A graph whose convolution weights are constants (an export).
 * @param options The largest matrix to unroll.
 * @returns The rewritten graph and what was rewritten.
 *
 * @example
 * ```ts
 * import { Graph, ops } from "../onnx/mod.ts";
 * import { denseTinyMapConvs } from "./tiny_map_convs.ts";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [1, 8, 2, 2]);
 * const w = g.constant(new Float32Array(8 * 8 * 9).fill(0.1), [8, 8, 3, 3]);
 * g.output("y", ops.conv(x, w, null, { pads: [1, 1, 1, 1] }));
 * console.log(denseTinyMapConvs(g).rewritten); // 1
 * ```
 */
export function denseTinyMapConvs(
  graph: Graph,
  options: TinyMapConvOptions = {},
): TinyMapConvRewrite {
  const maxBytes = options.maxMatrixBytes ?? DEFAULT_MAX_MATRIX_BYTES;
  const plans = graph.nodes.map((n) => planDense(graph, n, maxBytes));
  if (!plans.some((p) => p)) return { graph, rewritten: 0, foldedBatchNorms: 0 };
  const readers = new Map<Tensor, Node[]>();
  for (const n of graph.nodes) {
    for (const t of n.inputs) {
      if (!t) continue;
      const list = readers.get(t);
      if (list) list.push(n);
      else readers.set(t, [n]);
    }
  }
  const graphOutputs = new Set(graph.outputs.values());
  const rewrite = new GraphRewrite(graph, { label: "denseTinyMapConvs" });
  const folded = new Set<Node>();
  let rewritten = 0;
  graph.nodes.forEach((node, i) => {
    if (folded.has(node)) return;
    const plan = plans[i];
    if (!plan) {
      rewrite.copy(node);
      return;
    }
    const [x, weight, bias] = node.inputs as [Tensor, Tensor, Tensor | null | undefined];
    const y = node.outputs[0];
    const bn = foldableBatchNorm(graph, y, readers, graphOutputs);
    const scale = bn?.scale ?? new Float64Array(plan.m).fill(1);
    const shift = bn?.shift ?? new Float64Array(plan.m);
    const { matrix, vector } = unroll(
      plan,
      graph.constants.get(weight) as Float32Array,
      bias ? graph.constants.get(bias) as Float32Array : undefined,
      scale,
      shift,
    );
    const rows = plan.c * plan.h * plan.w;
    const cols = plan.m * plan.oh * plan.ow;
    const flat = reshape(rewrite.get(x), [x.shape[0], rows]);
    const product = gemm(
      flat,
      rewrite.out.constant(matrix, [rows, cols]),
      rewrite.out.constant(vector, [cols]),
      {},
    );
    const result = reshape(product, y.shape as Shape);
    if (bn) {
      folded.add(bn.node);
      rewrite.set(bn.node.outputs[0], result);
    } else rewrite.set(y, result);
    rewritten++;
  });
  return { graph: rewrite.finish(), rewritten, foldedBatchNorms: folded.size };
}

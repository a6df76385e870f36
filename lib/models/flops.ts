/**
 * Multiply-accumulate counts of a model's forward pass, read off its graph
 * (what fvcore and timm's `profile_fvcore` report as "GMACs"): every Conv,
 * ConvTranspose, MatMul and Gemm node, one multiply-add per weight tap per
 * output element. Elementwise work (batch norm, activations, softmax,
 * pooling) is not counted, as in those tools.
 *
 * A training step costs about three forward passes in multiply-adds
 * (forward, input gradient, weight gradient), less the first layer's input
 * gradient, which is never computed: {@linkcode trainStepFlops}. That is the
 * figure a throughput is divided by to say what fraction of a machine's FMA
 * peak it reaches (`bench/compare.ts`).
 *
 * @module
 */

import type { Model } from "../nn/model.ts";
import type { Node } from "../onnx/graph.ts";
import { sizeOf } from "../onnx/graph.ts";
import { traceEvalGraph } from "./_trace.ts";

/** What {@linkcode forwardMacs} counted, for one image. */
export interface MacCount {
  /** Multiply-accumulates of one image's forward pass. */
  macs: number;
  /** The same, by operator type (`Conv`, `MatMul`, ...). */
  byOp: Record<string, number>;
  /** The first node's multiply-adds that read the image itself (its input gradient is never needed). */
  firstLayerMacs: number;
}

function intAttr(node: Node, name: string, fallback: number): number {
  const a = node.attrs[name];
  return a?.type === "int" ? a.value : fallback;
}

/** Multiply-adds of one node (0 for operators without any). */
function nodeMacs(node: Node): number {
  if (node.domain) return 0;
  const [a, b] = node.inputs;
  const out = node.outputs[0];
  if (!a || !b || !out) return 0;
  switch (node.op) {
    case "Conv": {
      // out [N, M, ...spatial] × weight [M, C/g, ...kernel]: each output sums C/g·K taps.
      const [, cPerGroup, ...kernel] = b.shape;
      return sizeOf(out.shape) * cPerGroup * sizeOf(kernel);
    }
    case "ConvTranspose": {
      // in [N, C, ...spatial] × weight [C, M/g, ...kernel]: each input scatters M/g·K taps.
      const [, mPerGroup, ...kernel] = b.shape;
      return sizeOf(a.shape) * mPerGroup * sizeOf(kernel);
    }
    case "MatMul": {
      const k = a.rank === 1 ? a.shape[0] : a.shape[a.rank - 1];
      return sizeOf(out.shape) * k;
    }
    case "Gemm": {
      const k = intAttr(node, "transA", 0) ? a.shape[0] : a.shape[1];
      return sizeOf(out.shape) * k;
    }
    default:
      return 0;
  }
}

/**
 * Multiply-accumulates of one image's forward pass through `model` at its
 * own image size and channels (eval form: no dropout, batch norm with
 * running statistics; the same matrix products as training).
 *
 * @example
 * ```ts
 * import { createModel, forwardMacs } from "./mod.ts";
 * const r18 = createModel("resnet18", { numClasses: 1000, inChannels: 3, imageSize: 224 });
 * console.log((forwardMacs(r18).macs / 1e9).toFixed(2)); // "1.81" (timm's table: 1.82)
 * ```
 */
export function forwardMacs(model: Model): MacCount {
  const { ctx, x } = traceEvalGraph(model, `${model.name}_macs`);
  const byOp: Record<string, number> = {};
  let macs = 0;
  let firstLayerMacs = 0;
  for (const node of ctx.graph.nodes) {
    const n = nodeMacs(node);
    if (n === 0) continue;
    if (macs === 0 && node.inputs[0] === x) firstLayerMacs = n;
    byOp[node.op] = (byOp[node.op] ?? 0) + n;
    macs += n;
  }
  return { macs, byOp, firstLayerMacs };
}

/**
 * Floating-point operations of one image's training step (forward, input
 * gradients and weight gradients), counting a multiply-add as 2:
 * `2 · (3 · forward − first layer)`. Throughput in img/s times this is the
 * step's GFLOP/s.
 */
export function trainStepFlops(model: Model): number {
  const { macs, firstLayerMacs } = forwardMacs(model);
  return 2 * (3 * macs - firstLayerMacs);
}

/**
 * The VJP table: one declarative entry per ONNX op, mapping the gradients of
 * a node's outputs to the gradients of its inputs, built from ops that run on
 * WebGPU. Convolution and pooling rules live in `conv_rules.ts`.
 *
 * Each rule receives the node, its inputs and outputs, the summed gradient
 * of its first output (`dy`, never null) and `needs` (which inputs want a
 * gradient), and returns one gradient (or null) per input. `defineRule(n, …)`
 * declares the op's `n` required inputs, which the rule then sees as present.
 *
 * @module
 */

import type { Tensor } from "../onnx/graph.ts";
import {
  add,
  cast,
  div,
  exp,
  expand,
  full,
  gemm,
  greater,
  less,
  log,
  matmul,
  mul,
  neg,
  pad,
  pow,
  reduceMean,
  reduceSum,
  reshape,
  scatterElements,
  slice,
  sub,
  transpose,
  where,
} from "../onnx/ops.ts";
import { averagePoolVjp, convVjp, globalAveragePoolVjp, maxPoolVjp } from "./conv_rules.ts";
import {
  attrFloat,
  attrInt,
  attrInts,
  constInts,
  defineRule,
  type Present,
  unbroadcast,
  type VjpContext,
  type VjpRule,
} from "./vjp.ts";

/** Reduced axes of a Reduce* node (attribute or second input), normalized. */
function reduceAxes(ctx: VjpContext<Present<1>>): number[] {
  const x = ctx.inputs[0];
  const fromInput = ctx.node.op === "ReduceSum";
  const raw = fromInput
    ? (ctx.inputs[1] ? constInts(ctx.graph, ctx.inputs[1], "ReduceSum axes") : [])
    : attrInts(ctx.node, "axes", []);
  const axes = raw.length ? raw : x.shape.map((_, i) => i);
  return axes.map((a) => (a < 0 ? a + x.rank : a));
}

/** `dy` of a reduction, reshaped with the reduced axes kept as 1. */
function keptShape(ctx: VjpContext<Present<1>>, dy: Tensor): Tensor {
  const x = ctx.inputs[0];
  const axes = reduceAxes(ctx);
  return reshape(dy, x.shape.map((d, i) => (axes.includes(i) ? 1 : d)));
}

function swapLast(t: Tensor): Tensor {
  const perm = t.shape.map((_, i) => i);
  [perm[t.rank - 2], perm[t.rank - 1]] = [perm[t.rank - 1], perm[t.rank - 2]];
  return transpose(t, perm);
}

function one(ctx: VjpContext): Tensor {
  return ctx.graph.scalar(1);
}

/** The gradient of Pow: `b·a^(b−1)` for the base, `y·ln a` for the exponent. */
const powVjp = defineRule(2, (ctx) => {
  const [a, b] = ctx.inputs;
  const [y] = ctx.outputs;
  const dy = ctx.dy;
  const bConst = ctx.graph.constants.get(b);
  const aPowBm1 = bConst && b.size === 1
    ? pow(a, Number((bConst as Float32Array)[0]) - 1)
    : pow(a, sub(b, one(ctx)));
  return [
    ctx.needs[0] ? unbroadcast(mul(dy, mul(b, aPowBm1)), a.shape) : null,
    ctx.needs[1] ? unbroadcast(mul(dy, mul(y, log(a))), b.shape) : null,
  ];
});

/** The gradient of Gemm (`alpha·A'·B' + beta·C` with optional transposes). */
const gemmVjp = defineRule(2, ({ inputs: [a, b, c], dy, needs, node }) => {
  const transA = attrInt(node, "transA", 0) === 1;
  const transB = attrInt(node, "transB", 0) === 1;
  const alpha = attrFloat(node, "alpha", 1);
  const beta = attrFloat(node, "beta", 1);
  const g = alpha === 1 ? dy : mul(dy, alpha);
  let da: Tensor | null = null;
  let db: Tensor | null = null;
  if (needs[0]) {
    da = transA
      ? gemm(b, g, null, { transA: transB, transB: true })
      : gemm(g, b, null, { transB: !transB });
  }
  if (needs[1]) {
    db = transB
      ? gemm(g, a, null, { transA: true, transB: transA })
      : gemm(a, g, null, { transA: !transA });
  }
  const dc = c && needs[2] ? unbroadcast(beta === 1 ? dy : mul(dy, beta), c.shape) : null;
  return [da, db, dc];
});

/** The gradient of LayerNormalization, from its saved mean and inverse std. */
const layerNormVjp = defineRule(2, ({ inputs: [x, scale, bias], outputs, dy, node }) => {
  const [, mean, invStd] = outputs;
  const axis = attrInt(node, "axis", -1);
  const a = axis < 0 ? axis + x.rank : axis;
  const normAxes = x.shape.map((_, i) => i).filter((i) => i >= a);
  const batchAxes = x.shape.map((_, i) => i).filter((i) => i < a);
  const xhat = mul(sub(x, mean), invStd);
  const dxhat = mul(dy, scale);
  const m1 = reduceMean(dxhat, normAxes, { keepdims: true });
  const m2 = reduceMean(mul(dxhat, xhat), normAxes, { keepdims: true });
  const dx = mul(sub(sub(dxhat, m1), mul(xhat, m2)), invStd);
  const sumBatch = (t: Tensor) =>
    batchAxes.length ? reduceSum(t, batchAxes, { keepdims: false }) : t;
  return [dx, sumBatch(mul(dy, xhat)), bias ? sumBatch(dy) : null];
});

/** The gradient of inference-form BatchNormalization (running statistics are constants). */
const batchNormVjp = defineRule(
  5,
  ({ inputs: [x, scale, _bias, mean, variance], dy, node, needs }) => {
    const eps = attrFloat(node, "epsilon", 1e-5);
    const c = x.shape[1];
    const bshape = x.shape.map((_, i) => (i === 1 ? c : 1));
    const inv = reshape(pow(add(variance, eps), -0.5), bshape);
    const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
    const xhat = mul(sub(x, reshape(mean, bshape)), inv);
    return [
      needs[0] ? mul(dy, mul(reshape(scale, bshape), inv)) : null,
      needs[1] ? reduceSum(mul(dy, xhat), axes, { keepdims: false }) : null,
      needs[2] ? reduceSum(dy, axes, { keepdims: false }) : null,
      null,
      null,
    ];
  },
);

/** The gradient of ReduceMax: shared evenly among the maxima (ties share). */
const reduceMaxVjp = defineRule(1, (ctx) => {
  const x = ctx.inputs[0];
  const y = keptShape(ctx, ctx.outputs[0]);
  const mask = cast(less(x, y), "float32");
  // mask = 1 where x < max; winners are 1 - mask (ties share the gradient).
  const win = sub(one(ctx), mask);
  const count = reduceSum(win, reduceAxes(ctx), { keepdims: true });
  return [mul(win, div(keptShape(ctx, ctx.dy), count))];
});

/** The gradient of Slice (steps of 1): the output gradient padded back to the input's shape. */
const sliceVjp = defineRule(3, ({ inputs: [x, starts, _ends, axesT, steps], dy, graph }) => {
  if (steps) {
    const s = constInts(graph, steps, "Slice steps");
    if (s.some((v) => v !== 1)) throw new Error("gradient rule: Slice with steps != 1");
  }
  const st = constInts(graph, starts, "Slice starts");
  const axes = axesT ? constInts(graph, axesT, "Slice axes") : st.map((_, i) => i);
  const pads = new Array(2 * x.rank).fill(0);
  axes.forEach((axis, i) => {
    const a = axis < 0 ? axis + x.rank : axis;
    const d = x.shape[a];
    const s0 = st[i] < 0 ? Math.max(st[i] + d, 0) : Math.min(st[i], d);
    pads[a] = s0;
    pads[a + x.rank] = d - s0 - dy.shape[a];
  });
  return [pad(dy, pads), null, null, null, null];
});

/** The gradient of Gather: the output gradient scattered (added) back to the gathered rows. */
const gatherVjp = defineRule(2, ({ inputs: [x, indices], dy, node }) => {
  const a = attrInt(node, "axis", 0);
  const axis = a < 0 ? a + x.rank : a;
  const k = indices.size;
  const flatIdx = reshape(indices, [k]);
  const dyShape = [...x.shape.slice(0, axis), k, ...x.shape.slice(axis + 1)];
  const dyR = reshape(dy, dyShape);
  const idxShape = dyShape.map((d, i) => (i === axis ? d : 1));
  const idx = expand(reshape(flatIdx, idxShape), dyShape);
  const zeros = full(dy, x.shape, 0);
  return [scatterElements(zeros, idx, dyR, { axis, reduction: "add" }), null];
});

// -------------------------------------------------------------------- table

/** The VJP rule of every differentiable op medtune emits. */
export const RULES: Readonly<Record<string, VjpRule>> = {
  // Elementwise arithmetic (broadcasting reduced back to each input's shape).
  Add: defineRule(2, ({ inputs: [a, b], dy }) => [
    unbroadcast(dy, a.shape),
    unbroadcast(dy, b.shape),
  ]),
  Sub: defineRule(2, ({ inputs: [a, b], dy, needs }) => [
    unbroadcast(dy, a.shape),
    needs[1] ? unbroadcast(neg(dy), b.shape) : null,
  ]),
  Mul: defineRule(2, ({ inputs: [a, b], dy, needs }) => [
    needs[0] ? unbroadcast(mul(dy, b), a.shape) : null,
    needs[1] ? unbroadcast(mul(dy, a), b.shape) : null,
  ]),
  Div: defineRule(2, ({ inputs: [a, b], outputs: [y], dy, needs }) => [
    needs[0] ? unbroadcast(div(dy, b), a.shape) : null,
    needs[1] ? unbroadcast(neg(div(mul(dy, y), b)), b.shape) : null,
  ]),
  Pow: powVjp,
  Max: defineRule(2, ({ inputs: [a, b], dy }) => {
    const aWins = less(a, b);
    return [unbroadcast(where(aWins, 0, dy), a.shape), unbroadcast(where(aWins, dy, 0), b.shape)];
  }),
  Min: defineRule(2, ({ inputs: [a, b], dy }) => {
    const bWins = greater(a, b);
    return [unbroadcast(where(bWins, 0, dy), a.shape), unbroadcast(where(bWins, dy, 0), b.shape)];
  }),
  Neg: ({ dy }) => [neg(dy)],
  Abs: defineRule(1, ({ inputs: [x], dy }) => [where(less(x, 0), neg(dy), dy)]),
  Sqrt: ({ outputs: [y], dy }) => [div(mul(dy, 0.5), y)],
  Exp: ({ outputs: [y], dy }) => [mul(dy, y)],
  Log: defineRule(1, ({ inputs: [x], dy }) => [div(dy, x)]),
  Identity: ({ dy }) => [dy],
  Cast: defineRule(1, ({ inputs: [x], dy }) => [x.dtype === "float32" ? dy : null]),

  // Activations.
  // dY·[y > 0] as a product: onnxruntime's CPU Where is ~3x slower than Mul.
  Relu: ({ outputs: [y], dy }) => [mul(dy, cast(greater(y, 0), "float32"))],
  Sigmoid: (ctx) => {
    const [y] = ctx.outputs;
    return [mul(ctx.dy, mul(y, sub(one(ctx), y)))];
  },
  Tanh: (ctx) => {
    const [y] = ctx.outputs;
    return [mul(ctx.dy, sub(one(ctx), mul(y, y)))];
  },
  Erf: defineRule(1, ({ inputs: [x], dy }) => [
    mul(dy, mul(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI))),
  ]),
  Softmax: ({ outputs: [y], dy, node }) => {
    const axis = attrInt(node, "axis", -1);
    const s = reduceSum(mul(dy, y), [axis], { keepdims: true });
    return [mul(y, sub(dy, s))];
  },
  Clip: defineRule(1, ({ inputs: [x, lo, hi], dy }) => {
    let g = dy;
    if (hi) g = where(greater(x, hi), 0, g);
    if (lo) g = where(less(x, lo), 0, g);
    return [g, null, null];
  }),
  Where: defineRule(3, ({ inputs: [cond, a, b], dy, needs }) => [
    null,
    needs[1] ? unbroadcast(where(cond, dy, 0), a.shape) : null,
    needs[2] ? unbroadcast(where(cond, 0, dy), b.shape) : null,
  ]),

  // Linear algebra.
  MatMul: defineRule(2, ({ inputs: [a, b], dy, needs }) => [
    needs[0] ? unbroadcast(matmul(dy, swapLast(b)), a.shape) : null,
    needs[1] ? unbroadcast(matmul(swapLast(a), dy), b.shape) : null,
  ]),
  Gemm: gemmVjp,

  // Normalization.
  LayerNormalization: layerNormVjp,
  BatchNormalization: batchNormVjp,

  // Reductions.
  ReduceSum: defineRule(1, (ctx) => [expand(keptShape(ctx, ctx.dy), ctx.inputs[0].shape), null]),
  ReduceMean: defineRule(1, (ctx) => {
    const x = ctx.inputs[0];
    const count = reduceAxes(ctx).reduce((n, a) => n * x.shape[a], 1);
    return [expand(mul(keptShape(ctx, ctx.dy), 1 / count), x.shape)];
  }),
  ReduceSumSquare: defineRule(1, (ctx) => [mul(mul(ctx.inputs[0], 2), keptShape(ctx, ctx.dy))]),
  ReduceMax: reduceMaxVjp,

  // Shape ops.
  Reshape: defineRule(1, ({ inputs: [x], dy }) => [reshape(dy, x.shape), null]),
  Flatten: defineRule(1, ({ inputs: [x], dy }) => [reshape(dy, x.shape)]),
  Squeeze: defineRule(1, ({ inputs: [x], dy }) => [reshape(dy, x.shape), null]),
  Unsqueeze: defineRule(1, ({ inputs: [x], dy }) => [reshape(dy, x.shape), null]),
  Transpose: ({ dy, node }) => {
    const perm = attrInts(node, "perm", []);
    const inv = perm.map((_, i) => perm.indexOf(i));
    return [transpose(dy, inv)];
  },
  Expand: defineRule(1, ({ inputs: [x], dy }) => [unbroadcast(dy, x.shape), null]),
  Slice: sliceVjp,
  Concat: defineRule("all", ({ inputs, dy, node }) => {
    const axis = attrInt(node, "axis", 0);
    const a = axis < 0 ? axis + dy.rank : axis;
    let offset = 0;
    return inputs.map((t) => {
      const start = offset;
      offset += t.shape[a];
      return slice(dy, [start], [offset], [a]);
    });
  }),
  Pad: defineRule(2, ({ inputs: [x, padsT], dy, graph }) => {
    const pads = constInts(graph, padsT, "Pad pads");
    const r = x.rank;
    return [
      slice(dy, pads.slice(0, r), x.shape.map((d, i) => pads[i] + d), x.shape.map((_, i) => i)),
      null,
      null,
    ];
  }),
  Gather: gatherVjp,

  // Convolution and pooling.
  Conv: defineRule(2, convVjp),
  MaxPool: defineRule(1, maxPoolVjp),
  AveragePool: defineRule(1, averagePoolVjp),
  GlobalAveragePool: defineRule(1, globalAveragePoolVjp),
};

/**
 * The VJP table: one declarative entry per ONNX op, mapping the gradients of
 * a node's outputs to the gradients of its inputs, built from ops that run on
 * WebGPU. Convolution and pooling rules live in `conv_rules.ts`.
 *
 * Each rule receives the node, its inputs and outputs, the summed output
 * gradients (`dys`, null where none flows) and `needs` (which inputs want a
 * gradient), and returns one gradient (or null) per input.
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
  unbroadcast,
  type VjpContext,
  type VjpRule,
} from "./vjp.ts";

/** Reduced axes of a Reduce* node (attribute or second input), normalized. */
function reduceAxes(ctx: VjpContext): number[] {
  const x = ctx.inputs[0]!;
  const fromInput = ctx.node.op === "ReduceSum";
  const raw = fromInput
    ? (ctx.inputs[1] ? constInts(ctx.graph, ctx.inputs[1], "ReduceSum axes") : [])
    : attrInts(ctx.node, "axes", []);
  const axes = raw.length ? raw : x.shape.map((_, i) => i);
  return axes.map((a) => (a < 0 ? a + x.rank : a));
}

/** `dy` of a reduction, reshaped with the reduced axes kept as 1. */
function keptShape(ctx: VjpContext, dy: Tensor): Tensor {
  const x = ctx.inputs[0]!;
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

// -------------------------------------------------------------------- table

/** The VJP rule of every differentiable op medtune emits. */
export const RULES: Readonly<Record<string, VjpRule>> = {
  // Elementwise arithmetic (broadcasting reduced back to each input's shape).
  Add: ({ inputs: [a, b], dys: [dy] }) => [unbroadcast(dy!, a!.shape), unbroadcast(dy!, b!.shape)],
  Sub: ({ inputs: [a, b], dys: [dy], needs }) => [
    unbroadcast(dy!, a!.shape),
    needs[1] ? unbroadcast(neg(dy!), b!.shape) : null,
  ],
  Mul: ({ inputs: [a, b], dys: [dy], needs }) => [
    needs[0] ? unbroadcast(mul(dy!, b!), a!.shape) : null,
    needs[1] ? unbroadcast(mul(dy!, a!), b!.shape) : null,
  ],
  Div: ({ inputs: [a, b], outputs: [y], dys: [dy], needs }) => [
    needs[0] ? unbroadcast(div(dy!, b!), a!.shape) : null,
    needs[1] ? unbroadcast(neg(div(mul(dy!, y), b!)), b!.shape) : null,
  ],
  Pow: (ctx) => {
    const [a, b] = ctx.inputs;
    const [y] = ctx.outputs;
    const dy = ctx.dys[0]!;
    const bConst = ctx.graph.constants.get(b!);
    const aPowBm1 = bConst && b!.size === 1
      ? pow(a!, Number((bConst as Float32Array)[0]) - 1)
      : pow(a!, sub(b!, one(ctx)));
    return [
      ctx.needs[0] ? unbroadcast(mul(dy, mul(b!, aPowBm1)), a!.shape) : null,
      ctx.needs[1] ? unbroadcast(mul(dy, mul(y, log(a!))), b!.shape) : null,
    ];
  },
  Max: ({ inputs: [a, b], dys: [dy] }) => {
    const aWins = less(a!, b!);
    return [
      unbroadcast(where(aWins, 0, dy!), a!.shape),
      unbroadcast(where(aWins, dy!, 0), b!.shape),
    ];
  },
  Min: ({ inputs: [a, b], dys: [dy] }) => {
    const bWins = greater(a!, b!);
    return [
      unbroadcast(where(bWins, 0, dy!), a!.shape),
      unbroadcast(where(bWins, dy!, 0), b!.shape),
    ];
  },
  Neg: ({ dys: [dy] }) => [neg(dy!)],
  Abs: ({ inputs: [x], dys: [dy] }) => [where(less(x!, 0), neg(dy!), dy!)],
  Sqrt: ({ outputs: [y], dys: [dy] }) => [div(mul(dy!, 0.5), y)],
  Exp: ({ outputs: [y], dys: [dy] }) => [mul(dy!, y)],
  Log: ({ inputs: [x], dys: [dy] }) => [div(dy!, x!)],
  Identity: ({ dys: [dy] }) => [dy],
  Cast: ({ inputs: [x], dys: [dy] }) => [x!.dtype === "float32" ? dy : null],

  // Activations.
  Relu: ({ outputs: [y], dys: [dy] }) => [where(greater(y, 0), dy!, 0)],
  Sigmoid: (ctx) => {
    const [y] = ctx.outputs;
    return [mul(ctx.dys[0]!, mul(y, sub(one(ctx), y)))];
  },
  Tanh: (ctx) => {
    const [y] = ctx.outputs;
    return [mul(ctx.dys[0]!, sub(one(ctx), mul(y, y)))];
  },
  Erf: ({ inputs: [x], dys: [dy] }) => [
    mul(dy!, mul(exp(neg(mul(x!, x!))), 2 / Math.sqrt(Math.PI))),
  ],
  Softmax: ({ outputs: [y], dys: [dy], node }) => {
    const axis = attrInt(node, "axis", -1);
    const s = reduceSum(mul(dy!, y), [axis], { keepdims: true });
    return [mul(y, sub(dy!, s))];
  },
  Clip: ({ inputs: [x, lo, hi], dys: [dy] }) => {
    let g = dy!;
    if (hi) g = where(greater(x!, hi), 0, g);
    if (lo) g = where(less(x!, lo), 0, g);
    return [g, null, null];
  },
  Where: ({ inputs: [cond, a, b], dys: [dy], needs }) => [
    null,
    needs[1] ? unbroadcast(where(cond!, dy!, 0), a!.shape) : null,
    needs[2] ? unbroadcast(where(cond!, 0, dy!), b!.shape) : null,
  ],

  // Linear algebra.
  MatMul: ({ inputs: [a, b], dys: [dy], needs }) => [
    needs[0] ? unbroadcast(matmul(dy!, swapLast(b!)), a!.shape) : null,
    needs[1] ? unbroadcast(matmul(swapLast(a!), dy!), b!.shape) : null,
  ],
  Gemm: ({ inputs: [a, b, c], dys: [dy], needs, node }) => {
    const transA = attrInt(node, "transA", 0) === 1;
    const transB = attrInt(node, "transB", 0) === 1;
    const alpha = attrFloat(node, "alpha", 1);
    const beta = attrFloat(node, "beta", 1);
    const g = alpha === 1 ? dy! : mul(dy!, alpha);
    let da: Tensor | null = null;
    let db: Tensor | null = null;
    if (needs[0]) {
      da = transA
        ? gemm(b!, g, null, { transA: transB, transB: true })
        : gemm(g, b!, null, { transB: !transB });
    }
    if (needs[1]) {
      db = transB
        ? gemm(g, a!, null, { transA: true, transB: transA })
        : gemm(a!, g, null, { transA: !transA });
    }
    const dc = c && needs[2] ? unbroadcast(beta === 1 ? dy! : mul(dy!, beta), c.shape) : null;
    return [da, db, dc];
  },

  // Normalization.
  LayerNormalization: ({ inputs: [x, scale, bias], outputs: [_y, mean, invStd], dys, node }) => {
    const dy = dys[0]!;
    const axis = attrInt(node, "axis", -1);
    const a = axis < 0 ? axis + x!.rank : axis;
    const normAxes = x!.shape.map((_, i) => i).filter((i) => i >= a);
    const batchAxes = x!.shape.map((_, i) => i).filter((i) => i < a);
    const xhat = mul(sub(x!, mean), invStd);
    const dxhat = mul(dy, scale!);
    const m1 = reduceMean(dxhat, normAxes, { keepdims: true });
    const m2 = reduceMean(mul(dxhat, xhat), normAxes, { keepdims: true });
    const dx = mul(sub(sub(dxhat, m1), mul(xhat, m2)), invStd);
    const sumBatch = (t: Tensor) =>
      batchAxes.length ? reduceSum(t, batchAxes, { keepdims: false }) : t;
    return [dx, sumBatch(mul(dy, xhat)), bias ? sumBatch(dy) : null];
  },
  BatchNormalization: ({ inputs: [x, scale, _bias, mean, variance], dys: [dy], node, needs }) => {
    const eps = attrFloat(node, "epsilon", 1e-5);
    const c = x!.shape[1];
    const bshape = x!.shape.map((_, i) => (i === 1 ? c : 1));
    const inv = reshape(pow(add(variance!, eps), -0.5), bshape);
    const axes = x!.shape.map((_, i) => i).filter((i) => i !== 1);
    const xhat = mul(sub(x!, reshape(mean!, bshape)), inv);
    return [
      needs[0] ? mul(dy!, mul(reshape(scale!, bshape), inv)) : null,
      needs[1] ? reduceSum(mul(dy!, xhat), axes, { keepdims: false }) : null,
      needs[2] ? reduceSum(dy!, axes, { keepdims: false }) : null,
      null,
      null,
    ];
  },

  // Reductions.
  ReduceSum: (ctx) => [expand(keptShape(ctx, ctx.dys[0]!), ctx.inputs[0]!.shape), null],
  ReduceMean: (ctx) => {
    const x = ctx.inputs[0]!;
    const count = reduceAxes(ctx).reduce((n, a) => n * x.shape[a], 1);
    return [expand(mul(keptShape(ctx, ctx.dys[0]!), 1 / count), x.shape)];
  },
  ReduceSumSquare: (ctx) => {
    const x = ctx.inputs[0]!;
    return [mul(mul(x, 2), keptShape(ctx, ctx.dys[0]!))];
  },
  ReduceMax: (ctx) => {
    const x = ctx.inputs[0]!;
    const y = keptShape(ctx, ctx.outputs[0]);
    const mask = cast(less(x, y), "float32");
    // mask = 1 where x < max; winners are 1 - mask (ties share the gradient).
    const win = sub(one(ctx), mask);
    const count = reduceSum(win, reduceAxes(ctx), { keepdims: true });
    return [mul(win, div(keptShape(ctx, ctx.dys[0]!), count))];
  },

  // Shape ops.
  Reshape: ({ inputs: [x], dys: [dy] }) => [reshape(dy!, x!.shape), null],
  Flatten: ({ inputs: [x], dys: [dy] }) => [reshape(dy!, x!.shape)],
  Squeeze: ({ inputs: [x], dys: [dy] }) => [reshape(dy!, x!.shape), null],
  Unsqueeze: ({ inputs: [x], dys: [dy] }) => [reshape(dy!, x!.shape), null],
  Transpose: ({ dys: [dy], node }) => {
    const perm = attrInts(node, "perm", []);
    const inv = perm.map((_, i) => perm.indexOf(i));
    return [transpose(dy!, inv)];
  },
  Expand: ({ inputs: [x], dys: [dy] }) => [unbroadcast(dy!, x!.shape), null],
  Slice: ({ inputs: [x, starts, _ends, axesT, steps], dys: [dy], graph }) => {
    if (steps) {
      const s = constInts(graph, steps, "Slice steps");
      if (s.some((v) => v !== 1)) throw new Error("gradient rule: Slice with steps != 1");
    }
    const st = constInts(graph, starts, "Slice starts");
    const axes = axesT ? constInts(graph, axesT, "Slice axes") : st.map((_, i) => i);
    const pads = new Array(2 * x!.rank).fill(0);
    axes.forEach((axis, i) => {
      const a = axis < 0 ? axis + x!.rank : axis;
      const d = x!.shape[a];
      const s0 = st[i] < 0 ? Math.max(st[i] + d, 0) : Math.min(st[i], d);
      pads[a] = s0;
      pads[a + x!.rank] = d - s0 - dy!.shape[a];
    });
    return [pad(dy!, pads), null, null, null, null];
  },
  Concat: ({ inputs, dys: [dy], node }) => {
    const axis = attrInt(node, "axis", 0);
    const a = axis < 0 ? axis + dy!.rank : axis;
    let offset = 0;
    return inputs.map((t) => {
      const start = offset;
      offset += t!.shape[a];
      return slice(dy!, [start], [offset], [a]);
    });
  },
  Pad: ({ inputs: [x, padsT], dys: [dy], graph }) => {
    const pads = constInts(graph, padsT, "Pad pads");
    const r = x!.rank;
    return [
      slice(dy!, pads.slice(0, r), x!.shape.map((d, i) => pads[i] + d), x!.shape.map((_, i) => i)),
      null,
      null,
    ];
  },
  Gather: ({ inputs: [x, indices], dys: [dy], node }) => {
    const a = attrInt(node, "axis", 0);
    const axis = a < 0 ? a + x!.rank : a;
    const k = indices!.size;
    const flatIdx = reshape(indices!, [k]);
    const dyShape = [...x!.shape.slice(0, axis), k, ...x!.shape.slice(axis + 1)];
    const dyR = reshape(dy!, dyShape);
    const idxShape = dyShape.map((d, i) => (i === axis ? d : 1));
    const idx = expand(reshape(flatIdx, idxShape), dyShape);
    const zeros = full(dy!, x!.shape, 0);
    return [scatterElements(zeros, idx, dyR, { axis, reduction: "add" }), null];
  },

  // Convolution and pooling.
  Conv: convVjp,
  MaxPool: maxPoolVjp,
  AveragePool: averagePoolVjp,
  GlobalAveragePool: globalAveragePoolVjp,
};

// Gradient-check cases: one or more per VJP rule, with shapes that exercise
// broadcasting, strides, padding, dilation and groups. Shared by the cpu,
// wasm and webgpu gradient tests.

import type { GradCheckOptions } from "../lib/runtime/gradcheck.ts";
import type { Graph, Tensor } from "../lib/onnx/graph.ts";
import * as op from "../lib/onnx/ops.ts";
import { ONNX_DTYPE } from "../lib/onnx/proto.ts";
import { ModelContext } from "../lib/nn/context.ts";
import { batchNorm2d, gelu } from "../lib/nn/layers.ts";

export interface GradCase {
  name: string;
  build: (g: Graph) => Tensor;
  options?: GradCheckOptions;
}

const positive = (n: number, lo = 0.5) =>
  Float32Array.from({ length: n }, (_, i) => lo + ((i * 7919) % 97) / 50);

const f = (g: Graph, name: string, shape: number[]) => g.input(name, "float32", shape);

function convCase(
  name: string,
  x: number[],
  w: number[],
  o: op.ConvOptions,
  bias = true,
): GradCase[] {
  // Weight-gradient formulations × input-gradient formulations (strided
  // layers take ConvTranspose for dX under either).
  const modes = [
    ["im2col", "conv"],
    ["dilated", "conv"],
    ["blocked", "conv"],
    ["im2col", "convTranspose"],
  ] as const;
  return modes.map(([weightGrad, inputGrad]) => ({
    name: `Conv ${name} (${weightGrad}, dX ${inputGrad})`,
    build: (g) => op.conv(f(g, "x", x), f(g, "w", w), bias ? f(g, "b", [w[0]]) : null, o),
    options: { convWeightGrad: weightGrad, convInputGrad: inputGrad },
  }));
}

export const CASES: GradCase[] = [
  // Elementwise with broadcasting.
  { name: "Add broadcast", build: (g) => op.add(f(g, "a", [2, 3, 4]), f(g, "b", [3, 1])) },
  { name: "Sub broadcast", build: (g) => op.sub(f(g, "a", [3, 1]), f(g, "b", [2, 3, 4])) },
  { name: "Mul broadcast", build: (g) => op.mul(f(g, "a", [2, 3, 4]), f(g, "b", [4])) },
  {
    name: "Div broadcast",
    build: (g) => op.div(f(g, "a", [2, 3]), f(g, "b", [1, 3])),
    options: { values: { b: positive(3) } },
  },
  {
    name: "Pow constant exponent",
    build: (g) => op.pow(f(g, "a", [2, 5]), 2.5),
    options: { values: { a: positive(10) } },
  },
  {
    name: "Pow tensor exponent",
    build: (g) => op.pow(f(g, "a", [2, 3]), f(g, "b", [3])),
    options: { values: { a: positive(6), b: Float32Array.of(0.5, 1.5, -1) } },
  },
  {
    name: "Sqrt",
    build: (g) => op.sqrt(f(g, "a", [3, 4])),
    options: { values: { a: positive(12) } },
  },
  { name: "Exp", build: (g) => op.exp(f(g, "a", [3, 4])) },
  {
    name: "Log",
    build: (g) => op.log(f(g, "a", [3, 4])),
    options: { values: { a: positive(12) } },
  },
  { name: "Neg", build: (g) => op.neg(f(g, "a", [5])) },
  { name: "Abs", build: (g) => op.abs(f(g, "a", [6])), options: { step: 1e-3 } },
  { name: "Identity", build: (g) => op.identity(f(g, "a", [2, 2])) },
  {
    // `op.cast` returns a float32 tensor unchanged, and gradient flows only
    // through float32 outputs, so the rule runs on a float32 → float32 Cast.
    name: "Cast float32 to float32",
    build: (g) =>
      op.mul(
        g.addNode("Cast", [f(g, "a", [3, 4])], [{ dtype: "float32", shape: [3, 4] }], {
          to: { type: "int", value: ONNX_DTYPE.float32 },
        })[0],
        f(g, "b", [4]),
      ),
  },
  { name: "Max", build: (g) => op.maximum(f(g, "a", [3, 4]), f(g, "b", [4])) },
  { name: "Min", build: (g) => op.minimum(f(g, "a", [4]), f(g, "b", [3, 4])) },
  // Activations.
  { name: "Relu", build: (g) => op.relu(f(g, "a", [4, 5])), options: { step: 1e-3 } },
  { name: "Sigmoid", build: (g) => op.sigmoid(f(g, "a", [4, 5])) },
  { name: "Tanh", build: (g) => op.tanh(f(g, "a", [4, 5])) },
  { name: "Erf", build: (g) => op.erf(f(g, "a", [4, 5])) },
  { name: "Softmax last axis", build: (g) => op.softmax(f(g, "a", [3, 5])) },
  { name: "Softmax axis 1", build: (g) => op.softmax(f(g, "a", [2, 4, 3]), 1) },
  {
    name: "Clip",
    build: (g) => op.clip(f(g, "a", [4, 5]), { min: -0.5, max: 0.7 }),
    options: { step: 1e-3 },
  },
  {
    name: "Where",
    build: (g) => {
      const c = op.greater(g.input("c", "float32", [3, 1]), 0);
      return op.where(c, f(g, "a", [3, 4]), f(g, "b", [4]));
    },
    options: { values: { c: Float32Array.of(1, -1, 1) }, wrt: ["a", "b"] },
  },
  // Linear algebra.
  { name: "MatMul 2-D", build: (g) => op.matmul(f(g, "a", [3, 4]), f(g, "b", [4, 5])) },
  {
    name: "MatMul batched broadcast",
    build: (g) => op.matmul(f(g, "a", [2, 3, 3, 4]), f(g, "b", [3, 4, 2])),
  },
  ...[[false, false], [true, false], [false, true], [true, true]].map(([ta, tb]) => ({
    name: `Gemm transA=${ta} transB=${tb} alpha beta`,
    build: (g: Graph) =>
      op.gemm(f(g, "a", ta ? [4, 3] : [3, 4]), f(g, "b", tb ? [5, 4] : [4, 5]), f(g, "c", [5]), {
        transA: ta,
        transB: tb,
        alpha: 0.7,
        beta: 1.3,
      }),
  })),
  // Normalization.
  {
    name: "LayerNormalization",
    build: (g) => op.layerNormalization(f(g, "x", [2, 3, 6]), f(g, "s", [6]), f(g, "b", [6]))[0],
  },
  {
    name: "BatchNormalization (inference form)",
    build: (g) =>
      op.batchNormalization(f(g, "x", [2, 3, 2, 2]), {
        scale: f(g, "s", [3]),
        bias: f(g, "b", [3]),
        mean: g.constant(Float32Array.of(0.1, -0.2, 0.3), [3]),
        variance: g.constant(Float32Array.of(0.5, 1.5, 2), [3]),
      }),
  },
  // Reductions.
  {
    name: "ReduceSum keepdims",
    build: (g) => op.reduceSum(f(g, "x", [2, 3, 4]), [0, 2], { keepdims: true }),
  },
  {
    name: "ReduceSum no keepdims",
    build: (g) => op.reduceSum(f(g, "x", [2, 3, 4]), [1], { keepdims: false }),
  },
  {
    name: "ReduceMean",
    build: (g) => op.reduceMean(f(g, "x", [2, 3, 4]), [-1], { keepdims: false }),
  },
  { name: "ReduceMax", build: (g) => op.reduceMax(f(g, "x", [2, 3, 4]), [1]) },
  { name: "ReduceSumSquare", build: (g) => op.reduceSumSquare(f(g, "x", [2, 3, 4]), [0, 1]) },
  // Shape ops.
  { name: "Reshape", build: (g) => op.reshape(f(g, "x", [2, 3, 4]), [4, -1]) },
  { name: "Flatten", build: (g) => op.flatten(f(g, "x", [2, 3, 4]), 1) },
  { name: "Transpose", build: (g) => op.transpose(f(g, "x", [2, 3, 4]), [2, 0, 1]) },
  { name: "Squeeze", build: (g) => op.squeeze(f(g, "x", [2, 1, 4]), [1]) },
  { name: "Unsqueeze", build: (g) => op.unsqueeze(f(g, "x", [2, 4]), [0, 2]) },
  { name: "Slice", build: (g) => op.slice(f(g, "x", [4, 6]), [1, -4], [3, 5], [0, 1]) },
  {
    name: "Concat",
    build: (g) => op.concat([f(g, "a", [2, 3]), f(g, "b", [2, 1]), f(g, "c", [2, 2])], 1),
  },
  { name: "Expand", build: (g) => op.expand(f(g, "x", [3, 1]), [2, 3, 4]) },
  {
    name: "Gather (repeated indices)",
    build: (g) => op.gather(f(g, "x", [4, 3]), g.constant(Int32Array.of(2, 0, 2), [3]), 0),
  },
  { name: "Pad", build: (g) => op.pad(f(g, "x", [2, 3]), [1, 0, 0, 2], 0.5) },
  // Convolution and pooling.
  ...convCase("3x3 same", [2, 3, 6, 6], [4, 3, 3, 3], { pads: [1, 1, 1, 1] }),
  ...convCase("3x3 stride 2 pad 1 (leftover row)", [2, 3, 8, 7], [4, 3, 3, 3], {
    strides: [2, 2],
    pads: [1, 1, 1, 1],
  }),
  ...convCase("7x7 stride 2 pad 3", [1, 2, 11, 11], [3, 2, 7, 7], {
    strides: [2, 2],
    pads: [3, 3, 3, 3],
  }, false),
  ...convCase("dilated 3x3", [1, 2, 9, 9], [2, 2, 3, 3], { dilations: [2, 2], pads: [2, 2, 2, 2] }),
  // Maps of ≥ DILATED_DW_MIN_POSITIONS output positions, where `blocked` takes
  // dW in the dilated form on a padded input: the batch (that conv's input
  // channels) below the NCHWc block and a multiple of 4 past it, and
  // strided layers whose forward pass leaves a row over (padded less, or
  // cropped when it has no padding there).
  ...convCase("3x3 same at 14x14", [2, 3, 14, 14], [4, 3, 3, 3], { pads: [1, 1, 1, 1] }),
  ...convCase("3x3 same at 14x14, batch 8", [8, 2, 14, 14], [3, 2, 3, 3], { pads: [1, 1, 1, 1] }),
  ...convCase("3x3 stride 2 pad 1 at 28x27 (leftover row)", [1, 2, 28, 27], [3, 2, 3, 3], {
    strides: [2, 2],
    pads: [1, 1, 1, 1],
  }),
  ...convCase("3x3 stride 2 at 30x30 (leftover cropped)", [1, 2, 30, 30], [3, 2, 3, 3], {
    strides: [2, 2],
  }, false),
  // A 3x3 "same" conv on a 4x4 map: Winograd F(2x2, 3x3) (forward and dX on
  // the cpu backend's lowering, dW under `blocked` on every backend).
  ...convCase("3x3 same at 4x4 (Winograd)", [2, 3, 4, 4], [4, 3, 3, 3], { pads: [1, 1, 1, 1] }),
  ...convCase("3x3 asymmetric pads", [2, 3, 6, 5], [4, 3, 3, 3], { pads: [0, 1, 2, 1] }),
  ...convCase("asymmetric pads, 1x1", [2, 3, 5, 5], [4, 3, 1, 1], { pads: [0, 1, 1, 0] }),
  ...convCase("depthwise 3x3 stride 2", [2, 4, 7, 7], [4, 1, 3, 3], {
    strides: [2, 2],
    pads: [1, 1, 1, 1],
    group: 4,
  }),
  ...convCase("depthwise 5x5", [1, 3, 8, 8], [3, 1, 5, 5], { pads: [2, 2, 2, 2], group: 3 }, false),
  // Depthwise dW from (input, output) position pairs on small maps, and from
  // patches past DEPTHWISE_PAIRS_MAX pairs (17×17 maps: 83,521).
  ...convCase("depthwise 5x5 stride 2 at 2x2, asymmetric pads", [2, 3, 2, 2], [3, 1, 5, 5], {
    strides: [2, 2],
    pads: [2, 1, 1, 2],
    group: 3,
  }),
  ...convCase("depthwise 3x3 dilated at 1x1", [3, 2, 1, 1], [2, 1, 3, 3], {
    pads: [2, 2, 2, 2],
    dilations: [2, 2],
    group: 2,
  }),
  ...convCase("depthwise 3x3 at 17x17 (patches)", [1, 2, 17, 17], [2, 1, 3, 3], {
    pads: [1, 1, 1, 1],
    group: 2,
  }, false),
  {
    name: "MaxPool 3x3 stride 2 pad 1",
    build: (g) =>
      op.maxPool(f(g, "x", [2, 2, 7, 7]), { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }),
    options: { step: 1e-3 },
  },
  {
    name: "MaxPool 2x2 stride 2 (leftover)",
    build: (g) => op.maxPool(f(g, "x", [1, 3, 5, 5]), { kernel: [2, 2], strides: [2, 2] }),
    options: { step: 1e-3 },
  },
  {
    name: "AveragePool 3x3 stride 2 pad 1 (count_include_pad=0)",
    build: (g) =>
      op.averagePool(f(g, "x", [1, 2, 6, 6]), {
        kernel: [3, 3],
        strides: [2, 2],
        pads: [1, 1, 1, 1],
      }),
  },
  {
    name: "AveragePool 2x2 count_include_pad",
    build: (g) =>
      op.averagePool(f(g, "x", [1, 2, 5, 5]), {
        kernel: [2, 2],
        strides: [2, 2],
        pads: [1, 1, 0, 0],
        countIncludePad: true,
      }),
  },
  { name: "GlobalAveragePool", build: (g) => op.globalAveragePool(f(g, "x", [2, 3, 4, 5])) },
];

/**
 * Layers with a fused gradient (a custom VJP region, not a RULES entry):
 * checked on the cpu backend (tests/train_optim_test.ts) and on webgpu.
 */
export const FUSED_CASES: GradCase[] = [
  {
    name: "training batch norm [3, 2, 3, 3]",
    build: (g) =>
      batchNorm2d(new ModelContext("train", { graph: g }), "bn", f(g, "x", [3, 2, 3, 3])),
    options: {
      wrt: ["x", "bn.weight", "bn.bias"],
      values: {
        "bn.weight": Float32Array.of(1.5, -0.7),
        "bn.bias": Float32Array.of(0.1, 0.2),
        "bn.running_mean": Float32Array.of(0, 0),
        "bn.running_var": Float32Array.of(1, 1),
      },
    },
  },
  // Rank 3 (ViT's [N, T, D]) and rank 2.
  { name: "GELU [2, 3, 4]", build: (g) => gelu(f(g, "x", [2, 3, 4])) },
  { name: "GELU [5, 3]", build: (g) => gelu(f(g, "x", [5, 3])) },
];

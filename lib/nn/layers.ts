/**
 * Layers over the graph builder, named and initialized as timm and
 * torchvision do, so that a model definition reads like the architecture and
 * its parameters carry timm's state-dict names:
 *
 * ```ts
 * let h = conv2d(ctx, "conv1", x, { out: 64, kernel: 7, stride: 2, pad: 3, bias: false });
 * h = relu(batchNorm2d(ctx, "bn1", h));
 * ```
 *
 * @module
 */

import { formatShape, type Tensor } from "../onnx/graph.ts";
import {
  add,
  batchNormalization,
  conv,
  erf,
  exp,
  flatten,
  gemm,
  globalAveragePool,
  layerNormalization,
  matmul,
  maxPool,
  mul,
  pow,
  reduceSum,
  relu as reluOp,
  reshape,
  sigmoid,
  slice,
  softmax,
  sub,
  transpose,
} from "../onnx/ops.ts";
import type { ModelContext } from "./context.ts";
import { type Init, kaimingNormal, torchDefault } from "./init.ts";

/** Options of {@linkcode conv2d}. */
export interface Conv2dOptions {
  /** Output channels. */
  out: number;
  /** Square kernel size. */
  kernel: number;
  /** Stride (default 1). */
  stride?: number;
  /** Padding on every side (default: `kernel / 2` rounded down, i.e. "same" for odd kernels at stride 1). */
  pad?: number;
  /** Dilation (default 1). */
  dilation?: number;
  /** Groups (default 1). */
  groups?: number;
  /** Add a bias (default true, as PyTorch). */
  bias?: boolean;
  /** Weight init (default: Kaiming normal, fan-out, as torchvision's ResNet and timm's EfficientNet). */
  init?: Init;
  /** Bias init (default: zeros). */
  biasInit?: Init;
}

/** 2-D convolution `name.weight` `[out, in/groups, k, k]` (+ `name.bias`). */
export function conv2d(ctx: ModelContext, name: string, x: Tensor, o: Conv2dOptions): Tensor {
  const groups = o.groups ?? 1;
  const inC = x.shape[1];
  if (inC % groups !== 0) {
    throw new Error(`${name}: ${inC} input channels are not divisible by groups ${groups}`);
  }
  const shape = [o.out, inC / groups, o.kernel, o.kernel];
  const w = ctx.param(`${name}.weight`, shape, o.init ?? kaimingNormal(shape, "fanOut"));
  const b = o.bias ?? true
    ? ctx.param(`${name}.bias`, [o.out], o.biasInit ?? { kind: "constant", value: 0 })
    : null;
  const s = o.stride ?? 1;
  const p = o.pad ?? Math.floor(((o.kernel - 1) * (o.dilation ?? 1)) / 2);
  const d = o.dilation ?? 1;
  return conv(x, w, b, { strides: [s, s], pads: [p, p, p, p], dilations: [d, d], group: groups });
}

/** Options of {@linkcode batchNorm2d}. */
export interface BatchNormOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Weight of the new batch statistics in the running ones (default 0.1, PyTorch's). */
  momentum?: number;
  /** Init of the scale (default 1; timm zero-initializes the last norm of each residual block). */
  weightInit?: Init;
}

/**
 * Batch normalization over `[N, C, H, W]`: `name.weight`, `name.bias`,
 * buffers `name.running_mean`, `name.running_var`. In train mode it
 * normalizes with the batch statistics (one fused gradient rule) and writes
 * the updated running statistics (unbiased variance, as PyTorch).
 */
export function batchNorm2d(
  ctx: ModelContext,
  name: string,
  x: Tensor,
  o: BatchNormOptions = {},
): Tensor {
  if (x.rank !== 4) throw new Error(`${name}: batch norm expects [N, C, H, W], got ${x}`);
  const c = x.shape[1];
  const eps = o.eps ?? 1e-5;
  const momentum = o.momentum ?? 0.1;
  const weight = ctx.param(`${name}.weight`, [c], o.weightInit ?? { kind: "constant", value: 1 }, {
    decay: false,
  });
  const bias = ctx.param(`${name}.bias`, [c], { kind: "constant", value: 0 }, { decay: false });
  const runningMean = ctx.buffer(`${name}.running_mean`, [c], { kind: "constant", value: 0 });
  const runningVar = ctx.buffer(`${name}.running_var`, [c], { kind: "constant", value: 1 });
  if (!ctx.training) {
    return batchNormalization(
      x,
      { scale: weight, bias, mean: runningMean, variance: runningVar },
      { epsilon: eps },
    );
  }
  const [n, , h, w] = x.shape;
  const count = n * h * w;
  const axes = [0, 2, 3];
  const bshape = [1, c, 1, 1];
  const g = x.graph;
  let mean!: Tensor, variance!: Tensor, xc!: Tensor, invStd!: Tensor, scale!: Tensor;
  const [y] = g.withCustomGradient([x, weight, bias], () => {
    // Sums, not ReduceMean / ReduceSumSquare: onnxruntime's CPU kernels
    // reduce over [0, 2, 3] 2-4x slower than ReduceSum (profiled, layer 1
    // of ResNet-18 at 28 px: 1.34 ms per ReduceSumSquare, 0.31 per ReduceSum).
    mean = mul(reduceSum(x, axes), 1 / count); // [1, C, 1, 1]
    xc = sub(x, mean);
    variance = mul(reduceSum(mul(xc, xc), axes), 1 / count);
    invStd = pow(add(variance, eps), -0.5);
    scale = mul(reshape(weight, bshape), invStd);
    return [channelAffine(xc, scale, bias)];
  }, ([dy]) => {
    if (!dy) return [null, null, null];
    const sumDy = reduceSum(dy, axes); // [1, C, 1, 1]
    const sumDyXc = reduceSum(mul(dy, xc), axes);
    const dWeight = reshape(mul(sumDyXc, invStd), [c]);
    const dBias = reshape(sumDy, [c]);
    // dx = scale · (dy − mean(dy) − x̂ · mean(dy · x̂)), x̂ = xc · invStd
    const coefXc = mul(mul(scale, mul(invStd, invStd)), mul(sumDyXc, -1 / count));
    const coefConst = mul(scale, mul(sumDy, -1 / count));
    const dx = add(mul(dy, scale), channelAffine(xc, coefXc, coefConst));
    return [dx, dWeight, dBias];
  });
  const unbiased = mul(reshape(variance, [c]), count / Math.max(count - 1, 1));
  ctx.updateBuffer(
    `${name}.running_mean`,
    add(mul(runningMean, 1 - momentum), mul(reshape(mean, [c]), momentum)),
  );
  ctx.updateBuffer(
    `${name}.running_var`,
    add(mul(runningVar, 1 - momentum), mul(unbiased, momentum)),
  );
  return y;
}

/** Options of {@linkcode linear}. */
export interface LinearOptions {
  /** Output features. */
  out: number;
  /** Add a bias (default true). */
  bias?: boolean;
  /** Weight init (default: PyTorch's U(±1/√fan_in)). */
  init?: Init;
  /** Bias init (default: PyTorch's U(±1/√fan_in)). */
  biasInit?: Init;
}

/** Fully connected layer `name.weight` `[out, in]` (+ `name.bias`) over the last axis. */
export function linear(ctx: ModelContext, name: string, x: Tensor, o: LinearOptions): Tensor {
  const inF = x.shape[x.rank - 1];
  const shape = [o.out, inF];
  const w = ctx.param(`${name}.weight`, shape, o.init ?? torchDefault(shape));
  const b = o.bias ?? true
    ? ctx.param(`${name}.bias`, [o.out], o.biasInit ?? torchDefault(shape))
    : null;
  const x2 = x.rank === 2 ? x : reshape(x, [-1, inF]);
  const y = gemm(x2, w, b, { transB: true });
  return x.rank === 2 ? y : reshape(y, [...x.shape.slice(0, -1), o.out]);
}

/** Options of {@linkcode layerNorm}. */
export interface LayerNormOptions {
  /** Added to the variance (default 1e-5; timm's ViT uses 1e-6). */
  eps?: number;
}

/** Layer norm over the last axis: `name.weight`, `name.bias` (timm's ViT uses eps 1e-6). */
export function layerNorm(
  ctx: ModelContext,
  name: string,
  x: Tensor,
  o: LayerNormOptions = {},
): Tensor {
  const d = x.shape[x.rank - 1];
  const w = ctx.param(`${name}.weight`, [d], { kind: "constant", value: 1 }, { decay: false });
  const b = ctx.param(`${name}.bias`, [d], { kind: "constant", value: 0 }, { decay: false });
  return layerNormalization(x, w, b, { axis: -1, epsilon: o.eps ?? 1e-5 })[0];
}

/** ReLU. */
export function relu(x: Tensor): Tensor {
  return reluOp(x);
}

/** SiLU (swish): `x · sigmoid(x)`. */
export function silu(x: Tensor): Tensor {
  return mul(x, sigmoid(x));
}

/**
 * Exact GELU: `x · Φ(x) = 0.5 · x · (1 + erf(x / √2))`, with a fused
 * gradient `Φ(x) + x·φ(x)` that reuses the forward's `x / √2` and `Φ(x)`:
 * 10 passes over the activations forward and backward where the composed
 * ops' own rules took 16 (ViT-Tiny's MLPs at 28 px: [32, 50, 768] each).
 */
export function gelu(x: Tensor): Tensor {
  if (x.rank < 2) return mul(mul(x, 0.5), add(erf(mul(x, Math.SQRT1_2)), 1));
  let u!: Tensor, phi!: Tensor;
  const [y] = x.graph.withCustomGradient([x], () => {
    u = mul(x, Math.SQRT1_2);
    phi = channelAffine(erf(u), 0.5, 0.5); // Φ(x)
    return [mul(x, phi)];
  }, ([dy]) => {
    if (!dy) return [null];
    // x·φ(x) = u·exp(−u²)/√π, the 1/√π moved into the exponent.
    const p = exp(channelAffine(mul(u, u), -1, -0.5 * Math.log(Math.PI)));
    return [mul(dy, add(phi, mul(u, p)))];
  });
  return y;
}

/**
 * `x·a + b` per channel (axis 1; `a`, `b` per-channel tensors of `C`
 * elements or numbers) in one pass: an inference-form BatchNormalization
 * node with mean 0, variance 1 and epsilon 0. A Mul and an Add with
 * `[1, C, 1, 1]` operands took two passes, and onnxruntime's CPU broadcast
 * Add ran at half the speed of a same-shape one (0.98 vs 0.55 ms at
 * [32, 64, 28, 28]; the BatchNormalization node 0.32).
 */
export function channelAffine(x: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  const c = x.shape[1];
  const g = x.graph;
  const perChannel = (v: Tensor | number) =>
    typeof v === "number" ? g.sharedConstant(new Float32Array(c).fill(v), [c]) : reshape(v, [c]);
  return batchNormalization(
    x,
    { scale: perChannel(a), bias: perChannel(b), mean: perChannel(0), variance: perChannel(1) },
    { epsilon: 0 },
  );
}

/**
 * Dropout with probability `rate`: in train mode multiplies by a host-fed
 * mask `[N, …]` of 0 and `1 / (1 - rate)` (named `noise:<name>`); identity
 * otherwise.
 */
export function dropout(ctx: ModelContext, name: string, x: Tensor, rate: number): Tensor {
  if (!ctx.training || rate <= 0) return x;
  if (rate >= 1) throw new Error(`${name}: dropout rate must be < 1, got ${rate}`);
  return mul(x, ctx.noiseInput(`noise:${name}`, x.shape, rate));
}

/**
 * Stochastic depth: in train mode drops the whole residual branch `x` per
 * sample with probability `rate` (mask `[N, 1, …]`), scaling the kept ones.
 */
export function dropPath(ctx: ModelContext, name: string, x: Tensor, rate: number): Tensor {
  if (!ctx.training || rate <= 0) return x;
  const shape = [x.shape[0], ...x.shape.slice(1).map(() => 1)];
  return mul(x, ctx.noiseInput(`noise:${name}`, shape, rate));
}

/** Mean over H and W, flattened to `[N, C]`. */
export function globalAvgPoolFlat(x: Tensor): Tensor {
  return flatten(globalAveragePool(x), 1);
}

/** Options of {@linkcode maxPool2d}. */
export interface MaxPool2dOptions {
  /** Window side. */
  kernel: number;
  /** Stride (default: the kernel). */
  stride?: number;
  /** Padding on every side (default 0). */
  pad?: number;
}

/** Max pooling with a square window. */
export function maxPool2d(x: Tensor, o: MaxPool2dOptions): Tensor {
  const s = o.stride ?? o.kernel;
  const p = o.pad ?? 0;
  return maxPool(x, { kernel: [o.kernel, o.kernel], strides: [s, s], pads: [p, p, p, p] });
}

/** Options of {@linkcode squeezeExcite}. */
export interface SqueezeExciteOptions {
  /** Channels of the bottleneck. */
  reduced: number;
  /** Activation after the reduction (default SiLU). */
  act?: (t: Tensor) => Tensor;
}

/**
 * timm's `SqueezeExcite` (EfficientNet): `x · sigmoid(conv_expand(act(conv_reduce(mean(x)))))`
 * with 1×1 convs `name.conv_reduce` and `name.conv_expand`.
 */
export function squeezeExcite(
  ctx: ModelContext,
  name: string,
  x: Tensor,
  o: SqueezeExciteOptions,
): Tensor {
  const c = x.shape[1];
  const act = o.act ?? silu;
  let s = globalAveragePool(x);
  s = act(conv2d(ctx, `${name}.conv_reduce`, s, { out: o.reduced, kernel: 1 }));
  s = sigmoid(conv2d(ctx, `${name}.conv_expand`, s, { out: c, kernel: 1 }));
  return mul(x, s);
}

/** Options of {@linkcode mlp}. */
export interface MlpOptions {
  /** Hidden width. */
  hidden: number;
  /** Weight init (default: PyTorch's U(±1/√fan_in)). */
  init?: Init;
  /** Bias init (default: PyTorch's U(±1/√fan_in)). */
  biasInit?: Init;
}

/** timm's ViT `Mlp`: `fc2(act(fc1(x)))`. */
export function mlp(ctx: ModelContext, name: string, x: Tensor, o: MlpOptions): Tensor {
  const d = x.shape[x.rank - 1];
  const h = gelu(
    linear(ctx, `${name}.fc1`, x, { out: o.hidden, init: o.init, biasInit: o.biasInit }),
  );
  return linear(ctx, `${name}.fc2`, h, { out: d, init: o.init, biasInit: o.biasInit });
}

/** Options of {@linkcode attention}. */
export interface AttentionOptions {
  /** Number of heads (divides the embedding). */
  heads: number;
  /** Weight init of the projections (default: PyTorch's U(±1/√fan_in)). */
  init?: Init;
  /** Bias init of the projections (default: PyTorch's U(±1/√fan_in)). */
  biasInit?: Init;
}

/**
 * timm's ViT `Attention`: fused `name.qkv` projection, scaled dot-product
 * attention over `heads`, output projection `name.proj`. `x` is `[N, T, D]`.
 */
export function attention(
  ctx: ModelContext,
  name: string,
  x: Tensor,
  o: AttentionOptions,
): Tensor {
  const [n, t, d] = x.shape;
  const heads = o.heads;
  if (d % heads !== 0) {
    throw new Error(
      `${name}: embedding ${d} is not divisible by ${heads} heads (${formatShape(x.shape)})`,
    );
  }
  const hd = d / heads;
  const qkv = linear(ctx, `${name}.qkv`, x, { out: 3 * d, init: o.init, biasInit: o.biasInit });
  const split = transpose(reshape(qkv, [n, t, 3, heads, hd]), [2, 0, 3, 1, 4]); // [3, N, H, T, hd]
  const part = (i: number) => reshape(slice(split, [i], [i + 1], [0]), [n, heads, t, hd]);
  const q = mul(part(0), 1 / Math.sqrt(hd));
  const k = part(1);
  const v = part(2);
  const scores = matmul(q, transpose(k, [0, 1, 3, 2])); // [N, H, T, T]
  const attn = softmax(scores, -1);
  const ctxOut = transpose(matmul(attn, v), [0, 2, 1, 3]); // [N, T, H, hd]
  return linear(ctx, `${name}.proj`, reshape(ctxOut, [n, t, d]), {
    out: d,
    init: o.init,
    biasInit: o.biasInit,
  });
}

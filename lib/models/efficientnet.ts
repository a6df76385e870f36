/**
 * EfficientNet-B0 as timm's `efficientnet_b0`: the same blocks, parameter
 * names, padding (PyTorch-style symmetric, not TF "same"), batch-norm eps
 * 1e-5, SiLU, squeeze-excite reduced from the block input (rd ratio 0.25),
 * TF-style ("goog") initialization and drop-path schedule.
 *
 * @module
 */

import type { ModelContext } from "../nn/context.ts";
import {
  batchNorm2d,
  conv2d,
  dropout,
  dropPath,
  globalAvgPoolFlat,
  linear,
  silu,
  squeezeExcite,
} from "../nn/layers.ts";
import type { Init } from "../nn/init.ts";
import type { Model } from "../nn/model.ts";
import type { Tensor } from "../onnx/graph.ts";
import { add } from "../onnx/ops.ts";
import { type BackboneOptions, makeDivisible, resolveBackboneOptions } from "./common.ts";

/** Options of {@linkcode efficientnetB0}. */
export type EfficientNetOptions = BackboneOptions;

/** One stage of the architecture (timm's block string, decoded). */
interface StageDef {
  /** `ds` = DepthwiseSeparableConv, `ir` = InvertedResidual. */
  type: "ds" | "ir";
  /** Blocks in the stage. */
  repeats: number;
  /** Depthwise kernel. */
  kernel: number;
  /** Stride of the first block. */
  stride: number;
  /** Expansion ratio. */
  expand: number;
  /** Output channels. */
  out: number;
}

// timm: ds_r1_k3_s1_e1_c16_se0.25, ir_r2_k3_s2_e6_c24_se0.25, ir_r2_k5_s2_e6_c40_se0.25,
// ir_r3_k3_s2_e6_c80_se0.25, ir_r3_k5_s1_e6_c112_se0.25, ir_r4_k5_s2_e6_c192_se0.25,
// ir_r1_k3_s1_e6_c320_se0.25
const B0: readonly StageDef[] = [
  { type: "ds", repeats: 1, kernel: 3, stride: 1, expand: 1, out: 16 },
  { type: "ir", repeats: 2, kernel: 3, stride: 2, expand: 6, out: 24 },
  { type: "ir", repeats: 2, kernel: 5, stride: 2, expand: 6, out: 40 },
  { type: "ir", repeats: 3, kernel: 3, stride: 2, expand: 6, out: 80 },
  { type: "ir", repeats: 3, kernel: 5, stride: 1, expand: 6, out: 112 },
  { type: "ir", repeats: 4, kernel: 5, stride: 2, expand: 6, out: 192 },
  { type: "ir", repeats: 1, kernel: 3, stride: 1, expand: 6, out: 320 },
];
const STEM = 32;
const HEAD = 1280;
const SE_RATIO = 0.25;

/**
 * EfficientNet-B0 (timm `efficientnet_b0`): `conv_stem`, `bn1`,
 * `blocks.{stage}.{block}` (stage 0 DepthwiseSeparableConv: `conv_dw`, `bn1`,
 * `se.conv_reduce`, `se.conv_expand`, `conv_pw`, `bn2`; later stages
 * InvertedResidual: `conv_pw`, `bn1`, `conv_dw`, `bn2`, `se.*`, `conv_pwl`,
 * `bn3`), `conv_head`, `bn2`, global pool, dropout, `classifier`.
 *
 * ```ts
 * const model = efficientnetB0({ numClasses: 2, imageSize: 28, dropRate: 0.3 });
 * ```
 */
export function efficientnetB0(options: EfficientNetOptions = {}): Model {
  const config = resolveBackboneOptions(
    "efficientnet_b0",
    options as EfficientNetOptions & Record<string, unknown>,
  );
  return {
    name: "efficientnet_b0",
    inChannels: config.inChannels,
    imageSize: config.imageSize,
    numClasses: config.numClasses,
    config: { ...config },
    build(ctx: ModelContext, x: Tensor): Tensor {
      let h = conv2d(ctx, "conv_stem", x, { out: STEM, kernel: 3, stride: 2, pad: 1, bias: false });
      h = silu(batchNorm2d(ctx, "bn1", h));
      const total = B0.reduce((n, s) => n + s.repeats, 0);
      let index = 0;
      B0.forEach((stage, si) => {
        for (let bi = 0; bi < stage.repeats; bi++) {
          const o = {
            ...stage,
            stride: bi === 0 ? stage.stride : 1,
            // timm's EfficientNetBuilder: drop_path_rate * block_idx / block_count
            dropPath: (config.dropPathRate * index) / total,
          };
          const name = `blocks.${si}.${bi}`;
          h = stage.type === "ds"
            ? depthwiseSeparable(ctx, name, h, o)
            : invertedResidual(ctx, name, h, o);
          index++;
        }
      });
      h = conv2d(ctx, "conv_head", h, { out: HEAD, kernel: 1, pad: 0, bias: false });
      h = silu(batchNorm2d(ctx, "bn2", h));
      h = globalAvgPoolFlat(h);
      h = dropout(ctx, "head_drop", h, config.dropRate);
      // timm _init_weight_goog for nn.Linear: U(±1/√fan_out), zero bias.
      const bound = 1 / Math.sqrt(config.numClasses);
      return linear(ctx, "classifier", h, {
        out: config.numClasses,
        init: { kind: "uniform", bound },
        biasInit: { kind: "constant", value: 0 },
      });
    },
  };
}

interface BlockOptions {
  kernel: number;
  stride: number;
  expand: number;
  out: number;
  dropPath: number;
}

/** timm's `_init_weight_goog` for convs: N(0, √(2 / fan_out)), fan_out = k² · out / groups. */
function googInit(out: number, kernel: number, groups = 1): Init {
  return { kind: "normal", std: Math.sqrt(2 / ((kernel * kernel * out) / groups)) };
}

/** timm's `get_padding(k, stride)`: symmetric, PyTorch-style. */
function padding(kernel: number, stride: number): number {
  return Math.floor((stride - 1 + (kernel - 1)) / 2);
}

/** Squeeze-excite with timm's reduced width: `round(in_chs · 0.25)` of the block input. */
function se(ctx: ModelContext, name: string, x: Tensor, blockIn: number): Tensor {
  return squeezeExcite(ctx, `${name}.se`, x, {
    reduced: Math.round(blockIn * SE_RATIO),
    act: silu,
  });
}

function depthwiseSeparable(ctx: ModelContext, name: string, x: Tensor, o: BlockOptions): Tensor {
  const c = x.shape[1];
  let h = conv2d(ctx, `${name}.conv_dw`, x, {
    out: c,
    kernel: o.kernel,
    stride: o.stride,
    pad: padding(o.kernel, o.stride),
    groups: c,
    bias: false,
    init: googInit(c, o.kernel, c),
  });
  h = silu(batchNorm2d(ctx, `${name}.bn1`, h));
  h = se(ctx, name, h, c);
  h = conv2d(ctx, `${name}.conv_pw`, h, { out: o.out, kernel: 1, pad: 0, bias: false });
  h = batchNorm2d(ctx, `${name}.bn2`, h);
  if (o.stride === 1 && c === o.out) h = add(dropPath(ctx, `${name}.drop_path`, h, o.dropPath), x);
  return h;
}

function invertedResidual(ctx: ModelContext, name: string, x: Tensor, o: BlockOptions): Tensor {
  const c = x.shape[1];
  const mid = makeDivisible(c * o.expand);
  let h = conv2d(ctx, `${name}.conv_pw`, x, { out: mid, kernel: 1, pad: 0, bias: false });
  h = silu(batchNorm2d(ctx, `${name}.bn1`, h));
  h = conv2d(ctx, `${name}.conv_dw`, h, {
    out: mid,
    kernel: o.kernel,
    stride: o.stride,
    pad: padding(o.kernel, o.stride),
    groups: mid,
    bias: false,
    init: googInit(mid, o.kernel, mid),
  });
  h = silu(batchNorm2d(ctx, `${name}.bn2`, h));
  h = se(ctx, name, h, c);
  h = conv2d(ctx, `${name}.conv_pwl`, h, { out: o.out, kernel: 1, pad: 0, bias: false });
  h = batchNorm2d(ctx, `${name}.bn3`, h);
  if (o.stride === 1 && c === o.out) h = add(dropPath(ctx, `${name}.drop_path`, h, o.dropPath), x);
  return h;
}

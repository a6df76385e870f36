/**
 * ResNet-18 as timm's `resnet18` (= torchvision's): parameter names, shapes,
 * initialization and stochastic-depth schedule match timm, so its published
 * weights load by name.
 *
 * For small images (28–64 px) the default is the CIFAR-style stem: `conv1`
 * is 3×3 with stride 1 and there is no max-pool, so a 28 px image reaches
 * `layer4` as 4×4 instead of 1×1. `conv1.weight` is then `[64, C, 3, 3]`
 * instead of timm's `[64, C, 7, 7]`: pretrained weights load except `conv1`
 * (see `loadPretrained`'s `firstConvKernel` option).
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
  maxPool2d,
  relu,
} from "../nn/layers.ts";
import type { Model } from "../nn/model.ts";
import type { Tensor } from "../onnx/graph.ts";
import { add } from "../onnx/ops.ts";
import { type BackboneOptions, resolveBackboneOptions } from "./common.ts";

/** Options of {@linkcode resnet18}. */
export interface ResNetOptions extends BackboneOptions {
  /**
   * Small-input stem: `conv1` 3×3 stride 1 pad 1 and no max-pool (default:
   * true when `imageSize` ≤ 64). Same parameter names as timm; only
   * `conv1.weight`'s kernel differs.
   */
  smallInput?: boolean;
  /** Zero-init each block's last batch-norm weight (`bn2.weight`), as timm's default (default true). */
  zeroInitLast?: boolean;
}

/** The resolved configuration a ResNet-18 records in `Model.config`. */
export interface ResNetConfig {
  /** Number of classes. */
  numClasses: number;
  /** Input channels. */
  inChannels: number;
  /** Image size. */
  imageSize: number;
  /** Dropout before `fc`. */
  dropRate: number;
  /** Stochastic depth of the last block. */
  dropPathRate: number;
  /** Whether the small-input stem is used. */
  smallInput: boolean;
  /** Whether `bn2.weight` starts at zero. */
  zeroInitLast: boolean;
}

const STAGES = [
  { planes: 64, blocks: 2 },
  { planes: 128, blocks: 2 },
  { planes: 256, blocks: 2 },
  { planes: 512, blocks: 2 },
];

/**
 * ResNet-18 (timm `resnet18`): `conv1`, `bn1`, `layer1`–`layer4` of two
 * BasicBlocks each (`conv1`, `bn1`, `conv2`, `bn2`, `downsample.0/1`),
 * global average pool, dropout, `fc`.
 *
 * ```ts
 * const model = resnet18({ numClasses: 2, inChannels: 1, imageSize: 28, dropRate: 0.3 });
 * ```
 */
export function resnet18(options: ResNetOptions = {}): Model {
  const common = resolveBackboneOptions(
    "resnet18",
    options as ResNetOptions & Record<string, unknown>,
    ["smallInput", "zeroInitLast"],
  );
  const config: ResNetConfig = {
    ...common,
    smallInput: options.smallInput ?? common.imageSize <= 64,
    zeroInitLast: options.zeroInitLast ?? true,
  };
  return {
    name: "resnet18",
    inChannels: config.inChannels,
    imageSize: config.imageSize,
    numClasses: config.numClasses,
    config: { ...config },
    build: (ctx, x) => buildResNet18(ctx, x, config),
  };
}

function buildResNet18(ctx: ModelContext, x: Tensor, c: ResNetConfig): Tensor {
  let h = c.smallInput
    ? conv2d(ctx, "conv1", x, { out: 64, kernel: 3, stride: 1, pad: 1, bias: false })
    : conv2d(ctx, "conv1", x, { out: 64, kernel: 7, stride: 2, pad: 3, bias: false });
  h = relu(batchNorm2d(ctx, "bn1", h));
  if (!c.smallInput) h = maxPool2d(h, { kernel: 3, stride: 2, pad: 1 });

  const total = STAGES.reduce((n, s) => n + s.blocks, 0);
  let index = 0;
  STAGES.forEach((stage, si) => {
    for (let bi = 0; bi < stage.blocks; bi++) {
      const stride = si > 0 && bi === 0 ? 2 : 1;
      // timm: block_dpr = drop_path_rate * net_block_idx / (net_num_blocks - 1)
      const dpr = total > 1 ? (c.dropPathRate * index) / (total - 1) : 0;
      h = basicBlock(ctx, `layer${si + 1}.${bi}`, h, {
        planes: stage.planes,
        stride,
        dropPath: dpr,
        zeroInitLast: c.zeroInitLast,
      });
      index++;
    }
  });

  h = globalAvgPoolFlat(h);
  h = dropout(ctx, "head_drop", h, c.dropRate);
  return linear(ctx, "fc", h, { out: c.numClasses });
}

function basicBlock(
  ctx: ModelContext,
  name: string,
  x: Tensor,
  o: { planes: number; stride: number; dropPath: number; zeroInitLast: boolean },
): Tensor {
  const inplanes = x.shape[1];
  let h = conv2d(ctx, `${name}.conv1`, x, {
    out: o.planes,
    kernel: 3,
    stride: o.stride,
    pad: 1,
    bias: false,
  });
  h = relu(batchNorm2d(ctx, `${name}.bn1`, h));
  h = conv2d(ctx, `${name}.conv2`, h, { out: o.planes, kernel: 3, pad: 1, bias: false });
  h = batchNorm2d(ctx, `${name}.bn2`, h, {
    weightInit: o.zeroInitLast ? { kind: "constant", value: 0 } : undefined,
  });
  h = dropPath(ctx, `${name}.drop_path`, h, o.dropPath);
  // Declared after the residual branch, so the parameter order follows timm's state dict.
  let shortcut = x;
  if (o.stride !== 1 || inplanes !== o.planes) {
    shortcut = conv2d(ctx, `${name}.downsample.0`, x, {
      out: o.planes,
      kernel: 1,
      stride: o.stride,
      pad: 0,
      bias: false,
    });
    shortcut = batchNorm2d(ctx, `${name}.downsample.1`, shortcut);
  }
  return relu(add(h, shortcut));
}

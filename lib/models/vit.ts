/**
 * ViT-Tiny as timm's `vit_tiny_patch16_224`: embedding 192, depth 12, 3
 * heads, MLP ratio 4, fused qkv with bias, LayerNorm eps 1e-6, class-token
 * pooling; timm's parameter names and default ("timm") initialization.
 *
 * The patch size is selectable so that small images get enough tokens
 * (patch 4 at 28 px gives 7×7 = 49 patches); `pos_embed` then has
 * `1 + (imageSize / patchSize)²` positions.
 *
 * @module
 */

import type { ModelContext } from "../nn/context.ts";
import { type Init, torchDefault } from "../nn/init.ts";
import { attention, conv2d, dropout, dropPath, layerNorm, linear, mlp } from "../nn/layers.ts";
import type { Model } from "../nn/model.ts";
import type { Tensor } from "../onnx/graph.ts";
import { add, concat, expandToBatch, reshape, slice, transpose } from "../onnx/ops.ts";
import { type BackboneOptions, positiveInt, resolveBackboneOptions } from "./common.ts";

/** Options of {@linkcode vitTiny}. */
export interface VitOptions extends BackboneOptions {
  /**
   * Patch size (default: 16 when `imageSize` is a multiple of 16 and at least
   * 64, else 4). `imageSize` must be a multiple of it.
   */
  patchSize?: number;
  /** Number of transformer blocks (default 12; fewer only for tests and experiments). */
  depth?: number;
}

/** The resolved configuration a ViT records in `Model.config`. */
export interface VitConfig {
  /** Number of classes. */
  numClasses: number;
  /** Input channels. */
  inChannels: number;
  /** Image size. */
  imageSize: number;
  /** Dropout before `head`. */
  dropRate: number;
  /** Stochastic depth of the last block. */
  dropPathRate: number;
  /** Patch size. */
  patchSize: number;
  /** Transformer blocks. */
  depth: number;
  /** Embedding width. */
  embedDim: number;
  /** Attention heads. */
  heads: number;
  /** MLP hidden width / embedding width. */
  mlpRatio: number;
}

/** The default patch size for an image size (16 from 64 px up when it divides, else 4). */
export function defaultPatchSize(imageSize: number): number {
  return imageSize >= 64 && imageSize % 16 === 0 ? 16 : 4;
}

/**
 * ViT-Tiny (timm `vit_tiny_patch16_224`): `patch_embed.proj`, `cls_token`,
 * `pos_embed`, `blocks.{i}` (`norm1`, `attn.qkv`, `attn.proj`, `norm2`,
 * `mlp.fc1`, `mlp.fc2`), `norm`, dropout, `head`.
 *
 * ```ts
 * const model = vitTiny({ numClasses: 2, imageSize: 28, patchSize: 4 });
 * ```
 */
export function vitTiny(options: VitOptions = {}): Model {
  const model = "vit_tiny_patch16_224";
  const common = resolveBackboneOptions(
    model,
    options as VitOptions & Record<string, unknown>,
    ["patchSize", "depth"],
  );
  const config: VitConfig = {
    ...common,
    patchSize: options.patchSize ?? defaultPatchSize(common.imageSize),
    depth: options.depth ?? 12,
    embedDim: 192,
    heads: 3,
    mlpRatio: 4,
  };
  positiveInt(model, "patchSize", config.patchSize);
  positiveInt(model, "depth", config.depth);
  if (config.imageSize % config.patchSize !== 0) {
    throw new Error(
      `${model}: imageSize ${config.imageSize} is not a multiple of patchSize ${config.patchSize}; ` +
        `choose a patch size that divides it (e.g. 4 at 28 px, 16 at 224 px)`,
    );
  }
  return {
    name: model,
    inChannels: config.inChannels,
    imageSize: config.imageSize,
    numClasses: config.numClasses,
    config: { ...config },
    build: (ctx, x) => buildVit(ctx, x, config),
  };
}

// timm's init_weights_vit_timm: Linear weights trunc_normal(std=.02), zero biases.
const LINEAR_INIT: Init = { kind: "truncNormal", std: 0.02 };
const ZERO: Init = { kind: "constant", value: 0 };

function buildVit(ctx: ModelContext, x: Tensor, c: VitConfig): Tensor {
  const d = c.embedDim;
  const grid = c.imageSize / c.patchSize;
  const n = x.shape[0];
  // PatchEmbed's conv keeps PyTorch's default init in timm's default mode.
  const wShape = [d, c.inChannels, c.patchSize, c.patchSize];
  let h = conv2d(ctx, "patch_embed.proj", x, {
    out: d,
    kernel: c.patchSize,
    stride: c.patchSize,
    pad: 0,
    init: torchDefault(wShape),
    biasInit: torchDefault(wShape),
  });
  h = transpose(reshape(h, [n, d, grid * grid]), [0, 2, 1]); // [N, T, D]
  const cls = ctx.param("cls_token", [1, 1, d], { kind: "normal", std: 1e-6 }, { decay: false });
  const pos = ctx.param("pos_embed", [1, grid * grid + 1, d], { kind: "truncNormal", std: 0.02 }, {
    decay: false,
  });
  h = add(concat([expandToBatch(cls, h), h], 1), pos);
  for (let i = 0; i < c.depth; i++) {
    // torch.linspace(0, drop_path_rate, depth)[i]
    const dpr = c.depth > 1 ? (c.dropPathRate * i) / (c.depth - 1) : 0;
    const name = `blocks.${i}`;
    const a = attention(ctx, `${name}.attn`, layerNorm(ctx, `${name}.norm1`, h, { eps: 1e-6 }), {
      heads: c.heads,
      init: LINEAR_INIT,
      biasInit: ZERO,
    });
    h = add(h, dropPath(ctx, `${name}.drop_path1`, a, dpr));
    const m = mlp(ctx, `${name}.mlp`, layerNorm(ctx, `${name}.norm2`, h, { eps: 1e-6 }), {
      hidden: d * c.mlpRatio,
      init: LINEAR_INIT,
      biasInit: ZERO,
    });
    h = add(h, dropPath(ctx, `${name}.drop_path2`, m, dpr));
  }
  // Class-token pooling. LayerNorm acts per token, so normalizing only the
  // class token equals timm's norm-then-pool, without the work on the others.
  let t = reshape(slice(h, [0], [1], [1]), [n, d]);
  t = layerNorm(ctx, "norm", t, { eps: 1e-6 });
  t = dropout(ctx, "head_drop", t, c.dropRate);
  return linear(ctx, "head", t, { out: c.numClasses, init: LINEAR_INIT, biasInit: ZERO });
}

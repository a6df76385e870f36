/**
 * The model registry, after timm's `create_model(name, **kwargs)`: backbones
 * by timm name, with aliases, and the facts about each that timm keeps in its
 * pretrained configs — the input normalization its weights expect, its first
 * conv and classifier (what loading pretrained weights adapts), its position
 * embedding, its patch size, and which image sizes it can take.
 *
 * @module
 */

import type { Model } from "../nn/model.ts";
import type { BackboneOptions } from "./common.ts";
import { efficientnetB0, type EfficientNetOptions } from "./efficientnet.ts";
import { resnet18, type ResNetOptions } from "./resnet.ts";
import { type VitOptions, vitTiny } from "./vit.ts";

/** Canonical (timm) names of the built-in backbones, in registry order. */
export const MODEL_NAMES = ["resnet18", "efficientnet_b0", "vit_tiny_patch16_224"] as const;

/** Canonical (timm) name of a built-in backbone: one of {@linkcode MODEL_NAMES}. */
export type ModelName = typeof MODEL_NAMES[number];

/** Options of each registered name (aliases included). */
export interface ModelOptionsByName {
  /** ResNet-18. */
  resnet18: ResNetOptions;
  /** EfficientNet-B0. */
  efficientnet_b0: EfficientNetOptions;
  /** ViT-Tiny. */
  vit_tiny_patch16_224: VitOptions;
  /** Alias of `vit_tiny_patch16_224`. */
  vit_tiny: VitOptions;
}

/** What the registry knows about an architecture (timm's `pretrained_cfg` fields). */
export interface ArchitectureInfo {
  /** Canonical name. */
  name: ModelName;
  /** Other names accepted by {@linkcode createModel}. */
  aliases: readonly string[];
  /** One-line description. */
  description: string;
  /** Short name in run ids and labels (the timm name without its pretraining-size suffix). */
  shortName: string;
  /** Input normalization of timm's pretrained weights (timm `mean`/`std`): ImageNet's. */
  normalization: "imagenet";
  /** Prefix of the first convolution (timm `first_conv`), adapted for `inChannels`. */
  firstConv: string;
  /** Prefix of the classifier (timm `classifier`), reset when the class count differs. */
  classifier: string;
  /** Name of an absolute position embedding resampled when the token grid differs. */
  posEmbed?: string;
  /** Tokens before the grid in `posEmbed` (class token). */
  prefixTokens?: number;
  /**
   * Patch size of timm's model, for patch transformers (absent otherwise):
   * such a backbone takes a `patchSize` option, and an image size must be a
   * multiple of it.
   */
  patchSize?: number;
  /** Parameter count with 1000 classes, 3 channels at 224 px (as timm reports). */
  timmParameterCount: number;
}

const ARCHITECTURES: Record<ModelName, ArchitectureInfo & { create: (o: never) => Model }> = {
  resnet18: {
    name: "resnet18",
    aliases: [],
    description: "ResNet-18 (timm resnet18; small-input 3x3 stem at <= 64 px)",
    shortName: "resnet18",
    normalization: "imagenet",
    firstConv: "conv1",
    classifier: "fc",
    timmParameterCount: 11_689_512,
    create: resnet18 as (o: never) => Model,
  },
  efficientnet_b0: {
    name: "efficientnet_b0",
    aliases: [],
    description: "EfficientNet-B0 (timm efficientnet_b0)",
    shortName: "efficientnet_b0",
    normalization: "imagenet",
    firstConv: "conv_stem",
    classifier: "classifier",
    timmParameterCount: 5_288_548,
    create: efficientnetB0 as (o: never) => Model,
  },
  vit_tiny_patch16_224: {
    name: "vit_tiny_patch16_224",
    aliases: ["vit_tiny"],
    description: "ViT-Tiny (timm vit_tiny_patch16_224; patch size selectable)",
    shortName: "vit_tiny",
    normalization: "imagenet",
    firstConv: "patch_embed.proj",
    classifier: "head",
    posEmbed: "pos_embed",
    prefixTokens: 1,
    patchSize: 16,
    timmParameterCount: 5_717_416,
    create: vitTiny as (o: never) => Model,
  },
};

/** Canonical names of the registered backbones, in registry order. */
export function listModels(): ModelName[] {
  return [...MODEL_NAMES];
}

/** Resolve a name or alias to its canonical name, or `undefined`. */
export function resolveModelName(name: string): ModelName | undefined {
  if ((MODEL_NAMES as readonly string[]).includes(name)) return name as ModelName;
  for (const info of Object.values(ARCHITECTURES)) {
    if (info.aliases.includes(name)) return info.name;
  }
  return undefined;
}

function unknownName(name: string): Error {
  const known = Object.values(ARCHITECTURES)
    .map((a) => a.aliases.length ? `${a.name} (alias ${a.aliases.join(", ")})` : a.name);
  return new Error(`unknown model "${name}": choose one of ${known.join(", ")}`);
}

/** Registry facts about `name` (canonical or alias); throws listing the known names. */
export function architectureInfo(name: string): ArchitectureInfo {
  const canonical = resolveModelName(name);
  if (!canonical) throw unknownName(name);
  const { create: _create, ...info } = ARCHITECTURES[canonical];
  return info;
}

/**
 * Why {@linkcode createModel} would refuse `name` with `options` (an image
 * size the backbone cannot take, e.g. not a multiple of a ViT's patch size),
 * or `undefined` when it builds: the registry's own checks, run on the
 * options. An unknown name is a problem too.
 */
export function modelOptionsProblem(name: string, options: BackboneOptions): string | undefined {
  try {
    createModel(name, options);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * Create a backbone by timm name (or alias), e.g.
 * `createModel("resnet18", { numClasses: 2, inChannels: 1, imageSize: 28, dropRate: 0.3 })`.
 * Unknown names and unknown or invalid options throw, listing the valid ones.
 */
export function createModel<N extends keyof ModelOptionsByName>(
  name: N,
  options?: ModelOptionsByName[N],
): Model;
/** Create a backbone by a name known only at run time (validated). */
export function createModel(name: string, options?: BackboneOptions): Model;
export function createModel(name: string, options: BackboneOptions = {}): Model {
  const canonical = resolveModelName(name);
  if (!canonical) throw unknownName(name);
  return ARCHITECTURES[canonical].create(options as never);
}

/**
 * Augmentation: a seeded RNG, torchvision-style per-image transforms,
 * timm-style Mixup/CutMix, the `none` / `basic` / `heavy` presets, the
 * per-image pipeline and a PNG grid to look at the result.
 *
 * @example
 * ```ts
 * import { createAugmenter, getPreset, Rng } from "./mod.ts";
 * const aug = createAugmenter(getPreset("basic"), {
 *   input: { height: 28, width: 28, channels: 1 },
 *   height: 64,
 *   channels: 3,
 * });
 * const x = aug.apply(new Uint8Array(28 * 28), new Rng(1)); // Float32Array 3×64×64
 * ```
 *
 * @module
 */

export { hashSeed, Rng } from "../util/rng.ts";
export { roundHalfEven } from "../util/round.ts";
export {
  adjustBrightness,
  adjustContrast,
  affine,
  type AffineParams,
  type BlurOptions,
  type Box,
  type BoxSamplingOptions,
  createImage,
  crop,
  erase,
  type EraseOptions,
  type FloatImage,
  gaussianBlur,
  grayToRgb,
  hflip,
  IMAGENET_MEAN,
  IMAGENET_STD,
  type ImageShape,
  type ImageSize,
  type MeanStd,
  normalize,
  type OutOptions,
  type PixelLayout,
  resize,
  resizedCrop,
  type ResizeOptions,
  rotate,
  type RotateOptions,
  sampleErasingBox,
  sampleResizedCropBox,
  toFloatImage,
  vflip,
} from "./transforms.ts";
export {
  type CutmixBoxOptions,
  type MixableBatch,
  mixBatch,
  type MixConfig,
  type MixParams,
  type MixResult,
  mixTargets,
  type MixTargetsOptions,
  type OneHotOptions,
  oneHotTargets,
  sampleCutmixBox,
  sampleMixParams,
} from "./mix.ts";
export {
  type AugmentConfig,
  getPreset,
  type PresetName,
  presets,
  type Range,
  resolveAugment,
  validateAugmentConfig,
} from "./presets.ts";
export {
  type ApplyOptions,
  type Augmenter,
  type AugmenterOptions,
  createAugmenter,
  type Normalization,
  type NormalizeOption,
  resolveNormalization,
} from "./pipeline.ts";
export {
  type GridImages,
  type GridOptions,
  type GridRow,
  renderAugmentGrid,
  writeAugmentGrid,
} from "./grid.ts";

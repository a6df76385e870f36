/**
 * Layers, initializers and the model context that one model definition is
 * written against to yield its train, eval and export programs.
 *
 * @module
 */

export {
  type BufferInfo,
  type Mode,
  ModelContext,
  type ModelContextOptions,
  type NoiseInfo,
  type ParamInfo,
  type ParamOptions,
} from "./context.ts";
export { type Fans, fans, type Init, initValues, kaimingNormal, torchDefault } from "./init.ts";
export {
  attention,
  type AttentionOptions,
  batchNorm2d,
  type BatchNormOptions,
  conv2d,
  type Conv2dOptions,
  dropout,
  dropPath,
  gelu,
  globalAvgPoolFlat,
  layerNorm,
  type LayerNormOptions,
  linear,
  type LinearOptions,
  maxPool2d,
  type MaxPool2dOptions,
  mlp,
  type MlpOptions,
  relu,
  silu,
  squeezeExcite,
  type SqueezeExciteOptions,
} from "./layers.ts";
export type { Model } from "./model.ts";
/** The seeded generator {@linkcode initValues} draws from. */
export type { Rng } from "../util/rng.ts";

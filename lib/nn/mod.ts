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
} from "./context.ts";
export { fans, type Init, initValues, kaimingNormal, torchDefault } from "./init.ts";
export {
  attention,
  batchNorm2d,
  type BatchNormOptions,
  conv2d,
  type Conv2dOptions,
  dropout,
  dropPath,
  gelu,
  globalAvgPoolFlat,
  layerNorm,
  linear,
  type LinearOptions,
  maxPool2d,
  mlp,
  relu,
  silu,
  squeezeExcite,
} from "./layers.ts";
export type { Model } from "./model.ts";

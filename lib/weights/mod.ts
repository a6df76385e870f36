/**
 * Weights on disk: the safetensors format, timm-compatible pretrained
 * loading (with head reset, input-channel and position-grid adaptation) and
 * saving a model's weights under timm's names.
 *
 * @module
 */

export * from "./safetensors.ts";
export * from "./pretrained.ts";
export type { Model } from "../nn/model.ts";

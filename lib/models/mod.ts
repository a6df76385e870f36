/**
 * Backbones written once against the graph builder, with timm's parameter
 * names: ResNet-18, EfficientNet-B0 and ViT-Tiny; the registry
 * (`createModel`, `listModels`), model specs and fresh initial weights, and
 * ONNX export for inference.
 *
 * ```ts
 * import { createModel, exportOnnx } from "./mod.ts";
 * const model = createModel("resnet18", { numClasses: 2, inChannels: 1, imageSize: 28 });
 * ```
 *
 * @module
 */

export type { BackboneOptions } from "./common.ts";
export type { Model } from "../nn/model.ts";
export type { BufferInfo, ParamInfo } from "../nn/context.ts";
export * from "./resnet.ts";
export * from "./efficientnet.ts";
export * from "./vit.ts";
export * from "./registry.ts";
export * from "./spec.ts";
export * from "./export.ts";
export * from "./flops.ts";

// Types the API above refers to (for documentation and annotations).
export type { Mode, ModelContext, NoiseInfo, ParamOptions } from "../nn/context.ts";
export type { Init } from "../nn/init.ts";
export type * from "../onnx/api_types.ts";

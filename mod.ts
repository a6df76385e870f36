/**
 * medtune: fine-tune medical image classifiers and run rigorous ablation
 * studies, training on ONNX Runtime (WebGPU, native CPU or WebAssembly).
 *
 * medtune builds its own training programs — forward pass, loss, backward
 * pass (reverse-mode autodiff in plain ONNX ops) and optimizer update — as
 * ONNX graphs, and runs them as inference sessions with parameters kept on
 * the device between steps.
 *
 * @example
 * ```ts
 * import { createModel, loadMedMNISTSplits, Trainer, warmupCosine } from "@medtune/medtune";
 *
 * const { train, val, test } = await loadMedMNISTSplits("breastmnist");
 * const model = createModel("resnet18", { numClasses: 2, imageSize: 28, dropRate: 0.3 });
 * const trainer = new Trainer(model, {
 *   optimizer: { name: "adamw", lr: 1e-3, weightDecay: 1e-2 },
 *   schedule: warmupCosine({ warmupEpochs: 5 }),
 *   labelSmoothing: 0.1,
 *   clipGradNorm: 1,
 * });
 * await trainer.fit(train, val, { epochs: 60, batchSize: 32, augment: "heavy", earlyStopping: { patience: 8 } });
 * const { metrics } = await trainer.evaluate(test);
 * console.log(metrics.auc, metrics.balancedAccuracy, metrics.brier);
 * ```
 *
 * @module
 */

export * from "./lib/data/mod.ts";
export * from "./lib/augment/mod.ts";
export * from "./lib/metrics/mod.ts";
export * from "./lib/onnx/mod.ts";
export * from "./lib/autodiff/mod.ts";
export * from "./lib/runtime/mod.ts";
export * from "./lib/nn/mod.ts";
export * from "./lib/train/mod.ts";
export * from "./lib/models/mod.ts";
export * from "./lib/weights/pretrained.ts";
export * from "./lib/report/mod.ts";
export {
  type DecodedSafetensors,
  type DecodeOptions,
  decodeSafetensors,
  encodeSafetensors,
  loadSafetensors,
  type SafeTensor,
  type SafetensorsDtype,
  SafetensorsError,
  type SaveOptions,
  saveSafetensors,
  type SafetensorsData,
  type TensorInput,
} from "./lib/weights/safetensors.ts";
export { appendLine, atomicWriteFile } from "./lib/util/fs.ts";
export { hashSeed, Rng } from "./lib/util/rng.ts";

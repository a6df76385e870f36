/**
 * The backbones the throughput benches measure, by bench label, built the same
 * way for `models_bench.ts` (timing) and `compare.ts` (FLOP counts): 3-channel
 * images, 2 classes, dropout 0.3 before the head; ResNet-18 with the
 * small-input 3×3 stem at ≤ 64 px and `resnet18-7x7` with the standard stem;
 * ViT-Tiny with patch 4 at 28 px and patch 16 otherwise.
 *
 * @module
 */

import { createModel } from "../lib/models/registry.ts";
import type { Model } from "../lib/nn/model.ts";

/** Bench labels: registry names, plus `resnet18-7x7`. */
export const BENCH_LABELS = ["resnet18", "resnet18-7x7", "efficientnet_b0", "vit_tiny"] as const;

/** One of {@linkcode BENCH_LABELS}. */
export type BenchLabel = typeof BENCH_LABELS[number];

/** The model a bench label names, at `size` px. */
export function benchModel(label: BenchLabel, size: number): Model {
  const common = { numClasses: 2, inChannels: 3, imageSize: size, dropRate: 0.3 };
  switch (label) {
    case "resnet18":
      return createModel("resnet18", common);
    case "resnet18-7x7":
      return createModel("resnet18", { ...common, smallInput: false });
    case "efficientnet_b0":
      return createModel("efficientnet_b0", common);
    case "vit_tiny":
      return createModel("vit_tiny_patch16_224", { ...common, patchSize: size === 28 ? 4 : 16 });
  }
}

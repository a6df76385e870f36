// A small conv → batch norm → relu → max-pool → linear network, used by the
// engine's cross-backend and training tests.

import type { ModelContext } from "../lib/nn/context.ts";
import {
  batchNorm2d,
  conv2d,
  dropout,
  globalAvgPoolFlat,
  linear,
  maxPool2d,
  relu,
} from "../lib/nn/layers.ts";
import type { Model } from "../lib/nn/model.ts";
import type { Tensor } from "../lib/onnx/graph.ts";

export function tinyCnn(
  options: { imageSize?: number; numClasses?: number; dropRate?: number } = {},
): Model {
  const imageSize = options.imageSize ?? 8;
  const numClasses = options.numClasses ?? 2;
  return {
    name: "tiny_cnn",
    inChannels: 1,
    imageSize,
    numClasses,
    config: {},
    build(ctx: ModelContext, x: Tensor): Tensor {
      let h = conv2d(ctx, "conv1", x, { out: 8, kernel: 3, pad: 1, bias: false });
      h = relu(batchNorm2d(ctx, "bn1", h));
      h = maxPool2d(h, { kernel: 2, stride: 2 });
      h = conv2d(ctx, "conv2", h, { out: 8, kernel: 3, pad: 1 });
      h = relu(h);
      h = globalAvgPoolFlat(h);
      h = dropout(ctx, "drop", h, options.dropRate ?? 0);
      return linear(ctx, "fc", h, { out: numClasses });
    },
  };
}

/** Synthetic separable images: class 1 has a bright square in the top-left quadrant, class 0 in the bottom-right; plus noise. */
export function syntheticBatch(
  n: number,
  size: number,
  seed: number,
): { x: Float32Array; labels: Int32Array; targets: Float32Array } {
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const x = new Float32Array(n * size * size);
  const labels = new Int32Array(n);
  const targets = new Float32Array(n * 2);
  const q = size / 2;
  for (let i = 0; i < n; i++) {
    const y = rand() < 0.5 ? 1 : 0;
    labels[i] = y;
    targets[i * 2 + y] = 1;
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        const inSquare = y === 1 ? r < q && c < q : r >= q && c >= q;
        x[i * size * size + r * size + c] = (inSquare ? 1 : 0) + (rand() - 0.5) * 0.8;
      }
    }
  }
  return { x, labels, targets };
}

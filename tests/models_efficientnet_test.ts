// EfficientNet-B0 on the engine: the same logits on cpu, wasm and webgpu;
// its gradients agree with finite differences; it learns a fixed batch; its
// weights survive save/load and ONNX export.

import assert from "node:assert/strict";
import { efficientnetB0 } from "../lib/models/efficientnet.ts";
import {
  checkCrossBackend,
  checkLearns,
  checkModelGradients,
  checkSaveLoadExport,
} from "./_models.ts";

Deno.test("efficientnet_b0 (32 px): cpu, wasm and webgpu logits agree within 1e-4", async () => {
  const model = efficientnetB0({ numClasses: 3, inChannels: 3, imageSize: 32 });
  await checkCrossBackend(model, { batch: 2, backends: ["wasm", "webgpu"] });
});

Deno.test("efficientnet_b0 gradients agree with finite differences (train mode)", async () => {
  // 64 px leaves 2x2 at the head, so train-mode batch norm sees 8 values per
  // channel; at 32 px (1x1, 2 values) the loss is too rough for differences.
  const model = efficientnetB0({ numClasses: 3, imageSize: 64 });
  const { failures } = await checkModelGradients(model, {
    params: [
      "conv_stem.weight",
      "blocks.0.0.conv_dw.weight",
      "blocks.0.0.se.conv_reduce.bias",
      "blocks.1.0.conv_pw.weight",
      "blocks.2.1.conv_dw.weight",
      "blocks.3.2.se.conv_expand.weight",
      "blocks.6.0.conv_pwl.weight",
      "conv_head.weight",
      "bn2.bias",
      "classifier.weight",
    ],
  });
  assert.deepEqual(failures, []);
});

Deno.test("efficientnet_b0 learns a fixed batch; save/load and ONNX export reproduce its outputs", async () => {
  // timm's head init is U(±1/√classes): with 2 classes the initial logits are
  // ~10 and tiny batches make the loss jump around, so this uses 10 classes.
  const model = efficientnetB0({ numClasses: 10, imageSize: 32, dropRate: 0.3, dropPathRate: 0.1 });
  const { session } = await checkLearns(model, { batch: 8, steps: 8, lr: 1e-3 });
  const dir = await Deno.makeTempDir();
  try {
    await checkSaveLoadExport(session, dir);
  } finally {
    await session.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});

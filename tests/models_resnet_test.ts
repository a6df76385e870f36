// ResNet-18 on the engine: the same logits on cpu, wasm and webgpu; its
// gradients agree with finite differences; it learns a fixed batch; its
// weights survive save/load and ONNX export.

import assert from "node:assert/strict";
import { resnet18 } from "../lib/models/resnet.ts";
import {
  checkCrossBackend,
  checkLearns,
  checkModelGradients,
  checkSaveLoadExport,
} from "./_models.ts";

Deno.test("resnet18 (small-input stem, 32 px): cpu, wasm and webgpu logits agree within 1e-4", async () => {
  const model = resnet18({ numClasses: 3, inChannels: 1, imageSize: 32 });
  await checkCrossBackend(model, { batch: 2, backends: ["wasm", "webgpu"] });
});

Deno.test("resnet18 (7x7 stem and max-pool, 32 px): cpu, wasm and webgpu logits agree within 1e-4", async () => {
  const model = resnet18({ numClasses: 3, inChannels: 3, imageSize: 32, smallInput: false });
  await checkCrossBackend(model, { batch: 2, backends: ["wasm", "webgpu"] });
});

Deno.test("resnet18 gradients agree with finite differences (train mode, both stems)", async () => {
  // Batch norm in train mode needs a few values per channel to be smooth: 16 px
  // with the small stem and 64 px with the standard one leave 2x2 at layer4.
  const small = await checkModelGradients(
    resnet18({ numClasses: 3, inChannels: 1, imageSize: 16 }),
    {
      params: [
        "conv1.weight",
        "layer1.0.bn1.weight",
        "layer2.0.conv1.weight",
        "layer3.0.downsample.0.weight",
        "layer4.1.conv2.weight",
        "fc.weight",
        "fc.bias",
      ],
    },
  );
  assert.deepEqual(small.failures, []);
  const standard = await checkModelGradients(
    resnet18({ numClasses: 2, imageSize: 64, smallInput: false }),
    {
      params: ["conv1.weight", "bn1.bias", "layer1.1.conv2.weight", "layer4.0.downsample.1.weight"],
    },
  );
  assert.deepEqual(standard.failures, []);
});

Deno.test("resnet18 learns a fixed batch; save/load and ONNX export reproduce its outputs", async () => {
  const model = resnet18({
    numClasses: 2,
    inChannels: 1,
    imageSize: 28,
    dropRate: 0.3,
    dropPathRate: 0.1,
  });
  const { session } = await checkLearns(model, { batch: 4, steps: 6, lr: 1e-3 });
  const dir = await Deno.makeTempDir();
  try {
    await checkSaveLoadExport(session, dir);
  } finally {
    await session.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});

// ViT-Tiny on the engine: the same logits on cpu, wasm and webgpu; its
// gradients agree with finite differences; it learns a fixed batch; its
// weights survive save/load and ONNX export (with the class token expanded
// to a dynamic batch).

import assert from "node:assert/strict";
import { vitTiny } from "../lib/models/vit.ts";
import {
  checkCrossBackend,
  checkLearns,
  checkModelGradients,
  checkSaveLoadExport,
} from "./_models.ts";

Deno.test("vit_tiny (32 px, patch 8, 12 blocks): cpu, wasm and webgpu logits agree within 1e-4", async () => {
  const model = vitTiny({ numClasses: 3, inChannels: 3, imageSize: 32, patchSize: 8 });
  await checkCrossBackend(model, { batch: 2, backends: ["wasm", "webgpu"] });
});

Deno.test("vit_tiny gradients agree with finite differences (2 blocks, 16 px, patch 4)", async () => {
  const model = vitTiny({ numClasses: 3, imageSize: 16, patchSize: 4, depth: 2 });
  const { failures } = await checkModelGradients(model, {
    params: [
      "patch_embed.proj.weight",
      "cls_token",
      "pos_embed",
      "blocks.0.norm1.weight",
      "blocks.0.attn.qkv.weight",
      "blocks.0.attn.proj.bias",
      "blocks.1.mlp.fc1.weight",
      "blocks.1.mlp.fc2.bias",
      "norm.weight",
      "head.weight",
    ],
  });
  assert.deepEqual(failures, []);
});

Deno.test("vit_tiny learns a fixed batch; save/load and ONNX export reproduce its outputs", async () => {
  const model = vitTiny({
    numClasses: 2,
    inChannels: 1,
    imageSize: 28,
    dropRate: 0.3,
    dropPathRate: 0.1,
  });
  assert.equal(model.config.patchSize, 4);
  const { session } = await checkLearns(model, { batch: 4, steps: 6, lr: 1e-4 });
  const dir = await Deno.makeTempDir();
  try {
    await checkSaveLoadExport(session, dir);
  } finally {
    await session.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});

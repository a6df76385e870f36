// The backbones on the engine, one table row each: the same logits on cpu,
// wasm and webgpu; gradients that agree with finite differences; a fixed
// batch learned; weights that survive save/load and ONNX export (for ViT,
// with the class token expanded to a dynamic batch).

import assert from "node:assert/strict";
import { efficientnetB0 } from "../lib/models/efficientnet.ts";
import { resnet18 } from "../lib/models/resnet.ts";
import { vitTiny } from "../lib/models/vit.ts";
import type { Model } from "../lib/nn/model.ts";
import {
  checkCrossBackend,
  checkLearns,
  checkModelGradients,
  checkSaveLoadExport,
  type LearnOptions,
} from "./_models.ts";

/** One model configuration checked by a test. */
interface Variant {
  /** Shown in the test name. */
  label: string;
  /** Builds the model. */
  model: () => Model;
}

/** A gradient check: the model and the parameters probed. */
interface GradientVariant extends Variant {
  /** Parameters whose gradients are compared with finite differences. */
  params: string[];
}

/** Everything checked for one backbone. */
interface BackboneCase {
  /** Registry name, the start of every test name. */
  name: string;
  /** Models whose cpu logits wasm and webgpu must reproduce within 1e-4. */
  crossBackend: Variant[];
  /** Shown in the gradient test's name. */
  gradientLabel: string;
  /** Gradient checks, all in one test. */
  gradients: GradientVariant[];
  /** The model that learns a fixed batch and is then saved, loaded and exported. */
  learn: () => Model;
  /** Batch size, steps and learning rate of the learning check. */
  learnOptions: LearnOptions;
  /** Config values the learning model must have (checked before training). */
  learnConfig?: Record<string, unknown>;
}

const CASES: BackboneCase[] = [
  {
    name: "resnet18",
    crossBackend: [
      {
        label: "small-input stem, 32 px",
        model: () => resnet18({ numClasses: 3, inChannels: 1, imageSize: 32 }),
      },
      {
        label: "7x7 stem and max-pool, 32 px",
        model: () => resnet18({ numClasses: 3, inChannels: 3, imageSize: 32, smallInput: false }),
      },
    ],
    gradientLabel: "train mode, both stems",
    // Batch norm in train mode needs a few values per channel to be smooth: 16 px
    // with the small stem and 64 px with the standard one leave 2x2 at layer4.
    gradients: [
      {
        label: "small stem, 16 px",
        model: () => resnet18({ numClasses: 3, inChannels: 1, imageSize: 16 }),
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
      {
        label: "standard stem, 64 px",
        model: () => resnet18({ numClasses: 2, imageSize: 64, smallInput: false }),
        params: [
          "conv1.weight",
          "bn1.bias",
          "layer1.1.conv2.weight",
          "layer4.0.downsample.1.weight",
        ],
      },
    ],
    learn: () =>
      resnet18({ numClasses: 2, inChannels: 1, imageSize: 28, dropRate: 0.3, dropPathRate: 0.1 }),
    learnOptions: { batch: 4, steps: 6, lr: 1e-3 },
  },
  {
    name: "efficientnet_b0",
    crossBackend: [
      {
        label: "32 px",
        model: () => efficientnetB0({ numClasses: 3, inChannels: 3, imageSize: 32 }),
      },
    ],
    gradientLabel: "train mode",
    // 64 px leaves 2x2 at the head, so train-mode batch norm sees 8 values per
    // channel; at 32 px (1x1, 2 values) the loss is too rough for differences.
    gradients: [
      {
        label: "64 px",
        model: () => efficientnetB0({ numClasses: 3, imageSize: 64 }),
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
      },
    ],
    // timm's head init is U(±1/√classes): with 2 classes the initial logits are
    // ~10 and tiny batches make the loss jump around, so this uses 10 classes.
    learn: () =>
      efficientnetB0({ numClasses: 10, imageSize: 32, dropRate: 0.3, dropPathRate: 0.1 }),
    learnOptions: { batch: 8, steps: 8, lr: 1e-3 },
  },
  {
    name: "vit_tiny",
    crossBackend: [
      {
        label: "32 px, patch 8, 12 blocks",
        model: () => vitTiny({ numClasses: 3, inChannels: 3, imageSize: 32, patchSize: 8 }),
      },
    ],
    gradientLabel: "2 blocks, 16 px, patch 4",
    gradients: [
      {
        label: "2 blocks, 16 px, patch 4",
        model: () => vitTiny({ numClasses: 3, imageSize: 16, patchSize: 4, depth: 2 }),
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
      },
    ],
    learn: () =>
      vitTiny({ numClasses: 2, inChannels: 1, imageSize: 28, dropRate: 0.3, dropPathRate: 0.1 }),
    learnOptions: { batch: 4, steps: 6, lr: 1e-4 },
    // 28 px picks patch 4 by default (a 7x7 grid).
    learnConfig: { patchSize: 4 },
  },
];

for (const c of CASES) {
  for (const v of c.crossBackend) {
    Deno.test(`${c.name} (${v.label}): cpu, wasm and webgpu logits agree within 1e-4`, async () => {
      await checkCrossBackend(v.model(), { batch: 2, backends: ["wasm", "webgpu"] });
    });
  }

  Deno.test(`${c.name} gradients agree with finite differences (${c.gradientLabel})`, async () => {
    for (const g of c.gradients) {
      const { failures } = await checkModelGradients(g.model(), { params: g.params });
      assert.deepEqual(failures, [], g.label);
    }
  });

  Deno.test(`${c.name} learns a fixed batch; save/load and ONNX export reproduce its outputs`, async () => {
    const model = c.learn();
    for (const [key, value] of Object.entries(c.learnConfig ?? {})) {
      assert.equal(model.config[key], value, `config.${key}`);
    }
    const { session } = await checkLearns(model, c.learnOptions);
    const dir = await Deno.makeTempDir();
    try {
      await checkSaveLoadExport(session, dir);
    } finally {
      await session.dispose();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

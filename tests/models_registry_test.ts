// The backbones against timm: exact parameter counts, state-dict names and
// shapes, initializers and drop-path schedules; the registry's names,
// aliases and errors; every backbone builds in train, eval and export mode.

import assert from "node:assert/strict";
import {
  architectureInfo,
  createModel,
  defaultPatchSize,
  listModels,
  MODEL_NAMES,
  type ModelName,
  modelOptionsProblem,
  modelSpec,
  resolveModelName,
} from "../lib/models/mod.ts";
import { ModelContext } from "../lib/nn/context.ts";
import type { Model } from "../lib/nn/model.ts";

function shapes(model: Model): Map<string, number[]> {
  const spec = modelSpec(model);
  return new Map([...spec.params, ...spec.buffers].map((t) => [t.name, t.shape]));
}

Deno.test("parameter counts equal timm's: 2 classes, 3 channels, 224 px", () => {
  const expected: Record<ModelName, number> = {
    resnet18: 11_177_538,
    efficientnet_b0: 4_010_110,
    vit_tiny_patch16_224: 5_524_802,
  };
  for (const name of listModels()) {
    const spec = modelSpec(createModel(name, { numClasses: 2, inChannels: 3, imageSize: 224 }));
    assert.equal(spec.parameterCount, expected[name], name);
  }
});

Deno.test("with 1000 classes the counts equal timm's ImageNet models", () => {
  for (const name of listModels()) {
    const spec = modelSpec(createModel(name));
    assert.equal(spec.parameterCount, architectureInfo(name).timmParameterCount, name);
  }
});

Deno.test("tensor counts equal timm's state dicts (without num_batches_tracked)", () => {
  const counts: Record<ModelName, [number, number]> = {
    resnet18: [62, 40],
    efficientnet_b0: [213, 98],
    vit_tiny_patch16_224: [152, 0],
  };
  for (const name of listModels()) {
    const spec = modelSpec(createModel(name, { numClasses: 2 }));
    assert.deepEqual([spec.params.length, spec.buffers.length], counts[name], name);
  }
});

Deno.test("resnet18: names and shapes as timm's state dict", () => {
  const s = shapes(createModel("resnet18", { numClasses: 2 }));
  const expected: [string, number[]][] = [
    ["conv1.weight", [64, 3, 7, 7]],
    ["bn1.running_var", [64]],
    ["layer1.0.conv1.weight", [64, 64, 3, 3]],
    ["layer1.1.bn2.weight", [64]],
    ["layer2.0.conv1.weight", [128, 64, 3, 3]],
    ["layer2.0.downsample.0.weight", [128, 64, 1, 1]],
    ["layer2.0.downsample.1.running_mean", [128]],
    ["layer3.1.conv2.weight", [256, 256, 3, 3]],
    ["layer4.0.downsample.0.weight", [512, 256, 1, 1]],
    ["layer4.1.bn2.bias", [512]],
    ["fc.weight", [2, 512]],
    ["fc.bias", [2]],
  ];
  for (const [name, shape] of expected) assert.deepEqual(s.get(name), shape, name);
  assert.ok(!s.has("layer1.0.downsample.0.weight"), "layer1 has no downsample in timm");
  // Small-input stem: same names, a 3x3 conv1.
  const small = shapes(createModel("resnet18", { numClasses: 2, inChannels: 1, imageSize: 28 }));
  assert.deepEqual(small.get("conv1.weight"), [64, 1, 3, 3]);
  assert.deepEqual([...small.keys()], [...s.keys()]);
});

Deno.test("efficientnet_b0: names and shapes as timm's state dict", () => {
  const s = shapes(createModel("efficientnet_b0", { numClasses: 2 }));
  const expected: [string, number[]][] = [
    ["conv_stem.weight", [32, 3, 3, 3]],
    ["bn1.weight", [32]],
    ["blocks.0.0.conv_dw.weight", [32, 1, 3, 3]],
    ["blocks.0.0.se.conv_reduce.weight", [8, 32, 1, 1]],
    ["blocks.0.0.se.conv_expand.bias", [32]],
    ["blocks.0.0.conv_pw.weight", [16, 32, 1, 1]],
    ["blocks.0.0.bn2.running_var", [16]],
    ["blocks.1.0.conv_pw.weight", [96, 16, 1, 1]],
    ["blocks.1.0.conv_dw.weight", [96, 1, 3, 3]],
    ["blocks.1.0.se.conv_reduce.weight", [4, 96, 1, 1]],
    ["blocks.1.0.se.conv_expand.weight", [96, 4, 1, 1]],
    ["blocks.1.0.conv_pwl.weight", [24, 96, 1, 1]],
    ["blocks.1.1.bn3.weight", [24]],
    ["blocks.2.0.conv_dw.weight", [144, 1, 5, 5]],
    ["blocks.3.2.se.conv_reduce.weight", [20, 480, 1, 1]],
    ["blocks.4.0.conv_pwl.weight", [112, 480, 1, 1]],
    ["blocks.5.3.conv_dw.weight", [1152, 1, 5, 5]],
    ["blocks.5.3.se.conv_reduce.bias", [48]],
    ["blocks.6.0.conv_pwl.weight", [320, 1152, 1, 1]],
    ["conv_head.weight", [1280, 320, 1, 1]],
    ["bn2.running_mean", [1280]],
    ["classifier.weight", [2, 1280]],
  ];
  for (const [name, shape] of expected) assert.deepEqual(s.get(name), shape, name);
  assert.ok(!s.has("blocks.1.2.conv_pw.weight"), "stage 1 has two blocks");
  assert.ok(s.has("blocks.5.3.bn3.weight") && !s.has("blocks.5.4.bn3.weight"));
});

Deno.test("vit_tiny_patch16_224: names and shapes as timm's state dict", () => {
  const s = shapes(createModel("vit_tiny_patch16_224", { numClasses: 2 }));
  const expected: [string, number[]][] = [
    ["patch_embed.proj.weight", [192, 3, 16, 16]],
    ["patch_embed.proj.bias", [192]],
    ["cls_token", [1, 1, 192]],
    ["pos_embed", [1, 197, 192]],
    ["blocks.0.norm1.weight", [192]],
    ["blocks.0.attn.qkv.weight", [576, 192]],
    ["blocks.0.attn.qkv.bias", [576]],
    ["blocks.0.attn.proj.weight", [192, 192]],
    ["blocks.11.mlp.fc1.weight", [768, 192]],
    ["blocks.11.mlp.fc2.weight", [192, 768]],
    ["blocks.11.norm2.bias", [192]],
    ["norm.weight", [192]],
    ["head.weight", [2, 192]],
    ["head.bias", [2]],
  ];
  for (const [name, shape] of expected) assert.deepEqual(s.get(name), shape, name);
  assert.ok(!s.has("blocks.12.norm1.weight"));
  // Patch 4 at 28 px: 7x7 patches plus the class token.
  const small = shapes(createModel("vit_tiny", { numClasses: 2, imageSize: 28, inChannels: 1 }));
  assert.deepEqual(small.get("pos_embed"), [1, 50, 192]);
  assert.deepEqual(small.get("patch_embed.proj.weight"), [192, 1, 4, 4]);
});

Deno.test("initializers follow timm's", () => {
  const init = (model: Model) => new Map(modelSpec(model).params.map((p) => [p.name, p]));
  const r = init(createModel("resnet18", { numClasses: 2 }));
  assert.deepEqual(r.get("layer3.1.bn2.weight")!.init, { kind: "constant", value: 0 }); // zero_init_last
  assert.deepEqual(r.get("layer3.1.bn1.weight")!.init, { kind: "constant", value: 1 });
  assert.deepEqual(r.get("conv1.weight")!.init, { kind: "normal", std: Math.sqrt(2 / (64 * 49)) });
  assert.deepEqual(r.get("fc.weight")!.init, { kind: "uniform", bound: 1 / Math.sqrt(512) });
  const noZero = init(createModel("resnet18", { zeroInitLast: false }));
  assert.deepEqual(noZero.get("layer3.1.bn2.weight")!.init, { kind: "constant", value: 1 });

  const e = init(createModel("efficientnet_b0", { numClasses: 2 }));
  // _init_weight_goog: fan_out = k*k*out/groups, so a depthwise 5x5 has std sqrt(2/25).
  assert.deepEqual(e.get("blocks.2.0.conv_dw.weight")!.init, {
    kind: "normal",
    std: Math.sqrt(2 / 25),
  });
  assert.deepEqual(e.get("blocks.2.0.conv_pw.weight")!.init, {
    kind: "normal",
    std: Math.sqrt(2 / 144),
  });
  assert.deepEqual(e.get("classifier.weight")!.init, { kind: "uniform", bound: 1 / Math.sqrt(2) });
  assert.deepEqual(e.get("classifier.bias")!.init, { kind: "constant", value: 0 });

  const v = init(createModel("vit_tiny", { numClasses: 2 }));
  assert.deepEqual(v.get("cls_token")!.init, { kind: "normal", std: 1e-6 });
  assert.deepEqual(v.get("pos_embed")!.init, { kind: "truncNormal", std: 0.02 });
  assert.deepEqual(v.get("blocks.3.attn.qkv.weight")!.init, { kind: "truncNormal", std: 0.02 });
  assert.deepEqual(v.get("blocks.3.attn.qkv.bias")!.init, { kind: "constant", value: 0 });
  assert.deepEqual(v.get("head.weight")!.init, { kind: "truncNormal", std: 0.02 });
  assert.deepEqual(v.get("head.bias")!.init, { kind: "constant", value: 0 });
  assert.equal(v.get("cls_token")!.decay, false);
  assert.equal(v.get("pos_embed")!.decay, false);
  assert.equal(v.get("blocks.0.norm1.weight")!.decay, false);
  assert.equal(v.get("blocks.0.mlp.fc1.weight")!.decay, true);
});

Deno.test("every backbone builds in train, eval and export mode from one definition", () => {
  for (const name of listModels()) {
    const model = createModel(name, {
      numClasses: 3,
      inChannels: 1,
      imageSize: 32,
      dropRate: 0.3,
      dropPathRate: 0.1,
    });
    const names: string[][] = [];
    for (const mode of ["train", "eval", "export"] as const) {
      const values = mode === "export" ? new Map<string, Float32Array>() : undefined;
      if (values) {
        for (const t of [...modelSpec(model).params, ...modelSpec(model).buffers]) {
          values.set(t.name, new Float32Array(t.shape.reduce((a, b) => a * b, 1)));
        }
      }
      const ctx = new ModelContext(mode, { values });
      const x = ctx.graph.input("x", "float32", [2, 1, 32, 32]);
      const logits = model.build(ctx, x);
      assert.deepEqual(logits.shape, [2, 3], `${name} ${mode}`);
      names.push([...ctx.params.keys(), ...ctx.buffers.keys()]);
      if (mode === "train") {
        assert.ok(ctx.noise.has("noise:head_drop"), `${name}: dropout before the head`);
        assert.ok(ctx.noise.size > 1, `${name}: drop-path noise`);
        assert.ok([...ctx.buffers.values()].every((b) => b.next), `${name}: running stats update`);
      } else assert.equal(ctx.noise.size, 0);
    }
    assert.deepEqual(names[1], names[0]);
    assert.deepEqual(names[2], names[0]);
  }
});

Deno.test("drop-path rates follow timm's schedules", () => {
  const rates = (name: string, options: Record<string, unknown> = {}) => {
    const model = createModel(name, { imageSize: 32, dropPathRate: 0.2, ...options });
    const ctx = new ModelContext("train");
    model.build(ctx, ctx.graph.input("x", "float32", [2, 3, 32, 32]));
    return new Map([...ctx.noise.values()].map((n) => [n.info.name, n.info.rate]));
  };
  const close = (a: number | undefined, b: number) =>
    assert.ok(Math.abs(a! - b) < 1e-12, `${a} vs ${b}`);
  // ResNet: rate * block_idx / (8 - 1); block 0 has none.
  const r = rates("resnet18");
  assert.ok(!r.has("noise:layer1.0.drop_path"));
  close(r.get("noise:layer1.1.drop_path"), 0.2 / 7);
  close(r.get("noise:layer4.1.drop_path"), 0.2);
  // EfficientNet: rate * block_idx / 16, only on blocks with a skip connection.
  const e = rates("efficientnet_b0");
  assert.ok(!e.has("noise:blocks.1.0.drop_path"), "no skip: stride 2");
  close(e.get("noise:blocks.1.1.drop_path"), (0.2 * 2) / 16);
  close(e.get("noise:blocks.5.3.drop_path"), (0.2 * 14) / 16);
  assert.ok(!e.has("noise:blocks.6.0.drop_path"), "no skip: 192 -> 320 channels");
  // ViT: torch.linspace(0, rate, depth).
  const v = rates("vit_tiny");
  close(v.get("noise:blocks.1.drop_path1"), 0.2 / 11);
  close(v.get("noise:blocks.11.drop_path2"), 0.2);
});

Deno.test("createModel: aliases, defaults and errors that list the valid choices", () => {
  assert.deepEqual(listModels(), ["resnet18", "efficientnet_b0", "vit_tiny_patch16_224"]);
  assert.equal(createModel("vit_tiny").name, "vit_tiny_patch16_224");
  const m = createModel("resnet18");
  assert.deepEqual([m.numClasses, m.inChannels, m.imageSize], [1000, 3, 224]);
  assert.equal(m.config.smallInput, false);
  assert.equal(createModel("resnet18", { imageSize: 64 }).config.smallInput, true);
  assert.equal(createModel("resnet18", { imageSize: 65 }).config.smallInput, false);
  assert.equal(defaultPatchSize(28), 4);
  assert.equal(defaultPatchSize(32), 4);
  assert.equal(defaultPatchSize(64), 16);
  assert.equal(defaultPatchSize(224), 16);
  assert.throws(
    () => createModel("resnet50"),
    /unknown model "resnet50": choose one of resnet18, efficientnet_b0, vit_tiny_patch16_224 \(alias vit_tiny\)/,
  );
  assert.throws(
    () => createModel("resnet18", { numClases: 2 } as never),
    /resnet18: unknown option numClases; valid options are numClasses, .*smallInput/,
  );
  assert.throws(
    () => createModel("efficientnet_b0", { smallInput: true } as never),
    /unknown option smallInput/,
  );
  assert.throws(() => createModel("resnet18", { dropRate: 1 }), /dropRate must be in \[0, 1\)/);
  assert.throws(
    () => createModel("resnet18", { numClasses: 0 }),
    /numClasses must be an integer >= 1/,
  );
  assert.throws(
    () => createModel("vit_tiny", { imageSize: 30, patchSize: 4 }),
    /imageSize 30 is not a multiple of patchSize 4/,
  );
  assert.throws(() => architectureInfo("vgg16"), /unknown model "vgg16"/);
});

Deno.test("registry facts: names, aliases, normalization, patch size, the sizes a backbone takes", () => {
  assert.deepEqual(listModels(), [...MODEL_NAMES]);
  const facts = listModels().map((name) => {
    const a = architectureInfo(name);
    return [a.name, a.shortName, a.normalization, a.patchSize, a.firstConv, a.classifier];
  });
  assert.deepEqual(facts, [
    ["resnet18", "resnet18", "imagenet", undefined, "conv1", "fc"],
    ["efficientnet_b0", "efficientnet_b0", "imagenet", undefined, "conv_stem", "classifier"],
    ["vit_tiny_patch16_224", "vit_tiny", "imagenet", 16, "patch_embed.proj", "head"],
  ]);
  assert.equal(resolveModelName("vit_tiny"), "vit_tiny_patch16_224");
  assert.equal(resolveModelName("resnet18"), "resnet18");
  for (const bogus of ["toString", "constructor", "resnet50", ""]) {
    assert.equal(resolveModelName(bogus), undefined, bogus);
  }
  // The sizes a backbone can take: the registry's own checks, said as a sentence.
  assert.equal(modelOptionsProblem("resnet18", { imageSize: 13 }), undefined);
  assert.equal(
    modelOptionsProblem("vit_tiny", { imageSize: 30, patchSize: 4 } as never),
    "vit_tiny_patch16_224: imageSize 30 is not a multiple of patchSize 4; " +
      "choose a patch size that divides it (e.g. 4 at 28 px, 16 at 224 px)",
  );
  assert.match(modelOptionsProblem("vgg16", {})!, /^unknown model "vgg16"/);
});

// Loading timm checkpoints: a synthetic timm state dict (ImageNet shapes,
// num_batches_tracked counters) loads into models that differ from it the
// way fine-tuning models do — class count, input channels, small-input
// stem, ViT grid and patch size — and whatever does not fit is an error
// that lists it.

import assert from "node:assert/strict";
import { createModel, initWeights, type Model, modelSpec } from "../lib/models/mod.ts";
import {
  adaptInputChannels,
  adaptPretrained,
  encodeWeights,
  linearResizeMatrix,
  loadPretrained,
} from "../lib/weights/pretrained.ts";
import {
  decodeSafetensors,
  encodeSafetensors,
  type SafeTensor,
  type TensorInput,
} from "../lib/weights/safetensors.ts";

/** A timm-like checkpoint of `model`: its tensors, plus I64 `num_batches_tracked` per batch norm. */
function timmCheckpoint(model: Model, seed = 1): Map<string, SafeTensor> {
  const spec = modelSpec(model);
  const values = initWeights(model, { seed, spec });
  const tensors = new Map<string, TensorInput>();
  for (const t of [...spec.params, ...spec.buffers]) {
    tensors.set(t.name, { dtype: "F32", shape: t.shape, data: values.get(t.name)! });
  }
  for (const b of spec.buffers) {
    if (b.name.endsWith(".running_mean")) {
      tensors.set(b.name.replace("running_mean", "num_batches_tracked"), {
        dtype: "I64",
        shape: [],
        data: [1000],
      });
    }
  }
  return decodeSafetensors(encodeSafetensors(tensors)).tensors;
}

function data(t: SafeTensor): Float32Array {
  return t.data as Float32Array;
}

Deno.test("resnet18: a 1000-class RGB checkpoint loads into a 2-class grayscale 28 px model", async () => {
  const file = timmCheckpoint(createModel("resnet18"));
  const model = createModel("resnet18", { numClasses: 2, inChannels: 1, imageSize: 28 });
  const fresh = initWeights(model, { seed: 5 });
  const target = new Map(fresh);
  const report = await loadPretrained(target, file, { model });

  assert.deepEqual(
    report.kept.map((k) => k.name).sort(),
    ["conv1.weight", "fc.bias", "fc.weight"],
  );
  assert.match(
    report.kept.find((k) => k.name === "fc.weight")!.reason,
    /1000 classes, the model 2/,
  );
  assert.match(
    report.kept.find((k) => k.name === "conv1.weight")!.reason,
    /kernel 3x3 differs.*7x7/,
  );
  assert.equal(report.ignored.length, 20);
  assert.ok(report.ignored.every((i) => i.name.endsWith("num_batches_tracked")));
  assert.equal(report.loaded.length, 62 + 40 - 3);
  for (const name of report.loaded) assert.deepEqual(target.get(name), data(file.get(name)!), name);
  assert.equal(target.get("fc.weight"), fresh.get("fc.weight"), "the head keeps its fresh init");

  // Center-cropping the 7x7 kernel, summed over RGB, on request.
  const cropped = new Map(fresh);
  const r2 = await loadPretrained(cropped, file, { model, firstConvKernel: "centerCrop" });
  assert.deepEqual(r2.adapted.map((a) => a.how), [
    "center-cropped 7x7 -> 3x3; summed 3 input channels into 1",
  ]);
  const src = data(file.get("conv1.weight")!); // [64, 3, 7, 7]
  const w = cropped.get("conv1.weight")!; // [64, 1, 3, 3]
  const at = (o: number, c: number, y: number, x: number) => src[((o * 3 + c) * 7 + y) * 7 + x];
  for (const [o, y, x] of [[0, 0, 0], [5, 1, 2], [63, 2, 2]]) {
    const expected = at(o, 0, y + 2, x + 2) + at(o, 1, y + 2, x + 2) + at(o, 2, y + 2, x + 2);
    assert.ok(Math.abs(w[(o * 3 + y) * 3 + x] - expected) < 1e-6);
  }

  // The standard stem takes conv1 whole, channels summed (timm's adapt_input_conv).
  const std = createModel("resnet18", { numClasses: 2, inChannels: 1, imageSize: 224 });
  const r3 = adaptPretrained(file, { model: std });
  assert.deepEqual(r3.report.adapted, [{
    name: "conv1.weight",
    how: "summed 3 input channels into 1",
  }]);
});

Deno.test("efficientnet_b0: other channel counts adapt as timm's adapt_input_conv", () => {
  const file = timmCheckpoint(createModel("efficientnet_b0"));
  const rgb = data(file.get("conv_stem.weight")!); // [32, 3, 3, 3]
  for (const channels of [1, 2, 5]) {
    const model = createModel("efficientnet_b0", {
      numClasses: 7,
      inChannels: channels,
      imageSize: 64,
    });
    const { weights, report } = adaptPretrained(file, { model });
    assert.equal(report.adapted.length, 1);
    assert.deepEqual(report.kept.map((k) => k.name), ["classifier.weight", "classifier.bias"]);
    const w = weights.get("conv_stem.weight")!;
    assert.equal(w.length, 32 * channels * 9);
    for (const [o, c, j] of [[0, 0, 0], [7, channels - 1, 4], [31, Math.min(1, channels - 1), 8]]) {
      const expected = channels === 1
        ? rgb[(o * 3 + 0) * 9 + j] + rgb[(o * 3 + 1) * 9 + j] + rgb[(o * 3 + 2) * 9 + j]
        : rgb[(o * 3 + (c % 3)) * 9 + j] * (3 / channels);
      assert.ok(Math.abs(w[(o * channels + c) * 9 + j] - expected) < 1e-6, `${channels} ch`);
    }
  }
  assert.equal(adaptInputChannels(new Float32Array(4 * 4), [1, 4, 2, 2], 2), undefined);
});

Deno.test("vit: pos_embed is resampled bilinearly, keeping the class token", () => {
  const file = timmCheckpoint(createModel("vit_tiny_patch16_224"));
  // Make the grid part a linear function of (row, col): bilinear resampling with
  // half-pixel centers (14 -> 7 samples at 2i + 0.5) must reproduce it exactly.
  const pos = data(file.get("pos_embed")!); // [1, 197, 192]
  for (let t = 0; t < 196; t++) {
    const [y, x] = [Math.floor(t / 14), t % 14];
    for (let c = 0; c < 192; c++) pos[(1 + t) * 192 + c] = 0.1 * y - 0.03 * x + 0.001 * c;
  }
  const model = createModel("vit_tiny", { numClasses: 2, imageSize: 112, patchSize: 16 });
  const { weights, report } = adaptPretrained(file, { model });
  assert.deepEqual(report.adapted, [{
    name: "pos_embed",
    how: "position grid 14x14 -> 7x7 (bilinear), class token kept",
  }]);
  const out = weights.get("pos_embed")!;
  assert.equal(out.length, 50 * 192);
  assert.deepEqual(out.subarray(0, 192), pos.subarray(0, 192));
  for (const [i, j, c] of [[0, 0, 0], [3, 5, 17], [6, 6, 191]]) {
    const [y, x] = [2 * i + 0.5, 2 * j + 0.5];
    const expected = 0.1 * y - 0.03 * x + 0.001 * c;
    assert.ok(Math.abs(out[(1 + i * 7 + j) * 192 + c] - expected) < 1e-5, `${i},${j},${c}`);
  }
  // Upsampling works too (224 -> 256 px: 14x14 -> 16x16); rows of the matrix sum to 1.
  const up = adaptPretrained(file, {
    model: createModel("vit_tiny", { numClasses: 2, imageSize: 256 }),
  });
  assert.equal(up.weights.get("pos_embed")!.length, 257 * 192);
  const m = linearResizeMatrix(14, 16);
  for (let r = 0; r < 16; r++) {
    let s = 0;
    for (let k = 0; k < 14; k++) s += m[r * 14 + k];
    assert.ok(Math.abs(s - 1) < 1e-12);
  }
});

Deno.test("vit: another patch size keeps the fresh patch embedding, or resamples it", () => {
  const file = timmCheckpoint(createModel("vit_tiny_patch16_224"));
  const model = createModel("vit_tiny", { numClasses: 2, imageSize: 28, inChannels: 1 }); // patch 4
  const skipped = adaptPretrained(file, { model });
  assert.deepEqual(skipped.report.kept.map((k) => k.name), [
    "patch_embed.proj.weight",
    "head.weight",
    "head.bias",
  ]);
  assert.deepEqual(skipped.report.adapted.map((a) => a.name), ["pos_embed"]);
  // PI-resize: a constant 4x4 patch gives the same response as the constant
  // 16x16 patch did, so each resized kernel sums to the original's sum.
  const resampled = adaptPretrained(file, { model, firstConvKernel: "resample" });
  const src = data(file.get("patch_embed.proj.weight")!); // [192, 3, 16, 16]
  const w = resampled.weights.get("patch_embed.proj.weight")!; // [192, 1, 4, 4]
  for (const o of [0, 100, 191]) {
    let before = 0;
    for (let i = 0; i < 3 * 256; i++) before += src[o * 768 + i];
    let after = 0;
    for (let i = 0; i < 16; i++) after += w[o * 16 + i];
    assert.ok(Math.abs(before - after) < 1e-4, `${before} vs ${after}`);
  }
});

Deno.test("checkpoints that do not fit fail, listing every problem", () => {
  const model = createModel("resnet18", { numClasses: 2, imageSize: 224 });
  const file = timmCheckpoint(createModel("resnet18"));
  const broken = new Map(file);
  broken.delete("layer1.0.bn1.running_var");
  broken.delete("layer2.1.conv2.weight");
  broken.set("layer9.0.conv1.weight", file.get("layer1.0.conv1.weight")!);
  broken.set("layer3.0.conv1.weight", file.get("layer1.0.conv1.weight")!); // [64, 64, 3, 3]
  let message = "";
  try {
    adaptPretrained(broken, { model, source: "r18.safetensors" });
  } catch (err) {
    message = (err as Error).message;
  }
  assert.match(
    message,
    /^loadPretrained\(resnet18\) from r18\.safetensors: the checkpoint does not fit/,
  );
  assert.match(
    message,
    /missing in the file \(2\): layer2\.1\.conv2\.weight, layer1\.0\.bn1\.running_var/,
  );
  assert.match(message, /not in the model \(1\): layer9\.0\.conv1\.weight/);
  assert.match(
    message,
    /shape mismatch \(1\): layer3\.0\.conv1\.weight: file \[64, 64, 3, 3\], model \[256, 128, 3, 3\]/,
  );
  assert.match(message, /strict: false/);

  // strict: false skips missing and unexpected tensors, but never a wrong shape.
  broken.set("layer3.0.conv1.weight", file.get("layer3.0.conv1.weight")!);
  const { report } = adaptPretrained(broken, { model, strict: false });
  assert.deepEqual(report.kept.filter((k) => /strict/.test(k.reason)).map((k) => k.name), [
    "layer2.1.conv2.weight",
    "layer1.0.bn1.running_var",
  ]);
  assert.ok(report.ignored.some((i) => i.name === "layer9.0.conv1.weight"));

  // resetHead: false refuses another class count; true keeps the fresh head even when it fits.
  assert.throws(
    () => adaptPretrained(file, { model, resetHead: false }),
    /shape mismatch \(2\): fc\.weight: file \[1000, 512\], model \[2, 512\]; fc\.bias: file \[1000\], model \[2\]/,
  );
  const same = createModel("resnet18");
  assert.deepEqual(
    adaptPretrained(file, { model: same, resetHead: true }).report.kept.map((k) => k.name),
    ["fc.weight", "fc.bias"],
  );
  assert.equal(adaptPretrained(file, { model: same }).report.kept.length, 0);

  // An integer tensor where a float is expected; a channel count that cannot be adapted.
  const ints = new Map(file);
  ints.set("bn1.weight", { dtype: "I32", shape: [64], data: new Int32Array(64) });
  assert.throws(
    () => adaptPretrained(ints, { model }),
    /"bn1\.weight" is I32; a floating-point tensor/,
  );
  const gray = timmCheckpoint(createModel("resnet18", { inChannels: 1 }));
  assert.throws(
    () => adaptPretrained(gray, { model: createModel("resnet18", { inChannels: 4 }) }),
    /conv1\.weight: file \[64, 1, 7, 7\], model \[64, 4, 7, 7\] \(cannot adapt 1 input channels to 4/,
  );
  assert.throws(
    () => adaptPretrained(file, { model: createModel("efficientnet_b0") }),
    /missing in the file \(305\).*not in the model \(98\).*another architecture\?/s,
  );
});

Deno.test("half-precision checkpoints load; our own files round-trip with metadata", async () => {
  const model = createModel("vit_tiny", { numClasses: 2, imageSize: 16, depth: 1 });
  const spec = modelSpec(model);
  const values = initWeights(model, { seed: 3, spec });
  const half = new Map<string, TensorInput>();
  for (const t of spec.params) {
    half.set(t.name, { dtype: "BF16", shape: t.shape, data: values.get(t.name)! });
  }
  const target = new Map<string, Float32Array>();
  const report = await loadPretrained(target, encodeSafetensors(half), { model });
  assert.equal(report.loaded.length, spec.params.length);
  const w = values.get("blocks.0.mlp.fc1.weight")!;
  const got = target.get("blocks.0.mlp.fc1.weight")!;
  for (let i = 0; i < w.length; i += 97) assert.ok(Math.abs(got[i] - w[i]) <= Math.abs(w[i]) / 128);

  const bytes = encodeWeights(values, { model, metadata: { epoch: "3" } });
  const decoded = decodeSafetensors(bytes);
  assert.equal(decoded.metadata!["medtune.model"], "vit_tiny_patch16_224");
  assert.equal(decoded.metadata!.epoch, "3");
  assert.equal(JSON.parse(decoded.metadata!["medtune.config"]).depth, 1);
  assert.deepEqual(decoded.tensors.get("pos_embed")!.shape, [1, 17, 192]);
  const again = new Map<string, Float32Array>();
  await loadPretrained(again, decoded, { model });
  for (const [k, v] of values) assert.deepEqual(again.get(k), v, k);
  values.delete("head.bias");
  assert.throws(() => encodeWeights(values, { model }), /missing: head\.bias/);
  await assert.rejects(
    () => loadPretrained(new Map(), bytes),
    /no model; pass \{ model \} in the options/,
  );
});

import assert from "node:assert/strict";
import { createModel, forwardMacs, trainStepFlops } from "../lib/models/mod.ts";

const imagenet = { numClasses: 1000, inChannels: 3, imageSize: 224 };

/** ResNet-18's multiply-adds from its layer table (no graph involved). */
function resnet18Macs(size: number, smallStem: boolean, classes: number): number {
  const conv = (cin: number, cout: number, k: number, out: number) =>
    cin * cout * k * k * out * out;
  let macs = 0;
  let s: number;
  if (smallStem) {
    s = size; // 3×3 stride 1, no max pool
    macs += conv(3, 64, 3, s);
  } else {
    s = Math.ceil(size / 2);
    macs += conv(3, 64, 7, s);
    s = Math.ceil(s / 2); // max pool
  }
  let cin = 64;
  for (const [cout, stride] of [[64, 1], [128, 2], [256, 2], [512, 2]]) {
    const out = Math.ceil(s / stride);
    macs += conv(cin, cout, 3, out) + conv(cout, cout, 3, out); // block 1
    if (stride !== 1 || cin !== cout) macs += conv(cin, cout, 1, out); // its shortcut
    macs += 2 * conv(cout, cout, 3, out); // block 2
    cin = cout;
    s = out;
  }
  return macs + 512 * classes;
}

Deno.test("forwardMacs: ResNet-18 at 224 px equals its layer table and timm's 1.82 GMACs", () => {
  const count = forwardMacs(createModel("resnet18", imagenet));
  assert.equal(count.macs, resnet18Macs(224, false, 1000));
  assert.equal(count.macs, 1_814_073_344);
  assert.equal(Math.round(count.macs / 1e7) / 100, 1.81); // timm's table rounds it to 1.82
  assert.equal(count.byOp.Gemm, 512 * 1000);
  assert.equal(count.firstLayerMacs, 3 * 64 * 49 * 112 * 112);
});

Deno.test("forwardMacs: the study's small-stem ResNet-18 at 28 and 64 px", () => {
  for (const size of [28, 64]) {
    const model = createModel("resnet18", { numClasses: 2, inChannels: 3, imageSize: size });
    assert.equal(forwardMacs(model).macs, resnet18Macs(size, true, 2), `${size} px`);
  }
  const r18 = createModel("resnet18", { numClasses: 2, inChannels: 3, imageSize: 28 });
  // Forward, input and weight gradients, less the stem's input gradient; 2 FLOPs a multiply-add.
  const first = 3 * 64 * 9 * 28 * 28;
  assert.equal(forwardMacs(r18).firstLayerMacs, first);
  assert.equal(trainStepFlops(r18), 2 * (3 * resnet18Macs(28, true, 2) - first));
  assert.ok(Math.abs(trainStepFlops(r18) / 1e9 - 2.737) < 1e-3);
});

Deno.test("forwardMacs: ViT-Tiny/16 at 224 px, attention products included (timm: 1.26 GMACs)", () => {
  const count = forwardMacs(createModel("vit_tiny_patch16_224", imagenet));
  const tokens = 197;
  const dim = 192;
  const perBlock = tokens * dim * (3 * dim + dim + 2 * 4 * dim); // qkv, proj, two MLP layers
  const attention = 2 * tokens * tokens * dim; // q·kᵀ and attn·v over the heads
  assert.equal(count.byOp.Conv, 3 * dim * 16 * 16 * 196);
  assert.equal(count.byOp.Gemm, 12 * perBlock + dim * 1000);
  assert.equal(count.byOp.MatMul, 12 * attention);
  assert.equal(Math.round(count.macs / 1e7) / 100, 1.25); // timm's table: 1.26 (fvcore counts a few more)
});

Deno.test("forwardMacs: EfficientNet-B0 at 224 px counts depthwise convs per group (timm: 0.39–0.40 GMACs)", () => {
  const count = forwardMacs(createModel("efficientnet_b0", imagenet));
  assert.ok(count.macs > 0.38e9 && count.macs < 0.40e9, `${count.macs}`);
  assert.equal(count.byOp.Gemm, 1280 * 1000);
  // Depthwise counted as full convs would be ~100× more: the group divides the taps.
  assert.equal(count.firstLayerMacs, 3 * 32 * 9 * 112 * 112);
});

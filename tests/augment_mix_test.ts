import assert from "node:assert/strict";
import {
  type MixableBatch,
  mixBatch,
  type MixConfig,
  oneHotTargets,
  sampleCutmixBox,
} from "../lib/augment/mix.ts";
import { hashSeed, Rng } from "../lib/util/rng.ts";

const MIXUP_ONLY: MixConfig = { mixupAlpha: 0.2, cutmixAlpha: 0, prob: 1, switchProb: 0 };
const CUTMIX_ONLY: MixConfig = { mixupAlpha: 0, cutmixAlpha: 1, prob: 1, switchProb: 0 };

/** n constant images whose pixel value equals their label (0 or 1), with one-hot targets. */
function labelImages(labels: number[], size = 8, channels = 2): MixableBatch {
  const n = labels.length;
  const per = channels * size * size;
  const x = new Float32Array(n * per);
  labels.forEach((l, i) => x.fill(l, i * per, (i + 1) * per));
  return {
    x,
    targets: oneHotTargets(Int32Array.from(labels), { numClasses: 2 }),
    n,
    channels,
    height: size,
    width: size,
    numClasses: 2,
  };
}

function imageMean(batch: MixableBatch, i: number): number {
  const per = batch.channels * batch.height * batch.width;
  let s = 0;
  for (let p = 0; p < per; p++) s += batch.x[i * per + p];
  return s / per;
}

Deno.test("mixup: targets sum to 1 and match the mixed pixels", () => {
  for (let seed = 0; seed < 20; seed++) {
    const batch = labelImages([0, 1, 1, 0, 1]);
    const res = mixBatch(batch, new Rng(seed), MIXUP_ONLY);
    assert.equal(res.kind, "mixup");
    assert.ok(res.lam >= 0 && res.lam <= 1);
    for (let i = 0; i < batch.n; i++) {
      const t0 = batch.targets[2 * i], t1 = batch.targets[2 * i + 1];
      assert.ok(Math.abs(t0 + t1 - 1) < 1e-6);
      // every pixel of image i is λ·label_i + (1−λ)·label_{n−1−i} = the class-1 target
      const per = 2 * 8 * 8;
      for (let p = 0; p < per; p += 17) assert.ok(Math.abs(batch.x[i * per + p] - t1) < 1e-6);
    }
  }
});

Deno.test("cutmix: targets sum to 1 and equal the pasted area fraction", () => {
  let sawBox = false;
  for (let seed = 0; seed < 20; seed++) {
    const batch = labelImages([1, 0, 0, 1, 1, 0]);
    const res = mixBatch(batch, new Rng(seed), CUTMIX_ONLY);
    assert.equal(res.kind, "cutmix");
    assert.ok(res.box);
    const area = (res.box.height * res.box.width) / 64;
    assert.ok(Math.abs(res.lam - (1 - area)) < 1e-12);
    if (area > 0) sawBox = true;
    for (let i = 0; i < batch.n; i++) {
      const t0 = batch.targets[2 * i], t1 = batch.targets[2 * i + 1];
      assert.ok(Math.abs(t0 + t1 - 1) < 1e-6);
      assert.ok(Math.abs(imageMean(batch, i) - t1) < 1e-6, `seed ${seed} image ${i}`);
    }
  }
  assert.ok(sawBox);
});

/**
 * timm's `rand_bbox` and the λ correction of `cutmix_bbox_and_lam`
 * (`correct_lam=True`), transcribed: `cut_rat = √(1 − λ)`, `cut_h = int(H·cut_rat)`,
 * a centre from `np.random.randint(0, H)` (here `⌊u·H⌋` for a uniform draw `u`),
 * the half sides `cut_h // 2` either way, clipped to the image, and
 * `λ = 1 − box_area / (W·H)`.
 */
function timmCutmix(rng: Rng, height: number, width: number, lam: number) {
  const cutRat = Math.sqrt(1 - lam);
  const cutH = Math.trunc(height * cutRat);
  const cutW = Math.trunc(width * cutRat);
  const cy = Math.floor(rng.float() * height);
  const cx = Math.floor(rng.float() * width);
  const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  const yl = clip(cy - Math.floor(cutH / 2), height);
  const yh = clip(cy + Math.floor(cutH / 2), height);
  const xl = clip(cx - Math.floor(cutW / 2), width);
  const xh = clip(cx + Math.floor(cutW / 2), width);
  const box = { top: yl, left: xl, height: yh - yl, width: xh - xl };
  const clipped = box.height < 2 * Math.floor(cutH / 2) || box.width < 2 * Math.floor(cutW / 2);
  return { box, lam: 1 - (box.height * box.width) / (width * height), clipped };
}

Deno.test("cutmix box follows timm rand_bbox draw for draw, clipping included", () => {
  const lams = new Rng(4);
  const rng = new Rng(5), ref = new Rng(5);
  let clipped = 0, inside = 0;
  for (let i = 0; i < 300; i++) {
    // λ over (0, 1), with both ends: a full-image box and an empty one.
    const lam = i === 0 ? 0 : i === 1 ? 1 : lams.float();
    const b = sampleCutmixBox(rng, { height: 28, width: 20, lam });
    const expected = timmCutmix(ref, 28, 20, lam);
    assert.deepEqual(b, expected.box, `draw ${i}, λ ${lam}`);
    if (expected.clipped) clipped++;
    else inside++;
  }
  assert.ok(clipped > 30 && inside > 30, `${clipped} clipped, ${inside} inside`);
});

Deno.test("cutmix through mixBatch: timm's box and area-corrected λ from the same draws", () => {
  const [height, width, channels, n] = [12, 9, 2, 4];
  const per = channels * height * width;
  let corrected = 0;
  for (let seed = 0; seed < 50; seed++) {
    const x = new Float32Array(n * per);
    for (let i = 0; i < n; i++) x.fill(i, i * per, (i + 1) * per);
    const batch: MixableBatch = {
      x,
      targets: oneHotTargets(Int32Array.from([0, 1, 2, 3]), { numClasses: 4 }),
      n,
      channels,
      height,
      width,
      numClasses: 4,
    };
    const res = mixBatch(batch, new Rng(seed), CUTMIX_ONLY);
    // timm's Mixup draws, for CutMix alone: the `prob` coin, then λ ~ Beta(α, α).
    const ref = new Rng(seed);
    ref.float();
    const lam0 = ref.beta(CUTMIX_ONLY.cutmixAlpha, CUTMIX_ONLY.cutmixAlpha);
    const expected = timmCutmix(ref, height, width, lam0);
    assert.equal(res.kind, "cutmix");
    assert.deepEqual(res.box, expected.box, `seed ${seed}`);
    assert.equal(res.lam, expected.lam, `seed ${seed}`);
    if (expected.lam !== lam0) corrected++;
    // Image 0 holds image 3's pixels inside the box and its own outside; its target
    // is λ·onehot(0) + (1 − λ)·onehot(3).
    const { top, left } = expected.box;
    for (let y = 0; y < height; y++) {
      for (let xx = 0; xx < width; xx++) {
        const inBox = y >= top && y < top + expected.box.height && xx >= left &&
          xx < left + expected.box.width;
        assert.equal(batch.x[y * width + xx], inBox ? 3 : 0, `seed ${seed} pixel ${y},${xx}`);
      }
    }
    assert.ok(Math.abs(batch.targets[0] - expected.lam) < 1e-6);
    assert.ok(Math.abs(batch.targets[3] - (1 - expected.lam)) < 1e-6);
  }
  // The correction mattered: the box's true area differs from 1 − λ on most draws.
  assert.ok(corrected > 40, `${corrected} corrected`);
});

Deno.test("mix: prob 0 leaves the batch alone; switchProb picks CutMix vs Mixup", () => {
  const batch = labelImages([0, 1]);
  const before = batch.x.slice();
  assert.equal(mixBatch(batch, new Rng(1), { ...MIXUP_ONLY, prob: 0 }).kind, "none");
  assert.deepEqual(batch.x, before);
  const kinds = { mixup: 0, cutmix: 0, none: 0 };
  const cfg: MixConfig = { mixupAlpha: 0.2, cutmixAlpha: 1, prob: 1, switchProb: 0.5 };
  for (let s = 0; s < 400; s++) kinds[mixBatch(labelImages([0, 1]), new Rng(s), cfg).kind]++;
  assert.equal(kinds.none, 0);
  assert.ok(kinds.cutmix > 150 && kinds.mixup > 150, JSON.stringify(kinds));
});

Deno.test("label smoothing follows timm (off = s/K, on = 1 − s + s/K) and survives mixing", () => {
  const t = oneHotTargets(Int32Array.from([2, 0]), { numClasses: 4, smoothing: 0.1 });
  assert.deepEqual(Array.from(t).map((v) => +v.toFixed(6)), [
    0.025,
    0.025,
    0.925,
    0.025,
    0.925,
    0.025,
    0.025,
    0.025,
  ]);
  const multi = oneHotTargets(Int32Array.from([1, 0, 1]), {
    numClasses: 3,
    smoothing: 0.2,
    multiLabel: true,
  });
  assert.deepEqual(Array.from(multi).map((v) => +v.toFixed(6)), [0.9, 0.1, 0.9]);
  const batch = labelImages([0, 1, 1]);
  batch.targets = oneHotTargets(Int32Array.from([0, 1, 1]), { numClasses: 2, smoothing: 0.1 });
  mixBatch(batch, new Rng(hashSeed(3)), MIXUP_ONLY);
  for (let i = 0; i < 3; i++) {
    assert.ok(Math.abs(batch.targets[2 * i] + batch.targets[2 * i + 1] - 1) < 1e-6);
  }
});

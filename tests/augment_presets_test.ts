import assert from "node:assert/strict";
import { createAugmenter, resolveNormalization } from "../lib/augment/pipeline.ts";
import {
  type AugmentConfig,
  getPreset,
  presets,
  validateAugmentConfig,
} from "../lib/augment/presets.ts";
import { Rng } from "../lib/util/rng.ts";
import { normalize, resize, toFloatImage } from "../lib/augment/transforms.ts";
import { syntheticDataset } from "./data_fixtures.ts";

Deno.test("presets: none / basic / heavy hold the documented values and are frozen", () => {
  assert.deepEqual(Object.keys(presets), ["none", "basic", "heavy"]);
  assert.equal(presets.none.crop, null);
  assert.equal(presets.none.mix, null);
  assert.deepEqual(presets.basic.crop?.scale, [0.8, 1]);
  assert.equal(presets.basic.hflip, 0.5);
  assert.equal(presets.basic.rotation, 10);
  assert.equal(presets.basic.brightness, 0.1);
  assert.equal(presets.basic.contrast, 0.1);
  assert.equal(presets.heavy.rotation, 15);
  assert.equal(presets.heavy.erasing?.p, 0.25);
  assert.deepEqual(presets.heavy.mix, {
    mixupAlpha: 0.2,
    cutmixAlpha: 1.0,
    prob: 1.0,
    switchProb: 0.5,
  });
  for (const p of Object.values(presets)) validateAugmentConfig(p);
  assert.throws(() => {
    (presets.basic as AugmentConfig).rotation = 45;
  }, TypeError);
  assert.throws(() => {
    presets.basic.crop!.scale[0] = 0.1;
  }, TypeError);
  const mine = getPreset("basic", { rotation: 20 });
  mine.crop!.scale[0] = 0.5;
  assert.equal(mine.rotation, 20);
  assert.equal(presets.basic.crop?.scale[0], 0.8);
  assert.throws(() => getPreset("extreme" as "none"), /unknown augmentation preset "extreme"/);
});

Deno.test("validateAugmentConfig names the bad field and the allowed range", () => {
  const bad = (patch: Partial<AugmentConfig>, pattern: RegExp) =>
    assert.throws(() => validateAugmentConfig({ ...getPreset("heavy"), ...patch }), pattern);
  bad({ hflip: 1.5 }, /AugmentConfig\.hflip must be a probability in \[0, 1\], got 1\.5/);
  bad({ crop: { scale: [0.9, 0.5], ratio: [0.75, 1.33] } }, /AugmentConfig\.crop\.scale must be/);
  bad({ rotation: -1 }, /AugmentConfig\.rotation must be a finite number ≥ 0/);
  bad({ blur: { p: 0.5, sigma: [0, 1] } }, /AugmentConfig\.blur\.sigma/);
  bad(
    { erasing: { p: 0.5, scale: [0.02, 0.2], ratio: [0.3, 3.3], value: "noise" as "random" } },
    /AugmentConfig\.erasing\.value must be a number or "random"/,
  );
  bad({ labelSmoothing: 1 }, /AugmentConfig\.labelSmoothing/);
  bad(
    { mix: { mixupAlpha: 0.2, cutmixAlpha: 1, prob: 2, switchProb: 0.5 } },
    /AugmentConfig\.mix\.prob/,
  );
});

Deno.test("pipeline 'none' is exactly resize + normalize (+ gray→RGB)", () => {
  const ds = syntheticDataset({ n: 3, size: 12 });
  const aug = createAugmenter("none", {
    input: { height: 12, width: 12, channels: 1 },
    height: 20,
    channels: 3,
  });
  const got = aug.apply(ds.images, new Rng(0), { index: 2 });
  const img = resize(toFloatImage(ds.images, { height: 12, width: 12, channels: 1, index: 2 }), {
    height: 20,
    width: 20,
  });
  const plane = 400;
  for (let c = 0; c < 3; c++) {
    const ref = normalize({ ...img, data: img.data.slice() }, {
      mean: [[0.485, 0.456, 0.406][c]],
      std: [[0.229, 0.224, 0.225][c]],
    });
    for (let i = 0; i < plane; i++) {
      assert.ok(Math.abs(got[c * plane + i] - ref.data[i]) < 1e-5);
    }
  }
});

Deno.test("pipeline: same seed → identical output bit for bit; different seeds differ", () => {
  const ds = syntheticDataset({ n: 4, size: 16, channels: 3 });
  for (const name of ["basic", "heavy"] as const) {
    const aug = createAugmenter(name, {
      input: { height: 16, width: 16, channels: 3 },
      height: 24,
    });
    const run = (seed: number) => {
      const rng = new Rng(seed);
      const out = new Float32Array(4 * aug.outSize);
      for (let i = 0; i < 4; i++) {
        aug.apply(ds.images, rng, { index: i, out, offset: i * aug.outSize });
      }
      return new Uint8Array(out.buffer);
    };
    assert.deepEqual(run(5), run(5), name);
    assert.notDeepEqual(run(5), run(6), name);
  }
});

Deno.test("pipeline: channel mapping and normalization options", () => {
  const rgb = new Uint8Array([255, 0, 0]); // one red pixel
  const toGray = createAugmenter("none", {
    input: { height: 1, width: 1, channels: 3 },
    channels: 1,
    normalize: "none",
  });
  assert.ok(Math.abs(toGray.apply(rgb, new Rng(0))[0] - 0.299) < 1e-6);
  assert.deepEqual(resolveNormalization("imagenet", 1), { mean: [0.449], std: [0.226] });
  assert.deepEqual(resolveNormalization({ mean: [0.5], std: [0.25] }, 3), {
    mean: [0.5, 0.5, 0.5],
    std: [0.25, 0.25, 0.25],
  });
  assert.equal(resolveNormalization("none", 3), null);
  assert.throws(
    () => resolveNormalization({ mean: [0.1, 0.2], std: [1, 1] }, 3),
    /normalize\.mean has 2 values but the output has 3 channel\(s\)/,
  );
  assert.throws(() => resolveNormalization({ mean: [0], std: [0] }, 1), /std must be > 0/);
  assert.throws(
    () => createAugmenter("basic", { input: { height: 8, width: 8, channels: 2 } }),
    /input\.channels must be 1 or 3, got 2/,
  );
});

import assert from "node:assert/strict";
import { Rng } from "../lib/util/rng.ts";
import { roundHalfEven } from "../lib/util/round.ts";
import {
  adjustBrightness,
  adjustContrast,
  affine,
  type Box,
  createImage,
  crop,
  erase,
  type FloatImage,
  gaussianBlur,
  grayToRgb,
  hflip,
  normalize,
  resize,
  resizedCrop,
  rotate,
  sampleErasingBox,
  sampleResizedCropBox,
  toFloatImage,
  vflip,
} from "../lib/augment/transforms.ts";

/** A C×H×W image whose pixel values are all different. */
function pattern(channels: number, height: number, width: number): FloatImage {
  const img = createImage({ channels, height, width });
  for (let i = 0; i < img.data.length; i++) img.data[i] = ((i * 37) % 101) / 100;
  return img;
}

function at(img: FloatImage, c: number, y: number, x: number): number {
  return img.data[(c * img.height + y) * img.width + x];
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tol,
      `index ${i}: ${actual[i]} vs ${expected[i]} (tolerance ${tol})`,
    );
  }
}

Deno.test("flip twice is the identity; flips move the right pixels", () => {
  const img = pattern(3, 5, 6);
  assert.deepEqual(hflip(hflip(img)).data, img.data);
  assert.deepEqual(vflip(vflip(img)).data, img.data);
  const h = hflip(img);
  const v = vflip(img);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < 5; y++) {
      for (let x = 0; x < 6; x++) {
        assert.equal(at(h, c, y, x), at(img, c, y, 5 - x));
        assert.equal(at(v, c, y, x), at(img, c, 4 - y, x));
      }
    }
  }
  // in place
  const copy = { ...img, data: img.data.slice() };
  hflip(copy, { out: copy });
  assert.deepEqual(copy.data, h.data);
});

Deno.test("90° rotation of a square equals transpose + vertical flip (torch.rot90)", () => {
  for (const size of [4, 7]) {
    const img = pattern(2, size, size);
    const rot = rotate(img, 90);
    const expected = createImage({ channels: 2, height: size, width: size });
    for (let c = 0; c < 2; c++) {
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          // transpose T[y][x] = img[x][y]; then vflip: out[y][x] = T[n-1-y][x] = img[x][n-1-y]
          expected.data[(c * size + y) * size + x] = at(img, c, x, size - 1 - y);
        }
      }
    }
    assertClose(rot.data, expected.data, 1e-6);
    // four quarter turns come back; 180° is both flips
    let r = img;
    for (let k = 0; k < 4; k++) r = rotate(r, 90);
    assertClose(r.data, img.data, 1e-6);
    assertClose(rotate(img, 180).data, hflip(vflip(img)).data, 1e-6);
  }
});

Deno.test("affine: identity, integer translation with fill, zoom about the centre", () => {
  const img = pattern(1, 6, 6);
  assertClose(affine(img, {}).data, img.data, 1e-7);
  const shifted = affine(img, { translate: [2, -1], fill: 0.5 });
  for (let y = 0; y < 6; y++) {
    for (let x = 0; x < 6; x++) {
      const sx = x - 2, sy = y + 1;
      const want = sx >= 0 && sy < 6 ? at(img, 0, sy, sx) : 0.5;
      assert.ok(Math.abs(at(shifted, 0, y, x) - want) < 1e-6, `(${y},${x})`);
    }
  }
  // zoom ×2 about (2.5, 2.5): output (y, x) samples (2.5 + (y−2.5)/2, 2.5 + (x−2.5)/2)
  const ramp = createImage({ channels: 1, height: 6, width: 6 });
  for (let y = 0; y < 6; y++) for (let x = 0; x < 6; x++) ramp.data[y * 6 + x] = 10 * y + x;
  const zoom = affine(ramp, { scale: 2 });
  for (let y = 0; y < 6; y++) {
    for (let x = 0; x < 6; x++) {
      const want = 10 * (2.5 + (y - 2.5) / 2) + (2.5 + (x - 2.5) / 2);
      assert.ok(Math.abs(at(zoom, 0, y, x) - want) < 1e-5);
    }
  }
});

Deno.test("crop of the full image is the identity; crop takes the right window", () => {
  const img = pattern(3, 5, 7);
  const full = crop(img, { top: 0, left: 0, height: 5, width: 7 });
  assert.deepEqual(full.data, img.data);
  const same = resizedCrop(img, { top: 0, left: 0, height: 5, width: 7 }, { height: 5, width: 7 });
  assert.deepEqual(same.data, img.data);
  const win = crop(img, { top: 1, left: 2, height: 3, width: 4 });
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < 3; y++) {
      for (let x = 0; x < 4; x++) assert.equal(at(win, c, y, x), at(img, c, y + 1, x + 2));
    }
  }
  assert.throws(
    () => crop(img, { top: 3, left: 0, height: 3, width: 2 }),
    /box .* is not inside the 5×7 image/,
  );
});

Deno.test("bilinear resize matches torchvision (align_corners=False, no antialias) within 1e-4", () => {
  // F.interpolate(torch.tensor([[[[0., 1.], [2., 3.]]]]), size=4, mode="bilinear", align_corners=False)
  const small = createImage({ channels: 1, height: 2, width: 2 });
  small.data.set([0, 1, 2, 3]);
  assertClose(resize(small, { height: 4, width: 4 }).data, [
    0,
    0.25,
    0.75,
    1,
    0.5,
    0.75,
    1.25,
    1.5,
    1.5,
    1.75,
    2.25,
    2.5,
    2,
    2.25,
    2.75,
    3,
  ], 1e-6);

  // Closed form: bilinear interpolation reproduces f(x, y) = a + bx + cy + dxy exactly, so the
  // output at (i, j) is f at the half-pixel source point src = (dst + 0.5)·in/out − 0.5,
  // clamped to [0, in − 1] (PyTorch clamps src < 0 to 0 and the upper neighbour to in − 1).
  const f = (x: number, y: number) => 0.3 + 0.02 * x - 0.015 * y + 0.004 * x * y;
  const cases: [number, number, number, number][] = [
    [9, 13, 20, 17], // up in both
    [28, 28, 224, 224],
    [31, 24, 13, 10], // down in both
    [7, 19, 7, 5],
  ];
  for (const [ih, iw, oh, ow] of cases) {
    const img = createImage({ channels: 1, height: ih, width: iw });
    for (let y = 0; y < ih; y++) for (let x = 0; x < iw; x++) img.data[y * iw + x] = f(x, y);
    const out = resize(img, { height: oh, width: ow });
    const src = (d: number, i: number, o: number) =>
      Math.min(Math.max((d + 0.5) * (i / o) - 0.5, 0), i - 1);
    const expected = new Float64Array(oh * ow);
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) expected[y * ow + x] = f(src(x, iw, ow), src(y, ih, oh));
    }
    assertClose(out.data, expected, 1e-4);
  }
});

Deno.test("toFloatImage, normalize and grayToRgb", () => {
  const hwc = new Uint8Array([0, 255, 51, 102, 153, 204, 10, 20, 30, 40, 50, 60]); // 2 images 1×2×3
  const img = toFloatImage(hwc, { height: 1, width: 2, channels: 3, index: 1 });
  // image 1: pixels (10,20,30), (40,50,60) → planes R=[10,40], G=[20,50], B=[30,60]
  assertClose(img.data, [10, 40, 20, 50, 30, 60].map((v) => v / 255), 1e-7);
  normalize(img, { mean: [0.1, 0.2, 0.3], std: [0.5, 0.5, 0.25] });
  assertClose(img.data, [
    (10 / 255 - 0.1) / 0.5,
    (40 / 255 - 0.1) / 0.5,
    (20 / 255 - 0.2) / 0.5,
    (50 / 255 - 0.2) / 0.5,
    (30 / 255 - 0.3) / 0.25,
    (60 / 255 - 0.3) / 0.25,
  ], 1e-6);
  const gray = createImage({ channels: 1, height: 2, width: 2 });
  gray.data.set([1, 2, 3, 4]);
  assert.deepEqual(Array.from(grayToRgb(gray).data), [1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4]);
});

Deno.test("brightness and contrast follow torchvision and clamp to [0, 1]", () => {
  const img = createImage({ channels: 1, height: 1, width: 4 });
  img.data.set([0, 0.2, 0.6, 0.9]);
  assertClose(
    adjustBrightness({ ...img, data: img.data.slice() }, 1.5).data,
    [0, 0.3, 0.9, 1],
    1e-6,
  );
  // mean 0.425; factor 0.5 → 0.5x + 0.2125
  assertClose(
    adjustContrast({ ...img, data: img.data.slice() }, 0.5).data,
    [0.2125, 0.3125, 0.5125, 0.6625],
    1e-6,
  );
  // RGB contrast uses the luminance mean
  const rgb = createImage({ channels: 3, height: 1, width: 1 });
  rgb.data.set([1, 0, 0]);
  assertClose(adjustContrast(rgb, 0).data, [0.299, 0.299, 0.299], 1e-6);
});

Deno.test("gaussian blur keeps constants, spreads an impulse symmetrically, sums to 1", () => {
  const flat = createImage({ channels: 1, height: 6, width: 6 }).data.fill(0.4);
  const blurredFlat = gaussianBlur({ data: flat, channels: 1, height: 6, width: 6 }, {
    sigma: 1.2,
  });
  assertClose(blurredFlat.data, new Float32Array(36).fill(0.4), 1e-6);
  const imp = createImage({ channels: 1, height: 9, width: 9 });
  imp.data[4 * 9 + 4] = 1;
  const b = gaussianBlur(imp, { sigma: 1, kernelSize: 5 });
  let sum = 0;
  for (const v of b.data) sum += v;
  assert.ok(Math.abs(sum - 1) < 1e-5);
  assert.ok(Math.abs(at(b, 0, 4, 3) - at(b, 0, 4, 5)) < 1e-7);
  assert.ok(Math.abs(at(b, 0, 3, 4) - at(b, 0, 4, 3)) < 1e-7);
  assert.ok(at(b, 0, 4, 4) > at(b, 0, 4, 5));
  // 1-D kernel for σ=1, k=5: exp(-x²/2) normalized; centre = k0², as the 2-D kernel is separable
  const k = [2, 1, 0, 1, 2].map((x) => Math.exp(-0.5 * x * x));
  const ks = k.reduce((a, c) => a + c, 0);
  assert.ok(Math.abs(at(b, 0, 4, 4) - (k[2] / ks) ** 2) < 1e-6);
  assert.throws(() => gaussianBlur(imp, { sigma: 1, kernelSize: 4 }), /must be odd/);
});

Deno.test("erase fills the box; RandomErasing boxes stay strictly inside", () => {
  const img = pattern(2, 6, 6);
  erase(img, { top: 1, left: 2, height: 2, width: 3 }, { value: [7, 8] });
  assert.equal(at(img, 0, 1, 2), 7);
  assert.equal(at(img, 1, 2, 4), 8);
  assert.notEqual(at(img, 0, 0, 2), 7);
  assert.notEqual(at(img, 0, 1, 5), 7);
  const rng = new Rng(3);
  for (let i = 0; i < 200; i++) {
    const box = sampleErasingBox(rng, { height: 28, width: 28 }, {
      scale: [0.02, 0.33],
      ratio: [0.3, 3.3],
    });
    if (!box) continue;
    assert.ok(box.height < 28 && box.width < 28);
    assert.ok(box.top >= 0 && box.top + box.height <= 28);
    assert.ok(box.left >= 0 && box.left + box.width <= 28);
  }
  // an impossible area gives up after 10 tries, like torchvision
  assert.equal(
    sampleErasingBox(rng, { height: 4, width: 4 }, { scale: [1, 1], ratio: [1, 1] }),
    null,
  );
});

/** Python's `round()`, written out here so the reference below shares no code with the library. */
function pyRound(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
}

/**
 * torchvision's `RandomResizedCrop.get_params`, transcribed: `uniform_(a, b)`
 * is `a + (b − a)·u` and `randint(0, m)` is `⌊u·m⌋` for the uniform draws `u`
 * of `rng`.
 */
function torchvisionCropParams(
  rng: Rng,
  height: number,
  width: number,
  scale: [number, number],
  ratio: [number, number],
): Box & { fallback: boolean } {
  const area = height * width;
  const logRatio = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let i = 0; i < 10; i++) {
    const targetArea = area * (scale[0] + (scale[1] - scale[0]) * rng.float());
    const aspect = Math.exp(logRatio[0] + (logRatio[1] - logRatio[0]) * rng.float());
    const w = pyRound(Math.sqrt(targetArea * aspect));
    const h = pyRound(Math.sqrt(targetArea / aspect));
    if (0 < w && w <= width && 0 < h && h <= height) {
      const top = Math.floor(rng.float() * (height - h + 1));
      const left = Math.floor(rng.float() * (width - w + 1));
      return { top, left, height: h, width: w, fallback: false };
    }
  }
  const inRatio = width / height;
  let w = width, h = height;
  if (inRatio < Math.min(...ratio)) h = pyRound(w / Math.min(...ratio));
  else if (inRatio > Math.max(...ratio)) w = pyRound(h * Math.max(...ratio));
  const top = Math.floor((height - h) / 2);
  const left = Math.floor((width - w) / 2);
  return { top, left, height: h, width: w, fallback: true };
}

Deno.test("random resized crop: the boxes of torchvision's get_params, draw for draw", () => {
  const cases: {
    height: number;
    width: number;
    scale: [number, number];
    ratio: [number, number];
  }[] = [
    { height: 28, width: 28, scale: [0.08, 1], ratio: [3 / 4, 4 / 3] },
    { height: 10, width: 20, scale: [0.5, 1], ratio: [0.2, 5] },
    { height: 10, width: 20, scale: [0.9, 1], ratio: [3, 4] },
    { height: 10, width: 20, scale: [2, 3], ratio: [3 / 4, 4 / 3] },
    { height: 20, width: 10, scale: [2, 3], ratio: [3 / 4, 4 / 3] },
  ];
  const paths = cases.map(() => ({ sampled: 0, fallback: 0 }));
  for (const [k, c] of cases.entries()) {
    const rng = new Rng(11 + k), ref = new Rng(11 + k);
    for (let i = 0; i < 300; i++) {
      const b = sampleResizedCropBox(rng, c, { scale: c.scale, ratio: c.ratio });
      const { fallback, ...expected } = torchvisionCropParams(
        ref,
        c.height,
        c.width,
        c.scale,
        c.ratio,
      );
      assert.deepEqual(b, expected, `case ${k}, draw ${i}`);
      paths[k][fallback ? "fallback" : "sampled"]++;
    }
  }
  // Both paths ran: the default crop almost always samples; a wide ratio range on a
  // 10×20 image sometimes falls back; ratios above the image's, or scale > 1, always do.
  const seen = JSON.stringify(paths);
  assert.ok(paths[0].sampled >= 290, seen);
  assert.ok(paths[1].sampled >= 100 && paths[1].fallback >= 10, seen);
  for (const k of [2, 3, 4]) assert.equal(paths[k].fallback, 300, seen);
  // The fallback's centre crops, by hand: a wide 10×20 image clamps to ratio 4/3 → 10×13.
  const fb = sampleResizedCropBox(new Rng(1), { height: 10, width: 20 }, {
    scale: [2, 3],
    ratio: [3 / 4, 4 / 3],
  });
  assert.deepEqual(fb, { top: 0, left: 3, height: 10, width: 13 });
  const tall = sampleResizedCropBox(new Rng(1), { height: 20, width: 10 }, {
    scale: [2, 3],
    ratio: [3 / 4, 4 / 3],
  });
  assert.deepEqual(tall, { top: 3, left: 0, height: 13, width: 10 });
  const square = sampleResizedCropBox(new Rng(1), { height: 8, width: 8 }, {
    scale: [2, 3],
    ratio: [3 / 4, 4 / 3],
  });
  assert.deepEqual(square, { top: 0, left: 0, height: 8, width: 8 });
});

Deno.test("random resized crop: areas and log-ratios fill the scale/ratio bounds uniformly", () => {
  // On a 1000×1000 image every first try fits (area ≤ 0.5, ratio ≤ 4/3), so the
  // area fraction is U(0.08, 0.5) and the log aspect ratio U(log ¾, log 4⁄3), up to
  // the rounding of the sides (≤ 0.5 px of ≥ 245 px).
  const [H, W] = [1000, 1000];
  const scale: [number, number] = [0.08, 0.5];
  const ratio: [number, number] = [3 / 4, 4 / 3];
  const [lr0, lr1] = [Math.log(ratio[0]), Math.log(ratio[1])];
  const rng = new Rng(23);
  const n = 4000;
  const areas: number[] = [], logRatios: number[] = [], tops: number[] = [], lefts: number[] = [];
  for (let i = 0; i < n; i++) {
    const b = sampleResizedCropBox(rng, { height: H, width: W }, { scale, ratio });
    const f = (b.height * b.width) / (H * W);
    const lr = Math.log(b.width / b.height);
    assert.ok(f >= scale[0] - 1e-3 && f <= scale[1] + 1e-3, `area fraction ${f}`);
    assert.ok(lr >= lr0 - 5e-3 && lr <= lr1 + 5e-3, `log ratio ${lr}`);
    assert.ok(b.top >= 0 && b.top + b.height <= H && b.left >= 0 && b.left + b.width <= W);
    areas.push(f);
    logRatios.push(lr);
    if (b.height < H) tops.push(b.top / (H - b.height));
    if (b.width < W) lefts.push(b.left / (W - b.width));
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = (xs: number[]) => {
    const m = mean(xs);
    return xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length;
  };
  // The extremes reach the bounds (the expected gap over 4000 draws is ~1e-4 of the range) ...
  assert.ok(Math.min(...areas) < scale[0] + 0.01 && Math.max(...areas) > scale[1] - 0.01);
  assert.ok(Math.min(...logRatios) < lr0 + 0.02 && Math.max(...logRatios) > lr1 - 0.02);
  // ... and the moments are the uniform's: mean (a + b)/2 within ~5 standard errors,
  // variance (b − a)²/12 within 10%.
  assert.ok(Math.abs(mean(areas) - (scale[0] + scale[1]) / 2) < 0.01, `mean area ${mean(areas)}`);
  assert.ok(Math.abs(mean(logRatios)) < 0.015, `mean log ratio ${mean(logRatios)}`);
  const areaVar = (scale[1] - scale[0]) ** 2 / 12, ratioVar = (lr1 - lr0) ** 2 / 12;
  assert.ok(Math.abs(variance(areas) / areaVar - 1) < 0.1, `area variance ${variance(areas)}`);
  assert.ok(Math.abs(variance(logRatios) / ratioVar - 1) < 0.1, `ratio variance`);
  // The position is uniform over the free range: relative offsets average ½.
  assert.ok(Math.abs(mean(tops) - 0.5) < 0.03 && Math.abs(mean(lefts) - 0.5) < 0.03);
});

Deno.test("roundHalfEven rounds like Python", () => {
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, 2.6].map(roundHalfEven), [
    0,
    2,
    2,
    -0,
    -2,
    2,
    3,
  ]);
});

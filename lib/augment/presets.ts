/**
 * Augmentation settings as plain data ({@linkcode AugmentConfig}) and the three
 * presets `none`, `basic` and `heavy`.
 *
 * | parameter | meaning | none | basic | heavy |
 * |---|---|---|---|---|
 * | `crop` | RandomResizedCrop area `scale`, aspect `ratio` (`null`: resize whole image) | `null` | scale 0.8–1, ratio 3/4–4/3 | scale 0.6–1, ratio 3/4–4/3 |
 * | `hflip` | probability of a horizontal flip | 0 | 0.5 | 0.5 |
 * | `vflip` | probability of a vertical flip | 0 | 0 | 0 |
 * | `rotation` | max rotation, degrees (uniform ±) | 0 | 10 | 15 |
 * | `translate` | max shift, fraction of width/height (uniform ±) | 0 | 0 | 0.1 |
 * | `scale` | zoom range of the affine step | 1–1 | 1–1 | 0.9–1.1 |
 * | `fill` | value outside the rotated image, in [0, 1] pixel units | 0 | 0 | 0 |
 * | `brightness` | factor drawn from [1−b, 1+b] | 0 | 0.1 | 0.2 |
 * | `contrast` | factor drawn from [1−c, 1+c] | 0 | 0.1 | 0.2 |
 * | `blur` | Gaussian blur probability `p`, `sigma` range in output pixels | `null` | `null` | p 0.2, σ 0.1–1.0 |
 * | `erasing` | RandomErasing `p`, area `scale`, `ratio`, `value` (after normalization) | `null` | `null` | p 0.25, scale 0.02–0.2, ratio 0.3–3.3, value 0 |
 * | `mix` | Mixup α / CutMix α, `prob` a batch is mixed, `switchProb` of CutMix | `null` | `null` | 0.2 / 1.0, prob 1, switch 0.5 |
 * | `labelSmoothing` | timm-style smoothing of the targets (the study smooths in the loss instead: `Trainer` option `labelSmoothing`) | 0 | 0 | 0 |
 *
 * Order per image: crop+resize → flips → affine (rotation, translate, scale) →
 * brightness/contrast (random order) → blur → normalize (+ grayscale→RGB) →
 * erasing; then Mixup/CutMix over the batch.
 *
 * @module
 */

/** Range `[min, max]`. */
export type Range = [number, number];

/** Every augmentation setting; all fields present, `0` or `null` meaning off. */
export interface AugmentConfig {
  /** RandomResizedCrop: area fraction `scale` and aspect `ratio` ranges; `null` = plain resize. */
  crop: { scale: Range; ratio: Range } | null;
  /** Probability of a horizontal flip. */
  hflip: number;
  /** Probability of a vertical flip. */
  vflip: number;
  /** Maximum rotation in degrees; the angle is uniform in `[−rotation, rotation]`. */
  rotation: number;
  /** Maximum shift as a fraction of width / height; uniform in `[−t, t]`, rounded to pixels. */
  translate: number;
  /** Zoom range of the affine step (`[1, 1]` = off). */
  scale: Range;
  /** Value for pixels rotated/shifted in from outside, in [0, 1] pixel units. */
  fill: number;
  /** Brightness jitter: factor uniform in `[max(0, 1−b), 1+b]`. */
  brightness: number;
  /** Contrast jitter: factor uniform in `[max(0, 1−c), 1+c]`. */
  contrast: number;
  /** Gaussian blur with probability `p`, sigma uniform in `sigma` (output pixels). */
  blur: { p: number; sigma: Range } | null;
  /** RandomErasing (Cutout) on the normalized image, torchvision semantics. */
  erasing: { p: number; scale: Range; ratio: Range; value: number | "random" } | null;
  /** Batch Mixup / CutMix (timm semantics); `null` = off. */
  mix: { mixupAlpha: number; cutmixAlpha: number; prob: number; switchProb: number } | null;
  /** Label smoothing applied to the targets (timm style); the loss must not smooth again. */
  labelSmoothing: number;
}

/** Names of the built-in presets. */
export type PresetName = "none" | "basic" | "heavy";

const none: AugmentConfig = {
  crop: null,
  hflip: 0,
  vflip: 0,
  rotation: 0,
  translate: 0,
  scale: [1, 1],
  fill: 0,
  brightness: 0,
  contrast: 0,
  blur: null,
  erasing: null,
  mix: null,
  labelSmoothing: 0,
};

const basic: AugmentConfig = {
  ...none,
  crop: { scale: [0.8, 1], ratio: [3 / 4, 4 / 3] },
  hflip: 0.5,
  rotation: 10,
  brightness: 0.1,
  contrast: 0.1,
};

const heavy: AugmentConfig = {
  ...basic,
  crop: { scale: [0.6, 1], ratio: [3 / 4, 4 / 3] },
  rotation: 15,
  translate: 0.1,
  scale: [0.9, 1.1],
  brightness: 0.2,
  contrast: 0.2,
  blur: { p: 0.2, sigma: [0.1, 1.0] },
  erasing: { p: 0.25, scale: [0.02, 0.2], ratio: [0.3, 3.3], value: 0 },
  mix: { mixupAlpha: 0.2, cutmixAlpha: 1.0, prob: 1.0, switchProb: 0.5 },
  labelSmoothing: 0,
};

/**
 * The built-in presets (deep-frozen; copy before changing, e.g.
 * `{ ...structuredClone(presets.basic), rotation: 20 }` or {@linkcode getPreset}).
 * See the module doc for the table of values.
 */
export const presets: Readonly<Record<PresetName, AugmentConfig>> = deepFreeze({
  none: structuredClone(none),
  basic: structuredClone(basic),
  heavy: structuredClone(heavy),
});

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** A mutable deep copy of a preset, optionally with top-level fields replaced. */
export function getPreset(name: PresetName, overrides: Partial<AugmentConfig> = {}): AugmentConfig {
  const base = presets[name];
  if (!base) {
    throw new RangeError(
      `unknown augmentation preset "${name}"; expected one of: ${Object.keys(presets).join(", ")}.`,
    );
  }
  return { ...structuredClone(base), ...structuredClone(overrides) };
}

/** Resolve a preset name or config into a validated config. */
export function resolveAugment(augment: PresetName | AugmentConfig | undefined): AugmentConfig {
  if (augment === undefined) return presets.none;
  if (typeof augment === "string") return getPreset(augment);
  validateAugmentConfig(augment);
  return augment;
}

/**
 * Check every field of a config; throws a `RangeError` naming the field, the
 * value and the allowed range.
 */
export function validateAugmentConfig(config: AugmentConfig): void {
  const fail = (field: string, want: string, got: unknown) => {
    throw new RangeError(
      `AugmentConfig.${field} must be ${want}, got ${JSON.stringify(got)}. ` +
        `Start from getPreset("basic") and change the field.`,
    );
  };
  const prob = (field: string, v: unknown) => {
    if (typeof v !== "number" || !(v >= 0 && v <= 1)) fail(field, "a probability in [0, 1]", v);
  };
  const nonNeg = (field: string, v: unknown) => {
    if (typeof v !== "number" || !(v >= 0) || !Number.isFinite(v)) {
      fail(field, "a finite number ≥ 0", v);
    }
  };
  const range = (field: string, v: unknown, hi: number) => {
    if (
      !Array.isArray(v) || v.length !== 2 || typeof v[0] !== "number" || typeof v[1] !== "number" ||
      !(v[0] > 0) || !(v[0] <= v[1]) || !(v[1] <= hi)
    ) {
      fail(field, `[min, max] with 0 < min ≤ max ≤ ${hi}`, v);
    }
  };
  if (typeof config !== "object" || config === null) fail("", "an object", config);
  if (config.crop !== null) {
    if (typeof config.crop !== "object") fail("crop", "null or { scale, ratio }", config.crop);
    range("crop.scale", config.crop.scale, 1);
    range("crop.ratio", config.crop.ratio, Infinity);
  }
  prob("hflip", config.hflip);
  prob("vflip", config.vflip);
  nonNeg("rotation", config.rotation);
  if (!(config.translate >= 0 && config.translate < 1)) {
    fail("translate", "a fraction in [0, 1)", config.translate);
  }
  range("scale", config.scale, Infinity);
  if (typeof config.fill !== "number" || !Number.isFinite(config.fill)) {
    fail("fill", "a finite number", config.fill);
  }
  nonNeg("brightness", config.brightness);
  nonNeg("contrast", config.contrast);
  if (config.blur !== null) {
    if (typeof config.blur !== "object") fail("blur", "null or { p, sigma }", config.blur);
    prob("blur.p", config.blur.p);
    range("blur.sigma", config.blur.sigma, 50);
  }
  if (config.erasing !== null) {
    if (typeof config.erasing !== "object") {
      fail("erasing", "null or { p, scale, ratio, value }", config.erasing);
    }
    prob("erasing.p", config.erasing.p);
    range("erasing.scale", config.erasing.scale, 1);
    range("erasing.ratio", config.erasing.ratio, Infinity);
    const v = config.erasing.value;
    if (v !== "random" && (typeof v !== "number" || !Number.isFinite(v))) {
      fail("erasing.value", 'a number or "random"', v);
    }
  }
  if (config.mix !== null) {
    if (typeof config.mix !== "object") fail("mix", "null or { mixupAlpha, ... }", config.mix);
    nonNeg("mix.mixupAlpha", config.mix.mixupAlpha);
    nonNeg("mix.cutmixAlpha", config.mix.cutmixAlpha);
    prob("mix.prob", config.mix.prob);
    prob("mix.switchProb", config.mix.switchProb);
  }
  if (!(config.labelSmoothing >= 0 && config.labelSmoothing < 1)) {
    fail("labelSmoothing", "a number in [0, 1)", config.labelSmoothing);
  }
}

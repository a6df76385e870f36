/**
 * The per-image augmentation pipeline: turns one uint8 HWC image into a
 * normalized Float32 CHW tensor at the model's size and channel count, with
 * the random transforms of an {@linkcode AugmentConfig}. Scratch buffers are
 * allocated once per {@linkcode Augmenter}; nothing is allocated per pixel.
 *
 * @module
 */

import { type AugmentConfig, type PresetName, resolveAugment } from "./presets.ts";
import type { Rng } from "../util/rng.ts";
import { roundHalfEven } from "../util/round.ts";
import {
  adjustBrightness,
  adjustContrast,
  affine,
  createImage,
  erase,
  type FloatImage,
  gaussianBlur,
  hflip,
  IMAGENET_MEAN,
  IMAGENET_STD,
  resizedCrop,
  sampleErasingBox,
  sampleResizedCropBox,
  toFloatImage,
  vflip,
} from "./transforms.ts";

/** Per-channel normalization constants (values in [0, 1] pixel units). */
export interface Normalization {
  /** Mean per output channel (one value is repeated for every channel). */
  mean: readonly number[];
  /** Standard deviation per output channel. */
  std: readonly number[];
}

/**
 * How to normalize: `"imagenet"` (torchvision constants; 1-channel output uses
 * their averages 0.449 / 0.226), `"none"` (keep [0, 1]), or explicit
 * mean/std, e.g. from `computeChannelStats(train)`.
 */
export type NormalizeOption = "imagenet" | "none" | Normalization;

/** Options for {@linkcode createAugmenter}. */
export interface AugmenterOptions {
  /** Size and channels of the source images. */
  input: { height: number; width: number; channels: number };
  /** Output height and width (default: the input's). */
  height?: number;
  /** Output width (default: `height` when given, else the input's width). */
  width?: number;
  /** Output channels: 1 or 3 (default: the input's); 1→3 repeats gray, 3→1 takes luminance. */
  channels?: number;
  /** Normalization (default `"imagenet"`). */
  normalize?: NormalizeOption;
}

/** Options for {@linkcode Augmenter.apply}. */
export interface ApplyOptions {
  /** Which image of the N×H×W×C `pixels` array to read (default 0). */
  index?: number;
  /** Destination; receives `outSize` values at `offset` (default: a new array). */
  out?: Float32Array;
  /** Start of the image in `out` (default 0). */
  offset?: number;
}

/** A configured per-image pipeline with its scratch buffers. */
export interface Augmenter {
  /** The (validated) configuration. */
  readonly config: AugmentConfig;
  /** Output channels. */
  readonly channels: number;
  /** Output height. */
  readonly height: number;
  /** Output width. */
  readonly width: number;
  /** Values per output image (`channels × height × width`). */
  readonly outSize: number;
  /** Augment one image from `pixels` into `options.out` at `options.offset`, drawing from `rng`. */
  apply(pixels: Uint8Array, rng: Rng, options?: ApplyOptions): Float32Array;
}

/** Resolve a {@linkcode NormalizeOption} to constants for `channels` output channels, or `null`. */
export function resolveNormalization(
  normalize: NormalizeOption | undefined,
  channels: number,
): Normalization | null {
  const n = normalize ?? "imagenet";
  if (n === "none") return null;
  let mean: readonly number[], std: readonly number[];
  if (n === "imagenet") {
    mean = channels === 1 ? [0.449] : IMAGENET_MEAN;
    std = channels === 1 ? [0.226] : IMAGENET_STD;
  } else {
    mean = n.mean;
    std = n.std;
  }
  const fit = (v: readonly number[], what: string): number[] => {
    if (v.length === channels) return [...v];
    if (v.length === 1) return new Array(channels).fill(v[0]);
    if (v.length === 3 && channels === 1) return [(v[0] + v[1] + v[2]) / 3];
    throw new RangeError(
      `normalize.${what} has ${v.length} values but the output has ${channels} channel(s); give 1 or ${channels} values.`,
    );
  };
  const out = { mean: fit(mean, "mean"), std: fit(std, "std") };
  if (out.std.some((s) => !(s > 0))) {
    throw new RangeError(`normalize.std must be > 0 for every channel, got [${out.std}].`);
  }
  return out;
}

/**
 * Build the pipeline for a config (or preset name). Order per image:
 * decode → random resized crop / resize → flips → affine → brightness and
 * contrast (random order) → blur → normalize + channel mapping → erasing.
 */
export function createAugmenter(
  config: AugmentConfig | PresetName,
  options: AugmenterOptions,
): Augmenter {
  return new Pipeline(resolveAugment(config), options);
}

class Pipeline implements Augmenter {
  readonly config: AugmentConfig;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly outSize: number;
  readonly #in: { height: number; width: number; channels: number };
  readonly #norm: Normalization | null;
  readonly #a: FloatImage;
  readonly #b: FloatImage;
  readonly #doAffine: boolean;

  constructor(config: AugmentConfig, options: AugmenterOptions) {
    this.config = config;
    const input = options.input;
    if (input.channels !== 1 && input.channels !== 3) {
      throw new RangeError(
        `createAugmenter: input.channels must be 1 or 3, got ${input.channels}.`,
      );
    }
    this.#in = { ...input };
    this.height = options.height ?? input.height;
    this.width = options.width ?? options.height ?? input.width;
    this.channels = options.channels ?? input.channels;
    if (this.channels !== 1 && this.channels !== 3) {
      throw new RangeError(`createAugmenter: channels must be 1 or 3, got ${this.channels}.`);
    }
    for (const [k, v] of [["height", this.height], ["width", this.width]] as const) {
      if (!Number.isInteger(v) || v < 1) {
        throw new RangeError(`createAugmenter: ${k} must be a positive integer, got ${v}.`);
      }
    }
    this.outSize = this.channels * this.height * this.width;
    this.#norm = resolveNormalization(options.normalize, this.channels);
    const plane = Math.max(input.height * input.width, this.height * this.width);
    this.#a = createImage({ channels: input.channels, height: input.height, width: input.width });
    this.#a.data = new Float32Array(plane * input.channels);
    this.#b = createImage({ channels: input.channels, height: this.height, width: this.width });
    this.#b.data = new Float32Array(plane * input.channels);
    this.#doAffine = config.rotation > 0 || config.translate > 0 || config.scale[0] !== 1 ||
      config.scale[1] !== 1;
  }

  apply(pixels: Uint8Array, rng: Rng, options: ApplyOptions = {}): Float32Array {
    const cfg = this.config;
    const inp = this.#in;
    const oh = this.height, ow = this.width;
    const out = options.out ?? new Float32Array(this.outSize);
    const offset = options.offset ?? 0;
    const index = options.index ?? 0;
    if ((index + 1) * inp.height * inp.width * inp.channels > pixels.length) {
      throw new RangeError(
        `Augmenter.apply: image ${index} is past the end of pixels (${pixels.length} bytes of ${inp.height}×${inp.width}×${inp.channels} images).`,
      );
    }
    if (offset + this.outSize > out.length) {
      throw new RangeError(
        `Augmenter.apply: out has ${out.length} values, needs ${offset + this.outSize}.`,
      );
    }
    let cur = toFloatImage(pixels, { ...inp, index }, { out: this.#a });
    let spare = this.#b;

    // geometry: random resized crop (or plain resize) to the output size
    if (cfg.crop || inp.height !== oh || inp.width !== ow) {
      const box = cfg.crop
        ? sampleResizedCropBox(rng, inp, cfg.crop)
        : { top: 0, left: 0, height: inp.height, width: inp.width };
      resizedCrop(cur, box, { height: oh, width: ow, out: spare });
      [cur, spare] = [spare, cur];
    }
    if (cfg.hflip > 0 && rng.float() < cfg.hflip) hflip(cur, { out: cur });
    if (cfg.vflip > 0 && rng.float() < cfg.vflip) vflip(cur, { out: cur });
    if (this.#doAffine) {
      const angle = cfg.rotation > 0 ? rng.uniform(-cfg.rotation, cfg.rotation) : 0;
      let tx = 0, ty = 0;
      if (cfg.translate > 0) {
        tx = roundHalfEven(rng.uniform(-cfg.translate * ow, cfg.translate * ow));
        ty = roundHalfEven(rng.uniform(-cfg.translate * oh, cfg.translate * oh));
      }
      const scale = cfg.scale[0] === cfg.scale[1]
        ? cfg.scale[0]
        : rng.uniform(cfg.scale[0], cfg.scale[1]);
      affine(cur, { angle, translate: [tx, ty], scale, fill: cfg.fill }, { out: spare });
      [cur, spare] = [spare, cur];
    }

    // photometric: brightness and contrast in random order (torchvision ColorJitter)
    if (cfg.brightness > 0 || cfg.contrast > 0) {
      const b = cfg.brightness > 0
        ? rng.uniform(Math.max(0, 1 - cfg.brightness), 1 + cfg.brightness)
        : 1;
      const c = cfg.contrast > 0 ? rng.uniform(Math.max(0, 1 - cfg.contrast), 1 + cfg.contrast) : 1;
      const contrastFirst = rng.float() < 0.5;
      if (contrastFirst && c !== 1) adjustContrast(cur, c);
      if (b !== 1) adjustBrightness(cur, b);
      if (!contrastFirst && c !== 1) adjustContrast(cur, c);
    }
    if (cfg.blur && rng.float() < cfg.blur.p) {
      const sigma = rng.uniform(cfg.blur.sigma[0], cfg.blur.sigma[1]);
      gaussianBlur(cur, { sigma, out: cur });
    }

    // normalize and map channels straight into the batch tensor
    this.#writeOut(cur, out, offset);

    if (cfg.erasing && rng.float() < cfg.erasing.p) {
      const box = sampleErasingBox(rng, { height: oh, width: ow }, cfg.erasing);
      if (box) {
        const view: FloatImage = {
          data: out.subarray(offset, offset + this.outSize),
          channels: this.channels,
          height: oh,
          width: ow,
        };
        erase(view, box, { value: cfg.erasing.value, rng });
      }
    }
    return out;
  }

  #writeOut(img: FloatImage, out: Float32Array, offset: number): void {
    const plane = this.height * this.width;
    const src = img.data;
    const norm = this.#norm;
    const inC = img.channels;
    for (let c = 0; c < this.channels; c++) {
      const m = norm ? norm.mean[c] : 0;
      const k = norm ? 1 / norm.std[c] : 1;
      const o = offset + c * plane;
      if (inC === this.channels || inC === 1) {
        const s = inC === 1 ? 0 : c * plane;
        for (let i = 0; i < plane; i++) out[o + i] = (src[s + i] - m) * k;
      } else {
        // RGB → 1 channel: ITU-R 601 luminance, as torchvision rgb_to_grayscale
        for (let i = 0; i < plane; i++) {
          const g = 0.299 * src[i] + 0.587 * src[i + plane] + 0.114 * src[i + 2 * plane];
          out[o + i] = (g - m) * k;
        }
      }
    }
  }
}

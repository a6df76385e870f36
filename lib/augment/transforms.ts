/**
 * Per-image transforms on Float32 CHW images, following torchvision's
 * semantics: uint8 → float, normalize, grayscale → RGB, bilinear resize
 * (align_corners=False, no antialias), (resized) crop, flips, rotation and
 * affine warps with a fill value, brightness/contrast, Gaussian blur and
 * random erasing; plus torchvision's parameter samplers for
 * RandomResizedCrop and RandomErasing.
 *
 * Every transform that changes geometry writes into `options.out` when given
 * (no allocation) and returns the output image; the photometric ones work in
 * place.
 *
 * @module
 */

import { roundHalfEven } from "../util/round.ts";
import type { Rng } from "../util/rng.ts";

/** A float image in CHW layout (channel planes, row-major within each plane). */
export interface FloatImage {
  /** `channels × height × width` values. */
  data: Float32Array;
  /** Number of channels. */
  channels: number;
  /** Height in pixels. */
  height: number;
  /** Width in pixels. */
  width: number;
}

/** A rectangle in pixel units: rows `top..top+height-1`, columns `left..left+width-1`. */
export interface Box {
  /** First row. */
  top: number;
  /** First column. */
  left: number;
  /** Number of rows. */
  height: number;
  /** Number of columns. */
  width: number;
}

/** Height and width of an image in pixels. */
export interface ImageSize {
  /** Height in pixels. */
  height: number;
  /** Width in pixels. */
  width: number;
}

/** Size and channel count of an image. */
export interface ImageShape extends ImageSize {
  /** Number of channels. */
  channels: number;
}

/** Where one image sits in a buffer of N×H×W×C uint8 pixels. */
export interface PixelLayout extends ImageShape {
  /** Which image of the buffer (default 0). */
  index?: number;
}

/** Per-channel mean and standard deviation for {@linkcode normalize}. */
export interface MeanStd {
  /** Mean per channel. */
  mean: readonly number[];
  /** Standard deviation per channel. */
  std: readonly number[];
}

/** Options for {@linkcode rotate}. */
export interface RotateOptions extends OutOptions {
  /** Value for pixels rotated in from outside the image. Default 0. */
  fill?: number;
}

/** Options for {@linkcode erase}. */
export interface EraseOptions {
  /** A number, one number per channel, or `"random"` for standard-normal noise. */
  value: number | readonly number[] | "random";
  /** Source of the noise when `value` is `"random"`. */
  rng?: Rng;
}

/** Area and aspect-ratio ranges of the random boxes of {@linkcode sampleResizedCropBox} and {@linkcode sampleErasingBox}. */
export interface BoxSamplingOptions {
  /** Box area as a fraction of the image area, `[min, max]`. */
  scale: readonly [number, number];
  /** Box aspect ratio (width / height), `[min, max]`, drawn log-uniformly. */
  ratio: readonly [number, number];
}

/** Options with an optional destination image. */
export interface OutOptions {
  /** Write into this image (its data must be large enough); allocated when absent. */
  out?: FloatImage;
}

/** Options for {@linkcode resize} and {@linkcode resizedCrop}. */
export interface ResizeOptions extends OutOptions {
  /** Output height. */
  height: number;
  /** Output width. */
  width: number;
}

/** Parameters of {@linkcode affine}. */
export interface AffineParams {
  /** Rotation in degrees, counter-clockwise as seen on screen (torchvision `rotate`). Default 0. */
  angle?: number;
  /** Translation `[dx, dy]` in pixels (right, down). Default `[0, 0]`. */
  translate?: [number, number];
  /** Zoom factor (>1 enlarges). Default 1. */
  scale?: number;
  /** Value for pixels mapped from outside the source image. Default 0. */
  fill?: number;
}

/** ImageNet channel means (RGB), as used by torchvision models. */
export const IMAGENET_MEAN: readonly number[] = Object.freeze([0.485, 0.456, 0.406]);
/** ImageNet channel standard deviations (RGB). */
export const IMAGENET_STD: readonly number[] = Object.freeze([0.229, 0.224, 0.225]);

/** Allocate a zero image of the given size. */
export function createImage(shape: ImageShape): FloatImage {
  const { channels, height, width } = shape;
  return { data: new Float32Array(channels * height * width), channels, height, width };
}

function target(
  options: OutOptions | undefined,
  channels: number,
  height: number,
  width: number,
): FloatImage {
  const out = options?.out;
  if (!out) return createImage({ channels, height, width });
  if (out.data.length < channels * height * width) {
    throw new RangeError(
      `transforms: options.out holds ${out.data.length} values but a ${channels}×${height}×${width} image needs ${
        channels * height * width
      }; allocate it with createImage({ channels: ${channels}, height: ${height}, width: ${width} }).`,
    );
  }
  out.channels = channels;
  out.height = height;
  out.width = width;
  return out;
}

/**
 * Convert image `index` of a uint8 N×H×W×C array to a float CHW image in
 * [0, 1] (torchvision `ToTensor`).
 */
export function toFloatImage(
  pixels: Uint8Array,
  shape: PixelLayout,
  options?: OutOptions,
): FloatImage {
  const { height: h, width: w, channels: c } = shape;
  const plane = h * w;
  const base = (shape.index ?? 0) * plane * c;
  const img = target(options, c, h, w);
  const d = img.data;
  const k = 1 / 255;
  if (c === 1) {
    for (let i = 0; i < plane; i++) d[i] = pixels[base + i] * k;
  } else {
    for (let i = 0, p = base; i < plane; i++, p += c) {
      for (let ch = 0; ch < c; ch++) d[ch * plane + i] = pixels[p + ch] * k;
    }
  }
  return img;
}

/** Normalize in place: `(x - mean[c]) / std[c]` per channel (torchvision `Normalize`). */
export function normalize(
  img: FloatImage,
  stats: MeanStd,
): FloatImage {
  const plane = img.height * img.width;
  for (let c = 0; c < img.channels; c++) {
    const m = stats.mean[c] ?? stats.mean[0];
    const inv = 1 / (stats.std[c] ?? stats.std[0]);
    const d = img.data;
    for (let i = c * plane, e = i + plane; i < e; i++) d[i] = (d[i] - m) * inv;
  }
  return img;
}

/** Repeat a 1-channel image into 3 identical channels (torchvision `Grayscale(3)` inverse use). */
export function grayToRgb(img: FloatImage, options?: OutOptions): FloatImage {
  if (img.channels !== 1) {
    throw new RangeError(`grayToRgb: input must have 1 channel, got ${img.channels}.`);
  }
  const plane = img.height * img.width;
  const out = target(options, 3, img.height, img.width);
  const src = img.data.subarray(0, plane);
  out.data.set(src, 0);
  out.data.set(src, plane);
  out.data.set(src, 2 * plane);
  return out;
}

/**
 * Bilinear sampling plan for one axis, PyTorch `upsample_bilinear2d` with
 * `align_corners=False`: source = (dst + 0.5) · in/out − 0.5, clamped at 0,
 * neighbours clamped to the last index. `start` offsets into a crop.
 */
interface AxisPlan {
  i0: Int32Array;
  i1: Int32Array;
  w1: Float32Array;
}

function axisPlan(start: number, length: number, outSize: number, plan: AxisPlan): void {
  const scale = length / outSize;
  for (let o = 0; o < outSize; o++) {
    let src = (o + 0.5) * scale - 0.5;
    if (src < 0) src = 0;
    const i0 = Math.floor(src);
    const i1 = i0 < length - 1 ? i0 + 1 : i0;
    plan.i0[o] = start + i0;
    plan.i1[o] = start + i1;
    plan.w1[o] = src - i0;
  }
}

const planX: AxisPlan = { i0: new Int32Array(0), i1: new Int32Array(0), w1: new Float32Array(0) };
const planY: AxisPlan = { i0: new Int32Array(0), i1: new Int32Array(0), w1: new Float32Array(0) };

function ensurePlan(plan: AxisPlan, n: number): void {
  if (plan.i0.length < n) {
    plan.i0 = new Int32Array(n);
    plan.i1 = new Int32Array(n);
    plan.w1 = new Float32Array(n);
  }
}

/**
 * Crop `box` out of `img` and resize it bilinearly to `options.height` ×
 * `options.width` (torchvision `resized_crop` with `antialias=False`). The
 * box must lie inside the image.
 */
export function resizedCrop(img: FloatImage, box: Box, options: ResizeOptions): FloatImage {
  const { height: oh, width: ow } = options;
  if (
    box.top < 0 || box.left < 0 || box.height < 1 || box.width < 1 ||
    box.top + box.height > img.height || box.left + box.width > img.width
  ) {
    throw new RangeError(
      `resizedCrop: box ${JSON.stringify(box)} is not inside the ${img.height}×${img.width} image.`,
    );
  }
  if (options.out && options.out.data === img.data) {
    throw new RangeError("resizedCrop: options.out must not share data with the input image.");
  }
  const out = target(options, img.channels, oh, ow);
  ensurePlan(planX, ow);
  ensurePlan(planY, oh);
  axisPlan(box.left, box.width, ow, planX);
  axisPlan(box.top, box.height, oh, planY);
  const { i0: x0, i1: x1, w1: wx } = planX;
  const { i0: y0, i1: y1, w1: wy } = planY;
  const src = img.data;
  const dst = out.data;
  const inW = img.width;
  const inPlane = img.height * inW;
  const outPlane = oh * ow;
  for (let c = 0; c < img.channels; c++) {
    const sb = c * inPlane;
    let o = c * outPlane;
    for (let y = 0; y < oh; y++) {
      const r0 = sb + y0[y] * inW;
      const r1 = sb + y1[y] * inW;
      const ly = wy[y];
      const hy = 1 - ly;
      for (let x = 0; x < ow; x++, o++) {
        const a = x0[x];
        const b = x1[x];
        const lx = wx[x];
        const hx = 1 - lx;
        dst[o] = hy * (hx * src[r0 + a] + lx * src[r0 + b]) +
          ly * (hx * src[r1 + a] + lx * src[r1 + b]);
      }
    }
  }
  return out;
}

/**
 * Bilinear resize to `options.height` × `options.width`, matching
 * `torch.nn.functional.interpolate(mode="bilinear", align_corners=False)`
 * (torchvision `resize` with `antialias=False`).
 */
export function resize(img: FloatImage, options: ResizeOptions): FloatImage {
  return resizedCrop(img, { top: 0, left: 0, height: img.height, width: img.width }, options);
}

/** Crop `box` out of the image (no resampling). */
export function crop(img: FloatImage, box: Box, options?: OutOptions): FloatImage {
  return resizedCrop(img, box, { height: box.height, width: box.width, out: options?.out });
}

/** Mirror left ↔ right. With `options.out === img` it works in place. */
export function hflip(img: FloatImage, options?: OutOptions): FloatImage {
  const { channels, height: h, width: w } = img;
  const out = target(options, channels, h, w);
  const s = img.data;
  const d = out.data;
  for (let r = 0, e = channels * h; r < e; r++) {
    const base = r * w;
    for (let x = 0, y = w - 1; x <= y; x++, y--) {
      const a = s[base + x];
      d[base + x] = s[base + y];
      d[base + y] = a;
    }
  }
  return out;
}

/** Mirror top ↔ bottom. With `options.out === img` it works in place. */
export function vflip(img: FloatImage, options?: OutOptions): FloatImage {
  const { channels, height: h, width: w } = img;
  const out = target(options, channels, h, w);
  const s = img.data;
  const d = out.data;
  const plane = h * w;
  for (let c = 0; c < channels; c++) {
    for (let y0 = 0, y1 = h - 1; y0 <= y1; y0++, y1--) {
      const a = c * plane + y0 * w;
      const b = c * plane + y1 * w;
      for (let x = 0; x < w; x++) {
        const t = s[a + x];
        d[a + x] = s[b + x];
        d[b + x] = t;
      }
    }
  }
  return out;
}

/**
 * Affine warp about the image centre ((W−1)/2, (H−1)/2) with bilinear
 * sampling: rotate by `angle` degrees counter-clockwise, scale, then
 * translate. Source points outside the image take `fill`, blended by the
 * in-bounds weight at the border. Output has the input's size.
 */
export function affine(img: FloatImage, params: AffineParams, options?: OutOptions): FloatImage {
  const { channels, height: h, width: w } = img;
  if (options?.out && options.out.data === img.data) {
    throw new RangeError("affine: options.out must not share data with the input image.");
  }
  const out = target(options, channels, h, w);
  const rad = ((params.angle ?? 0) * Math.PI) / 180;
  let cos = Math.cos(rad);
  let sin = Math.sin(rad);
  // exact values at multiples of 90° keep rot90 exact
  if (Math.abs(cos) < 1e-12) cos = 0;
  if (Math.abs(sin) < 1e-12) sin = 0;
  const s = params.scale ?? 1;
  const [tx, ty] = params.translate ?? [0, 0];
  const fill = params.fill ?? 0;
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  // inverse map: src = R(-θ)·(dst − c − t)/s + c, with R(θ) ccw on screen (y down)
  const a = cos / s, b = -sin / s;
  const c2 = sin / s, d2 = cos / s;
  const src = img.data;
  const dst = out.data;
  const plane = h * w;
  for (let y = 0; y < h; y++) {
    const v = y - cy - ty;
    const u = -cx - tx;
    let sx = a * u + b * v + cx;
    let sy = c2 * u + d2 * v + cy;
    for (let x = 0; x < w; x++, sx += a, sy += c2) {
      const o = y * w + x;
      const fx0 = Math.floor(sx);
      const fy0 = Math.floor(sy);
      const lx = sx - fx0;
      const ly = sy - fy0;
      if (fx0 >= 0 && fy0 >= 0 && fx0 + 1 < w && fy0 + 1 < h) {
        const p = fy0 * w + fx0;
        const w00 = (1 - lx) * (1 - ly), w01 = lx * (1 - ly), w10 = (1 - lx) * ly, w11 = lx * ly;
        for (let ch = 0, cb = 0; ch < channels; ch++, cb += plane) {
          const q = cb + p;
          dst[cb + o] = w00 * src[q] + w01 * src[q + 1] + w10 * src[q + w] + w11 * src[q + w + 1];
        }
      } else {
        // border: only in-bounds taps count; the rest of the weight goes to fill
        const in00 = fx0 >= 0 && fx0 < w && fy0 >= 0 && fy0 < h;
        const in01 = fx0 + 1 >= 0 && fx0 + 1 < w && fy0 >= 0 && fy0 < h;
        const in10 = fx0 >= 0 && fx0 < w && fy0 + 1 >= 0 && fy0 + 1 < h;
        const in11 = fx0 + 1 >= 0 && fx0 + 1 < w && fy0 + 1 >= 0 && fy0 + 1 < h;
        const w00 = in00 ? (1 - lx) * (1 - ly) : 0;
        const w01 = in01 ? lx * (1 - ly) : 0;
        const w10 = in10 ? (1 - lx) * ly : 0;
        const w11 = in11 ? lx * ly : 0;
        const rest = (1 - (w00 + w01 + w10 + w11)) * fill;
        const p = fy0 * w + fx0;
        for (let ch = 0, cb = 0; ch < channels; ch++, cb += plane) {
          const q = cb + p;
          let acc = rest;
          if (w00) acc += w00 * src[q];
          if (w01) acc += w01 * src[q + 1];
          if (w10) acc += w10 * src[q + w];
          if (w11) acc += w11 * src[q + w + 1];
          dst[cb + o] = acc;
        }
      }
    }
  }
  return out;
}

/** Rotate by `angle` degrees counter-clockwise about the centre (torchvision `rotate`, bilinear). */
export function rotate(
  img: FloatImage,
  angle: number,
  options?: RotateOptions,
): FloatImage {
  return affine(img, { angle, fill: options?.fill }, options);
}

/** Multiply by `factor` and clamp to [0, 1], in place (torchvision `adjust_brightness`). */
export function adjustBrightness(img: FloatImage, factor: number): FloatImage {
  const d = img.data;
  const n = img.channels * img.height * img.width;
  for (let i = 0; i < n; i++) {
    const v = d[i] * factor;
    d[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return img;
}

/**
 * Blend with the mean grayscale value by `factor` and clamp to [0, 1], in
 * place (torchvision `adjust_contrast`; RGB uses 0.299/0.587/0.114 weights).
 */
export function adjustContrast(img: FloatImage, factor: number): FloatImage {
  const d = img.data;
  const plane = img.height * img.width;
  let mean = 0;
  if (img.channels === 3) {
    for (let i = 0; i < plane; i++) {
      mean += 0.299 * d[i] + 0.587 * d[i + plane] + 0.114 * d[i + 2 * plane];
    }
  } else {
    for (let i = 0; i < plane; i++) mean += d[i];
  }
  mean /= plane;
  const add = (1 - factor) * mean;
  const n = img.channels * plane;
  for (let i = 0; i < n; i++) {
    const v = factor * d[i] + add;
    d[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return img;
}

/** Options for {@linkcode gaussianBlur}. */
export interface BlurOptions extends OutOptions {
  /** Standard deviation in pixels. */
  sigma: number;
  /** Odd kernel size; default `2·ceil(3σ) + 1`, at most `2·min(H, W) − 1`. */
  kernelSize?: number;
}

let blurTmp = new Float32Array(0);

/**
 * Separable Gaussian blur with reflect padding (torchvision `gaussian_blur`).
 * With `options.out === img` it works in place.
 */
export function gaussianBlur(img: FloatImage, options: BlurOptions): FloatImage {
  const { channels, height: h, width: w } = img;
  const out = target(options, channels, h, w);
  const sigma = options.sigma;
  let k = options.kernelSize ?? 2 * Math.ceil(3 * sigma) + 1;
  if (k % 2 === 0 || k < 1) {
    throw new RangeError(`gaussianBlur: kernelSize must be odd and positive, got ${k}.`);
  }
  k = Math.min(k, 2 * Math.min(h, w) - 1);
  const half = (k - 1) / 2;
  const kernel = new Float32Array(k);
  let sum = 0;
  for (let i = 0; i < k; i++) {
    const x = (i - half) / sigma;
    kernel[i] = Math.exp(-0.5 * x * x);
    sum += kernel[i];
  }
  for (let i = 0; i < k; i++) kernel[i] /= sum;
  const plane = h * w;
  if (blurTmp.length < plane) blurTmp = new Float32Array(plane);
  const tmp = blurTmp;
  const src = img.data;
  const dst = out.data;
  for (let c = 0; c < channels; c++) {
    const base = c * plane;
    // horizontal pass → tmp
    for (let y = 0; y < h; y++) {
      const row = base + y * w;
      for (let x = 0; x < w; x++) {
        let acc = 0;
        if (x >= half && x + half < w) {
          for (let t = 0, p = row + x - half; t < k; t++, p++) acc += kernel[t] * src[p];
        } else {
          for (let t = 0; t < k; t++) acc += kernel[t] * src[row + reflect(x + t - half, w)];
        }
        tmp[y * w + x] = acc;
      }
    }
    // vertical pass → dst
    for (let y = 0; y < h; y++) {
      const inside = y >= half && y + half < h;
      for (let x = 0; x < w; x++) {
        let acc = 0;
        if (inside) {
          for (let t = 0, p = (y - half) * w + x; t < k; t++, p += w) acc += kernel[t] * tmp[p];
        } else {
          for (let t = 0; t < k; t++) acc += kernel[t] * tmp[reflect(y + t - half, h) * w + x];
        }
        dst[base + y * w + x] = acc;
      }
    }
  }
  return out;
}

function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  i = ((i % period) + period) % period;
  return i < n ? i : period - i;
}

/**
 * Fill `box` with `value` in place, in every channel: a number, one number per
 * channel, or `"random"` for standard-normal noise drawn from `rng`
 * (torchvision `erase` / RandomErasing `value="random"`).
 */
export function erase(
  img: FloatImage,
  box: Box,
  options: EraseOptions,
): FloatImage {
  const { channels, height: h, width: w } = img;
  const plane = h * w;
  const value = options.value;
  if (value === "random" && !options.rng) {
    throw new RangeError('erase: value "random" needs options.rng.');
  }
  for (let c = 0; c < channels; c++) {
    const v = typeof value === "number" ? value : value === "random" ? 0 : value[c] ?? value[0];
    for (let y = box.top; y < box.top + box.height; y++) {
      let p = c * plane + y * w + box.left;
      for (let x = 0; x < box.width; x++, p++) {
        img.data[p] = value === "random" ? options.rng!.normal() : v;
      }
    }
  }
  return img;
}

/**
 * torchvision `RandomResizedCrop.get_params`: up to 10 tries to draw an area
 * fraction in `scale` and a log-uniform aspect ratio in `ratio` that fit;
 * otherwise a centre crop clamped to the ratio range.
 */
export function sampleResizedCropBox(
  rng: Rng,
  size: ImageSize,
  options: BoxSamplingOptions,
): Box {
  const { height, width } = size;
  const area = height * width;
  const [s0, s1] = options.scale;
  const lr0 = Math.log(options.ratio[0]);
  const lr1 = Math.log(options.ratio[1]);
  for (let i = 0; i < 10; i++) {
    const targetArea = area * rng.uniform(s0, s1);
    const aspect = Math.exp(rng.uniform(lr0, lr1));
    const w = roundHalfEven(Math.sqrt(targetArea * aspect));
    const h = roundHalfEven(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = rng.int(height - h + 1);
      const left = rng.int(width - w + 1);
      return { top, left, height: h, width: w };
    }
  }
  const inRatio = width / height;
  const rMin = Math.min(options.ratio[0], options.ratio[1]);
  const rMax = Math.max(options.ratio[0], options.ratio[1]);
  let w: number, h: number;
  if (inRatio < rMin) {
    w = width;
    h = roundHalfEven(w / rMin);
  } else if (inRatio > rMax) {
    h = height;
    w = roundHalfEven(h * rMax);
  } else {
    w = width;
    h = height;
  }
  return {
    top: Math.floor((height - h) / 2),
    left: Math.floor((width - w) / 2),
    height: h,
    width: w,
  };
}

/**
 * torchvision `RandomErasing.get_params`: up to 10 tries to draw an area
 * fraction in `scale` and a log-uniform aspect ratio in `ratio` that fit
 * strictly inside the image; `null` (erase nothing) when none does.
 */
export function sampleErasingBox(
  rng: Rng,
  size: ImageSize,
  options: BoxSamplingOptions,
): Box | null {
  const { height, width } = size;
  const area = height * width;
  const lr0 = Math.log(options.ratio[0]);
  const lr1 = Math.log(options.ratio[1]);
  for (let i = 0; i < 10; i++) {
    const eraseArea = area * rng.uniform(options.scale[0], options.scale[1]);
    const aspect = Math.exp(rng.uniform(lr0, lr1));
    const h = roundHalfEven(Math.sqrt(eraseArea * aspect));
    const w = roundHalfEven(Math.sqrt(eraseArea / aspect));
    if (!(h < height && w < width)) continue;
    const top = rng.int(height - h + 1);
    const left = rng.int(width - w + 1);
    return { top, left, height: h, width: w };
  }
  return null;
}

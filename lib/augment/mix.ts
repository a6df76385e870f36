/**
 * Batch-level Mixup and CutMix with soft targets, following timm's `Mixup`
 * in `mode="batch"`: one λ per batch, image `i` is mixed with image
 * `n − 1 − i` (the batch reversed), CutMix λ is corrected to the pasted box's
 * true area, and label smoothing is applied to the one-hot targets before
 * mixing (timm `mixup_target`). The loss should therefore be a plain
 * soft-target cross-entropy and must not smooth again. Multi-label targets
 * (N×K 0/1 label vectors, smoothed towards ½) are mixed the same way, entry
 * by entry, giving soft per-label targets for sigmoid binary cross-entropy.
 *
 * @module
 */

import type { Rng } from "../util/rng.ts";
import type { Box } from "./transforms.ts";

/** Mixup / CutMix settings (timm names in brackets). */
export interface MixConfig {
  /** Beta(α, α) for Mixup λ; 0 disables Mixup [`mixup_alpha`]. */
  mixupAlpha: number;
  /** Beta(α, α) for CutMix λ; 0 disables CutMix [`cutmix_alpha`]. */
  cutmixAlpha: number;
  /** Probability that a batch is mixed at all [`prob`]. */
  prob: number;
  /** When both are on, probability of CutMix instead of Mixup [`switch_prob`]. */
  switchProb: number;
}

/** A batch as the loader builds it: NCHW pixels and N×K targets. */
export interface MixableBatch {
  /** Pixels, N×C×H×W. */
  x: Float32Array;
  /** Targets, N×K (one-hot, smoothed or multi-hot). */
  targets: Float32Array;
  /** Batch size N. */
  n: number;
  /** Channels C. */
  channels: number;
  /** Height H. */
  height: number;
  /** Width W. */
  width: number;
  /** Target width K. */
  numClasses: number;
}

/** What {@linkcode mixBatch} did. */
export interface MixResult {
  /** `"none"` when the batch was left alone. */
  kind: "none" | "mixup" | "cutmix";
  /** Weight of each image's own content and target (1 when unmixed). */
  lam: number;
  /** The pasted CutMix box, when `kind` is `"cutmix"`. */
  box?: Box;
}

/** The batch's mixing decision from {@linkcode sampleMixParams}. */
export interface MixParams {
  /** Mixup, CutMix, or none. */
  kind: MixResult["kind"];
  /** The drawn λ (before CutMix's area correction); 1 when unmixed. */
  lam: number;
}

/** Options for {@linkcode sampleCutmixBox}. */
export interface CutmixBoxOptions {
  /** Image height. */
  height: number;
  /** Image width. */
  width: number;
  /** The drawn λ: the box side is `√(1−λ)` times the image side. */
  lam: number;
}

/** Options for {@linkcode mixTargets}. */
export interface MixTargetsOptions {
  /** Batch size N. */
  n: number;
  /** Target width K. */
  numClasses: number;
  /** Weight of each row's own target. */
  lam: number;
}

/** Options for {@linkcode oneHotTargets}. */
export interface OneHotOptions {
  /** Number of classes K (for multi-label: labels per image). */
  numClasses: number;
  /** Label smoothing s in [0, 1) (default 0). */
  smoothing?: number;
  /** `labels` is an N×K 0/1 matrix (default `false`). */
  multiLabel?: boolean;
}

/**
 * Draw the batch's λ and whether to use CutMix, as timm's
 * `Mixup._params_per_batch`.
 */
export function sampleMixParams(rng: Rng, config: MixConfig): MixParams {
  if (!(config.mixupAlpha > 0) && !(config.cutmixAlpha > 0)) return { kind: "none", lam: 1 };
  if (!(rng.float() < config.prob)) return { kind: "none", lam: 1 };
  if (config.mixupAlpha > 0 && config.cutmixAlpha > 0) {
    const cut = rng.float() < config.switchProb;
    const alpha = cut ? config.cutmixAlpha : config.mixupAlpha;
    return { kind: cut ? "cutmix" : "mixup", lam: rng.beta(alpha, alpha) };
  }
  if (config.mixupAlpha > 0) {
    return { kind: "mixup", lam: rng.beta(config.mixupAlpha, config.mixupAlpha) };
  }
  return { kind: "cutmix", lam: rng.beta(config.cutmixAlpha, config.cutmixAlpha) };
}

/**
 * timm `rand_bbox`: a box of side `√(1−λ)` times the image side, centred at a
 * uniform random pixel and clipped to the image.
 */
export function sampleCutmixBox(
  rng: Rng,
  options: CutmixBoxOptions,
): Box {
  const { height, width, lam } = options;
  const ratio = Math.sqrt(1 - lam);
  const cutH = Math.trunc(height * ratio);
  const cutW = Math.trunc(width * ratio);
  const cy = rng.int(height);
  const cx = rng.int(width);
  const clip = (v: number, hi: number) => (v < 0 ? 0 : v > hi ? hi : v);
  const yl = clip(cy - Math.floor(cutH / 2), height);
  const yh = clip(cy + Math.floor(cutH / 2), height);
  const xl = clip(cx - Math.floor(cutW / 2), width);
  const xh = clip(cx + Math.floor(cutW / 2), width);
  return { top: yl, left: xl, height: yh - yl, width: xh - xl };
}

/**
 * Mix a batch in place with its reverse (image `i` with image `n−1−i`), pixels
 * and targets alike. Returns the kind, the (area-corrected) λ and the box.
 */
export function mixBatch(batch: MixableBatch, rng: Rng, config: MixConfig): MixResult {
  const params = sampleMixParams(rng, config);
  if (params.kind === "none" || batch.n < 2) return { kind: "none", lam: 1 };
  const { x, targets, n, channels, height, width, numClasses } = batch;
  const imgSize = channels * height * width;
  let lam = params.lam;
  let box: Box | undefined;
  if (params.kind === "mixup") {
    const mu = 1 - lam;
    for (let i = 0, j = n - 1; i < j; i++, j--) {
      const a = i * imgSize, b = j * imgSize;
      for (let p = 0; p < imgSize; p++) {
        const va = x[a + p], vb = x[b + p];
        x[a + p] = lam * va + mu * vb;
        x[b + p] = lam * vb + mu * va;
      }
    }
  } else {
    box = sampleCutmixBox(rng, { height, width, lam });
    lam = 1 - (box.height * box.width) / (height * width);
    const plane = height * width;
    for (let i = 0, j = n - 1; i < j; i++, j--) {
      for (let c = 0; c < channels; c++) {
        for (let y = box.top; y < box.top + box.height; y++) {
          let a = i * imgSize + c * plane + y * width + box.left;
          let b = j * imgSize + c * plane + y * width + box.left;
          for (let t = 0; t < box.width; t++, a++, b++) {
            const v = x[a];
            x[a] = x[b];
            x[b] = v;
          }
        }
      }
    }
  }
  mixTargets(targets, { n, numClasses, lam });
  return { kind: params.kind, lam, box };
}

/** Mix targets in place: row `i` becomes `λ·t[i] + (1−λ)·t[n−1−i]` (timm `mixup_target`). */
export function mixTargets(
  targets: Float32Array,
  options: MixTargetsOptions,
): Float32Array {
  const { n, numClasses: k, lam } = options;
  const mu = 1 - lam;
  for (let i = 0, j = n - 1; i < j; i++, j--) {
    for (let c = 0; c < k; c++) {
      const a = targets[i * k + c], b = targets[j * k + c];
      targets[i * k + c] = lam * a + mu * b;
      targets[j * k + c] = lam * b + mu * a;
    }
  }
  return targets;
}

/**
 * Targets from integer labels: for single-label tasks one-hot rows with timm's
 * smoothing (off = s/K, on = 1 − s + s/K); for multi-label (`labels` is N×K
 * 0/1) the labels as floats, smoothed towards ½ as `y·(1−s) + s/2`.
 */
export function oneHotTargets(
  labels: Int32Array,
  options: OneHotOptions,
): Float32Array {
  const k = options.numClasses;
  const s = options.smoothing ?? 0;
  if (options.multiLabel) {
    const out = new Float32Array(labels.length);
    for (let i = 0; i < labels.length; i++) out[i] = labels[i] * (1 - s) + s / 2;
    return out;
  }
  const off = s / k;
  const on = 1 - s + off;
  const out = new Float32Array(labels.length * k).fill(off);
  for (let i = 0; i < labels.length; i++) out[i * k + labels[i]] = on;
  return out;
}

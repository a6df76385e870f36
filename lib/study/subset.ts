/**
 * Deterministic, class-stratified subsets of a dataset for smoke runs
 * (`deno task ablate --limit-images N`, in the spirit of Lightning's
 * `limit_*_batches`): every class keeps its share of the images, and at
 * least one image where the limit allows, so AUC stays defined; the same
 * limit always picks the same images.
 *
 * @module
 */

import type { Dataset } from "../data/dataset.ts";

/** Options of {@linkcode stratifiedIndices}. */
export interface StratifyOptions {
  /** Number of strata (classes); each label must be in `0..strata-1`. */
  strata: number;
  /** Images to keep at most. */
  limit: number;
}

/**
 * Indices (ascending) of at most `limit` of the images whose stratum is
 * `strata[i]`: each stratum gets its share of `limit` (largest remainders,
 * ties to the lower stratum), then every present stratum left without an
 * image takes one from the stratum with the most (while that has more than
 * one); the images of a stratum are taken evenly spaced through it. With no
 * more than `limit` images, every index.
 */
export function stratifiedIndices(strata: ArrayLike<number>, options: StratifyOptions): number[] {
  const { limit } = options;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`limit must be a whole number >= 1, got ${limit}`);
  }
  if (strata.length <= limit) return Array.from({ length: strata.length }, (_, i) => i);
  const members: number[][] = Array.from({ length: options.strata }, () => []);
  for (let i = 0; i < strata.length; i++) members[strata[i]].push(i);
  const quota = shareOut(members.map((m) => m.length), limit);
  const chosen: number[] = [];
  members.forEach((m, c) => {
    for (let j = 0; j < quota[c]; j++) {
      chosen.push(m[Math.floor(((j + 0.5) * m.length) / quota[c])]);
    }
  });
  return chosen.sort((a, b) => a - b);
}

/** How many of each stratum's `counts` to keep, `limit` in all (`limit` < the total). */
function shareOut(counts: readonly number[], limit: number): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  const exact = counts.map((n) => (limit * n) / total);
  const quota = exact.map(Math.floor);
  let extra = limit - quota.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((x, c) => [x - Math.floor(x), c])
    .sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, c] of byRemainder) {
    if (extra === 0) break;
    quota[c]++;
    extra--;
  }
  // Every present stratum keeps an image (so AUC stays defined), the largest first.
  const empty = counts.map((n, c) => [n, c]).filter(([n, c]) => n > 0 && quota[c] === 0)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, c] of empty) {
    const donor = quota.indexOf(Math.max(...quota));
    if (quota[donor] <= 1) break;
    quota[donor]--;
    quota[c] = 1;
  }
  return quota;
}

/** The strata of a dataset's images ({@linkcode strataOf}). */
export interface Strata {
  /** Stratum of each image. */
  strata: Int32Array;
  /** Number of strata. */
  count: number;
}

/**
 * The stratum of each image: its class, or for multi-label data its first
 * positive label (`numClasses` when it has none).
 */
export function strataOf(dataset: Dataset): Strata {
  if (dataset.task !== "multi-label") {
    return { strata: dataset.labels, count: dataset.numClasses };
  }
  const k = dataset.numClasses;
  const strata = new Int32Array(dataset.n);
  for (let i = 0; i < dataset.n; i++) {
    const first = dataset.labels.subarray(i * k, (i + 1) * k).indexOf(1);
    strata[i] = first < 0 ? k : first;
  }
  return { strata, count: k + 1 };
}

/**
 * At most `limit` images of `dataset` ({@linkcode stratifiedIndices} over
 * {@linkcode strataOf}), in dataset order; `dataset` itself when it has no
 * more than `limit`.
 */
export function limitDataset(dataset: Dataset, limit: number): Dataset {
  if (dataset.n <= limit) return dataset;
  const { strata, count } = strataOf(dataset);
  const keep = stratifiedIndices(strata, { strata: count, limit });
  const pixels = dataset.height * dataset.width * dataset.channels;
  const perLabel = dataset.task === "multi-label" ? dataset.numClasses : 1;
  const images = new Uint8Array(keep.length * pixels);
  const labels = new Int32Array(keep.length * perLabel);
  keep.forEach((src, dst) => {
    images.set(dataset.images.subarray(src * pixels, (src + 1) * pixels), dst * pixels);
    labels.set(dataset.labels.subarray(src * perLabel, (src + 1) * perLabel), dst * perLabel);
  });
  return { ...dataset, images, labels, n: keep.length };
}

/** Image counts of a dataset's three splits. */
export interface SplitSizes {
  /** Training images. */
  train: number;
  /** Validation images. */
  val: number;
  /** Test images. */
  test: number;
}

/** Split sizes after {@linkcode limitDataset} with `limit` (unchanged without one). */
export function limitedSizes(sizes: SplitSizes, limit?: number): SplitSizes {
  if (limit === undefined) return sizes;
  const cut = (n: number) => Math.min(n, limit);
  return { train: cut(sizes.train), val: cut(sizes.val), test: cut(sizes.test) };
}

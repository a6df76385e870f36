/**
 * Epoch iterator over a {@linkcode Dataset}: seeded shuffling or
 * class-balanced sampling, batching, per-image augmentation, Mixup/CutMix and
 * prefetching, yielding tensors ready for the runtime.
 *
 * Determinism: the order of epoch `e` depends only on `(seed, e)` and the
 * random draws of batch `b` only on `(seed, e, b)`, so the same options give
 * the same batches bit for bit, whatever the prefetching or timing.
 *
 * @module
 */

import { type Augmenter, createAugmenter, type NormalizeOption } from "../augment/pipeline.ts";
import { mixBatch, type MixResult, oneHotTargets } from "../augment/mix.ts";
import { type AugmentConfig, type PresetName, resolveAugment } from "../augment/presets.ts";
import { hashSeed, Rng } from "../util/rng.ts";
import { classCounts, computeChannelStats, type Dataset } from "./dataset.ts";

/** Options for {@linkcode loadBatches} and friends. */
export interface LoaderOptions {
  /** Images per batch. */
  batchSize: number;
  /** Shuffle each epoch (default `true`). Ignored when `balanced` is on. */
  shuffle?: boolean;
  /** Drop the last, smaller batch (default `false`). */
  dropLast?: boolean;
  /**
   * Class-balanced sampling with replacement, like PyTorch's
   * `WeightedRandomSampler` with weights 1/count(class): each epoch draws
   * `n` indices (default `false`; single-label tasks only).
   */
  balanced?: boolean;
  /** Output side length (default: the dataset's height; width follows). */
  imageSize?: number;
  /** Output channels, 1 or 3 (default: the dataset's); 3 repeats a gray image. */
  channels?: number;
  /**
   * Normalization (default `"imagenet"`); `"dataset"` computes mean/std from
   * this dataset (pass `computeChannelStats(train)` explicitly for val/test).
   */
  normalize?: NormalizeOption | "dataset";
  /** Augmentation preset or config (default `"none"`). */
  augment?: PresetName | AugmentConfig;
  /** Base seed (default 0). */
  seed?: number;
  /** Epoch index; each epoch's order and augmentation differ deterministically (default 0). */
  epoch?: number;
  /** Prepare batch i+1 while batch i is being used (default `true`). */
  prefetch?: boolean;
  /** Called after each batch is prepared, with its index and the time it took (ms). */
  onPrepared?: (batch: number, ms: number) => void;
}

/** One batch, ready for the runtime. Its arrays are fresh per batch: safe to keep or hand off. */
export interface Batch {
  /** Pixels, N×C×H×W, normalized. */
  x: Float32Array;
  /** Targets, N×K: one-hot (smoothed when configured), mixed by Mixup/CutMix, or multi-hot. */
  targets: Float32Array;
  /** The original labels: N values, or N×K for multi-label. */
  labels: Int32Array;
  /** Dataset indices of the images. */
  indices: Int32Array;
  /** Batch size N (the last batch may be smaller). */
  n: number;
  /** Channels C. */
  channels: number;
  /** Height H. */
  height: number;
  /** Width W. */
  width: number;
  /** Target width K. */
  numClasses: number;
  /** Index of this batch in the epoch. */
  index: number;
  /** What Mixup/CutMix did to this batch. */
  mix: MixResult;
}

/** A configured loader: call `epoch(e)` for each epoch. */
export interface Loader {
  /** Batches per epoch. */
  readonly numBatches: number;
  /** The resolved augmentation config. */
  readonly augment: AugmentConfig;
  /** Iterate over the batches of epoch `epoch` (default: `options.epoch`). */
  epoch(epoch?: number): AsyncGenerator<Batch, void, undefined>;
  /** Build batch `index` of epoch `epoch` synchronously (no prefetch). */
  batch(index: number, epoch?: number): Batch;
}

const ORDER_KEY = 0x0de5;
const BATCH_KEY = 0xba7c;

/** Number of batches one epoch yields. */
export function numBatches(dataset: Dataset, options: LoaderOptions): number {
  checkBatchSize(options.batchSize);
  return options.dropLast
    ? Math.floor(dataset.n / options.batchSize)
    : Math.ceil(dataset.n / options.batchSize);
}

function checkBatchSize(batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`loader option "batchSize" must be a positive integer, got ${batchSize}.`);
  }
}

/**
 * The dataset indices of an epoch, in order: `0..n−1` when not shuffling,
 * a seeded permutation when shuffling, or `n` class-balanced draws with
 * replacement when `balanced`.
 */
export function epochOrder(
  dataset: Dataset,
  options: Pick<LoaderOptions, "shuffle" | "balanced" | "seed" | "epoch">,
): Int32Array {
  const rng = new Rng(hashSeed(options.seed ?? 0, [options.epoch ?? 0, ORDER_KEY]));
  if (options.balanced) {
    if (dataset.task === "multi-label") {
      throw new RangeError(
        `loader option "balanced" needs a single-label dataset; ${dataset.name} is multi-label. Turn "balanced" off.`,
      );
    }
    return balancedOrder(dataset, rng);
  }
  if (options.shuffle === false) {
    const out = new Int32Array(dataset.n);
    for (let i = 0; i < dataset.n; i++) out[i] = i;
    return out;
  }
  return rng.permutation(dataset.n);
}

/** `n` draws with replacement, each sample weighted 1 / count(its class). */
function balancedOrder(dataset: Dataset, rng: Rng): Int32Array {
  const counts = classCounts(dataset);
  // cumulative weights, weight of a sample = 1 / count(its class)
  const cum = new Float64Array(dataset.n);
  let total = 0;
  for (let i = 0; i < dataset.n; i++) {
    total += 1 / counts[dataset.labels[i]];
    cum[i] = total;
  }
  const out = new Int32Array(dataset.n);
  for (let k = 0; k < dataset.n; k++) {
    const r = rng.float() * total;
    let lo = 0, hi = dataset.n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cum[mid] > r) hi = mid;
      else lo = mid + 1;
    }
    out[k] = lo;
  }
  return out;
}

/**
 * Configure a loader over `dataset`. The augmenter and normalization are
 * resolved once; each `epoch(e)` call returns a fresh async iterator.
 *
 * @example
 * ```ts
 * const stats = computeChannelStats(train);
 * const trainLoader = createLoader(train, { batchSize: 64, augment: "heavy", normalize: stats, seed: 1 });
 * const valLoader = createLoader(val, { batchSize: 256, shuffle: false, normalize: stats });
 * for (let epoch = 0; epoch < 10; epoch++) {
 *   for await (const batch of trainLoader.epoch(epoch)) {
 *     // await session.run(batch.x, batch.targets) — batch i+1 is built meanwhile
 *   }
 * }
 * ```
 */
export function createLoader(dataset: Dataset, options: LoaderOptions): Loader {
  checkBatchSize(options.batchSize);
  const augment = resolveAugment(options.augment);
  const augmenter = loaderAugmenter(dataset, options, augment);
  const count = numBatches(dataset, options);
  const orders = new Map<number, Int32Array>();
  const orderFor = (epoch: number) => {
    let o = orders.get(epoch);
    if (!o) {
      orders.clear();
      o = epochOrder(dataset, { ...options, epoch });
      orders.set(epoch, o);
    }
    return o;
  };

  function batch(index: number, epoch = options.epoch ?? 0): Batch {
    if (!Number.isInteger(index) || index < 0 || index >= count) {
      throw new RangeError(`loader: batch index ${index} is out of range 0..${count - 1}.`);
    }
    const order = orderFor(epoch);
    return buildBatch(dataset, { options, augment, augmenter, order, epoch, index });
  }

  const epochIterator = (epoch = options.epoch ?? 0): AsyncGenerator<Batch, void, undefined> =>
    prefetchedEpoch(count, (b) => batch(b, epoch), options);

  return { numBatches: count, augment, epoch: epochIterator, batch };
}

/** The per-image augmenter of a loader: the dataset's geometry, the options' size and normalization. */
function loaderAugmenter(
  dataset: Dataset,
  options: LoaderOptions,
  augment: AugmentConfig,
): Augmenter {
  const size = options.imageSize ?? dataset.height;
  const normalize = options.normalize === "dataset"
    ? computeChannelStats(dataset)
    : options.normalize;
  return createAugmenter(augment, {
    input: { height: dataset.height, width: dataset.width, channels: dataset.channels },
    height: size,
    width: options.imageSize ?? dataset.width,
    channels: options.channels ?? dataset.channels,
    normalize,
  });
}

/** What {@linkcode buildBatch} needs besides the dataset. */
interface BatchPlan {
  options: LoaderOptions;
  augment: AugmentConfig;
  augmenter: Augmenter;
  /** The epoch's dataset order. */
  order: Int32Array;
  epoch: number;
  index: number;
}

/** Batch `index` of an epoch: augmented pixels, labels, targets, then Mixup/CutMix. */
function buildBatch(dataset: Dataset, plan: BatchPlan): Batch {
  const { options, augment, augmenter, order, epoch, index } = plan;
  const start = index * options.batchSize;
  const indices = order.slice(start, Math.min(start + options.batchSize, order.length));
  const n = indices.length;
  const rng = new Rng(hashSeed(options.seed ?? 0, [epoch, index, BATCH_KEY]));
  const x = new Float32Array(n * augmenter.outSize);
  for (let i = 0; i < n; i++) {
    augmenter.apply(dataset.images, rng, {
      index: indices[i],
      out: x,
      offset: i * augmenter.outSize,
    });
  }
  const k = dataset.numClasses;
  const multiLabel = dataset.task === "multi-label";
  const labels = gatherLabels(dataset, indices);
  const targets = oneHotTargets(labels, {
    numClasses: k,
    smoothing: augment.labelSmoothing,
    multiLabel,
  });
  const result: Batch = {
    x,
    targets,
    labels,
    indices,
    n,
    channels: augmenter.channels,
    height: augmenter.height,
    width: augmenter.width,
    numClasses: k,
    index,
    mix: { kind: "none", lam: 1 },
  };
  if (augment.mix) result.mix = mixBatch(result, rng, augment.mix);
  return result;
}

/** The labels of `indices`: one per image, or a 0/1 row of `numClasses` for multi-label. */
function gatherLabels(dataset: Dataset, indices: Int32Array): Int32Array {
  const n = indices.length;
  const k = dataset.numClasses;
  if (dataset.task === "multi-label") {
    const labels = new Int32Array(n * k);
    for (let i = 0; i < n; i++) {
      labels.set(dataset.labels.subarray(indices[i] * k, indices[i] * k + k), i * k);
    }
    return labels;
  }
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = dataset.labels[indices[i]];
  return labels;
}

/**
 * Yield batches `0..count−1` from `build`, timing each for `onPrepared`;
 * with prefetching (the default) batch b+1 is built while the consumer
 * works on batch b.
 */
async function* prefetchedEpoch(
  count: number,
  build: (b: number) => Batch,
  options: Pick<LoaderOptions, "prefetch" | "onPrepared">,
): AsyncGenerator<Batch, void, undefined> {
  const timed = (b: number): Batch => {
    const t0 = performance.now();
    const out = build(b);
    options.onPrepared?.(b, performance.now() - t0);
    return out;
  };
  if (options.prefetch === false) {
    for (let b = 0; b < count; b++) yield timed(b);
    return;
  }
  let next = count > 0 ? new Prefetch(() => timed(0)) : undefined;
  try {
    for (let b = 0; b < count; b++) {
      const current = next!.take();
      // batch b+1 is built on a timer that fires while the consumer awaits its step on
      // batch b; if the consumer comes back first, take() builds it right away instead
      next = b + 1 < count ? new Prefetch(() => timed(b + 1)) : undefined;
      yield current;
    }
  } finally {
    next?.cancel();
  }
}

/**
 * Iterate over one epoch of batches (a shortcut for
 * `createLoader(dataset, options).epoch()`).
 *
 * @example
 * ```ts
 * for await (const b of loadBatches(train, { batchSize: 64, augment: "basic", epoch: 3 })) {
 *   // b.x: Float32Array N×C×H×W, b.targets: Float32Array N×K
 * }
 * ```
 */
export function loadBatches(
  dataset: Dataset,
  options: LoaderOptions,
): AsyncGenerator<Batch, void, undefined> {
  return createLoader(dataset, options).epoch();
}

/**
 * One batch built ahead of time: scheduled on a zero-delay timer (a macrotask,
 * so it runs after the consumer's pending continuations, i.e. while the
 * consumer awaits an asynchronous step), or built synchronously by `take()`
 * when asked for before the timer fired, so a synchronous consumer never
 * waits for the timer.
 */
class Prefetch<T> {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #done = false;
  #value: T | undefined;
  #error: unknown;
  readonly #fn: () => T;

  constructor(fn: () => T) {
    this.#fn = fn;
    this.#timer = setTimeout(() => this.#run(), 0);
  }

  #run(): void {
    this.#timer = undefined;
    if (this.#done) return;
    this.#done = true;
    try {
      this.#value = this.#fn();
    } catch (err) {
      this.#error = err;
    }
  }

  take(): T {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#run();
    if (this.#error !== undefined) throw this.#error;
    return this.#value as T;
  }

  cancel(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#done = true;
  }
}

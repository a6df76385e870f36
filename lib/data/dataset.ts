/**
 * The in-memory image dataset type shared by the MedMNIST loader, the batch
 * loader and the augmentation code, plus per-channel statistics.
 *
 * @module
 */

import { DataError } from "./errors.ts";

/**
 * Task type of a dataset:
 * - `"multi-class"`: one label in `0..numClasses-1` per image;
 * - `"binary"`: one label in `{0, 1}` per image (`numClasses` is 2);
 * - `"multi-label"`: `numClasses` independent 0/1 labels per image (ChestMNIST);
 * - `"ordinal-regression"`: one ordered grade in `0..numClasses-1` (RetinaMNIST).
 */
export type TaskType = "multi-class" | "binary" | "multi-label" | "ordinal-regression";

/** The three standard splits. */
export type Split = "train" | "val" | "test";

/** A set of `n` same-sized uint8 images with integer labels. */
export interface Dataset {
  /** Dataset name, e.g. `"breastmnist"`. */
  name: string;
  /** Which split these images are. */
  split: Split;
  /** Pixels, N×H×W×C (HWC per image, C = 1 or 3), uint8. */
  images: Uint8Array;
  /**
   * Labels: `n` values for single-label tasks, or `n × numClasses` 0/1 values
   * (row-major) for `"multi-label"`.
   */
  labels: Int32Array;
  /** Number of images. */
  n: number;
  /** Image height in pixels. */
  height: number;
  /** Image width in pixels. */
  width: number;
  /** Channels per pixel: 1 (grayscale) or 3 (RGB). */
  channels: number;
  /** Number of classes (for `"multi-label"`: number of labels per image). */
  numClasses: number;
  /** The task type. */
  task: TaskType;
  /** Human-readable name of each class / label, `numClasses` long. */
  labelNames: string[];
}

/** Per-channel mean and standard deviation of pixel values scaled to [0, 1]. */
export interface ChannelStats {
  /** Mean per channel. */
  mean: number[];
  /** Standard deviation per channel (population, like `torch.std(unbiased=False)`). */
  std: number[];
}

/**
 * Per-channel mean and standard deviation of a dataset's pixels, scaled to
 * [0, 1] (use it as `normalize: computeChannelStats(train)` in the loader).
 */
export function computeChannelStats(dataset: Dataset): ChannelStats {
  const c = dataset.channels;
  const hist = new Float64Array(256 * c);
  const px = dataset.images;
  for (let i = 0; i < px.length; i += c) {
    for (let k = 0; k < c; k++) hist[k * 256 + px[i + k]]++;
  }
  const mean: number[] = [];
  const std: number[] = [];
  for (let k = 0; k < c; k++) {
    let n = 0, s = 0, s2 = 0;
    for (let v = 0; v < 256; v++) {
      const h = hist[k * 256 + v];
      const x = v / 255;
      n += h;
      s += h * x;
      s2 += h * x * x;
    }
    const m = n ? s / n : 0;
    mean.push(m);
    std.push(Math.sqrt(Math.max(0, n ? s2 / n - m * m : 0)));
  }
  return { mean, std };
}

/**
 * Images per class for single-label tasks, or positives per label for
 * `"multi-label"` (length `numClasses` either way).
 */
export function classCounts(dataset: Dataset): number[] {
  if (dataset.task === "multi-label") {
    const counts = new Array<number>(dataset.numClasses).fill(0);
    for (let i = 0; i < dataset.labels.length; i++) {
      counts[i % dataset.numClasses] += dataset.labels[i];
    }
    return counts;
  }
  const counts = new Array<number>(dataset.numClasses).fill(0);
  for (const l of dataset.labels) counts[l]++;
  return counts;
}

const TASKS: readonly TaskType[] = ["multi-class", "binary", "multi-label", "ordinal-regression"];

/** Datasets already validated, with the arrays they were validated with. */
const validated = new WeakMap<Dataset, { images: unknown; labels: unknown }>();

/** How a dataset is named in error messages: `dataset "breastmnist" (train split)`. */
export function datasetLabel(dataset: Dataset): string {
  return `dataset ${JSON.stringify(dataset.name)} (${dataset.split} split)`;
}

/**
 * Check a dataset (e.g. one built by hand) before anything reads it: shape
 * fields, task and class count; the pixel buffer's length (`n·h·w·c`) and,
 * for float pixels, that every value is finite; the labels' length and
 * values (integers in `0..numClasses-1`, or 0/1 per label for
 * `"multi-label"`). Throws a {@linkcode DataError} naming the dataset, split,
 * image and value. A dataset is scanned once: later calls with the same
 * object and arrays return at once.
 */
export function validateDataset(dataset: Dataset): void {
  const seen = validated.get(dataset);
  if (seen && seen.images === dataset.images && seen.labels === dataset.labels) return;
  const what = datasetLabel(dataset);
  const fail: Fail = (problem) => {
    throw new DataError(`${what}: ${problem}`);
  };
  checkShapeFields(dataset, fail);
  checkPixels(dataset, fail);
  checkLabels(dataset, fail);
  validated.set(dataset, { images: dataset.images, labels: dataset.labels });
}

/** Throws a {@linkcode DataError} naming the dataset and the problem. */
type Fail = (problem: string) => never;

/** Sizes, channels, task, class count and label names. */
function checkShapeFields(dataset: Dataset, fail: Fail): void {
  const { n, height, width, channels, numClasses, task } = dataset;
  const positiveInt = (key: string, v: unknown) => {
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1) {
      fail(`${key} must be an integer >= 1, got ${v}`);
    }
  };
  positiveInt("n", n);
  positiveInt("height", height);
  positiveInt("width", width);
  if (channels !== 1 && channels !== 3) fail(`channels must be 1 or 3, got ${channels}`);
  if (!TASKS.includes(task)) {
    fail(
      `task must be one of ${TASKS.map((t) => `"${t}"`).join(", ")}, got ${JSON.stringify(task)}`,
    );
  }
  positiveInt("numClasses", numClasses);
  if (task === "binary" && numClasses !== 2) {
    fail(`a binary task has numClasses 2, got ${numClasses}`);
  }
  if ((task === "multi-class" || task === "ordinal-regression") && numClasses < 2) {
    fail(`a ${task} task needs numClasses >= 2, got ${numClasses}`);
  }
  if (Array.isArray(dataset.labelNames) && dataset.labelNames.length !== numClasses) {
    fail(
      `labelNames has ${dataset.labelNames.length} names but numClasses is ${numClasses}; ` +
        `give one name per class`,
    );
  }
}

/** The pixel buffer: a typed array of `n·h·w·c` values, finite when float. */
function checkPixels(dataset: Dataset, fail: Fail): void {
  const { n, height, width, channels } = dataset;
  const images = dataset.images as unknown;
  if (!ArrayBuffer.isView(images) || images instanceof DataView || isBigIntArray(images)) {
    fail(`images must be a Uint8Array (N×H×W×C), got ${typeName(images)}`);
  }
  const px = images as unknown as ArrayLike<number>;
  const perImage = height * width * channels;
  if (px.length !== n * perImage) {
    fail(
      `images has ${px.length} values but n·h·w·c = ${n}·${height}·${width}·${channels} = ` +
        `${n * perImage}; the pixel buffer must hold exactly n images of ${height}×${width}×` +
        `${channels} (HWC, uint8)`,
    );
  }
  if (images instanceof Uint8Array || images instanceof Uint8ClampedArray) return;
  // Float (or wider integer) pixels: the loader reads them as 0..255 values.
  let bad = 0;
  let first = -1;
  for (let i = 0; i < px.length; i++) {
    if (!Number.isFinite(px[i])) {
      if (first < 0) first = i;
      bad++;
    }
  }
  if (bad) {
    fail(
      `images holds ${bad} non-finite value(s), the first ${px[first]} in image ${
        Math.floor(first / perImage)
      } (offset ${first}); pixels must be finite 0..255 values — replace or drop those images`,
    );
  }
}

/** The labels: one integer class per image, or a 0/1 row of `numClasses` for multi-label. */
function checkLabels(dataset: Dataset, fail: Fail): void {
  const { n, numClasses, task } = dataset;
  const labels = dataset.labels as unknown;
  if (!ArrayBuffer.isView(labels) || labels instanceof DataView || isBigIntArray(labels)) {
    fail(`labels must be an Int32Array, got ${typeName(labels)}`);
  }
  const lab = labels as unknown as ArrayLike<number>;
  const multiLabel = task === "multi-label";
  const expected = multiLabel ? n * numClasses : n;
  if (lab.length !== expected) {
    fail(
      multiLabel
        ? `labels has ${lab.length} values but a multi-label task needs n·numClasses = ` +
          `${n}·${numClasses} = ${expected} (one 0/1 row per image)`
        : `labels has ${lab.length} values but there are ${n} images (one label per image)`,
    );
  }
  const maxLabel = multiLabel ? 1 : numClasses - 1;
  let bad = 0;
  let first = -1;
  for (let i = 0; i < lab.length; i++) {
    const v = lab[i];
    if (!(Number.isInteger(v) && v >= 0 && v <= maxLabel)) {
      if (first < 0) first = i;
      bad++;
    }
  }
  if (bad) {
    const image = multiLabel ? Math.floor(first / numClasses) : first;
    const at = multiLabel ? `image ${image}, label ${first % numClasses}` : `image ${image}`;
    fail(
      `${bad} label(s) out of range, the first ${lab[first]} at ${at}; ` +
        (multiLabel
          ? `a multi-label task takes 0 or 1 per label`
          : `a ${task} task with ${numClasses} classes takes integers 0..${maxLabel}`) +
        ` — fix the labels or numClasses`,
    );
  }
}

function isBigIntArray(v: unknown): boolean {
  return v instanceof BigInt64Array || v instanceof BigUint64Array;
}

function typeName(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return "a plain array";
  return (v as object).constructor?.name ?? typeof v;
}

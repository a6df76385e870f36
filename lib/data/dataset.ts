/**
 * The in-memory image dataset type shared by the MedMNIST loader, the batch
 * loader and the augmentation code, plus per-channel statistics.
 *
 * @module
 */

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

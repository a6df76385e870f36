/**
 * A picture of what the augmentation presets do: a PNG grid with one row per
 * preset (e.g. none / basic / heavy) showing the same training images, drawn
 * with `@napi-rs/canvas` (loaded on first use, so importing this module does
 * not load the native addon).
 *
 * @module
 */

import { atomicWriteFile } from "../util/fs.ts";
import { hashSeed, Rng } from "../util/rng.ts";
import { mixBatch } from "./mix.ts";
import { createAugmenter } from "./pipeline.ts";
import { type AugmentConfig, getPreset, type PresetName } from "./presets.ts";

/**
 * The images a grid is drawn from: any set of same-sized uint8 HWC images
 * (a data layer `Dataset` is one). Declared here so that augmentation does
 * not depend on the data layer.
 */
export interface GridImages {
  /** Name shown in the default title, e.g. `"breastmnist"`. */
  name: string;
  /** Split shown in the default title, e.g. `"train"`. */
  split: string;
  /** Pixels, N×H×W×C, uint8. */
  images: Uint8Array;
  /** Number of images. */
  n: number;
  /** Image height in pixels. */
  height: number;
  /** Image width in pixels. */
  width: number;
  /** Channels per pixel: 1 or 3. */
  channels: number;
}

/** Options for {@linkcode renderAugmentGrid}. */
export interface GridOptions {
  /** Rows: preset names or named configs (default `["none", "basic", "heavy"]`). */
  rows?: (PresetName | GridRow)[];
  /** Images per row (default 8). */
  count?: number;
  /** Which dataset images to show (default: `count` drawn with `seed`). */
  indices?: number[];
  /** Augmented image size before zooming (default: the dataset's height). */
  imageSize?: number;
  /** Integer zoom factor per pixel (default: enough for ~112-pixel cells). */
  zoom?: number;
  /** Seed for the image choice and the augmentation (default 0). */
  seed?: number;
  /** Title drawn above the grid (default: dataset name and split). */
  title?: string;
}

/** One row of the grid: a label and the augmentation it shows. */
export interface GridRow {
  /** Label drawn left of the row. */
  name: string;
  /** The augmentation applied to the row's images. */
  config: AugmentConfig;
}

const MARGIN_LEFT = 80;
const MARGIN_TOP = 28;
const GAP = 4;

/** The grid's cell layout: image side, zoom and the canvas size. */
interface Layout {
  size: number;
  zoom: number;
  cell: number;
  width: number;
  height: number;
}

/**
 * Render a PNG grid: one row per preset, the same `count` images in each row,
 * augmented as in training (Mixup/CutMix included, over the row as a batch),
 * shown without normalization (so random erasing, whose value 0 means the
 * mean colour after normalization in training, shows as black). Returns the
 * PNG bytes.
 */
export async function renderAugmentGrid(
  dataset: GridImages,
  options: GridOptions = {},
): Promise<Uint8Array> {
  const { createCanvas } = await import("@napi-rs/canvas");
  const rows: GridRow[] = (options.rows ?? ["none", "basic", "heavy"]).map((r) =>
    typeof r === "string" ? { name: r, config: getPreset(r) } : r
  );
  const seed = options.seed ?? 0;
  const indices = gridIndices(dataset, options, seed);
  const size = options.imageSize ?? dataset.height;
  const zoom = options.zoom ?? Math.max(1, Math.round(112 / size));
  const cell = size * zoom;
  const layout: Layout = {
    size,
    zoom,
    cell,
    width: MARGIN_LEFT + indices.length * (cell + GAP),
    height: MARGIN_TOP + rows.length * (cell + GAP),
  };
  const canvas = createCanvas(layout.width, layout.height);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, layout.width, layout.height);
  const image = ctx.getImageData(0, 0, layout.width, layout.height);
  rows.forEach((row, r) => {
    const x = augmentRow(dataset, row.config, indices, { size, rng: rowRng(seed, r) });
    paintRow(image.data, x, { layout, row: r, count: indices.length, channels: dataset.channels });
  });
  ctx.putImageData(image, 0, 0);
  ctx.fillStyle = "#000000";
  ctx.font = "14px sans-serif";
  ctx.fillText(options.title ?? `${dataset.name} ${dataset.split}`, 8, 18);
  rows.forEach((row, r) => {
    ctx.fillText(row.name, 8, MARGIN_TOP + r * (cell + GAP) + cell / 2 + 5);
  });
  return new Uint8Array(canvas.toBuffer("image/png"));
}

/** The images shown: `options.indices`, or `count` drawn with the seed; checked against `n`. */
function gridIndices(dataset: GridImages, options: GridOptions, seed: number): number[] {
  const count = options.indices?.length ?? options.count ?? 8;
  const indices = options.indices ??
    Array.from(new Rng(hashSeed(seed, [0x6e1d])).permutation(dataset.n).subarray(0, count));
  for (const i of indices) {
    if (!(i >= 0 && i < dataset.n)) {
      throw new RangeError(`renderAugmentGrid: index ${i} is outside 0..${dataset.n - 1}.`);
    }
  }
  return indices;
}

/** The generator of row `r`. */
function rowRng(seed: number, r: number): Rng {
  return new Rng(hashSeed(seed, [r, 0x9a1d]));
}

/** The row's images augmented (unnormalized) and, when configured, mixed as one batch: N×C×S×S. */
function augmentRow(
  dataset: GridImages,
  config: AugmentConfig,
  indices: readonly number[],
  options: { size: number; rng: Rng },
): Float32Array {
  const { size, rng } = options;
  const channels = dataset.channels;
  const aug = createAugmenter(config, {
    input: { height: dataset.height, width: dataset.width, channels },
    height: size,
    channels,
    normalize: "none",
  });
  const x = new Float32Array(indices.length * aug.outSize);
  indices.forEach((idx, i) =>
    aug.apply(dataset.images, rng, { index: idx, out: x, offset: i * aug.outSize })
  );
  if (config.mix) {
    mixBatch(
      {
        x,
        targets: new Float32Array(indices.length),
        n: indices.length,
        channels,
        height: size,
        width: size,
        numClasses: 1,
      },
      rng,
      config.mix,
    );
  }
  return x;
}

/** Copy row `row`'s images, zoomed, into the canvas pixels (RGBA). */
function paintRow(
  rgba: Uint8ClampedArray,
  x: Float32Array,
  options: { layout: Layout; row: number; count: number; channels: number },
): void {
  const { layout, row, count, channels } = options;
  const { size, zoom, cell, width } = layout;
  const plane = size * size;
  const outSize = channels * plane;
  for (let i = 0; i < count; i++) {
    const ox = MARGIN_LEFT + i * (cell + GAP);
    const oy = MARGIN_TOP + row * (cell + GAP);
    for (let y = 0; y < cell; y++) {
      const sy = Math.floor(y / zoom);
      let p = ((oy + y) * width + ox) * 4;
      for (let xx = 0; xx < cell; xx++, p += 4) {
        const s = i * outSize + sy * size + Math.floor(xx / zoom);
        const v0 = toByte(x[s]);
        rgba[p] = v0;
        rgba[p + 1] = channels === 3 ? toByte(x[s + plane]) : v0;
        rgba[p + 2] = channels === 3 ? toByte(x[s + 2 * plane]) : v0;
        rgba[p + 3] = 255;
      }
    }
  }
}

/** Render the grid (see {@linkcode renderAugmentGrid}) and write it to `path` atomically. */
export async function writeAugmentGrid(
  path: string,
  dataset: GridImages,
  options: GridOptions = {},
): Promise<void> {
  await atomicWriteFile(path, await renderAugmentGrid(dataset, options));
}

function toByte(v: number): number {
  const b = Math.round(v * 255);
  return b < 0 ? 0 : b > 255 ? 255 : b;
}

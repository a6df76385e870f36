/**
 * Write a PNG grid showing 8 training images under each augmentation preset
 * (rows none / basic / heavy).
 *
 *   deno run -A examples/augment_grid.ts [--dataset breastmnist] [--out out/augment_grid.png]
 *     [--size 28] [--count 8] [--seed 0] [--root DIR] [--download]
 *
 * The data folder is --root, else env MEDTUNE_DATA_DIR, else the cache folder.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { writeAugmentGrid } from "../lib/augment/mod.ts";
import { loadMedMNIST, MEDMNIST_NAMES } from "../lib/data/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    dataset: { type: "string", default: "breastmnist" },
    out: { type: "string", default: "out/augment_grid.png" },
    size: { type: "string", default: "28" },
    count: { type: "string", default: "8" },
    seed: { type: "string", default: "0" },
    root: { type: "string" },
    download: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  console.log(
    `usage: deno run -A examples/augment_grid.ts [--dataset NAME] [--out FILE.png] [--size N]
       [--count N] [--seed N] [--root DIR] [--download]
datasets: ${MEDMNIST_NAMES.join(", ")}`,
  );
  Deno.exit(0);
}

function intFlag(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`augment_grid: --${name} must be a non-negative integer, got "${text}".`);
    Deno.exit(2);
  }
  return n;
}

const train = await loadMedMNIST(values.dataset, {
  split: "train",
  root: values.root,
  download: values.download,
});
await writeAugmentGrid(values.out, train, {
  count: intFlag("count", values.count),
  imageSize: intFlag("size", values.size),
  seed: intFlag("seed", values.seed),
  title: `${train.name} train: rows = presets none / basic / heavy (seed ${values.seed})`,
});
console.log(`wrote ${values.out}`);

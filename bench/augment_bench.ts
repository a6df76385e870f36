/**
 * Augmentation throughput, one core: images per second for each preset at
 * 28 px (BreastMNIST train images, 1 channel out) and 224 px (synthetic
 * 224×224 grayscale inputs, 3 channels out, as for an ImageNet-pretrained
 * model), plus the batch loader end to end.
 *
 *   deno bench -A bench/augment_bench.ts            # Deno.bench groups; img/s = N / time
 *   deno run -A bench/augment_bench.ts --print      # prints img/s and the prefetch overlap
 *
 * Each bench iteration augments N images (N is in the bench name) with
 * Mixup/CutMix applied over them as one batch for `heavy`.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { mixBatch } from "../lib/augment/mix.ts";
import { createAugmenter } from "../lib/augment/pipeline.ts";
import type { PresetName } from "../lib/augment/presets.ts";
import { getPreset } from "../lib/augment/presets.ts";
import { Rng } from "../lib/util/rng.ts";
import type { Dataset } from "../lib/data/dataset.ts";
import { createLoader } from "../lib/data/loader.ts";
import { loadMedMNIST } from "../lib/data/medmnist.ts";

const DATA_DIR = Deno.env.get("MEDTUNE_DATA_DIR") ??
  fileURLToPath(new URL("../../shared/data", import.meta.url));

async function breastTrain(): Promise<Dataset> {
  try {
    return await loadMedMNIST("breastmnist", { root: DATA_DIR, split: "train" });
  } catch {
    return synthetic(546, 28); // no data folder: same shape, synthetic pixels
  }
}

/** Smooth synthetic grayscale images (a blob and a gradient), like MedMNIST+ 224 px. */
function synthetic(n: number, size: number): Dataset {
  const images = new Uint8Array(n * size * size);
  const rng = new Rng(1);
  for (let i = 0; i < n; i++) {
    const cx = rng.uniform(0.3, 0.7) * size, cy = rng.uniform(0.3, 0.7) * size;
    const r = rng.uniform(0.1, 0.3) * size;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const d = Math.hypot(x - cx, y - cy) / r;
        images[(i * size + y) * size + x] = Math.min(255, 40 + 120 * Math.exp(-d * d) + y / 4);
      }
    }
  }
  const labels = new Int32Array(n).map((_, i) => i % 2);
  return {
    name: `synthetic${size}`,
    split: "train",
    images,
    labels,
    n,
    height: size,
    width: size,
    channels: 1,
    numClasses: 2,
    task: "binary",
    labelNames: ["0", "1"],
  };
}

/** Augment `count` images of `ds` (cycling) into one batch, then mix it for presets with `mix`. */
function makeRunner(ds: Dataset, preset: PresetName, channels: number, count: number) {
  const config = getPreset(preset);
  const aug = createAugmenter(config, {
    input: { height: ds.height, width: ds.width, channels: ds.channels },
    channels,
  });
  const x = new Float32Array(count * aug.outSize);
  const targets = new Float32Array(count * 2);
  let seed = 0;
  return () => {
    const rng = new Rng(seed++);
    for (let i = 0; i < count; i++) {
      aug.apply(ds.images, rng, { index: (seed * 7 + i) % ds.n, out: x, offset: i * aug.outSize });
    }
    if (config.mix) {
      mixBatch(
        { x, targets, n: count, channels, height: aug.height, width: aug.width, numClasses: 2 },
        rng,
        config.mix,
      );
    }
  };
}

const PRESETS: PresetName[] = ["none", "basic", "heavy"];
const N28 = 256;
const N224 = 16;
const small = await breastTrain();
const large = synthetic(64, 224);

for (const preset of PRESETS) {
  Deno.bench(`${preset} 28px ×${N28} img`, {
    group: "28px",
    baseline: preset === "none",
  }, makeRunner(small, preset, 1, N28));
}
for (const preset of PRESETS) {
  Deno.bench(`${preset} 224px→3ch ×${N224} img`, {
    group: "224px",
    baseline: preset === "none",
  }, makeRunner(large, preset, 3, N224));
}
{
  const loader = createLoader(small, { batchSize: 128, augment: "basic", prefetch: false });
  let epoch = 0;
  Deno.bench(`loader basic 28px, full epoch ×${small.n} img`, { group: "loader" }, async () => {
    for await (const _ of loader.epoch(epoch++)) { /* consume */ }
  });
}

async function printReport(): Promise<void> {
  const rate = (fn: () => void, count: number, ms: number) => {
    for (let i = 0; i < 3; i++) fn(); // warm up the JIT
    const t0 = performance.now();
    let iters = 0;
    while (performance.now() - t0 < ms) {
      fn();
      iters++;
    }
    return (iters * count * 1000) / (performance.now() - t0);
  };
  console.log("preset  size  img/s (one core)");
  for (const preset of PRESETS) {
    const r28 = rate(makeRunner(small, preset, 1, N28), N28, 1500);
    const r224 = rate(makeRunner(large, preset, 3, N224), N224, 1500);
    console.log(`${preset.padEnd(6)}  28    ${Math.round(r28)}`);
    console.log(`${preset.padEnd(6)}  224   ${Math.round(r224)}`);
  }

  // Prefetch: with a 224 px heavy batch of 32 and a simulated asynchronous 40 ms step (the
  // runtime working off the main thread), building batch i+1 overlaps step i.
  const ds = synthetic(160, 224);
  for (const prefetch of [false, true]) {
    let prepMs = 0;
    const loader = createLoader(ds, {
      batchSize: 32,
      augment: "heavy",
      channels: 3,
      prefetch,
      onPrepared: (_b, ms) => (prepMs += ms),
    });
    for await (const _ of loader.epoch(0)) { /* warm-up */ }
    prepMs = 0;
    const t0 = performance.now();
    for await (const _ of loader.epoch(1)) await new Promise((r) => setTimeout(r, 40));
    const total = performance.now() - t0;
    console.log(
      `prefetch ${prefetch ? "on " : "off"}: ${loader.numBatches} batches, build ${
        prepMs.toFixed(0)
      } ms + steps ${40 * loader.numBatches} ms → wall ${total.toFixed(0)} ms`,
    );
  }
}

if (Deno.args.includes("--print")) await printReport();

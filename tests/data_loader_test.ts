import assert from "node:assert/strict";
import type { Dataset } from "../lib/data/dataset.ts";
import {
  type Batch,
  createLoader,
  epochOrder,
  loadBatches,
  numBatches,
} from "../lib/data/loader.ts";
import { loadMedMNIST } from "../lib/data/medmnist.ts";
import { presets } from "../lib/augment/presets.ts";
import { DATA_DIR, syntheticDataset } from "./data_fixtures.ts";

const train = await loadMedMNIST("breastmnist", { root: DATA_DIR, split: "train" });

async function collect(it: AsyncIterable<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

function bytes(batches: Batch[]): Uint8Array[] {
  return batches.map((b) => new Uint8Array(b.x.buffer.slice(0)));
}

Deno.test("loader: batch shapes, counts, drop-last, last partial batch", async () => {
  const batches = await collect(
    loadBatches(train, { batchSize: 100, imageSize: 32, channels: 3, augment: "basic" }),
  );
  assert.equal(batches.length, 6);
  assert.deepEqual(batches.map((b) => b.n), [100, 100, 100, 100, 100, 46]);
  const b = batches[5];
  assert.equal(b.x.length, 46 * 3 * 32 * 32);
  assert.equal(b.targets.length, 46 * 2);
  assert.equal(b.labels.length, 46);
  assert.deepEqual([b.channels, b.height, b.width, b.numClasses, b.index], [3, 32, 32, 2, 5]);
  // the epoch is a permutation of the dataset
  const seen = batches.flatMap((x) => Array.from(x.indices)).toSorted((p, q) => p - q);
  assert.deepEqual(seen, Array.from({ length: 546 }, (_, i) => i));
  // labels and one-hot targets agree with the dataset
  for (let i = 0; i < b.n; i++) {
    assert.equal(b.labels[i], train.labels[b.indices[i]]);
    assert.equal(b.targets[2 * i + b.labels[i]], 1);
  }
  assert.equal(numBatches(train, { batchSize: 100, dropLast: true }), 5);
  const dropped = await collect(loadBatches(train, { batchSize: 100, dropLast: true }));
  assert.deepEqual(dropped.map((x) => x.n), [100, 100, 100, 100, 100]);
  assert.throws(
    () => createLoader(train, { batchSize: 0 }),
    /"batchSize" must be a positive integer/,
  );
});

Deno.test("loader: same seed and epoch → identical batches bit for bit; seeds and epochs differ", async () => {
  const opts = { batchSize: 64, augment: "heavy" as const, seed: 7, imageSize: 28 };
  const a = bytes(await collect(loadBatches(train, { ...opts, epoch: 2 })));
  const b = bytes(await collect(loadBatches(train, { ...opts, epoch: 2, prefetch: false })));
  assert.deepEqual(a, b);
  const c = bytes(await collect(loadBatches(train, { ...opts, epoch: 3 })));
  const d = bytes(await collect(loadBatches(train, { ...opts, epoch: 2, seed: 8 })));
  assert.notDeepEqual(a[0], c[0]);
  assert.notDeepEqual(a[0], d[0]);
  // a single batch can be rebuilt on its own
  const loader = createLoader(train, { ...opts, epoch: 2 });
  assert.deepEqual(new Uint8Array(loader.batch(3).x.buffer), a[3]);
  assert.throws(() => loader.batch(9), /batch index 9 is out of range 0\.\.8/);
});

Deno.test("loader: no shuffle keeps dataset order; shuffling differs per epoch", () => {
  assert.deepEqual(
    Array.from(epochOrder(train, { shuffle: false })),
    Array.from({ length: 546 }, (_, i) => i),
  );
  const e0 = epochOrder(train, { seed: 1, epoch: 0 });
  const e1 = epochOrder(train, { seed: 1, epoch: 1 });
  assert.notDeepEqual(e0, e1);
  assert.deepEqual(e0, epochOrder(train, { seed: 1, epoch: 0 }));
});

Deno.test("loader: class-balanced sampling evens out BreastMNIST's 27/73 split", () => {
  let minority = 0, total = 0;
  for (let epoch = 0; epoch < 4; epoch++) {
    const order = epochOrder(train, { balanced: true, seed: 3, epoch });
    assert.equal(order.length, 546);
    for (const i of order) minority += train.labels[i] === 0 ? 1 : 0;
    total += order.length;
  }
  const frac = minority / total;
  assert.ok(frac > 0.45 && frac < 0.55, `malignant fraction ${frac}`);
  const multi: Dataset = { ...syntheticDataset(), task: "multi-label" };
  assert.throws(() => epochOrder(multi, { balanced: true }), /needs a single-label dataset/);
});

Deno.test("loader: heavy preset with smoothing gives smoothed, mixed soft targets that sum to 1", async () => {
  const augment = { ...presets.heavy, labelSmoothing: 0.1 };
  const batches = await collect(loadBatches(train, { batchSize: 32, augment, seed: 1 }));
  const kinds = new Set(batches.map((b) => b.mix.kind));
  assert.ok(kinds.has("mixup") && kinds.has("cutmix"), [...kinds].join());
  for (const b of batches) {
    for (let i = 0; i < b.n; i++) {
      const t0 = b.targets[2 * i], t1 = b.targets[2 * i + 1];
      assert.ok(Math.abs(t0 + t1 - 1) < 1e-5);
      assert.ok(t0 >= 0.05 - 1e-6 && t1 >= 0.05 - 1e-6); // smoothing 0.1 over 2 classes
    }
  }
});

Deno.test("loader: normalize 'dataset' centres the pixels; multi-label targets are multi-hot", async () => {
  const [b] = await collect(
    loadBatches(train, { batchSize: 546, normalize: "dataset", shuffle: false }),
  );
  let s = 0, s2 = 0;
  for (const v of b.x) {
    s += v;
    s2 += v * v;
  }
  const mean = s / b.x.length;
  assert.ok(Math.abs(mean) < 1e-3, `mean ${mean}`);
  assert.ok(Math.abs(s2 / b.x.length - mean * mean - 1) < 1e-3);

  const base = syntheticDataset({ n: 4, numClasses: 3 });
  const multi: Dataset = {
    ...base,
    task: "multi-label",
    labels: Int32Array.from([1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 1, 0]),
  };
  const [m] = await collect(loadBatches(multi, { batchSize: 4, shuffle: false }));
  assert.deepEqual(Array.from(m.targets), Array.from(multi.labels));
  assert.deepEqual(Array.from(m.labels), Array.from(multi.labels));
});

Deno.test("loader: prefetch prepares batch i+1 while the consumer awaits its step on batch i", async () => {
  const events: string[] = [];
  const loader = createLoader(train, {
    batchSize: 128,
    augment: "basic",
    onPrepared: (b) => events.push(`prepared ${b}`),
  });
  for await (const b of loader.epoch(0)) {
    events.push(`step ${b.index} start`);
    await new Promise((r) => setTimeout(r, 5)); // stands in for an async runtime step
    events.push(`step ${b.index} end`);
  }
  for (let i = 0; i + 1 < loader.numBatches; i++) {
    const next = events.indexOf(`prepared ${i + 1}`);
    assert.ok(next > events.indexOf(`step ${i} start`), events.join(" | "));
    assert.ok(next < events.indexOf(`step ${i} end`), events.join(" | "));
  }
  // breaking out early leaves nothing running
  for await (const _ of loader.epoch(1)) break;
});

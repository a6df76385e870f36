// --limit-images: the subset is deterministic, class-stratified (every class
// keeps its share and at least one image), in dataset order, and the images
// travel with their labels.

import assert from "node:assert/strict";
import type { Dataset } from "../lib/data/dataset.ts";
import { loadMedMNISTSplits } from "../lib/data/medmnist.ts";
import { aucRoc } from "../lib/metrics/auc.ts";
import { limitDataset, limitedSizes, strataOf, stratifiedIndices } from "../lib/study/subset.ts";
import { DATA_DIR } from "./data_fixtures.ts";

const count = (xs: ArrayLike<number>, v: number) => Array.from(xs).filter((x) => x === v).length;

Deno.test("stratifiedIndices: each class its share (largest remainder), one at least, evenly spaced", () => {
  // 90 of class 0, 9 of class 1, 1 of class 2.
  const labels = [...Array(90).fill(0), ...Array(9).fill(1), 2];
  const keep = stratifiedIndices(labels, { strata: 3, limit: 10 });
  // Shares 9, 0.9, 0.1 → 9, 1 (largest remainder), 0; class 2 then takes one from class 0.
  assert.deepEqual(keep.map((i) => labels[i]).reduce((c, l) => (c[l]++, c), [0, 0, 0]), [8, 1, 1]);
  assert.deepEqual(
    keep.slice(0, 8),
    [5, 16, 28, 39, 50, 61, 73, 84],
    "evenly spaced through class 0",
  );
  assert.deepEqual(keep.slice(8), [94, 99]);
  assert.deepEqual(stratifiedIndices(labels, { strata: 3, limit: 10 }), keep, "deterministic");
  // Enough room: everything, in order.
  assert.deepEqual(stratifiedIndices([1, 0, 1], { strata: 2, limit: 3 }), [0, 1, 2]);
  // Fewer slots than classes: the largest classes get one each.
  assert.deepEqual(stratifiedIndices(labels, { strata: 3, limit: 2 }).map((i) => labels[i]), [
    0,
    1,
  ]);
  assert.throws(() => stratifiedIndices(labels, { strata: 3, limit: 0 }), /limit must be/);
});

Deno.test("limitDataset on BreastMNIST: 32 images per split, both classes, pixels with their labels", async () => {
  const splits = await loadMedMNISTSplits("breastmnist", { root: DATA_DIR });
  for (const ds of Object.values(splits) as Dataset[]) {
    const cut = limitDataset(ds, 32);
    assert.equal(cut.n, 32);
    assert.equal(cut.labels.length, 32);
    const share = count(ds.labels, 1) / ds.n;
    assert.ok(
      Math.abs(count(cut.labels, 1) / 32 - share) <= 1 / 32,
      `${ds.split}: class share kept`,
    );
    // AUC is defined on the subset: both classes are there.
    assert.ok(count(cut.labels, 0) > 0 && count(cut.labels, 1) > 0);
    assert.ok(Number.isFinite(aucRoc(Array.from(cut.labels, (l, i) => l + i / 100), cut.labels)));
    // Each kept image is one of the originals, with its label, in dataset order.
    const keep = stratifiedIndices(ds.labels, { strata: 2, limit: 32 });
    const px = ds.height * ds.width * ds.channels;
    keep.forEach((src, dst) => {
      assert.equal(cut.labels[dst], ds.labels[src]);
      assert.deepEqual(
        cut.images.subarray(dst * px, (dst + 1) * px),
        ds.images.subarray(src * px, (src + 1) * px),
      );
    });
    assert.equal(limitDataset(ds, ds.n), ds, "no cut when the split is small enough");
  }
  assert.deepEqual(limitedSizes({ train: 546, val: 78, test: 156 }, 100), {
    train: 100,
    val: 78,
    test: 100,
  });
});

Deno.test("strataOf: multi-label images are stratified by their first positive label", () => {
  const ds: Dataset = {
    name: "toy",
    split: "train",
    images: new Uint8Array(4),
    labels: Int32Array.from([0, 1, 1, /**/ 0, 0, 0, /**/ 1, 0, 1, /**/ 0, 0, 1]),
    n: 4,
    height: 1,
    width: 1,
    channels: 1,
    numClasses: 3,
    task: "multi-label",
    labelNames: ["a", "b", "c"],
  };
  const { strata, count: k } = strataOf(ds);
  assert.deepEqual(Array.from(strata), [1, 3, 0, 2]);
  assert.equal(k, 4);
  const cut = limitDataset(ds, 2);
  assert.equal(cut.labels.length, 2 * 3);
});

// validateDataset: a hand-built Dataset is checked once, up front, with
// errors naming the dataset, split, image and value.

import assert from "node:assert/strict";
import { type Dataset, validateDataset } from "../lib/data/dataset.ts";
import { DataError } from "../lib/data/errors.ts";
import { syntheticDataset } from "./data_fixtures.ts";

function fails(ds: Dataset, message: string | RegExp): void {
  assert.throws(
    () => validateDataset(ds),
    (e: Error) =>
      e instanceof DataError &&
      (typeof message === "string" ? e.message === message : message.test(e.message)),
  );
}

Deno.test("a well-formed dataset passes, and is scanned only once", () => {
  const ds = syntheticDataset({ n: 12, numClasses: 3 });
  validateDataset(ds);
  // The same object and arrays are not scanned again: an in-place edit goes unseen...
  ds.labels[0] = 9;
  validateDataset(ds);
  // ...but new arrays are checked.
  ds.labels = ds.labels.slice();
  fails(ds, /1 label\(s\) out of range, the first 9 at image 0/);
});

Deno.test("single-label: labels must be integers in 0..numClasses-1, one per image", () => {
  const ds = syntheticDataset({ n: 6, numClasses: 3 });
  ds.labels = Int32Array.of(0, 1, 2, -1, 3, 1);
  fails(
    ds,
    'dataset "synthetic" (train split): 2 label(s) out of range, the first -1 at image 3; ' +
      "a multi-class task with 3 classes takes integers 0..2 — fix the labels or numClasses",
  );
  ds.labels = Int32Array.of(0, 1, 2);
  fails(
    ds,
    'dataset "synthetic" (train split): labels has 3 values but there are 6 images (one label per image)',
  );
  const frac = syntheticDataset({ n: 2 });
  frac.labels = Float32Array.of(0, 0.5) as unknown as Int32Array;
  fails(frac, /the first 0\.5 at image 1; a binary task with 2 classes takes integers 0\.\.1/);
});

Deno.test("multi-label: labels are n × numClasses values of 0 or 1", () => {
  const ds: Dataset = {
    ...syntheticDataset({ n: 3, numClasses: 4 }),
    name: "chestmnist",
    split: "test",
    task: "multi-label",
    labels: Int32Array.of(0, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0, 1),
  };
  validateDataset(ds);
  fails(
    { ...ds, labels: Int32Array.of(0, 1, 0, 1, 1, 2, 0, 0, 0, 0, 0, 1) },
    'dataset "chestmnist" (test split): 1 label(s) out of range, the first 2 at image 1, label 1; ' +
      "a multi-label task takes 0 or 1 per label — fix the labels or numClasses",
  );
  fails(
    { ...ds, labels: Int32Array.of(0, 1, 0) },
    /labels has 3 values but a multi-label task needs n·numClasses = 3·4 = 12/,
  );
});

Deno.test("pixels: a buffer of n·h·w·c values, finite when float", () => {
  const ds = syntheticDataset({ n: 4, size: 8, channels: 3, numClasses: 2 });
  fails(
    { ...ds, images: ds.images.subarray(1) },
    /^dataset "synthetic" \(train split\): images has 767 values but n·h·w·c = 4·8·8·3 = 768/,
  );
  const floats = Float32Array.from(ds.images);
  validateDataset({ ...ds, images: floats as unknown as Uint8Array });
  floats[8 * 8 * 3 * 2 + 1] = -Infinity;
  fails(
    { ...ds, images: floats as unknown as Uint8Array },
    /images holds 1 non-finite value\(s\), the first -Infinity in image 2 \(offset 385\)/,
  );
  fails(
    { ...ds, images: [1, 2, 3] as unknown as Uint8Array },
    /images must be a Uint8Array \(N×H×W×C\), got a plain array/,
  );
});

Deno.test("shape fields, task and class count are checked", () => {
  const ds = syntheticDataset({ n: 4 });
  fails({ ...ds, channels: 2 }, /channels must be 1 or 3, got 2/);
  fails({ ...ds, n: 0 }, /n must be an integer >= 1, got 0/);
  fails({ ...ds, numClasses: 3 }, /a binary task has numClasses 2, got 3/);
  fails({ ...ds, task: "regression" as Dataset["task"] }, /task must be one of .*got "regression"/);
  fails({ ...ds, labelNames: ["a"] }, /labelNames has 1 names but numClasses is 2/);
});

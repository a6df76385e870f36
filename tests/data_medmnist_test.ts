import assert from "node:assert/strict";
import { classCounts, computeChannelStats, type Dataset } from "../lib/data/dataset.ts";
import { DataError } from "../lib/data/errors.ts";
import {
  clearMedMNISTCache,
  datasetFromNpz,
  loadMedMNIST,
  loadMedMNISTSplits,
  md5File,
  MEDMNIST_INFO,
  MEDMNIST_NAMES,
  MEDMNIST_SIZES,
  medmnistInfo,
} from "../lib/data/medmnist.ts";
import { encodeNpz, openNpz } from "../lib/data/npz.ts";
import { DATA_DIR } from "./data_fixtures.ts";

/**
 * Per-channel mean and population std of the pixels / 255, two passes in
 * float64 over the raw HWC bytes: an independent reference for
 * computeChannelStats (which works from a histogram).
 */
function referenceChannelStats(ds: Dataset): { mean: number[]; std: number[] } {
  const c = ds.channels;
  const count = ds.images.length / c;
  const mean: number[] = [], std: number[] = [];
  for (let k = 0; k < c; k++) {
    let s = 0;
    for (let i = k; i < ds.images.length; i += c) s += ds.images[i] / 255;
    const m = s / count;
    let ss = 0;
    for (let i = k; i < ds.images.length; i += c) ss += (ds.images[i] / 255 - m) ** 2;
    mean.push(m);
    std.push(Math.sqrt(ss / count));
  }
  return { mean, std };
}

/** computeChannelStats equals the reference to 1e-6 in every channel. */
function assertChannelStats(ds: Dataset): void {
  const got = computeChannelStats(ds);
  const ref = referenceChannelStats(ds);
  assert.equal(got.mean.length, ds.channels);
  assert.equal(got.std.length, ds.channels);
  for (let k = 0; k < ds.channels; k++) {
    assert.ok(
      Math.abs(got.mean[k] - ref.mean[k]) < 1e-6,
      `mean[${k}] ${got.mean[k]} vs ${ref.mean[k]}`,
    );
    assert.ok(Math.abs(got.std[k] - ref.std[k]) < 1e-6, `std[${k}] ${got.std[k]} vs ${ref.std[k]}`);
  }
}

Deno.test("medmnist info: 12 datasets with tasks, channels, labels, splits, URLs and md5s", () => {
  assert.equal(MEDMNIST_NAMES.length, 12);
  assert.deepEqual(MEDMNIST_NAMES, [
    "pathmnist",
    "chestmnist",
    "dermamnist",
    "octmnist",
    "pneumoniamnist",
    "retinamnist",
    "breastmnist",
    "bloodmnist",
    "tissuemnist",
    "organamnist",
    "organcmnist",
    "organsmnist",
  ]);
  for (const name of MEDMNIST_NAMES) {
    const info = MEDMNIST_INFO[name];
    assert.equal(info.labelNames.length, info.numClasses, name);
    for (const size of MEDMNIST_SIZES) {
      const f = info.files[size];
      const file = size === 28 ? `${name}.npz` : `${name}_${size}.npz`;
      assert.equal(f.url, `https://zenodo.org/records/10519652/files/${file}?download=1`);
      assert.match(f.md5 ?? "", /^[0-9a-f]{32}$/, `${name} ${size}`);
    }
  }
  assert.equal(MEDMNIST_INFO.chestmnist.task, "multi-label");
  assert.equal(MEDMNIST_INFO.chestmnist.numClasses, 14);
  assert.equal(MEDMNIST_INFO.retinamnist.task, "ordinal-regression");
  assert.equal(MEDMNIST_INFO.breastmnist.task, "binary");
  assert.equal(MEDMNIST_INFO.pathmnist.task, "multi-class");
  assert.equal(MEDMNIST_INFO.pathmnist.channels, 3);
  assert.deepEqual(MEDMNIST_INFO.breastmnist.samples, { train: 546, val: 78, test: 156 });
  assert.equal(MEDMNIST_INFO.breastmnist.files[28].md5, "750601b1f35ba3300ea97c75c52ff8f6");
  assert.throws(() => medmnistInfo("mnist"), /unknown MedMNIST dataset "mnist"; expected one of/);
  assert.throws(() => {
    (MEDMNIST_INFO.breastmnist as { numClasses: number }).numClasses = 3;
  }, TypeError);
});

Deno.test("medmnist: BreastMNIST splits have the documented counts and labels", async () => {
  const { train, val, test } = await loadMedMNISTSplits("breastmnist", { root: DATA_DIR });
  const expected = { train: [546, 147, 399], val: [78, 21, 57], test: [156, 42, 114] };
  for (const ds of [train, val, test]) {
    const [n, c0, c1] = expected[ds.split];
    assert.equal(ds.n, n);
    assert.equal(ds.images.length, n * 28 * 28);
    assert.equal(ds.labels.length, n);
    assert.deepEqual(classCounts(ds), [c0, c1]);
    assert.equal(ds.height, 28);
    assert.equal(ds.width, 28);
    assert.equal(ds.channels, 1);
    assert.equal(ds.numClasses, 2);
    assert.equal(ds.task, "binary");
    assert.deepEqual(ds.labelNames, ["malignant", "normal, benign"]);
  }
  assertChannelStats(train);
});

Deno.test("medmnist: PneumoniaMNIST and RetinaMNIST (RGB, 5 classes) load with their counts", async () => {
  const pneu = await loadMedMNISTSplits("pneumoniamnist", { root: DATA_DIR });
  assert.deepEqual([pneu.train.n, pneu.val.n, pneu.test.n], [4708, 524, 624]);
  assert.deepEqual(classCounts(pneu.train), [1214, 3494]);
  assert.deepEqual(classCounts(pneu.test), [234, 390]);
  const retina = await loadMedMNISTSplits("retinamnist", { root: DATA_DIR });
  assert.deepEqual([retina.train.n, retina.val.n, retina.test.n], [1080, 120, 400]);
  assert.equal(retina.train.channels, 3);
  assert.equal(retina.train.numClasses, 5);
  assert.equal(retina.train.task, "ordinal-regression");
  assert.equal(retina.train.images.length, 1080 * 28 * 28 * 3);
  assert.deepEqual(classCounts(retina.train), [486, 128, 206, 194, 66]);
  assert.deepEqual(classCounts(retina.val), [54, 12, 28, 20, 6]);
  assert.deepEqual(classCounts(retina.test), [174, 46, 92, 68, 20]);
  // RGB statistics: the three interleaved channels differ and each matches the reference.
  assertChannelStats(retina.train);
  const rgb = computeChannelStats(retina.train);
  assert.ok(rgb.mean[0] !== rgb.mean[1] && rgb.mean[1] !== rgb.mean[2]);
});

Deno.test("medmnist: md5 passes on the real files and fails on a flipped byte", async () => {
  for (const name of ["breastmnist", "pneumoniamnist", "retinamnist"] as const) {
    assert.equal(await md5File(`${DATA_DIR}/${name}.npz`), MEDMNIST_INFO[name].files[28].md5);
  }
  const dir = await Deno.makeTempDir({ prefix: "medtune_md5_" });
  try {
    const bytes = await Deno.readFile(`${DATA_DIR}/breastmnist.npz`);
    bytes[1000] ^= 0x01;
    await Deno.writeFile(`${dir}/breastmnist.npz`, bytes);
    await assert.rejects(
      () => loadMedMNIST("breastmnist", { root: dir, cache: false }),
      (err: unknown) =>
        err instanceof DataError &&
        /MD5 mismatch for .*breastmnist\.npz: got [0-9a-f]{32}, expected 750601b1f35ba3300ea97c75c52ff8f6/
          .test(err.message) &&
        /download: true/.test(err.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("medmnist: a missing file says where to put it and how to get it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "medtune_missing_" });
  try {
    await assert.rejects(
      () => loadMedMNIST("dermamnist", { root: dir, size: 64 }),
      (err: unknown) => {
        assert.ok(err instanceof DataError);
        assert.match(err.message, /dermamnist_64\.npz not found; looked in: /);
        assert.ok(err.message.includes(dir));
        assert.ok(
          err.message.includes("https://zenodo.org/records/10519652/files/dermamnist_64.npz"),
        );
        assert.match(err.message, /\{ download: true \}/);
        return true;
      },
    );
    await assert.rejects(() => loadMedMNIST("breastmnist", { root: dir, size: 32 as 28 }), /size/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("medmnist: download is md5-verified and written atomically into the folder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "medtune_dl_" });
  const real = await Deno.readFile(`${DATA_DIR}/breastmnist.npz`);
  const urls: string[] = [];
  const serve = (body: Uint8Array): typeof fetch => (input) => {
    urls.push(String(input));
    return Promise.resolve(new Response(body.slice(), { status: 200 }));
  };
  try {
    // a corrupted download is rejected and nothing is left behind
    const bad = real.slice();
    bad[500] ^= 0xff;
    await assert.rejects(
      () => loadMedMNIST("breastmnist", { root: dir, download: true, fetch: serve(bad) }),
      /MD5 mismatch/,
    );
    assert.deepEqual([...Deno.readDirSync(dir)], []);
    // HTTP errors say so
    await assert.rejects(
      () =>
        loadMedMNIST("breastmnist", {
          root: dir,
          download: true,
          fetch: () => Promise.resolve(new Response("gone", { status: 404 })),
        }),
      /HTTP 404/,
    );
    // a good download lands in the folder and loads
    const ds = await loadMedMNIST("breastmnist", {
      root: dir,
      download: true,
      split: "val",
      fetch: serve(real),
      cache: false,
    });
    assert.equal(ds.n, 78);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["breastmnist.npz"]);
    assert.equal(urls[0], "https://zenodo.org/records/10519652/files/breastmnist.npz?download=1");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("medmnist: env MEDTUNE_DATA_DIR is used when no root is given; the archive is cached", async () => {
  const before = Deno.env.get("MEDTUNE_DATA_DIR");
  Deno.env.set("MEDTUNE_DATA_DIR", DATA_DIR);
  try {
    clearMedMNISTCache();
    // count file reads: the second split must reuse the opened (and verified) archive
    const readFile = Deno.readFile;
    let reads = 0;
    Deno.readFile = (...args: Parameters<typeof Deno.readFile>) => {
      reads++;
      return readFile(...args);
    };
    try {
      const val = await loadMedMNIST("pneumoniamnist", { split: "val" });
      const test = await loadMedMNIST("pneumoniamnist", { split: "test" });
      assert.deepEqual([val.n, test.n], [524, 624]);
      assert.equal(reads, 1);
      clearMedMNISTCache();
      await loadMedMNIST("pneumoniamnist", { split: "val" });
      assert.equal(reads, 2);
    } finally {
      Deno.readFile = readFile;
    }
  } finally {
    if (before === undefined) Deno.env.delete("MEDTUNE_DATA_DIR");
    else Deno.env.set("MEDTUNE_DATA_DIR", before);
    clearMedMNISTCache();
  }
});

Deno.test("medmnist error: image and label counts that disagree", () => {
  const npz = encodeNpz({
    train_images: { dtype: "u1", shape: [3, 2, 2], data: new Uint8Array(12) },
    train_labels: { dtype: "u1", shape: [2, 1], data: new Uint8Array([0, 1]) },
  });
  assert.throws(
    () =>
      datasetFromNpz(openNpz(npz, { file: "mine.npz" }), {
        name: "mine",
        split: "train",
        task: "binary",
        numClasses: 2,
      }),
    /^DataError: mine\.npz, member "train_labels\.npy": has 2 labels but train_images\.npy has 3 images; image and label counts must agree/,
  );
});

Deno.test("medmnist error: labels out of range, wrong label shape, non-uint8 images", () => {
  const archive = (labels: Uint8Array, shape: number[], images = new Uint8Array(8)) =>
    openNpz(
      encodeNpz({
        val_images: { dtype: "u1", shape: [2, 2, 2], data: images },
        val_labels: { dtype: "u1", shape, data: labels },
      }),
      { file: "mine.npz" },
    );
  const opts = { name: "mine", split: "val" as const, task: "multi-class" as const, numClasses: 3 };
  assert.throws(
    () => datasetFromNpz(archive(new Uint8Array([0, 3]), [2, 1]), opts),
    /mine\.npz, member "val_labels\.npy": label 3 of image 1 is out of range 0\.\.2 for mine \(multi-class, 3 classes\)/,
  );
  assert.throws(
    () => datasetFromNpz(archive(new Uint8Array([0, 1, 1, 0]), [2, 2]), opts),
    /labels must have shape \(N, 1\) or \(N,\).*got \(2, 2\)/,
  );
  assert.throws(
    () =>
      datasetFromNpz(archive(new Uint8Array([0, 2, 1, 0]), [2, 2]), {
        ...opts,
        task: "multi-label",
        numClasses: 2,
      }),
    /label 2 of image 0 is out of range 0\.\.1/,
  );
  const ok = datasetFromNpz(archive(new Uint8Array([0, 1, 1, 0]), [2, 2]), {
    ...opts,
    task: "multi-label",
    numClasses: 2,
  });
  assert.deepEqual(Array.from(ok.labels), [0, 1, 1, 0]);
  const f4 = openNpz(
    encodeNpz({
      val_images: { dtype: "f4", shape: [2, 2, 2], data: new Float32Array(8) },
      val_labels: { dtype: "u1", shape: [2], data: new Uint8Array(2) },
    }),
    { file: "f.npz" },
  );
  assert.throws(
    () => datasetFromNpz(f4, opts),
    /f\.npz, member "val_images\.npy": images must be uint8/,
  );
});

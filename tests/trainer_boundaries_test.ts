// The Trainer's boundaries: every numeric option checked where it enters,
// datasets checked up front, checkpoints loaded strictly by name and shape
// (errors naming the file), and divergence (NaN/Inf loss, gradient norm or
// validation predictions) raised as TrainingDivergedError with the partial
// epoch kept in its history.

import assert from "node:assert/strict";
import type { Dataset } from "../lib/data/dataset.ts";
import { loadMedMNISTSplits } from "../lib/data/medmnist.ts";
import { createBackend } from "../lib/runtime/select.ts";
import type { FitOptions, TrainerOptions } from "../lib/train/trainer.ts";
import { Trainer, TrainingDivergedError } from "../lib/train/trainer.ts";
import { loadSafetensors, saveSafetensors, type TensorInput } from "../lib/weights/safetensors.ts";
import { DATA_DIR, syntheticDataset } from "./data_fixtures.ts";
import { tinyCnn } from "./_tiny_cnn.ts";

const { train, val } = await loadMedMNISTSplits("breastmnist", { root: DATA_DIR });
const backend = await createBackend("cpu", { verbose: false });
const model = () => tinyCnn({ imageSize: 28 });
const base: TrainerOptions = { backend, optimizer: { name: "adamw", lr: 1e-3 }, seed: 3 };
const FIT: FitOptions = { epochs: 1, batchSize: 8, maxStepsPerEpoch: 2 };

async function rejection(p: Promise<unknown>): Promise<Error> {
  return await p.then(
    () => assert.fail("expected a rejection"),
    (e: Error) => e,
  );
}

// ------------------------------------------------------------------ options

Deno.test("clipGradNorm -1 is rejected at construction, naming the option, value and range", () => {
  assert.throws(
    () => new Trainer(model(), { ...base, clipGradNorm: -1 }),
    (e: Error) =>
      e instanceof RangeError &&
      e.message.includes("Trainer: clipGradNorm must be a finite number > 0, got -1") &&
      e.message.includes("omit it to train without clipping"),
  );
});

Deno.test("maxStepsPerEpoch 0 is rejected by fit before any step", async () => {
  const t = new Trainer(model(), base);
  const err = await rejection(t.fit(train, val, { ...FIT, maxStepsPerEpoch: 0 }));
  assert.match(err.message, /^fit: maxStepsPerEpoch must be an integer >= 1, got 0/);
  assert.equal(t.session, undefined, "nothing was compiled");
  await t.dispose();
});

Deno.test("every numeric Trainer option is checked with its name, value and range", () => {
  const cases: [Partial<TrainerOptions>, string][] = [
    [{ labelSmoothing: 1 }, "labelSmoothing must be a finite number in [0, 1), got 1"],
    [{ emaDecay: 1 }, "emaDecay must be a finite number in (0, 1), got 1"],
    [{ emaDecay: 0 }, "emaDecay must be a finite number in (0, 1), got 0"],
    [{ seed: 1.5 }, "seed must be an integer, got 1.5"],
    [{ evalBatchSize: 0 }, "evalBatchSize must be an integer >= 1, got 0"],
    [{ clipGradNorm: NaN }, "clipGradNorm must be a finite number > 0, got NaN"],
    [{ classWeights: [1] }, "classWeights must have one weight per class (2), got [1]"],
    [{ classWeights: [1, -2] }, "classWeights[1] must be a finite number >= 0, got -2"],
    [{ optimizer: { name: "adamw", lr: 0 } }, "optimizer.lr must be a finite number > 0, got 0"],
    [
      { optimizer: { name: "adamw", lr: Infinity } },
      "optimizer.lr must be a finite number > 0, got Infinity",
    ],
    [
      { optimizer: { name: "adamw", lr: 1e-3, weightDecay: -1 } },
      "optimizer.weightDecay must be a finite number >= 0, got -1",
    ],
    [
      { optimizer: { name: "adamw", lr: 1e-3, betas: [0.9, 1] } },
      "optimizer.betas[1] must be a finite number in [0, 1), got 1",
    ],
    [
      { optimizer: { name: "sgd", lr: 1e-3, momentum: 1.5 } },
      "optimizer.momentum must be a finite number in [0, 1), got 1.5",
    ],
    [
      { schedule: { kind: "cosine", minLrRatio: 2 } },
      "minLrRatio must be a number in [0, 1]",
    ],
  ];
  for (const [bad, message] of cases) {
    assert.throws(
      () => new Trainer(model(), { ...base, ...bad }),
      (e: Error) => e.message.includes(message) && e.message.startsWith("Trainer: "),
      `${JSON.stringify(bad)} should fail with "${message}"`,
    );
  }
});

Deno.test("every numeric fit option is checked with its name, value and range", async () => {
  const cases: [Partial<FitOptions>, string][] = [
    [{ epochs: 0 }, "fit: epochs must be an integer >= 1, got 0"],
    [{ epochs: 2.5 }, "fit: epochs must be an integer >= 1, got 2.5"],
    [{ batchSize: 0 }, "fit: batchSize must be an integer >= 1, got 0"],
    [
      { batchSize: 547 },
      'fit: batchSize must be an integer in [1, 546] (the number of images of dataset "breastmnist" (train split)), got 547',
    ],
    [{ maxStepsPerEpoch: 1.5 }, "fit: maxStepsPerEpoch must be an integer >= 1, got 1.5"],
    [
      { earlyStopping: { patience: 0 } },
      "fit: earlyStopping.patience must be an integer >= 1, got 0",
    ],
    [
      { earlyStopping: { patience: 2, minEpochs: -1 } },
      "fit: earlyStopping.minEpochs must be an integer >= 0, got -1",
    ],
    [
      { earlyStopping: { patience: 2, minDelta: -0.1 } },
      "fit: earlyStopping.minDelta must be a finite number >= 0, got -0.1",
    ],
  ];
  const t = new Trainer(model(), base);
  for (const [bad, message] of cases) {
    const err = await rejection(t.fit(train, val, { ...FIT, ...bad }));
    assert.ok(err.message.includes(message), `${JSON.stringify(bad)}: got "${err.message}"`);
  }
  await t.dispose();
});

// ------------------------------------------------------------------ datasets

function tiny(overrides: Partial<Dataset> = {}): Dataset {
  return { ...syntheticDataset({ n: 16, size: 28 }), ...overrides };
}

Deno.test("a hand-built binary dataset with label 7 fails up front, naming dataset, image and range", async () => {
  const ds = tiny();
  ds.labels = ds.labels.slice();
  ds.labels[3] = 7;
  const t = new Trainer(model(), base);
  const err = await rejection(t.fit(ds, val, FIT));
  assert.equal(err.name, "DataError");
  assert.match(
    err.message,
    /^dataset "synthetic" \(train split\): 1 label\(s\) out of range, the first 7 at image 3; a binary task with 2 classes takes integers 0\.\.1/,
  );
  assert.equal(t.session, undefined, "nothing was compiled");
  await t.dispose();
});

Deno.test("NaN pixels fail up front, naming the dataset, image and value", async () => {
  const ds = tiny({ split: "val" });
  const pixels = Float32Array.from(ds.images);
  pixels[5 * 28 * 28 + 10] = NaN;
  pixels[9 * 28 * 28] = Infinity;
  ds.images = pixels as unknown as Uint8Array;
  const t = new Trainer(model(), base);
  const err = await rejection(t.fit(train, ds, FIT));
  assert.match(
    err.message,
    /^dataset "synthetic" \(val split\): images holds 2 non-finite value\(s\), the first NaN in image 5 \(offset 3930\)/,
  );
  await t.dispose();
});

Deno.test("a pixel buffer of the wrong length fails up front with n·h·w·c", async () => {
  const ds = tiny();
  ds.images = ds.images.subarray(0, ds.images.length - 28);
  const t = new Trainer(model(), base);
  const err = await rejection(t.evaluate(ds));
  assert.match(
    err.message,
    /^dataset "synthetic" \(train split\): images has 12516 values but n·h·w·c = 16·28·28·1 = 12544/,
  );
  await t.dispose();
});

// ------------------------------------------------------------------ checkpoints

/** Save a trained tiny model's checkpoint, then rewrite it through `edit`. */
async function editedCheckpoint(
  edit: (tensors: Map<string, TensorInput>) => void,
): Promise<{ dir: string; path: string }> {
  const dir = await Deno.makeTempDir({ prefix: "medtune-ckpt-" });
  const t = new Trainer(model(), base);
  await t.fit(train, val, FIT);
  const path = `${dir}/model.safetensors`;
  await t.save(path);
  await t.dispose();
  const { tensors, metadata } = await loadSafetensors(path);
  const out = new Map<string, TensorInput>(tensors);
  edit(out);
  await saveSafetensors(path, out, { metadata: metadata ?? undefined });
  return { dir, path };
}

Deno.test("Trainer.load rejects a transposed tensor with the same element count, naming the file", async () => {
  const { dir, path } = await editedCheckpoint((tensors) => {
    const w = tensors.get("fc.weight")!;
    assert.deepEqual(w.shape, [2, 8]);
    tensors.set("fc.weight", { ...w, shape: [8, 2] });
  });
  const t = new Trainer(model(), base);
  const err = await rejection(t.load(path));
  assert.ok(err.message.startsWith(`${path}: the checkpoint does not fit`), err.message);
  assert.match(err.message, /wrong shape \(1\): fc\.weight: file \[8, 2\], model \[2, 8\]/);
  await t.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Trainer.load rejects a checkpoint that lacks a tensor instead of keeping current values", async () => {
  const { dir, path } = await editedCheckpoint((tensors) => {
    tensors.delete("conv2.bias");
    tensors.delete("bn1.running_var");
  });
  const t = new Trainer(model(), base);
  const err = await rejection(t.load(path));
  assert.ok(err.message.startsWith(`${path}: `), err.message);
  assert.match(
    err.message,
    /missing tensors \(2\): (conv2\.bias, bn1\.running_var|bn1\.running_var, conv2\.bias)/,
  );
  await t.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Trainer.load rejects unexpected tensors and lists every problem in one error", async () => {
  const { dir, path } = await editedCheckpoint((tensors) => {
    tensors.set("head.extra.weight", { dtype: "F32", shape: [3], data: new Float32Array(3) });
    tensors.delete("conv1.weight");
    const b = tensors.get("fc.bias")!;
    tensors.set("fc.bias", { dtype: "F32", shape: [1, 2], data: b.data as Float32Array });
  });
  const t = new Trainer(model(), base);
  const err = await rejection(t.load(path));
  assert.ok(err.message.startsWith(`${path}: `), err.message);
  assert.match(err.message, /unexpected tensors \(1\): head\.extra\.weight/);
  assert.match(err.message, /missing tensors \(1\): conv1\.weight/);
  assert.match(err.message, /fc\.bias: file \[1, 2\], model \[2\]/);
  await t.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a checkpoint that fits loads; num_batches_tracked is not counted as unexpected", async () => {
  const { dir, path } = await editedCheckpoint((tensors) => {
    assert.ok(tensors.has("bn1.num_batches_tracked"));
  });
  const t = new Trainer(model(), base);
  await t.load(path);
  assert.equal((await t.evaluate(val)).probs.length, val.n * 2);
  await t.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a missing checkpoint or weights file is named, not a raw ENOENT", async () => {
  const t = new Trainer(model(), base);
  const missing = "/nonexistent/medtune/model.safetensors";
  const err = await rejection(t.load(missing));
  assert.equal(err.message, `${missing}: no such checkpoint file; check the path`);
  const pre = await rejection(t.loadPretrained(missing));
  assert.match(
    pre.message,
    /^loadPretrained\(tiny_cnn\) from \/nonexistent\/medtune\/model\.safetensors: no such file/,
  );
  const dir = await Deno.makeTempDir();
  const folder = await rejection(t.load(dir));
  assert.equal(
    folder.message,
    `${dir}: is a folder, not a checkpoint file; give the path of a .safetensors file`,
  );
  await t.dispose();
  await Deno.remove(dir);
});

// ------------------------------------------------------------------ divergence

Deno.test("lr 1e4 raises TrainingDivergedError with epoch, step and the partial epoch in its history", async () => {
  const t = new Trainer(model(), { ...base, optimizer: { name: "adamw", lr: 1e4 } });
  const steps: { epoch: number; step: number; loss: number }[] = [];
  const err = await rejection(t.fit(train, val, {
    epochs: 6,
    batchSize: 8,
    maxStepsPerEpoch: 4,
    onStep: (s) => steps.push(s),
  }));
  assert.ok(err instanceof TrainingDivergedError, `${err.name}: ${err.message}`);
  const { epoch, step, history, details } = err;
  assert.match(err.message, new RegExp(`^training diverged at epoch ${epoch}, step ${step}: `));
  // history: every completed epoch, then the partial one.
  assert.equal(history.length, epoch);
  assert.equal(err.completedEpochs, epoch - 1);
  const partial = history[epoch - 1];
  assert.equal(partial.partial, true);
  assert.equal(partial.epoch, epoch);
  assert.equal(partial.steps, details.stepsInEpoch);
  assert.ok(history.slice(0, -1).every((r) => !r.partial && r.steps === 4));
  // The partial epoch keeps the losses of its finite steps.
  const inEpoch = steps.filter((s) => s.epoch === epoch);
  assert.equal(inEpoch.length, details.stepsInEpoch);
  const last = steps[steps.length - 1];
  assert.equal(details.lastFiniteLoss, last.loss);
  if (inEpoch.length) {
    assert.equal(partial.lastLoss, last.loss);
    const mean = inEpoch.reduce((a, s) => a + s.loss, 0) / inEpoch.length;
    assert.ok(Math.abs(partial.trainLoss - mean) <= 1e-9 * Math.abs(mean));
  }
  // The diverging step is the one after the last finite one (or, for validation, the last).
  assert.equal(step, details.cause === "validation" ? last.step : last.step + 1);
  assert.ok(["loss", "gradNorm", "validation"].includes(details.cause));
  assert.ok(!Number.isFinite(details.value));
  assert.ok(history.length >= 1, "the epoch's losses are not lost");
  await t.dispose();
});

Deno.test("a NaN validation score raises TrainingDivergedError for that epoch", async () => {
  const t = new Trainer(model(), base);
  const err = await rejection(t.fit(train, val, {
    ...FIT,
    epochs: 3,
    onStep: ({ epoch, step }) => {
      // After the last step of epoch 2 the weights turn NaN; no train step sees them.
      if (epoch === 2 && step === 4) {
        t.session!.setWeights(new Map([["fc.bias", Float32Array.of(NaN, NaN)]]));
      }
    },
  }));
  assert.ok(err instanceof TrainingDivergedError, `${err.name}: ${err.message}`);
  assert.equal(err.epoch, 2);
  assert.equal(err.step, 4);
  assert.equal(err.details.cause, "validation");
  assert.match(
    err.message,
    /^training diverged at epoch 2, step 4: the model's validation probabilities are NaN \(image 0 of dataset "breastmnist" \(val split\)\)/,
  );
  assert.equal(err.history.length, 2);
  assert.equal(err.history[0].partial, undefined);
  assert.equal(err.history[1].partial, true);
  assert.equal(err.history[1].steps, 2);
  assert.ok(Number.isFinite(err.history[1].trainLoss));
  assert.ok(Number.isNaN(err.history[1].valLoss));
  await t.dispose();
});

Deno.test("evaluate on NaN weights names the dataset instead of a metrics error", async () => {
  const t = new Trainer(model(), base);
  await t.fit(train, val, FIT);
  t.session!.setWeights(new Map([["fc.bias", Float32Array.of(NaN, 0)]]));
  const err = await rejection(t.evaluate(val));
  assert.equal(err.name, "NonFinitePredictionsError");
  assert.match(
    err.message,
    /^evaluate: the model's probabilities for image 0 of dataset "breastmnist" \(val split\) are NaN/,
  );
  await t.dispose();
});

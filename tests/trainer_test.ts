// Trainer behaviour on real BreastMNIST with a small CNN on the cpu backend:
// reproducibility, exact resume, early stopping, divergence, checkpoints, EMA.

import assert from "node:assert/strict";
import type { Dataset } from "../lib/data/dataset.ts";
import { loadMedMNISTSplits } from "../lib/data/medmnist.ts";
import { aucRoc } from "../lib/metrics/auc.ts";
import { createBackend } from "../lib/runtime/select.ts";
import { warmupCosine } from "../lib/train/schedules.ts";
import { TrainingSession } from "../lib/train/session.ts";
import { Trainer, type TrainerOptions, TrainingDivergedError } from "../lib/train/trainer.ts";
import { DATA_DIR } from "./data_fixtures.ts";
import { syntheticBatch, tinyCnn } from "./_tiny_cnn.ts";

const { train, val } = await loadMedMNISTSplits("breastmnist", { root: DATA_DIR });
const backend = await createBackend("cpu", { verbose: false });
const model = () => tinyCnn({ imageSize: 28, dropRate: 0.3 });
const options = (extra: Partial<TrainerOptions> = {}): TrainerOptions => ({
  backend,
  optimizer: { name: "adamw", lr: 3e-3, weightDecay: 1e-2 },
  schedule: warmupCosine({ warmupEpochs: 1 }),
  labelSmoothing: 0.1,
  clipGradNorm: 1,
  seed: 7,
  ...extra,
});
const FIT = { batchSize: 16, augment: "heavy" as const, maxStepsPerEpoch: 6 };

function strip(history: { seconds: number }[]) {
  return history.map(({ seconds: _, ...rest }) => rest);
}

Deno.test("same seed and backend give the same history", async () => {
  const runs = [];
  for (let i = 0; i < 2; i++) {
    const t = new Trainer(model(), options());
    runs.push(strip((await t.fit(train, val, { ...FIT, epochs: 3 })).history));
    await t.dispose();
  }
  assert.deepEqual(runs[0], runs[1]);
  const other = new Trainer(model(), options({ seed: 8 }));
  const h = strip((await other.fit(train, val, { ...FIT, epochs: 3 })).history);
  assert.notDeepEqual(h, runs[0]);
  await other.dispose();
});

Deno.test("a run interrupted after epoch 2 resumes at epoch 3 and ends as an uninterrupted run", async () => {
  const full = new Trainer(model(), options());
  const expected = await full.fit(train, val, { ...FIT, epochs: 4 });
  const expectedWeights = await full.session!.getWeights();
  await full.dispose();

  const dir = await Deno.makeTempDir();
  const first = new Trainer(model(), options());
  const crash = first.fit(train, val, {
    ...FIT,
    epochs: 4,
    checkpointDir: dir,
    onEpochEnd: ({ record }) => {
      if (record.epoch === 2) throw new Error("simulated crash after epoch 2");
    },
  });
  await assert.rejects(crash, /simulated crash/);
  await first.dispose();
  // A new process would start here.
  const lines: string[] = [];
  const second = new Trainer(model(), { ...options(), log: (l) => lines.push(l) });
  const epochsTrained: number[] = [];
  const stepsTaken: number[] = [];
  const got = await second.fit(train, val, {
    ...FIT,
    epochs: 4,
    checkpointDir: dir,
    onEpochEnd: ({ record }) => void epochsTrained.push(record.epoch),
    onStep: ({ step }) => void stepsTaken.push(step),
  });
  assert.equal(lines[0], `resumed from ${dir}/last.safetensors after epoch 2 (step 12)`);
  // The second process trains epochs 3 and 4 only: steps 13..24 of 6 per epoch.
  assert.deepEqual(epochsTrained, [3, 4]);
  assert.deepEqual(stepsTaken, Array.from({ length: 12 }, (_, i) => 13 + i));
  assert.equal(got.history.length, 4);
  assert.deepEqual(strip(got.history), strip(expected.history));
  assert.equal(got.bestEpoch, expected.bestEpoch);
  assert.equal(got.bestScore, expected.bestScore);
  assert.deepEqual(await second.session!.getWeights(), expectedWeights);
  await second.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a checkpoint write that fails in the background stops the run at the next epoch's save", async () => {
  // Checkpoints are written while the next epoch trains; a write that fails
  // (here: the folder is under a regular file) must not go unnoticed.
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/file`, "not a folder");
  const t = new Trainer(model(), options());
  const seen: number[] = [];
  await assert.rejects(
    t.fit(train, val, {
      ...FIT,
      epochs: 4,
      checkpointDir: `${dir}/file/run`,
      onEpochEnd: ({ record }) => void seen.push(record.epoch),
    }),
    (err: Error) => err.message.includes(`${dir}/file/run`),
  );
  // It surfaces at the next save at the latest: epoch 1's `last` or epoch 2's files.
  assert(seen.length <= 1, `the run went on to epoch ${seen.at(-1)} after a failed write`);
  await t.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("early stopping ends the run after `patience` epochs without improvement", async () => {
  const t = new Trainer(model(), options({ optimizer: { name: "adamw", lr: 1e-12 } }));
  const r = await t.fit(train, val, { ...FIT, epochs: 10, earlyStopping: { patience: 2 } });
  assert.equal(r.bestEpoch, 1);
  assert.equal(r.epochsRun, 3);
  assert.ok(r.stoppedEarly);
  // minEpochs holds the stop back until epoch 5.
  const held = await t.fit(train, val, {
    ...FIT,
    epochs: 10,
    earlyStopping: { patience: 2, minEpochs: 5 },
  });
  assert.equal(held.epochsRun, 5);
  assert.ok(held.stoppedEarly);
  await t.dispose();
});

/**
 * A separable 8 px binary set: class 1 has a bright top-left quadrant, class 0
 * a bright bottom-right one, under uniform noise (the tiny CNN reaches val AUC
 * 1 in a few epochs, where on BreastMNIST it stays near 0.5).
 */
function squares(n: number, seed: number, split: "train" | "val"): Dataset {
  let s = seed >>> 0;
  const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  const images = new Uint8Array(n * 64);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 2);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < 8; r++) {
      for (let c = 0; c < 8; c++) {
        const bright = labels[i] === 1 ? r < 4 && c < 4 : r >= 4 && c >= 4;
        const v = (bright ? 150 : 60) + (rand() - 0.5) * 200;
        images[i * 64 + r * 8 + c] = Math.round(Math.min(255, Math.max(0, v)));
      }
    }
  }
  const dims = { n, height: 8, width: 8, channels: 1, numClasses: 2 };
  return {
    name: "squares",
    split,
    images,
    labels,
    ...dims,
    task: "binary",
    labelNames: ["0", "1"],
  };
}

Deno.test("the best epoch's weights are restored when a later epoch is worse", async () => {
  const [sqTrain, sqVal] = [squares(64, 1, "train"), squares(40, 2, "val")];
  const t = new Trainer(tinyCnn(), { backend, optimizer: { name: "adamw", lr: 3e-3 }, seed: 7 });
  const r = await t.fit(sqTrain, sqVal, {
    epochs: 4,
    batchSize: 16,
    onStep: ({ step }) => {
      // After the last step, before the last validation: with a first conv of
      // zeros the model ignores its input, every image gets the same scores
      // and the last epoch's AUC is 0.5, below the best epoch's.
      if (step !== 16) return;
      t.session!.setWeights(new Map([["conv1.weight", new Float32Array(8 * 9)]]));
    },
  });
  assert.equal(r.epochsRun, 4);
  assert.equal(r.history[3].valAuc, 0.5);
  assert.ok(r.bestEpoch < r.epochsRun, `best epoch ${r.bestEpoch}`);
  const best = r.history[r.bestEpoch - 1];
  assert.equal(r.bestScore, best.valAuc);
  assert.ok(best.valAuc! > 0.9, `best val AUC ${best.valAuc}`);
  // The weights in the session now score exactly the best epoch's validation metrics.
  const e = await t.evaluate(sqVal);
  const positive = Float64Array.from({ length: sqVal.n }, (_, i) => e.probs[i * 2 + 1]);
  assert.equal(aucRoc(positive, e.labels), best.valAuc);
  assert.equal(e.metrics.loss, best.valLoss);
  assert.equal(e.metrics.accuracy, best.valAccuracy);
  await t.dispose();
});

Deno.test("a NaN loss stops the run with TrainingDivergedError carrying the history", async () => {
  const t = new Trainer(model(), options());
  const err = await t.fit(train, val, {
    ...FIT,
    epochs: 3,
    onEpochEnd: ({ trainer }) => {
      trainer.session!.setWeights(new Map([["fc.bias", Float32Array.of(NaN, NaN)]]));
    },
  }).then(() => null, (e) => e);
  assert.ok(err instanceof TrainingDivergedError, String(err));
  assert.match(err.message, /^training diverged at epoch 2, step 7: the loss is NaN/);
  assert.equal(err.epoch, 2);
  assert.equal(err.step, 7);
  // The completed epoch, then the partial one (no finite step in it).
  assert.equal(err.history.length, 2);
  assert.equal(err.completedEpochs, 1);
  assert.deepEqual(
    { partial: err.history[1].partial, steps: err.history[1].steps },
    { partial: true, steps: 0 },
  );
  assert.equal(err.details.lastFiniteLoss, err.history[0].lastLoss);
  await t.dispose();
});

Deno.test("save → load gives identical predictions", async () => {
  const dir = await Deno.makeTempDir();
  const a = new Trainer(model(), options());
  await a.fit(train, val, { ...FIT, epochs: 2 });
  await a.save(`${dir}/model.safetensors`);
  const b = new Trainer(model(), options({ seed: 99 }));
  await b.load(`${dir}/model.safetensors`);
  assert.deepEqual((await b.evaluate(val)).probs, (await a.evaluate(val)).probs);
  const wrong = new Trainer(tinyCnn({ imageSize: 28, numClasses: 3 }), options());
  await assert.rejects(
    () => wrong.load(`${dir}/model.safetensors`),
    (e: Error) =>
      e.message.startsWith(`${dir}/model.safetensors: the checkpoint does not fit`) &&
      e.message.includes("fc.weight: file [2, 8], model [3, 8]; fc.bias: file [2], model [3]"),
  );
  await a.dispose();
  await b.dispose();
  await wrong.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("weight EMA follows ema ← d·ema + (1−d)·w after each step", async () => {
  const session = await TrainingSession.create(backend, tinyCnn(), {
    batchSize: 8,
    optimizer: { name: "adamw", lr: 1e-2 },
    emaDecay: 0.75,
  });
  const w0 = await session.getWeights();
  await session.trainStep(syntheticBatch(8, 8, 1), 1e-2);
  const w1 = await session.getWeights();
  const ema = await session.getWeights({ ema: true });
  for (const [name, v] of w1) {
    const e = ema.get(name)!;
    const before = w0.get(name)!;
    for (let i = 0; i < v.length; i++) {
      assert.ok(Math.abs(e[i] - (0.75 * before[i] + 0.25 * v[i])) < 1e-6, name);
    }
  }
  const x = syntheticBatch(4, 8, 2).x;
  assert.notDeepEqual(await session.predict(x, 4, { ema: true }), await session.predict(x, 4));
  await session.dispose();
});

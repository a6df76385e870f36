// Eval in even batches: a set that is not a multiple of the eval batch runs
// as near-equal batches on programs compiled for their size (at most
// MAX_EVAL_PROGRAMS), not zero-padded to whole eval batches, and predicts
// what one batch of everything predicts.

import assert, { deepEqual, equal } from "node:assert/strict";
import { createBackend } from "../lib/runtime/select.ts";
import { evenBatchSize, MAX_EVAL_PROGRAMS, TrainingSession } from "../lib/train/session.ts";
import { Rng } from "../lib/util/rng.ts";
import { tinyCnn } from "./_tiny_cnn.ts";

Deno.test("evenBatchSize: fewest batches of at most the eval batch, near-equal", () => {
  equal(evenBatchSize(78, 64), 39); // BreastMNIST val: 2 × 39, not 64 + 14 padded to 128
  equal(evenBatchSize(156, 64), 52); // test: 3 × 52
  equal(evenBatchSize(546, 64), 61); // train: 9 batches, 3 images of padding
  equal(evenBatchSize(64, 64), 64);
  equal(evenBatchSize(65, 64), 33);
  equal(evenBatchSize(1, 64), 1);
  for (let n = 1; n <= 200; n++) {
    const b = evenBatchSize(n, 32);
    const batches = Math.ceil(n / b);
    equal(batches, Math.ceil(n / 32), `n=${n}: ${batches} batches of ${b}`);
    assert(batches * b - n < batches, `n=${n}: ${batches * b - n} images of padding`);
  }
});

Deno.test("predict: uneven sets run on programs of their batch size and predict as one batch does", async () => {
  const model = tinyCnn({ imageSize: 8, numClasses: 3 });
  const backend = await createBackend("cpu", { verbose: false });
  const options = {
    optimizer: { name: "adamw" as const, lr: 1e-2, weightDecay: 0.01 },
    seed: 3,
    frozenEval: "never" as const,
  };
  const session = await TrainingSession.create(backend, model, {
    ...options,
    batchSize: 4,
    evalBatchSize: 16,
  });
  const whole = await TrainingSession.create(backend, model, {
    ...options,
    batchSize: 4,
    evalBatchSize: 26,
  });
  const per = model.inChannels * model.imageSize * model.imageSize;
  const rng = new Rng(5);
  const x = Float32Array.from({ length: 26 * per }, () => rng.normal());
  try {
    const reference = await whole.predict(x, 26);
    const split = await session.predict(x, 26); // 2 × 13, not 16 + 10 padded to 32
    deepEqual(session.evalBatchSizes, [16, 13]);
    for (let i = 0; i < reference.length; i++) {
      assert(
        Math.abs(split[i] - reference[i]) < 1e-5,
        `probability ${i}: ${split[i]} vs ${reference[i]}`,
      );
    }
    await session.predict(x.subarray(0, 24 * per), 24); // 2 × 12 fits the 13 program (1 padded)
    deepEqual(session.evalBatchSizes, [16, 13]);
    await session.predict(x.subarray(0, 3 * per), 3); // 13 would pad more than an eighth
    await session.predict(x.subarray(0, 5 * per), 5);
    deepEqual(session.evalBatchSizes, [16, 13, 3, 5]);
    equal(session.evalBatchSizes.length, MAX_EVAL_PROGRAMS);
    // The cap is reached: 2 images pad up to the 3 program instead of compiling.
    const two = await session.predict(x.subarray(0, 2 * per), 2);
    deepEqual(session.evalBatchSizes, [16, 13, 3, 5]);
    for (let i = 0; i < two.length; i++) assert(Math.abs(two[i] - reference[i]) < 1e-5);
  } finally {
    await session.dispose();
    await whole.dispose();
  }
});

// The frozen eval program (weights compiled in, ONNX Runtime's constant
// folding and fused kernels on) predicts what the generic eval program
// predicts, and is never used with stale weights.

import assert, { deepEqual, equal } from "node:assert/strict";
import { createModel } from "../lib/models/registry.ts";
import type { Model } from "../lib/nn/model.ts";
import { createBackend } from "../lib/runtime/select.ts";
import { FROZEN_EVAL_MIN_IMAGES } from "../lib/train/frozen_eval.ts";
import { TrainingSession } from "../lib/train/session.ts";
import { Rng } from "../lib/util/rng.ts";
import { tinyCnn } from "./_tiny_cnn.ts";

function images(model: Model, n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const per = model.inChannels * model.imageSize * model.imageSize;
  return Float32Array.from({ length: n * per }, () => rng.normal());
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function trainedSession(
  model: Model,
  frozenEval: "auto" | "always" | "never",
  emaDecay?: number,
) {
  const backend = await createBackend("cpu", { verbose: false });
  const k = model.numClasses;
  const session = await TrainingSession.create(backend, model, {
    batchSize: 4,
    evalBatchSize: 8,
    optimizer: { name: "adamw", lr: 1e-2, weightDecay: 0.01 },
    seed: 3,
    frozenEval,
    emaDecay,
  });
  const x = images(model, 4, 9);
  const targets = new Float32Array(4 * k);
  for (let i = 0; i < 4; i++) targets[i * k + (i % k)] = 1;
  // Train steps move batch-norm running statistics away from their init.
  for (let i = 0; i < 3; i++) await session.trainStep({ x, targets }, 1e-2);
  return { session, x, targets };
}

Deno.test("frozen eval: past the threshold it predicts as the generic program, across weight changes", async () => {
  const model = tinyCnn({ imageSize: 8, numClasses: 3 });
  const { session, x, targets } = await trainedSession(model, "auto", 0.9);
  const big = FROZEN_EVAL_MIN_IMAGES + 13; // not a multiple of the eval batch
  const all = images(model, big, 1);
  const per = model.inChannels * model.imageSize * model.imageSize;
  const k = model.numClasses;
  try {
    // 20 images: below the threshold, the generic program answers.
    const generic = await session.predict(all.subarray(0, 20 * per), 20);
    // Then the whole set: past the threshold, a frozen program is compiled.
    const frozen = await session.predict(all, big);
    const d = maxAbsDiff(generic, frozen.subarray(0, 20 * k));
    assert(d < 1e-4, `frozen vs generic: max |Δp| = ${d}`);

    // A train step makes the frozen program stale: the next small predict is
    // generic again and sees the new weights.
    await session.trainStep({ x, targets }, 1e-2);
    const afterStep = await session.predict(all.subarray(0, 20 * per), 20);
    assert(maxAbsDiff(afterStep, generic) > 1e-6, "predictions did not change after a step");
    const frozen2 = await session.predict(all, big);
    const d2 = maxAbsDiff(afterStep, frozen2.subarray(0, 20 * k));
    assert(d2 < 1e-4, `after a step, frozen vs generic: max |Δp| = ${d2}`);

    // setWeights is seen by the next frozen program, and the EMA restarts from it.
    const weights = await session.getWeights();
    for (const w of weights.values()) w.fill(0.01);
    session.setWeights(weights);
    const uniform = await session.predict(all, big);
    for (let i = 0; i < k; i++) {
      assert(Math.abs(uniform[i] - 1 / k) < 1e-4, "setWeights not seen by the frozen program");
    }
    const ema = await session.predict(all, big, { ema: true });
    deepEqual(ema.subarray(0, 6), uniform.subarray(0, 6));
  } finally {
    await session.dispose();
  }
});

Deno.test("frozen eval: ResNet-18 with folded batch norms equals the generic program (weights and EMA)", async () => {
  const make = () => createModel("resnet18", { numClasses: 3, imageSize: 16 });
  const generic = await trainedSession(make(), "never", 0.5);
  const frozen = await trainedSession(make(), "always", 0.5);
  try {
    const x = images(generic.session.model, 10, 4);
    for (const ema of [false, true]) {
      const a = await generic.session.predict(x, 10, { ema });
      const b = await frozen.session.predict(x, 10, { ema });
      const d = maxAbsDiff(a, b);
      assert(d < 1e-4, `ema=${ema}: max |Δp| = ${d}`);
    }
  } finally {
    await generic.session.dispose();
    await frozen.session.dispose();
  }
});

Deno.test("frozen eval: 'never' keeps the generic program, equal to 'auto' to 1e-4", async () => {
  const model = tinyCnn({ imageSize: 8, numClasses: 2 });
  const a = await trainedSession(model, "never");
  const b = await trainedSession(model, "auto");
  try {
    const all = images(model, FROZEN_EVAL_MIN_IMAGES + 1, 2);
    const pa = await a.session.predict(all, FROZEN_EVAL_MIN_IMAGES + 1);
    const pb = await b.session.predict(all, FROZEN_EVAL_MIN_IMAGES + 1);
    assert(maxAbsDiff(pa, pb) < 1e-4);
  } finally {
    await a.session.dispose();
    await b.session.dispose();
  }
});

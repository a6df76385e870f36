// Trainer.fit checked against independent computations, on real BreastMNIST
// with a small CNN on the cpu backend: the learning rate of every step is the
// schedule's closed form, and with a weight EMA, validation, the restored
// weights and the checkpoint files all use the EMA weights, which follow
// ema_t = d·ema_(t−1) + (1−d)·w_t from the initial weights.

import assert from "node:assert/strict";
import { loadMedMNISTSplits } from "../lib/data/medmnist.ts";
import { createBackend } from "../lib/runtime/select.ts";
import { loadCheckpoint } from "../lib/train/checkpoint.ts";
import { lrCurve, warmupCosine } from "../lib/train/schedules.ts";
import { TrainingSession } from "../lib/train/session.ts";
import { type StepInfo, Trainer } from "../lib/train/trainer.ts";
import { saveWeights } from "../lib/weights/pretrained.ts";
import { DATA_DIR } from "./data_fixtures.ts";
import { tinyCnn } from "./_tiny_cnn.ts";

const { train, val } = await loadMedMNISTSplits("breastmnist", { root: DATA_DIR });
const backend = await createBackend("cpu", { verbose: false });
const model = () => tinyCnn({ imageSize: 28 });

type Weights = Map<string, Float32Array>;

Deno.test("every step's learning rate is the schedule's, and each epoch records its last step's", async () => {
  const baseLr = 3e-3;
  const schedule = warmupCosine({ warmupEpochs: 1 });
  const t = new Trainer(model(), { backend, optimizer: { name: "adamw", lr: baseLr }, schedule });
  const steps: StepInfo[] = [];
  const r = await t.fit(train, val, {
    epochs: 3,
    batchSize: 16,
    maxStepsPerEpoch: 6,
    onStep: (s) => steps.push(s),
  });
  await t.dispose();
  // warmup over the first epoch (6 steps) from 0, then cosine to 0 at step 18
  const closedForm = (s: number) =>
    s < 6 ? (baseLr * s) / 6 : baseLr * 0.5 * (1 + Math.cos((Math.PI * (s - 6)) / 12));
  const curve = lrCurve(schedule, { baseLr, stepsPerEpoch: 6, totalSteps: 18 });
  assert.deepEqual(steps.map((s) => s.step), Array.from({ length: 18 }, (_, i) => i + 1));
  assert.deepEqual(steps.map((s) => s.epoch), [1, 2, 3].flatMap((e) => Array(6).fill(e)));
  steps.forEach((s, i) => {
    assert.equal(s.lr, curve[i], `step ${s.step}`);
    assert.ok(
      Math.abs(s.lr - closedForm(i)) <= 1e-15,
      `step ${s.step}: ${s.lr} vs ${closedForm(i)}`,
    );
  });
  assert.equal(steps[6].lr, baseLr, "the cosine starts at the base rate after the warmup");
  assert.deepEqual(r.history.map((h) => h.lr), [steps[5].lr, steps[11].lr, steps[17].lr]);
});

/** Whether `got` is `want` to float32 rounding, tensor by tensor. */
function assertClose(got: Weights, want: Map<string, Float64Array>, what: string): void {
  assert.deepEqual([...got.keys()], [...want.keys()], what);
  for (const [name, w] of want) {
    const g = got.get(name)!;
    for (let i = 0; i < w.length; i++) {
      const tol = 1e-6 + 1e-5 * Math.abs(w[i]);
      if (!(Math.abs(g[i] - w[i]) <= tol)) {
        assert.fail(`${what}: ${name}[${i}] is ${g[i]}, expected ${w[i]}`);
      }
    }
  }
}

Deno.test("with an EMA, fit validates, restores and checkpoints the EMA weights", async () => {
  const d = 0.6;
  const seed = 4;
  const optimizer = { name: "adamw" as const, lr: 1e-2 };
  // The initial weights: a session initialized from the same seed.
  const init = await TrainingSession.create(backend, model(), { batchSize: 16, optimizer, seed });
  const w0 = await init.getWeights();
  await init.dispose();

  const dir = await Deno.makeTempDir();
  const t = new Trainer(model(), { backend, optimizer, emaDecay: d, seed });
  const raw: Weights[] = [];
  const ema: Weights[] = [];
  const emaEvalAuc: (number | null)[] = [];
  const rawProbsDiffer: boolean[] = [];
  const r = await t.fit(train, val, {
    epochs: 4,
    batchSize: 16,
    maxStepsPerEpoch: 1, // one step per epoch: each epoch's end sees w_t and ema_t
    checkpointDir: dir,
    onEpochEnd: async ({ trainer }) => {
      raw.push(await trainer.session!.getWeights());
      ema.push(await trainer.session!.getWeights({ ema: true }));
      const withEma = await trainer.evaluate(val, { ema: true });
      emaEvalAuc.push(withEma.metrics.auc);
      const plain = await trainer.evaluate(val);
      rawProbsDiffer.push(plain.probs.some((p, i) => p !== withEma.probs[i]));
    },
  });

  // ema_t = d·ema_(t−1) + (1−d)·w_t, from ema_0 = w_0, for parameters and batch-norm statistics.
  let expected = new Map([...w0].map(([k, v]) => [k, Float64Array.from(v)]));
  for (let step = 0; step < 4; step++) {
    expected = new Map(
      [...expected].map(([k, e]) => {
        const w = raw[step].get(k)!;
        return [k, e.map((v, i) => d * v + (1 - d) * w[i])];
      }),
    );
    assertClose(ema[step], expected, `EMA after step ${step + 1}`);
  }
  // Validation scored the EMA weights, which predict differently from the raw ones.
  assert.deepEqual(emaEvalAuc, r.history.map((h) => h.valAuc));
  assert.deepEqual(rawProbsDiffer, [true, true, true, true]);
  // The best epoch's EMA weights are restored, and the files hold what they say.
  const best = r.bestEpoch - 1;
  assert.deepEqual(await t.session!.getWeights(), ema[best]);
  const last = await loadCheckpoint(`${dir}/last.safetensors`);
  assert.deepEqual(last.weights, raw[3]);
  assert.equal(last.info.extra?.ema, true);
  assert.deepEqual((await loadCheckpoint(`${dir}/ema.safetensors`)).weights, ema[3]);
  assert.deepEqual((await loadCheckpoint(`${dir}/best.safetensors`)).weights, ema[best]);
  assert.notDeepEqual(raw[3], ema[3]);
  await t.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loadPretrained before fit compiles once and trains as from a compiled session", async () => {
  // "Pretrained" weights of a 3-class tiny CNN: the 2-class head keeps its fresh init.
  const dir = await Deno.makeTempDir();
  const file = `${dir}/pretrained.safetensors`;
  const source = tinyCnn({ imageSize: 28, numClasses: 3 });
  const optimizer = { name: "adamw" as const, lr: 3e-3 };
  const s = await TrainingSession.create(backend, source, { batchSize: 4, optimizer, seed: 99 });
  await saveWeights(file, await s.getWeights(), { model: source });
  await s.dispose();
  const adapt = { classifier: "fc", firstConv: "conv1" };
  const fit = { epochs: 2, batchSize: 16, maxStepsPerEpoch: 4 };

  const deferred = new Trainer(model(), { backend, optimizer, seed: 7 });
  const report = await deferred.loadPretrained(file, adapt);
  assert.equal(deferred.session, undefined, "nothing compiled yet");
  assert.deepEqual(report.kept.map((k) => k.name), ["fc.weight", "fc.bias"]);
  const a = await deferred.fit(train, val, fit);
  // The same through a session compiled first (batch 32), then rebuilt for batch 16 by fit.
  const compiled = new Trainer(model(), { backend, optimizer, seed: 7 });
  await compiled.evaluate(val);
  assert.deepEqual(await compiled.loadPretrained(file, adapt), report);
  const b = await compiled.fit(train, val, fit);
  const strip = (h: typeof a.history) => h.map(({ seconds: _, ...rest }) => rest);
  assert.deepEqual(strip(a.history), strip(b.history));
  assert.deepEqual(await deferred.session!.getWeights(), await compiled.session!.getWeights());
  await deferred.dispose();
  await compiled.dispose();
  await Deno.remove(dir, { recursive: true });
});

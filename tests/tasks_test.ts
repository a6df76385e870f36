// Training and evaluation for each MedMNIST task type, end to end through
// Trainer.fit with a tiny budget: binary PneumoniaMNIST and ordinal
// RetinaMNIST (scored as multi-class) from the shared data folder, and
// multi-label ChestMNIST on a small synthetic file in MedMNIST's format
// (sigmoid BCE, Mixup/CutMix on label vectors, mean per-label AUC), also
// through a one-run study whose record carries the task fields.

import assert from "node:assert/strict";
import { loadMedMNISTSplits } from "../lib/data/medmnist.ts";
import { encodeNpz } from "../lib/data/npz.ts";
import { aucRoc } from "../lib/metrics/mod.ts";
import { MEDMNIST_INFO } from "../lib/data/medmnist.ts";
import { createBackend } from "../lib/runtime/select.ts";
import { executeRun } from "../lib/study/runner.ts";
import { defaultStudy, planRuns, type RunLevels } from "../lib/study/spec.ts";
import { Trainer, type TrainerOptions } from "../lib/train/trainer.ts";
import { DATA_DIR } from "./data_fixtures.ts";
import { tinyCnn } from "./_tiny_cnn.ts";

const backend = await createBackend("cpu", { verbose: false });
const options: TrainerOptions = {
  backend,
  optimizer: { name: "adamw", lr: 3e-3, weightDecay: 1e-2 },
  labelSmoothing: 0.1,
  clipGradNorm: 1,
  seed: 1,
  logEpochs: false,
};
const FIT = { epochs: 2, batchSize: 8, maxStepsPerEpoch: 2 };

function close(a: number, b: number, tol = 1e-9, what = "") {
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
}

/** Mean over classes of one-vs-rest AUCs computed column by column with `aucRoc`. */
function ovrAucs(probs: Float32Array, labels: Int32Array, k: number): number[] {
  const n = labels.length;
  return Array.from({ length: k }, (_, c) => {
    const col = Array.from({ length: n }, (_, i) => probs[i * k + c]);
    return aucRoc(col, Array.from(labels, (l) => (l === c ? 1 : 0)));
  });
}

Deno.test("PneumoniaMNIST (binary): fit a few steps; sklearn's binary Brier and the AUC of class 1", async () => {
  const { train, val, test } = await loadMedMNISTSplits("pneumoniamnist", { root: DATA_DIR });
  const trainer = new Trainer(tinyCnn({ imageSize: 28, numClasses: 2 }), options);
  try {
    const fit = await trainer.fit(train, val, { ...FIT, augment: "heavy" });
    assert.equal(fit.history.length, 2);
    assert.ok(fit.history.every((h) => Number.isFinite(h.trainLoss) && h.valAuc !== null));
    const e = await trainer.evaluate(test);
    assert.equal(e.task, "binary");
    assert.equal(e.labels.length, test.n);
    assert.equal(e.metrics.brierKind, "binary");
    let brier = 0;
    for (let i = 0; i < test.n; i++) brier += (e.probs[2 * i + 1] - e.labels[i]) ** 2;
    close(e.metrics.brier, brier / test.n, 1e-9, "binary Brier");
    // Equal only as far as the float32 probabilities sum to 1 (p₀ = 1 − p₁ to ~1e-7).
    close(e.metrics.brier, e.report!.brier / 2, 1e-6, "half the two-class sum");
    const pos = Array.from({ length: test.n }, (_, i) => e.probs[2 * i + 1]);
    close(e.metrics.auc!, aucRoc(pos, e.labels), 1e-12, "AUC");
    assert.equal(e.metrics.perClassAuc!.length, 2);
  } finally {
    await trainer.dispose();
  }
});

Deno.test("RetinaMNIST (ordinal, scored as 5-class): macro OvR AUC, balanced accuracy, multi-class Brier", async () => {
  const { train, val, test } = await loadMedMNISTSplits("retinamnist", { root: DATA_DIR });
  assert.equal(train.task, "ordinal-regression");
  const model = { ...tinyCnn({ imageSize: 28, numClasses: 5 }), inChannels: 3 };
  const trainer = new Trainer(model, options);
  try {
    const fit = await trainer.fit(train, val, { ...FIT, augment: "basic" });
    assert.equal(fit.history.length, 2);
    const e = await trainer.evaluate(test);
    assert.equal(e.task, "multi-class");
    assert.equal(e.metrics.brierKind, "multiclass");
    const per = ovrAucs(e.probs, e.labels, 5);
    per.forEach((a, c) => close(e.metrics.perClassAuc![c]!, a, 1e-12, `class ${c}`));
    close(e.metrics.auc!, per.reduce((a, b) => a + b, 0) / 5, 1e-12, "macro AUC");
    let brier = 0;
    for (let i = 0; i < test.n; i++) {
      for (let c = 0; c < 5; c++) brier += (e.probs[i * 5 + c] - (e.labels[i] === c ? 1 : 0)) ** 2;
    }
    close(e.metrics.brier, brier / test.n, 1e-6, "multi-class Brier");
    assert.equal(e.metrics.balancedAccuracy, e.report!.balancedAccuracy);
    for (let i = 0; i < test.n; i++) {
      let s = 0;
      for (let c = 0; c < 5; c++) s += e.probs[i * 5 + c];
      close(s, 1, 1e-5, `softmax row ${i}`);
    }
  } finally {
    await trainer.dispose();
  }
});

const L = 14;
const SPLITS = { train: 48, val: 16, test: 24 };

/**
 * A ChestMNIST-format file (28 px gray, 14 labels per image): label c of
 * image i is present when (i + c) % 3 === 0 or (i·c) % 5 === 1, and each
 * present label brightens its own row band, so the labels are learnable.
 */
async function writeSyntheticChest(dir: string): Promise<void> {
  const arrays: Record<string, { dtype: "u1"; shape: number[]; data: Uint8Array }> = {};
  for (const [split, n] of Object.entries(SPLITS)) {
    const images = new Uint8Array(n * 28 * 28);
    const labels = new Uint8Array(n * L);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < L; c++) {
        const on = (i + c) % 3 === 0 || (i * c) % 5 === 1 ? 1 : 0;
        labels[i * L + c] = on;
        for (let y = 2 * c; y < 2 * c + 2; y++) {
          for (let x = 0; x < 28; x++) {
            images[i * 784 + y * 28 + x] = on ? 200 + ((x * 7 + i) % 40) : (x * 13 + i * 3) % 60;
          }
        }
      }
    }
    arrays[`${split}_images`] = { dtype: "u1", shape: [n, 28, 28], data: images };
    arrays[`${split}_labels`] = { dtype: "u1", shape: [n, L], data: labels };
  }
  await Deno.writeFile(`${dir}/chestmnist.npz`, encodeNpz(arrays));
}

Deno.test("ChestMNIST (multi-label, synthetic file): sigmoid BCE with Mixup/CutMix, mean per-label AUC", async () => {
  const dir = await Deno.makeTempDir({ prefix: "medtune-chest-" });
  try {
    await writeSyntheticChest(dir);
    const { train, val, test } = await loadMedMNISTSplits("chestmnist", {
      root: dir,
      verify: false,
    });
    assert.equal(train.task, "multi-label");
    assert.equal(train.labels.length, SPLITS.train * L);
    const trainer = new Trainer(tinyCnn({ imageSize: 28, numClasses: L }), options);
    try {
      const fit = await trainer.fit(train, val, { ...FIT, augment: "heavy" });
      assert.equal(fit.history.length, 2);
      // BCE per label starts near log 2 ≈ 0.69 (a softmax CE over 14 classes would start near 2.6)
      assert.ok(
        fit.history[0].trainLoss > 0.3 && fit.history[0].trainLoss < 1.2,
        `${fit.history[0].trainLoss}`,
      );
      assert.ok(fit.history.every((h) => h.valAuc !== null && h.trainAuc !== null));
      const e = await trainer.evaluate(test);
      assert.equal(e.task, "multi-label");
      assert.equal(e.labels.length, test.n * L);
      assert.deepEqual(Array.from(e.labels), Array.from(test.labels));
      assert.equal(e.metrics.brierKind, "multilabel");
      assert.equal(e.report, null);
      assert.ok(e.multiLabel);
      // sigmoid per label: rows do not sum to 1, every entry in (0, 1)
      assert.ok(e.probs.every((p) => p > 0 && p < 1));
      const rowSum = e.probs.slice(0, L).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(rowSum - 1) > 0.5, `row sum ${rowSum}`);
      // independent per-label AUC with aucRoc on each column
      const per = Array.from({ length: L }, (_, c) => {
        const s = Array.from({ length: test.n }, (_, i) => e.probs[i * L + c]);
        const y = Array.from({ length: test.n }, (_, i) => e.labels[i * L + c]);
        return aucRoc(s, y);
      });
      per.forEach((a, c) => close(e.metrics.perClassAuc![c]!, a, 1e-12, `label ${c}`));
      close(e.metrics.auc!, per.reduce((a, b) => a + b, 0) / L, 1e-12, "mean per-label AUC");
      let right = 0, brier = 0;
      for (let i = 0; i < e.probs.length; i++) {
        right += Number((e.probs[i] >= 0.5 ? 1 : 0) === e.labels[i]);
        brier += (e.probs[i] - e.labels[i]) ** 2;
      }
      close(e.metrics.accuracy, right / e.probs.length, 1e-12, "accuracy at 0.5");
      close(e.metrics.brier, brier / e.probs.length, 1e-6, "Brier per label mean");
      // a checkpoint remembers the multi-label head: loaded and exported without seeing data,
      // the inference model's probs are sigmoids
      await trainer.save(`${dir}/chest.safetensors`);
      const loaded = new Trainer(tinyCnn({ imageSize: 28, numClasses: L }), options);
      try {
        await loaded.load(`${dir}/chest.safetensors`);
        await loaded.exportOnnx(`${dir}/chest.onnx`);
        const onnx = new TextDecoder("latin1").decode(await Deno.readFile(`${dir}/chest.onnx`));
        assert.ok(onnx.includes("medtune.probs") && onnx.includes("Sigmoid"));
        assert.ok(!onnx.includes("Softmax"));
        const again = await loaded.evaluate(test);
        assert.deepEqual(Array.from(again.probs), Array.from(e.probs));
      } finally {
        await loaded.dispose();
      }
    } finally {
      await trainer.dispose();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a study run on multi-label data records the task, class names, per-label AUC and ROC", async () => {
  const dir = await Deno.makeTempDir({ prefix: "medtune-chest-study-" });
  try {
    await writeSyntheticChest(dir);
    const levels: RunLevels = { augment: "heavy", schedule: "cosine", backbone: "resnet18" };
    const spec = defaultStudy({
      design: "grid",
      axes: { augment: [levels.augment], schedule: [levels.schedule], backbone: [levels.backbone] },
      baseline: levels,
      seeds: [0],
      fixed: { dataset: "chestmnist", imageSize: 16, epochs: 1, batchSize: 8, maxStepsPerEpoch: 1 },
    });
    // the synthetic file has no official MD5: load it unverified and hand the splits to the run
    const data = await loadMedMNISTSplits("chestmnist", { root: dir, verify: false });
    const [run] = planRuns(spec);
    const r = await executeRun(run, { outDir: `${dir}/out`, backend, data });
    assert.equal(r.status, "ok", r.error);
    assert.equal(r.task, "multi-label");
    assert.equal(r.scoredAs, "multi-label");
    assert.equal(r.taskNote, undefined);
    assert.deepEqual(r.classNames, MEDMNIST_INFO.chestmnist.labelNames);
    assert.equal(r.test!.brierKind, "multilabel");
    assert.equal(r.test!.perClassAuc!.length, L);
    assert.equal(r.rocPerClass!.length, L);
    assert.ok(r.rocPerClass!.every((c) => c && c.fpr.at(-1) === 1 && c.tpr.at(-1) === 1));
    assert.equal(r.testScores, undefined);
    assert.equal(r.testProbs!.length, SPLITS.test * L);
    assert.equal(r.testTargets!.length, SPLITS.test * L);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

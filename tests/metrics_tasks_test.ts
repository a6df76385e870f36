// Metrics and losses for every MedMNIST task type, checked against closed
// forms and independent computations: sklearn's binary Brier, the multi-class
// Brier, multi-label per-label AUC / accuracy / Brier, sigmoid binary
// cross-entropy (value and gradient against finite differences), and
// Mixup/CutMix on multi-label target vectors.

import assert from "node:assert/strict";
import { mixBatch, oneHotTargets } from "../lib/augment/mix.ts";
import { checkGradients } from "../lib/runtime/gradcheck.ts";
import {
  brierKindOf,
  evaluateMultiLabel,
  metricTaskOf,
  multiLabelBrierScore,
  rocCurve,
  rocCurvesOvr,
  taskNote,
} from "../lib/metrics/mod.ts";
import { MEDMNIST_INFO } from "../lib/data/medmnist.ts";
import { Graph } from "../lib/onnx/graph.ts";
import { Program, StateStore } from "../lib/runtime/program.ts";
import { createBackend } from "../lib/runtime/select.ts";
import { sigmoidBinaryCrossEntropy } from "../lib/train/loss.ts";
import { rocCurvesPerClass, scoreProbabilities } from "../lib/train/evaluate.ts";
import { Rng } from "../lib/util/rng.ts";

const backend = await createBackend("cpu", { verbose: false });

function close(a: number, b: number, tol = 1e-6, what = "") {
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what} ${a} vs ${b}`);
}

/** AUC by counting every (positive, negative) pair: 1 when the positive scores higher, ½ on ties. */
function pairwiseAuc(scores: number[], positive: boolean[]): number | null {
  let pairs = 0, wins = 0;
  scores.forEach((s, i) => {
    if (!positive[i]) return;
    scores.forEach((t, j) => {
      if (positive[j]) return;
      pairs++;
      wins += s > t ? 1 : s === t ? 0.5 : 0;
    });
  });
  return pairs ? wins / pairs : null;
}

Deno.test("binary Brier is sklearn's brier_score_loss: mean (p1 − y)², half the two-class sum", () => {
  // p(class 1) = 0.1, 0.9, 0.8, 0.3 for labels 0, 1, 1, 0:
  // sklearn: (0.1² + 0.1² + 0.2² + 0.3²) / 4 = 0.15 / 4 = 0.0375; the two-class sum is 0.075.
  const p1 = [0.1, 0.9, 0.8, 0.3];
  const probs = Float32Array.from(p1.flatMap((p) => [1 - p, p]));
  const labels = Int32Array.of(0, 1, 1, 0);
  const scored = scoreProbabilities(probs, labels, 2);
  assert.equal(scored.task, "binary");
  assert.equal(scored.metrics.brierKind, "binary");
  close(scored.metrics.brier, 0.0375, 1e-6, "binary Brier");
  close(scored.report!.brier, 0.075, 1e-6, "two-class sum");
  assert.equal(scored.metrics.auc, 1);
  assert.deepEqual(scored.metrics.perClassAuc, [1, 1]);
});

Deno.test("multi-class: macro OvR AUC, per-class AUC, balanced accuracy and the multi-class Brier", () => {
  const rows = [
    [0.7, 0.2, 0.1],
    [0.2, 0.5, 0.3],
    [0.1, 0.3, 0.6],
    [0.4, 0.4, 0.2],
    [0.3, 0.3, 0.4],
    [0.2, 0.6, 0.2],
  ];
  const y = [0, 1, 2, 1, 0, 2];
  const scored = scoreProbabilities(Float32Array.from(rows.flat()), Int32Array.from(y), 3);
  assert.equal(scored.task, "multi-class");
  assert.equal(scored.metrics.brierKind, "multiclass");
  let brier = 0;
  rows.forEach((r, i) => r.forEach((p, k) => brier += (p - (y[i] === k ? 1 : 0)) ** 2));
  close(scored.metrics.brier, brier / rows.length, 1e-6, "multi-class Brier");
  const perClass = [0, 1, 2].map((k) => pairwiseAuc(rows.map((r) => r[k]), y.map((l) => l === k))!);
  perClass.forEach((a, k) => close(scored.metrics.perClassAuc![k]!, a, 1e-6, `AUC class ${k}`));
  close(scored.metrics.auc!, (perClass[0] + perClass[1] + perClass[2]) / 3, 1e-6, "macro AUC");
  // argmax predictions 0, 1, 2, 0 (tie → first), 2, 1: recalls 1/2, 1/2, 1/2
  close(scored.metrics.balancedAccuracy, 0.5, 1e-9, "balanced accuracy");
  close(scored.metrics.accuracy, 3 / 6, 1e-9, "accuracy");
  // Per-class ROC curves keep only the corner points but trace the same curve.
  const curves = rocCurvesPerClass(Float32Array.from(rows.flat()), Int32Array.from(y), 3);
  assert.equal(curves.length, 3);
  const full = rocCurvesOvr(rows, y);
  curves.forEach((c, k) => {
    assert.ok(c && full[k]);
    assert.deepEqual([c.fpr[0], c.tpr[0]], [0, 0]);
    assert.deepEqual([c.fpr.at(-1), c.tpr.at(-1)], [1, 1]);
    let area = 0;
    for (let i = 1; i < c.fpr.length; i++) {
      area += (c.fpr[i] - c.fpr[i - 1]) * (c.tpr[i] + c.tpr[i - 1]) / 2;
    }
    close(area, perClass[k], 1e-9, `area under thinned ROC of class ${k}`);
  });
});

Deno.test("rocCurve dropIntermediate keeps sklearn's corner points", () => {
  // sklearn roc_curve([0,0,1,1,1,0], [0.1,0.2,0.3,0.4,0.5,0.6]) (drop_intermediate=True):
  // full curve fpr [0, ⅓, ⅓, ⅓, ⅓, ⅔, 1], tpr [0, 0, ⅓, ⅔, 1, 1, 1]; sklearn keeps the corners.
  const c = rocCurve([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [0, 0, 1, 1, 1, 0], {
    dropIntermediate: true,
  });
  assert.deepEqual(Array.from(c.fpr), [0, 1 / 3, 1 / 3, 1]);
  assert.deepEqual(Array.from(c.tpr), [0, 0, 1, 1]);
  assert.deepEqual(Array.from(c.thresholds), [Infinity, 0.6, 0.3, 0.1]);
});

Deno.test("multi-label: mean per-label AUC equals an independent pairwise computation", () => {
  const rng = new Rng(3);
  const n = 40, k = 5;
  const probs = new Float32Array(n * k);
  const labels = new Int32Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < k; c++) {
      labels[i * k + c] = c === 4 ? 0 : Number(rng.float() < 0.3 + 0.1 * c); // label 4: never present
      probs[i * k + c] = Math.round((0.4 * labels[i * k + c] + 0.6 * rng.float()) * 20) / 20; // ties
    }
  }
  const scored = scoreProbabilities(probs, labels, k, { task: "multi-label" });
  assert.equal(scored.task, "multi-label");
  assert.equal(scored.metrics.brierKind, "multilabel");
  const expected: (number | null)[] = [];
  for (let c = 0; c < k; c++) {
    const s: number[] = [], pos: boolean[] = [];
    for (let i = 0; i < n; i++) {
      s.push(probs[i * k + c]);
      pos.push(labels[i * k + c] === 1);
    }
    expected.push(pairwiseAuc(s, pos));
  }
  assert.equal(expected[4], null);
  assert.equal(scored.metrics.perClassAuc![4], null);
  for (let c = 0; c < 4; c++) {
    close(scored.metrics.perClassAuc![c]!, expected[c]!, 1e-9, `label ${c}`);
  }
  const defined = expected.filter((a): a is number => a !== null);
  close(scored.metrics.auc!, defined.reduce((a, b) => a + b, 0) / defined.length, 1e-9, "mean AUC");
  // accuracy at 0.5: fraction of the N·K decisions that are right; Brier per label mean; BCE.
  let right = 0, brier = 0, bce = 0;
  for (let i = 0; i < n * k; i++) {
    right += Number((probs[i] >= 0.5 ? 1 : 0) === labels[i]);
    brier += (probs[i] - labels[i]) ** 2;
    const q = Math.min(Math.max(probs[i], 1e-12), 1 - 1e-12);
    bce -= labels[i] ? Math.log(q) : Math.log(1 - q);
  }
  close(scored.metrics.accuracy, right / (n * k), 1e-9, "accuracy");
  close(scored.metrics.brier, brier / (n * k), 1e-6, "Brier");
  close(
    multiLabelBrierScore({ data: probs, dims: [n, k] }, { data: labels, dims: [n, k] }),
    brier / (n * k),
    1e-6,
  );
  close(scored.metrics.loss, bce / (n * k), 1e-6, "BCE");
  const curves = rocCurvesPerClass(probs, labels, k, { task: "multi-label" });
  assert.equal(curves[4], null);
  assert.ok(curves[0] && curves[0].fpr.length >= 2);
});

Deno.test("multi-label report: subset accuracy, per-label balanced accuracy and input checks", () => {
  const probs = [[0.9, 0.2], [0.6, 0.7], [0.1, 0.4], [0.3, 0.8]];
  const labels = [[1, 0], [0, 1], [0, 0], [1, 1]];
  const r = evaluateMultiLabel(probs, labels);
  // decisions at 0.5: [1,0] ✓✓, [1,1] ✗✓, [0,0] ✓✓, [0,1] ✗✓
  assert.deepEqual(r.accuracyPerLabel, [0.5, 1]);
  assert.equal(r.accuracy, 0.75);
  assert.equal(r.subsetAccuracy, 0.5);
  // label 0: recall(pos) 1/2, recall(neg) 1/2 → 0.5; label 1: 1 → mean 0.75
  assert.equal(r.balancedAccuracy, 0.75);
  assert.deepEqual(r.support, [2, 2]);
  assert.throws(
    () => evaluateMultiLabel(probs, [[1, 0], [0, 2], [0, 0], [1, 1]]),
    /must be 0 or 1/,
  );
  assert.throws(() => evaluateMultiLabel([[1.5, 0], [0, 1]], [[1, 0], [0, 1]]), /not logits/);
  assert.throws(() => evaluateMultiLabel(probs, [[1, 0]]), /labels are 1×2 but probs are 4×2/);
});

Deno.test("task types: ordinal RetinaMNIST is scored as multi-class and says so; ChestMNIST as multi-label", () => {
  const retina = MEDMNIST_INFO.retinamnist;
  assert.equal(metricTaskOf(retina.task, retina.numClasses), "multi-class");
  assert.match(
    taskNote(retina.task, retina.numClasses)!,
    /ordinal regression \(5 ordered grades\)/,
  );
  const chest = MEDMNIST_INFO.chestmnist;
  assert.equal(metricTaskOf(chest.task, chest.numClasses), "multi-label");
  assert.equal(metricTaskOf("binary", 2), "binary");
  assert.equal(taskNote("binary", 2), undefined);
  assert.deepEqual(
    (["binary", "multi-class", "multi-label"] as const).map(brierKindOf),
    ["binary", "multiclass", "multilabel"],
  );
});

Deno.test("sigmoid binary cross-entropy matches the closed form, with per-label smoothing and weights", async () => {
  const logits = [2, -1, 0.5, -30, 40, 0];
  const targets = [1, 0, 1, 1, 0, 0.4];
  const eps = 0.1;
  const w = [2, 0.5, 1];
  const g = new Graph();
  const z = g.input("z", "float32", [2, 3]);
  const t = g.input("t", "float32", [2, 3]);
  const { loss, probs } = sigmoidBinaryCrossEntropy(z, t, { labelSmoothing: eps, labelWeights: w });
  g.output("loss", loss);
  g.output("probs", probs);
  const out = await (await Program.compile(backend, g)).run(new StateStore(backend), {
    z: Float32Array.from(logits),
    t: Float32Array.from(targets),
  });
  let sum = 0;
  logits.forEach((x, i) => {
    const y = targets[i] * (1 - eps) + eps / 2;
    // −[y log σ(x) + (1 − y) log(1 − σ(x))], in a form exact for large |x|
    const logSig = -Math.log1p(Math.exp(-Math.abs(x))) + Math.min(x, 0);
    const logOneMinus = -Math.log1p(Math.exp(-Math.abs(x))) - Math.max(x, 0);
    sum += w[i % 3] * -(y * logSig + (1 - y) * logOneMinus);
  });
  close(out.loss[0] as number, sum / 6, 1e-5, "BCE");
  close(out.probs[0] as number, 1 / (1 + Math.exp(-2)), 1e-6, "sigmoid");
  assert.ok(Number.isFinite(out.loss[0] as number));
});

Deno.test("sigmoid binary cross-entropy's fused gradient matches finite differences", async () => {
  for (
    const options of [{}, { labelSmoothing: 0.1 }, {
      labelSmoothing: 0.2,
      labelWeights: [0.5, 2, 1],
    }]
  ) {
    const report = await checkGradients(backend, (g) => {
      const z = g.input("z", "float32", [4, 3]);
      const t = g.constant(Float32Array.from([1, 0, 0, 0, 1, 1, 0.2, 0.8, 0, 1, 1, 1]), [4, 3]);
      return sigmoidBinaryCrossEntropy(z, t, options).loss;
    }, { seed: 4 });
    assert.ok(report.ok, JSON.stringify(report.entries));
  }
});

Deno.test("Mixup and CutMix mix multi-label target vectors entry by entry", () => {
  const n = 4, k = 3, size = 16;
  const labels = Int32Array.of(1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0);
  for (const kind of ["mixup", "cutmix"] as const) {
    const targets = oneHotTargets(labels, { numClasses: k, smoothing: 0.1, multiLabel: true });
    const before = targets.slice();
    // smoothed towards ½ per label: 1 → 0.95, 0 → 0.05
    assert.deepEqual(Array.from(before.slice(0, 3)).map((v) => +v.toFixed(6)), [0.95, 0.05, 0.95]);
    const x = new Float32Array(n * size * size).map((_, i) => i);
    const result = mixBatch(
      { x, targets, n, channels: 1, height: size, width: size, numClasses: k },
      new Rng(11),
      kind === "mixup"
        ? { mixupAlpha: 1, cutmixAlpha: 0, prob: 1, switchProb: 0 }
        : { mixupAlpha: 0, cutmixAlpha: 1, prob: 1, switchProb: 0 },
    );
    assert.equal(result.kind, kind);
    const lam = result.lam;
    assert.ok(lam > 0 && lam < 1, `λ ${lam}`);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < k; c++) {
        const want = lam * before[i * k + c] + (1 - lam) * before[(n - 1 - i) * k + c];
        close(targets[i * k + c], want, 1e-6, `${kind} target [${i}][${c}]`);
      }
    }
    if (kind === "cutmix") {
      // λ is the area share of each image's own pixels
      const own = x.slice(0, size * size).filter((v, p) => v === p).length;
      close(lam, own / (size * size), 1e-9, "CutMix λ");
    }
  }
});

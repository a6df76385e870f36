// Tests for lib/metrics: AUC, ROC, classification metrics, calibration and the report.
// Reference numbers are worked by hand in the comments; a few were cross-checked with
// numpy (noted where so).

import assert from "node:assert/strict";
import {
  accuracy,
  argmaxPredictions,
  aucOvr,
  aucPerClassOvr,
  aucRoc,
  balancedAccuracy,
  binaryBrierScore,
  brierScore,
  confusionMatrix,
  DegenerateSampleError,
  evaluateScores,
  expectedCalibrationError,
  midranks,
  perClassStats,
  reliabilityBins,
  rocCurve,
  sensitivitySpecificity,
  thresholdPredictions,
} from "../lib/metrics/mod.ts";
import { Rng } from "../lib/util/rng.ts";

function assertClose(actual: number | null, expected: number, tol = 1e-12, what = ""): void {
  assert.ok(
    actual !== null && Math.abs(actual - expected) <= tol,
    `${what} expected ${expected} ± ${tol}, got ${actual}`,
  );
}

/** AUC by its O(m·n) definition: P(score_pos > score_neg) + ½ P(tie). */
function bruteAuc(scores: ArrayLike<number>, labels: ArrayLike<number>, pos = 1): number {
  let acc = 0;
  let pairs = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== pos) continue;
    for (let j = 0; j < labels.length; j++) {
      if (labels[j] === pos) continue;
      acc += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
      pairs++;
    }
  }
  return acc / pairs;
}

Deno.test("midranks averages tied ranks", () => {
  assert.deepEqual([...midranks([3, 1, 3, 2])], [3.5, 1, 3.5, 2]);
  assert.deepEqual([...midranks([5, 5, 5])], [2, 2, 2]);
  assert.deepEqual([...midranks([])], []);
});

Deno.test("aucRoc: perfect, inverted and constant scores", () => {
  const labels = [0, 0, 0, 1, 1];
  assert.equal(aucRoc([0.1, 0.2, 0.3, 0.8, 0.9], labels), 1);
  assert.equal(aucRoc([0.9, 0.8, 0.7, 0.2, 0.1], labels), 0);
  assert.equal(aucRoc([0.5, 0.5, 0.5, 0.5, 0.5], labels), 0.5);
});

Deno.test("aucRoc: hand-computed cases with and without ties", () => {
  // sklearn's doc example: pairs (0.35>0.1, 0.35<0.4, 0.8>0.1, 0.8>0.4) → 3/4.
  assert.equal(aucRoc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
  // positives {0.5, 0.9}, negatives {0.5, 0.2}: ½ + 1 + 1 + 1 = 3.5 of 4 pairs.
  assert.equal(
    aucRoc(new Float32Array([0.5, 0.5, 0.2, 0.9]), Int32Array.from([1, 0, 0, 1])),
    0.875,
  );
  // positiveClass 0 flips the roles: 1 − 0.875.
  assert.equal(aucRoc([0.5, 0.5, 0.2, 0.9], [1, 0, 0, 1], { positiveClass: 0 }), 0.125);
  // Labels other than positiveClass are all negatives (class 1 vs {0, 2}).
  assert.equal(aucRoc([0.1, 0.9, 0.2, 0.8], [0, 1, 2, 1]), 1);
});

Deno.test("aucRoc equals the O(mn) definition on random data with many ties", () => {
  const rng = Rng.rawSeeded(7);
  for (let trial = 0; trial < 20; trial++) {
    const n = 5 + rng.int(60);
    const scores = Array.from({ length: n }, () => rng.int(6) / 5); // heavy ties
    const labels = Array.from({ length: n }, (_, i) => (i < 2 ? i : rng.int(2)));
    assertClose(aucRoc(scores, labels), bruteAuc(scores, labels), 1e-12, `trial ${trial}`);
  }
});

Deno.test("aucRoc rejects bad input with messages that say what and where", () => {
  assert.throws(() => aucRoc([0.1, 0.2], [1, 1]), DegenerateSampleError);
  assert.throws(() => aucRoc([0.1, 0.2], [0, 0]), /2 negative/);
  assert.throws(() => aucRoc([0.1, NaN], [0, 1]), /scores\[1\] is NaN/);
  assert.throws(() => aucRoc([0.1, 0.2, 0.3], [0, 1]), /different lengths \(3 vs 2\)/);
  assert.throws(() => aucRoc([0.1, 0.2], [0, 0.5]), /labels\[1\] is 0.5/);
  assert.throws(() => aucRoc([0.1, 0.2], [0, 1], { positiveClass: -1 }), /positiveClass/);
});

Deno.test("rocCurve matches sklearn's documented example", () => {
  // sklearn.metrics.roc_curve docs: y = [1, 1, 2, 2], scores = [0.1, 0.4, 0.35, 0.8], pos_label 2.
  const roc = rocCurve([0.1, 0.4, 0.35, 0.8], [1, 1, 2, 2], { positiveClass: 2 });
  assert.deepEqual([...roc.fpr], [0, 0, 0.5, 0.5, 1]);
  assert.deepEqual([...roc.tpr], [0, 0.5, 0.5, 1, 1]);
  assert.deepEqual([...roc.thresholds], [Infinity, 0.8, 0.4, 0.35, 0.1]);
});

Deno.test("rocCurve: endpoints, monotone, tied thresholds deduped, area equals AUC", () => {
  const rng = Rng.rawSeeded(11);
  const n = 80;
  const scores = Array.from({ length: n }, () => rng.int(10) / 10);
  const labels = Array.from({ length: n }, (_, i) => (i < 2 ? i : rng.int(2)));
  const roc = rocCurve(scores, labels);
  const last = roc.fpr.length - 1;
  assert.deepEqual([roc.fpr[0], roc.tpr[0]], [0, 0]);
  assert.deepEqual([roc.fpr[last], roc.tpr[last]], [1, 1]);
  assert.equal(new Set(roc.thresholds).size, roc.thresholds.length, "thresholds are distinct");
  assert.equal(roc.thresholds.length, new Set(scores).size + 1);
  let area = 0;
  for (let i = 1; i <= last; i++) {
    assert.ok(roc.fpr[i] >= roc.fpr[i - 1] && roc.tpr[i] >= roc.tpr[i - 1], `monotone at ${i}`);
    assert.ok(roc.thresholds[i] < roc.thresholds[i - 1]);
    area += ((roc.fpr[i] - roc.fpr[i - 1]) * (roc.tpr[i] + roc.tpr[i - 1])) / 2;
  }
  // The trapezoidal area of the un-thinned ROC curve is exactly the tie-corrected AUC.
  assertClose(area, aucRoc(scores, labels), 1e-12);
  assert.throws(() => rocCurve([0.1, 0.2], [1, 1]), DegenerateSampleError);
});

// 7 samples, 3 classes (supports 3, 2, 2); rows are probabilities.
const P3 = [
  [0.7, 0.2, 0.1],
  [0.4, 0.3, 0.3],
  [0.3, 0.6, 0.1],
  [0.5, 0.4, 0.1],
  [0.1, 0.2, 0.7],
  [0.3, 0.3, 0.4],
  [0.2, 0.5, 0.3],
];
const Y3 = [0, 0, 1, 1, 2, 2, 0];

Deno.test("aucOvr: hand-computed one-vs-rest macro and weighted AUC", () => {
  // class 0: positives {0.7, 0.4, 0.2} vs negatives {0.3, 0.5, 0.1, 0.3}: 4 + 3 + 1 = 8/12.
  // class 1: positives {0.6, 0.4} vs negatives {0.2, 0.3, 0.2, 0.3, 0.5}: 5 + 4 = 9/10.
  // class 2: positives {0.7, 0.4} vs negatives {0.1, 0.3, 0.1, 0.1, 0.3}: 10/10.
  const per = aucPerClassOvr(P3, Y3);
  assertClose(per[0], 2 / 3);
  assertClose(per[1], 0.9);
  assertClose(per[2], 1);
  assertClose(aucOvr(P3, Y3), (2 / 3 + 0.9 + 1) / 3); // 0.85556 (numpy agrees)
  assertClose(aucOvr(P3, Y3, { average: "weighted" }), (3 * (2 / 3) + 2 * 0.9 + 2 * 1) / 7);
  // The flat {data, dims} form (an ONNX tensor's layout) gives the same numbers.
  const flat = { data: new Float32Array(P3.flat()), dims: [7, 3] };
  assertClose(aucOvr(flat, Int32Array.from(Y3)), aucOvr(P3, Y3), 1e-7);
});

Deno.test("aucOvr: binary matrix equals the binary AUC of column 1; errors are clear", () => {
  const p1 = [0.1, 0.4, 0.35, 0.8];
  const m = p1.map((p) => [1 - p, p]);
  assertClose(aucOvr(m, [0, 0, 1, 1]), 0.75);
  assert.throws(() => aucOvr(P3, [0, 0, 1, 1, 1, 1, 0]), /class 2 vs rest/);
  assert.throws(() => aucOvr(P3, [0, 0, 1, 1, 3, 2, 0]), /labels\[4\] is 3 but there are only 3/);
  assert.throws(() => aucOvr({ data: [0.5, 0.5], dims: [1, 3] }, [0]), /need 3/);
  assert.throws(() => aucOvr([[0.5, 0.5], [1]], [0, 1]), /probs\[1\] has 1 values/);
  assert.throws(() => aucOvr(P3, Y3, { average: "micro" as "macro" }), /"macro" or "weighted"/);
  assert.throws(() => aucOvr([], []), DegenerateSampleError);
});

Deno.test("confusionMatrix, accuracy and balancedAccuracy on a hand example", () => {
  const pred = [0, 0, 1, 1, 1, 2];
  const y = [0, 1, 1, 1, 2, 2];
  assert.deepEqual(confusionMatrix(pred, y), [[1, 0, 0], [1, 2, 0], [0, 1, 1]]);
  assert.deepEqual(confusionMatrix([0], [0], { numClasses: 2 }), [[1, 0], [0, 0]]);
  assert.throws(() => confusionMatrix([2], [0], { numClasses: 2 }), /found class 2/);
  assertClose(accuracy(pred, y), 4 / 6);
  // Recalls: class 0 1/1, class 1 2/3, class 2 1/2 → mean 0.72222…
  assertClose(balancedAccuracy(pred, y), (1 + 2 / 3 + 1 / 2) / 3);
  // A class only ever predicted (never true) does not enter the mean.
  assertClose(balancedAccuracy([0, 1, 2], [0, 1, 1], { numClasses: 3 }), (1 + 1 / 2) / 2);
  assert.throws(() => accuracy([], []), DegenerateSampleError);
});

Deno.test("sensitivitySpecificity honours positiveClass and equals balanced accuracy", () => {
  // BreastMNIST-style labels: 0 = malignant, 1 = normal/benign.
  const y = [1, 1, 1, 1, 0, 0, 0];
  const pred = [1, 1, 1, 0, 0, 0, 1];
  const ss = sensitivitySpecificity(pred, y);
  assert.deepEqual(
    { tp: ss.tp, fn: ss.fn, tn: ss.tn, fp: ss.fp },
    { tp: 3, fn: 1, tn: 2, fp: 1 },
  );
  assertClose(ss.sensitivity, 3 / 4);
  assertClose(ss.specificity, 2 / 3);
  assertClose(balancedAccuracy(pred, y), (ss.sensitivity! + ss.specificity!) / 2);
  const mal = sensitivitySpecificity(pred, y, { positiveClass: 0 });
  assertClose(mal.sensitivity, 2 / 3);
  assertClose(mal.specificity, 3 / 4);
  assert.equal(sensitivitySpecificity([1], [1]).specificity, null);
});

Deno.test("perClassStats, argmaxPredictions and thresholdPredictions", () => {
  const stats = perClassStats([0, 0, 1, 1, 1, 2], [0, 1, 1, 1, 2, 2]);
  // class 1: tp 2, predicted 3, support 3 → precision 2/3, recall 2/3, f1 2/3.
  assertClose(stats[1].precision, 2 / 3);
  assertClose(stats[1].recall, 2 / 3);
  assertClose(stats[1].f1, 2 / 3);
  assert.equal(stats[0].support, 1);
  assert.equal(perClassStats([0], [0], { numClasses: 2 })[1].precision, null);
  assert.deepEqual([...argmaxPredictions([[0.2, 0.8], [0.5, 0.5], [0.9, 0.1]])], [1, 0, 0]);
  assert.deepEqual([...thresholdPredictions([0.2, 0.5, 0.7])], [0, 1, 1]);
  assert.deepEqual(
    [...thresholdPredictions([0.2, 0.5, 0.7], {
      threshold: 0.6,
      positiveClass: 0,
      negativeClass: 1,
    })],
    [1, 1, 0],
  );
});

Deno.test("brierScore (multi-class) and binaryBrierScore (sklearn form) on a hand example", () => {
  const probs = [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]];
  const y = [0, 1, 1];
  // Σ_k (p_k − onehot_k)² per row: 0.02, 0.08, 0.72 → mean 0.82 / 3.
  assertClose(brierScore(probs, y), 0.82 / 3);
  // (0.1 − 0)² + (0.8 − 1)² + (0.4 − 1)² = 0.41 → / 3; exactly half the multi-class form.
  assertClose(binaryBrierScore([0.1, 0.8, 0.4], y), 0.41 / 3);
  assertClose(binaryBrierScore([0.9, 0.2, 0.6], y, { positiveClass: 0 }), 0.41 / 3);
  assertClose(brierScore(P3, Y3), brierScore({ data: P3.flat(), dims: [7, 3] }, Y3));
  assert.throws(() => binaryBrierScore([1.5], [1]), /outside \[0, 1\]/);
  assert.throws(() => brierScore([[2, -1]], [0]), /not logits/);
  assert.throws(() => brierScore([[0.5, 0.6]], [0]), /sums to 1.1/);
});

Deno.test("expectedCalibrationError: hand examples, bin edges and reliability bins", () => {
  // Top-label confidences 0.9 (right), 0.8 (wrong), 0.7 (right), 0.6 (wrong).
  const probs = [[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.4, 0.6]];
  const y = [0, 1, 1, 0];
  // 15 bins of width 1/15: each sample alone in its bin (0.8 sits on the edge 12/15 and
  // belongs to the bin (11/15, 12/15]) → ECE = (0.1 + 0.8 + 0.3 + 0.6) / 4.
  const r = reliabilityBins(probs, y);
  assertClose(r.ece, 0.45);
  assertClose(r.mce, 0.8);
  assert.equal(r.bins.length, 15);
  assert.equal(r.bins[11].count, 1);
  assertClose(r.bins[11].confidence, 0.8);
  assert.equal(r.bins[12].count, 0);
  assert.equal(r.bins[12].accuracy, null);
  // 2 bins: all four in (0.5, 1]: accuracy 0.5, mean confidence 0.75 → ECE 0.25.
  assertClose(expectedCalibrationError(probs, y, { nBins: 2 }), 0.25);
  // Confidence exactly on an edge (0.5 with 10 bins) goes to the bin below: (0.4, 0.5].
  const edge = reliabilityBins([[0.5, 0.5]], [0], { nBins: 10 });
  assert.equal(edge.bins[4].count, 1);
  // Perfectly confident and right → 0.
  assert.equal(expectedCalibrationError([[1, 0], [0, 1]], [0, 1]), 0);
  assert.throws(() => expectedCalibrationError(probs, y, { nBins: 0 }), /nBins/);
});

Deno.test("evaluateScores: binary report agrees with the individual metrics", () => {
  const p1 = [0.1, 0.4, 0.35, 0.8, 0.7, 0.2, 0.55, 0.9];
  const y = [0, 0, 1, 1, 1, 0, 0, 1];
  const probs = { data: Float32Array.from(p1.flatMap((p) => [1 - p, p])), dims: [8, 2] };
  const r = evaluateScores(probs, Int32Array.from(y));
  const pred = thresholdPredictions(Float32Array.from(p1), { threshold: 0.5 });
  assert.equal(r.n, 8);
  assert.equal(r.numClasses, 2);
  assert.deepEqual(r.support, [4, 4]);
  assertClose(r.auc, aucRoc(Float32Array.from(p1), y));
  assertClose(r.accuracy, accuracy(pred, y));
  assertClose(r.balancedAccuracy, balancedAccuracy(pred, y));
  assert.deepEqual(r.confusionMatrix, confusionMatrix(pred, y));
  assert.ok(r.binary);
  assertClose(r.binary.sensitivity, 3 / 4);
  assertClose(r.binary.specificity, 3 / 4);
  // Exactly half for rows summing to 1; float32 storage of 1 − p and p perturbs it ~1e-8.
  assertClose(r.binary.brier * 2, r.brier, 1e-7);
  assert.ok(r.binary.aucCi && r.binary.aucCi.lower <= r.auc! && r.auc! <= r.binary.aucCi.upper);
  // positiveClass 0 (e.g. malignant in BreastMNIST) swaps sensitivity and specificity.
  const r0 = evaluateScores(probs, y, { positiveClass: 0 });
  assert.equal(r0.binary?.sensitivity, r.binary.specificity);
  assertClose(r0.auc, r.auc!, 1e-12);
  // The report is JSON-safe: round-trips without loss.
  assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
});

Deno.test("evaluateScores: multi-class report, missing class and logits", () => {
  const r = evaluateScores(P3, Y3);
  assertClose(r.auc, aucOvr(P3, Y3));
  assert.equal(r.binary, null);
  assert.equal(r.perClass.length, 3);
  assertClose(r.brier, brierScore(P3, Y3));
  // A class absent from the labels has no AUC; the report says null instead of throwing.
  const partial = evaluateScores(P3.slice(0, 4), Y3.slice(0, 4));
  assert.deepEqual(partial.aucPerClass.map((a) => a === null), [false, false, true]);
  assert.equal(partial.auc, null);
  assert.throws(() => evaluateScores([[2.3, -1.2]], [0]), /evaluateScores: probs\[0\]\[0\] is 2.3/);
  assert.throws(() => evaluateScores([], []), DegenerateSampleError);
});

/** Index of the first largest value of each row (numpy's argmax). */
function firstArgmax(rows: number[][]): number[] {
  return rows.map((r) => r.indexOf(Math.max(...r)));
}

/** Mean recall over the classes present in `y`, by direct counting. */
function directBalancedAccuracy(pred: number[], y: number[], k: number): number {
  let sum = 0, present = 0;
  for (let c = 0; c < k; c++) {
    let support = 0, hit = 0;
    for (let i = 0; i < y.length; i++) {
      if (y[i] !== c) continue;
      support++;
      if (pred[i] === c) hit++;
    }
    if (support > 0) {
      sum += hit / support;
      present++;
    }
  }
  return sum / present;
}

/** Multi-class Brier score: Σ_i Σ_k (p_ik − [y_i = k])² / n, by direct summation. */
function directBrier(rows: number[][], y: number[]): number {
  let total = 0;
  for (let i = 0; i < rows.length; i++) {
    for (let c = 0; c < rows[i].length; c++) total += (rows[i][c] - (y[i] === c ? 1 : 0)) ** 2;
  }
  return total / rows.length;
}

Deno.test("evaluateScores on random tied scores equals direct loops and pairwise AUCs", () => {
  const rng = Rng.rawSeeded(31);
  for (let trial = 0; trial < 10; trial++) {
    // Binary: positive-class scores on a 0.05 grid (many ties), rows [1 − p, p].
    const n = 40 + rng.int(60);
    const y = Array.from({ length: n }, (_, i) => (i < 2 ? i : rng.int(2)));
    const p = Array.from({ length: n }, () => rng.int(21) / 20);
    const rows = p.map((v) => [1 - v, v]);
    const r = evaluateScores(rows, y);
    const pred = firstArgmax(rows);
    const acc = pred.filter((c, i) => c === y[i]).length / n;
    assertClose(r.auc, bruteAuc(p, y), 1e-12, `binary AUC, trial ${trial}`);
    assertClose(aucRoc(p, y), bruteAuc(p, y), 1e-12);
    assertClose(r.accuracy, acc, 1e-12);
    assertClose(r.balancedAccuracy, directBalancedAccuracy(pred, y, 2), 1e-12);
    assertClose(balancedAccuracy(pred, y), directBalancedAccuracy(pred, y, 2), 1e-12);
    assertClose(r.brier, directBrier(rows, y), 1e-12);
    let binaryBrier = 0;
    for (let i = 0; i < n; i++) binaryBrier += (p[i] - y[i]) ** 2;
    assertClose(r.binary!.brier, binaryBrier / n, 1e-12);
    assertClose(binaryBrierScore(p, y), binaryBrier / n, 1e-12);
    const tp = pred.filter((c, i) => c === 1 && y[i] === 1).length;
    const tn = pred.filter((c, i) => c === 0 && y[i] === 0).length;
    const positives = y.filter((v) => v === 1).length;
    assertClose(r.binary!.sensitivity, tp / positives, 1e-12);
    assertClose(r.binary!.specificity, tn / (n - positives), 1e-12);

    // Three classes: rows on a 0.1 grid (ties in every column and in the argmax).
    const y3 = Array.from({ length: n }, (_, i) => (i < 3 ? i : rng.int(3)));
    const rows3 = Array.from({ length: n }, () => {
      const a = rng.int(11), b = rng.int(11 - a);
      return [a / 10, b / 10, (10 - a - b) / 10];
    });
    const r3 = evaluateScores(rows3, y3);
    const pred3 = firstArgmax(rows3);
    const perClass = [0, 1, 2].map((c) => bruteAuc(rows3.map((row) => row[c]), y3, c));
    perClass.forEach((a, c) => assertClose(r3.aucPerClass[c], a, 1e-12, `class ${c} AUC`));
    assertClose(r3.auc, (perClass[0] + perClass[1] + perClass[2]) / 3, 1e-12, "macro AUC");
    assertClose(r3.accuracy, pred3.filter((c, i) => c === y3[i]).length / n, 1e-12);
    assertClose(r3.balancedAccuracy, directBalancedAccuracy(pred3, y3, 3), 1e-12);
    assertClose(brierScore(rows3, y3), directBrier(rows3, y3), 1e-12);
    assertClose(r3.brier, directBrier(rows3, y3), 1e-12);
  }
});

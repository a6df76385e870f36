// Tests for DeLong's test (lib/metrics/delong.ts).
//
// 1. The fast midrank algorithm (Sun & Xu 2014) is compared with the O(m·n) definition of
//    the structural components (DeLong et al. 1988), implemented independently below.
// 2. pROC's aSAH example. Data: pROC::aSAH (Turck et al. 2010, Intensive Care Med 36:107–115),
//    113 patients, label 1 = outcome "Poor" (41 positives). pROC's documentation reports for
//    roc.test(roc(outcome, s100b), roc(outcome, wfns)): AUCs 0.7314 and 0.8237, Z = −2.209,
//    p-value = 0.02718; for s100b vs ndka Z = 1.3908, p = 0.1643; and ci.auc(s100b) = 0.6301–0.8326
//    (DeLong). The 16-digit values below were recomputed from the data with numpy by the
//    O(m·n) definition (np.cov with ddof 1; p = math.erfc(|z|/√2)) and agree with those.

import assert from "node:assert/strict";
import {
  aucRoc,
  DegenerateSampleError,
  delongAucCi,
  delongCovariance,
  delongTest,
} from "../lib/metrics/mod.ts";
import { Rng } from "../lib/util/rng.ts";

function assertRel(actual: number, expected: number, rel: number, what = ""): void {
  assert.ok(
    Math.abs(actual - expected) <= rel * Math.abs(expected),
    `${what} expected ${expected} (rel ${rel}), got ${actual}`,
  );
}

// deno-fmt-ignore
const ASAH_POOR = [
  0, 0, 0, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  1, 0, 0, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 1,
  1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0,
];
// deno-fmt-ignore
const ASAH_S100B = [
  0.13, 0.14, 0.1, 0.04, 0.13, 0.1, 0.47, 0.16, 0.18, 0.1, 0.12, 0.1, 0.44, 0.71, 0.04, 0.08,
  0.49, 0.04, 0.07, 0.33, 0.09, 0.09, 0.07, 0.11, 0.07, 0.17, 0.07, 0.11, 0.13, 0.19, 0.05, 0.16,
  0.41, 0.14, 0.34, 0.35, 0.48, 0.09, 0.96, 0.25, 0.5, 0.46, 0.16, 0.07, 0.43, 0.45, 0.11, 0.08,
  0.09, 0.86, 0.52, 0.08, 0.06, 0.13, 2.07, 0.1, 0.14, 0.15, 0.07, 0.06, 0.77, 0.05, 0.09, 0.3,
  0.03, 0.09, 0.04, 0.23, 0.7, 0.09, 0.27, 0.71, 0.08, 0.26, 0.08, 0.16, 0.09, 0.13, 0.1, 0.08,
  0.11, 0.33, 0.11, 0.28, 0.07, 0.1, 0.32, 0.22, 0.07, 0.05, 0.24, 0.38, 0.1, 0.15, 0.08, 0.14,
  0.1, 0.07, 0.04, 0.19, 0.56, 0.14, 0.58, 0.32, 0.82, 0.74, 0.15, 0.47, 0.17, 0.44, 0.15, 0.5,
  0.48,
];
// deno-fmt-ignore
const ASAH_WFNS = [
  1, 1, 1, 1, 3, 2, 5, 4, 1, 2, 5, 2, 5, 5, 1, 2, 5, 2, 2, 5, 2, 1, 1, 1, 1, 2, 1, 2, 1, 1, 3, 4,
  2, 1, 4, 5, 4, 1, 4, 2, 5, 5, 1, 1, 2, 4, 1, 1, 2, 5, 5, 2, 1, 2, 5, 1, 2, 2, 2, 1, 5, 1, 1, 2,
  5, 2, 1, 4, 5, 2, 4, 4, 1, 4, 1, 2, 1, 4, 2, 1, 2, 3, 2, 4, 2, 1, 4, 5, 1, 1, 5, 4, 2, 2, 1, 1,
  1, 3, 1, 2, 5, 2, 2, 5, 5, 5, 2, 4, 4, 5, 1, 1, 1,
];
// deno-fmt-ignore
const ASAH_NDKA = [
  3.01, 8.54, 8.09, 10.42, 17.4, 12.75, 6.0, 13.2, 15.54, 6.01, 15.96, 17.86, 5.18, 8.9, 13.41,
  20.75, 11.6, 16.11, 32.37, 54.82, 32.41, 49.94, 40.34, 9.47, 6.29, 12.53, 6.54, 6.3, 80.3, 12.8,
  9.8, 9.81, 9.85, 18.21, 5.03, 14.04, 21.93, 8.02, 7.42, 8.38, 6.59, 9.63, 13.12, 7.96, 14.34,
  41.43, 7.63, 7.06, 12.59, 13.56, 3.87, 9.44, 7.66, 12.98, 419.19, 27.19, 22.27, 9.95, 21.22,
  11.73, 10.4, 58.83, 6.39, 11.09, 12.22, 13.67, 17.21, 22.63, 12.9, 9.7, 21.57, 8.23, 72.57,
  15.54, 10.51, 10.6, 14.57, 5.19, 9.63, 4.61, 21.48, 17.3, 12.71, 9.44, 11.07, 19.46, 10.83,
  5.37, 11.97, 7.75, 9.83, 10.55, 28.49, 8.53, 12.57, 12.9, 46.83, 11.68, 12.67, 9.01, 9.57,
  34.06, 11.72, 14.26, 47.61, 11.67, 24.58, 10.33, 13.87, 15.89, 22.43, 6.79, 13.45,
];

/** Structural components by definition: V10_i = mean_j ψ(X_i, Y_j), V01_j = mean_i ψ(X_i, Y_j). */
function slowComponents(scores: number[], labels: number[]): { v10: number[]; v01: number[] } {
  const x = scores.filter((_, i) => labels[i] === 1);
  const y = scores.filter((_, i) => labels[i] !== 1);
  const psi = (a: number, b: number) => (a > b ? 1 : a === b ? 0.5 : 0);
  return {
    v10: x.map((xi) => y.reduce((acc, yj) => acc + psi(xi, yj), 0) / y.length),
    v01: y.map((yj) => x.reduce((acc, xi) => acc + psi(xi, yj), 0) / x.length),
  };
}

function sampleCov(a: number[], b: number[]): number {
  const ma = a.reduce((s, v) => s + v, 0) / a.length;
  const mb = b.reduce((s, v) => s + v, 0) / b.length;
  return a.reduce((s, v, i) => s + (v - ma) * (b[i] - mb), 0) / (a.length - 1);
}

Deno.test("delongCovariance: fast midrank components equal the O(mn) definition", () => {
  const rng = Rng.rawSeeded(21);
  for (let trial = 0; trial < 10; trial++) {
    const n = 6 + rng.int(50);
    const labels = Array.from({ length: n }, (_, i) => (i < 2 ? 1 : i < 4 ? 0 : rng.int(2)));
    const s1 = labels.map((l) => rng.int(8) / 4 + l * 0.5); // ties within and across classes
    const s2 = labels.map(() => rng.int(5));
    const d = delongCovariance([s1, s2], labels);
    const c1 = slowComponents(s1, labels);
    const c2 = slowComponents(s2, labels);
    for (let i = 0; i < c1.v10.length; i++) {
      assertRel(d.v10[0][i], c1.v10[i], 1e-12, "v10");
      assertRel(d.v10[1][i], c2.v10[i], 1e-12, "v10");
    }
    for (let j = 0; j < c1.v01.length; j++) {
      assert.ok(Math.abs(d.v01[0][j] - c1.v01[j]) < 1e-12);
      assert.ok(Math.abs(d.v01[1][j] - c2.v01[j]) < 1e-12);
    }
    const m = c1.v10.length;
    const k = c1.v01.length;
    const cov12 = sampleCov(c1.v10, c2.v10) / m + sampleCov(c1.v01, c2.v01) / k;
    assert.ok(Math.abs(d.covariance[0][1] - cov12) < 1e-14, `cov ${d.covariance[0][1]} ${cov12}`);
    assert.equal(d.covariance[1][0], d.covariance[0][1]);
    const var1 = sampleCov(c1.v10, c1.v10) / m + sampleCov(c1.v01, c1.v01) / k;
    assert.ok(Math.abs(d.covariance[0][0] - var1) < 1e-14);
    assert.ok(Math.abs(d.aucs[0] - aucRoc(s1, labels)) < 1e-12);
  }
});

Deno.test("delongTest reproduces pROC's aSAH example (s100b vs wfns, s100b vs ndka)", () => {
  const t = delongTest([ASAH_S100B, ASAH_WFNS], ASAH_POOR);
  assert.equal(t.nPositive, 41);
  assert.equal(t.nNegative, 72);
  assertRel(t.auc1, 0.7313685636856369, 1e-13, "auc s100b");
  assertRel(t.auc2, 0.8236788617886179, 1e-13, "auc wfns");
  assertRel(t.variance1, 0.00266868245717244, 1e-11, "var s100b");
  assertRel(t.variance2, 0.00146991470882363, 1e-11, "var wfns");
  assertRel(t.covariance, 0.00119615567376754, 1e-11, "cov");
  assertRel(t.z, -2.2089835914409073, 1e-11, "z");
  assertRel(t.pValue, 0.027175782229188178, 1e-10, "p");
  // pROC's printed, rounded values.
  assert.equal(t.z.toFixed(3), "-2.209");
  assert.equal(t.pValue.toFixed(5), "0.02718");
  assert.ok(t.differenceCi.lower < t.difference && t.difference < t.differenceCi.upper);
  assert.ok(t.differenceCi.upper < 0, "95% CI of the difference excludes 0 as p < 0.05");

  const t2 = delongTest([ASAH_S100B, ASAH_NDKA], ASAH_POOR);
  assertRel(t2.auc2, 0.6119579945799458, 1e-13, "auc ndka");
  assertRel(t2.covariance, -0.00075616493805658, 1e-11, "cov s100b,ndka");
  assertRel(t2.z, 1.3907700257355773, 1e-11, "z");
  assertRel(t2.pValue, 0.16429517522305442, 1e-10, "p");
  assert.equal(t2.pValue.toFixed(4), "0.1643");
});

Deno.test("delongAucCi reproduces pROC's ci.auc for aSAH s100b", () => {
  const ci = delongAucCi(ASAH_S100B, ASAH_POOR);
  assertRel(ci.variance, 0.00266868245717244, 1e-11);
  assert.equal(ci.lower.toFixed(4), "0.6301");
  assert.equal(ci.upper.toFixed(4), "0.8326");
  // Single-model variance equals the diagonal of the joint covariance.
  const joint = delongCovariance([ASAH_S100B, ASAH_WFNS, ASAH_NDKA], ASAH_POOR);
  assert.equal(joint.covariance[0][0], ci.variance);
  assertRel(joint.covariance[1][2], -0.00053296785676244, 1e-10, "cov wfns,ndka");
  // Clipped to [0, 1] near a perfect AUC.
  const perfect = delongAucCi([0.1, 0.2, 0.3, 0.7, 0.8, 0.85, 0.9], [0, 0, 0, 1, 1, 1, 1]);
  assert.equal(perfect.auc, 1);
  assert.equal(perfect.upper, 1);
});

Deno.test("delongTest: symmetry, identical models, positiveClass and errors", () => {
  const ab = delongTest([ASAH_S100B, ASAH_NDKA], ASAH_POOR);
  const ba = delongTest([ASAH_NDKA, ASAH_S100B], ASAH_POOR);
  assertRel(ba.z, -ab.z, 1e-12);
  assertRel(ba.pValue, ab.pValue, 1e-12);
  const same = delongTest([ASAH_S100B, ASAH_S100B], ASAH_POOR);
  assert.equal(same.z, 0);
  assert.equal(same.pValue, 1);
  // Swapping which class is positive and negating the scores leaves the AUCs unchanged.
  const good = ASAH_POOR.map((y) => 1 - y);
  const flipped = delongTest([ASAH_S100B.map((s) => -s), ASAH_WFNS.map((s) => -s)], good, {
    positiveClass: 1,
  });
  assertRel(flipped.z, -2.2089835914409073, 1e-11);
  const byZero = delongTest([ASAH_S100B, ASAH_WFNS], good, { positiveClass: 0 });
  assertRel(byZero.z, -2.2089835914409073, 1e-11);
  assert.throws(
    () => delongTest([[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]], [1, 0, 0]),
    DegenerateSampleError,
  );
  assert.throws(
    () => delongTest([[0.1, 0.2, 0.3, 0.4], [0.3, 0.2]], [1, 1, 0, 0]),
    /scores\[1\] and labels/,
  );
  assert.throws(
    () => delongTest([ASAH_S100B] as unknown as [number[], number[]], ASAH_POOR),
    /pair/,
  );
  assert.throws(() => delongAucCi(ASAH_S100B, ASAH_POOR, { confidence: 1 }), /confidence/);
});

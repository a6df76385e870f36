/**
 * DeLong's paired test extended to the mean of several AUCs: the macro
 * one-vs-rest AUC of a multi-class task, or the mean per-label AUC of a
 * multi-label one, of two models scored on the same images.
 *
 * Each class's AUC is a two-sample U-statistic over the same images, so the
 * difference of the two means, D = (1/K) Σ_k (AUC_k^A − AUC_k^B), has the
 * influence value ψ(i) = (1/K) Σ_k φ_k(i) per image, with φ_k(i) built from
 * DeLong's structural components of class k: for a positive of class k,
 * (V10_A(i) − V10_B(i) − D_k) / √(m_k (m_k − 1)); for a negative,
 * (V01_A(i) − V01_B(i) − D_k) / √(n_k (n_k − 1)). Var(D) = Σ_i ψ(i)² then
 * includes the covariances between classes (every image is a positive of one
 * class and a negative of the others), and with K = 1 it is exactly DeLong's
 * variance; z = D / √Var(D) and p = 2·Φ(−|z|).
 *
 * @module
 */

import { delongCovariance, erfc } from "../metrics/mod.ts";

/** Result of {@linkcode macroDelongTest}. */
export interface MacroDelongResult {
  /** Mean AUC of the first model over the classes. */
  auc1: number;
  /** Mean AUC of the second model. */
  auc2: number;
  /** auc1 − auc2. */
  difference: number;
  /** Standard error of the difference. */
  se: number;
  /** z = difference / se (0 when the difference is exactly 0). */
  z: number;
  /** Two-sided p-value. */
  pValue: number;
}

/**
 * Paired test of the mean one-vs-rest (or per-label) AUC of two N×K score
 * matrices on the same images (see the module documentation). `labels` are N
 * class indices (one-vs-rest) or N rows of K 0/1 values (multi-label). Throws
 * a `DegenerateSampleError` (from the metrics) when a class has fewer than
 * two positives or two negatives.
 */
export function macroDelongTest(
  scores: readonly [number[][], number[][]],
  labels: readonly number[] | readonly number[][],
): MacroDelongResult {
  const [a, b] = scores;
  const n = labels.length;
  if (a.length !== n || b.length !== n) {
    throw new RangeError(
      `macroDelongTest: ${a.length} and ${b.length} score rows for ${n} labels; pass one row per image`,
    );
  }
  const k = a[0]?.length ?? 0;
  if (k === 0 || b[0]?.length !== k) {
    throw new RangeError("macroDelongTest: score rows must have the same, non-zero width");
  }
  const psi = new Float64Array(n);
  let auc1 = 0;
  let auc2 = 0;
  for (let c = 0; c < k; c++) {
    const y = (labels as unknown[]).map((l) =>
      Array.isArray(l) ? (l[c] === 1 ? 1 : 0) : (l === c ? 1 : 0)
    );
    const d = delongCovariance([a.map((r) => r[c]), b.map((r) => r[c])], y);
    const dk = d.aucs[0] - d.aucs[1];
    auc1 += d.aucs[0] / k;
    auc2 += d.aucs[1] / k;
    const m = d.nPositive;
    const q = d.nNegative;
    const sp = Math.sqrt(m * (m - 1));
    const sn = Math.sqrt(q * (q - 1));
    let p = 0;
    let j = 0;
    for (let i = 0; i < n; i++) {
      // delongCovariance lists positives and negatives in sample order.
      if (y[i] === 1) {
        psi[i] += (d.v10[0][p] - d.v10[1][p] - dk) / sp / k;
        p++;
      } else {
        psi[i] += (d.v01[0][j] - d.v01[1][j] - dk) / sn / k;
        j++;
      }
    }
  }
  let variance = 0;
  for (let i = 0; i < n; i++) variance += psi[i] * psi[i];
  const difference = auc1 - auc2;
  const se = Math.sqrt(variance);
  const z = difference === 0
    ? 0
    : se === 0
    ? (difference > 0 ? Infinity : -Infinity)
    : difference / se;
  return { auc1, auc2, difference, se, z, pValue: erfc(Math.abs(z) / Math.SQRT2) };
}

/**
 * DeLong's nonparametric (co)variance of AUCs (DeLong, DeLong & Clarke-Pearson
 * 1988) with the fast O(N log N) midrank algorithm of Sun & Xu (2014): a
 * paired test of two correlated AUCs on the same samples and a single-AUC
 * confidence interval. Values match pROC's `roc.test(method = "delong")` and
 * `ci.auc(method = "delong")`.
 *
 * @module
 */

import type { PositiveClassOptions } from "./auc.ts";
import { midranksOf } from "./_rank.ts";
import { erfc, normalQuantile } from "./stats.ts";
import {
  checkSameLength,
  DegenerateSampleError,
  type Labels,
  type Scores,
  toFloat64,
  toLabels,
} from "./_validate.ts";

/** AUCs of several score vectors on the same samples and their DeLong covariance. */
export interface DelongCovariance {
  /** AUC of each score vector, in input order. */
  aucs: number[];
  /** Symmetric covariance matrix of the AUC estimates (variances on the diagonal). */
  covariance: number[][];
  /** Structural components V10: one Float64Array per score vector, one value per positive. */
  v10: Float64Array[];
  /** Structural components V01: one Float64Array per score vector, one value per negative. */
  v01: Float64Array[];
  /** Number of positive samples (m). */
  nPositive: number;
  /** Number of negative samples (n). */
  nNegative: number;
}

/**
 * DeLong covariance of the AUCs of one or more score vectors evaluated on the
 * same samples. Positives are samples whose label equals `positiveClass`
 * (default 1). Needs at least two positives and two negatives.
 *
 * Structural components (Sun & Xu 2014, with midranks so ties count one half):
 * V10_i = (Tz_i − Tx_i)/n for positive i, V01_j = 1 − (Tz_{m+j} − Ty_j)/m for
 * negative j; Cov = S10/m + S01/n with S the sample covariances (n − 1).
 */
export function delongCovariance(
  scores: readonly Scores[],
  labels: Labels,
  options?: PositiveClassOptions,
): DelongCovariance {
  const where = "delongCovariance";
  if (!Array.isArray(scores) || scores.length === 0) {
    throw new TypeError(`${where}: scores must be a non-empty array of score vectors`);
  }
  const y = toLabels(labels, where);
  const pos = options?.positiveClass ?? 1;
  if (!Number.isInteger(pos) || pos < 0) {
    throw new RangeError(`${where}: positiveClass must be a non-negative integer, got ${pos}`);
  }
  const posIdx: number[] = [];
  const negIdx: number[] = [];
  for (let i = 0; i < y.length; i++) (y[i] === pos ? posIdx : negIdx).push(i);
  const m = posIdx.length;
  const n = negIdx.length;
  if (m < 2 || n < 2) {
    throw new DegenerateSampleError(
      `${where}: DeLong needs at least 2 positive and 2 negative samples, got ${m} positive ` +
        `and ${n} negative (positiveClass ${pos})`,
    );
  }
  const aucs: number[] = [];
  const v10: Float64Array[] = [];
  const v01: Float64Array[] = [];
  scores.forEach((vec, r) => {
    const s = toFloat64(vec, where, `scores[${r}]`);
    checkSameLength(s.length, y.length, where, `scores[${r}] and labels`);
    const x = new Float64Array(m);
    const yy = new Float64Array(n);
    const z = new Float64Array(m + n);
    for (let i = 0; i < m; i++) z[i] = x[i] = s[posIdx[i]];
    for (let j = 0; j < n; j++) z[m + j] = yy[j] = s[negIdx[j]];
    const tx = midranksOf(x);
    const ty = midranksOf(yy);
    const tz = midranksOf(z);
    const a = new Float64Array(m);
    const b = new Float64Array(n);
    let sum = 0;
    for (let i = 0; i < m; i++) {
      a[i] = (tz[i] - tx[i]) / n;
      sum += tz[i];
    }
    for (let j = 0; j < n; j++) b[j] = 1 - (tz[m + j] - ty[j]) / m;
    aucs.push((sum - (m * (m + 1)) / 2) / (m * n));
    v10.push(a);
    v01.push(b);
  });
  const k = scores.length;
  const mean = (v: Float64Array) => v.reduce((acc, t) => acc + t, 0) / v.length;
  const m10 = v10.map(mean);
  const m01 = v01.map(mean);
  const covariance: number[][] = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let r = 0; r < k; r++) {
    for (let c = r; c < k; c++) {
      let s10 = 0;
      for (let i = 0; i < m; i++) s10 += (v10[r][i] - m10[r]) * (v10[c][i] - m10[c]);
      let s01 = 0;
      for (let j = 0; j < n; j++) s01 += (v01[r][j] - m01[r]) * (v01[c][j] - m01[c]);
      const cov = s10 / (m - 1) / m + s01 / (n - 1) / n;
      covariance[r][c] = covariance[c][r] = cov;
    }
  }
  return { aucs, covariance, v10, v01, nPositive: m, nNegative: n };
}

/** Options for DeLong's test and interval. */
export interface DelongOptions extends PositiveClassOptions {
  /** Two-sided coverage of the reported interval, in (0, 1). Default 0.95. */
  confidence?: number;
}

/** Result of DeLong's paired test of two correlated AUCs. */
export interface DelongTestResult {
  /** AUC of the first score vector. */
  auc1: number;
  /** AUC of the second score vector. */
  auc2: number;
  /** auc1 − auc2. */
  difference: number;
  /** DeLong variance of auc1. */
  variance1: number;
  /** DeLong variance of auc2. */
  variance2: number;
  /** DeLong covariance of auc1 and auc2. */
  covariance: number;
  /** Standard error of the difference, √(var1 + var2 − 2·cov). */
  se: number;
  /** z = difference / se (0 when the difference is exactly 0). */
  z: number;
  /** Two-sided p-value, 2·Φ(−|z|) = erfc(|z|/√2). */
  pValue: number;
  /** Normal-approximation interval of the difference at `confidence`. */
  differenceCi: { lower: number; upper: number; confidence: number };
  /** Number of positive samples. */
  nPositive: number;
  /** Number of negative samples. */
  nNegative: number;
}

function confidenceOf(options: DelongOptions | undefined, where: string): number {
  const c = options?.confidence ?? 0.95;
  if (!(c > 0 && c < 1)) {
    throw new RangeError(`${where}: confidence must be in (0, 1), e.g. 0.95; got ${c}`);
  }
  return c;
}

/**
 * DeLong's test for two correlated AUCs: two models scored on the same
 * samples with the same labels. Returns both AUCs, their (co)variances, z and
 * the two-sided p-value. Example: pROC's aSAH data, s100b vs wfns, gives
 * z = −2.209, p = 0.02718.
 */
export function delongTest(
  scores: readonly [Scores, Scores],
  labels: Labels,
  options?: DelongOptions,
): DelongTestResult {
  const where = "delongTest";
  if (!Array.isArray(scores) || scores.length !== 2) {
    throw new TypeError(`${where}: scores must be a pair [scoresA, scoresB] of score vectors`);
  }
  const confidence = confidenceOf(options, where);
  const d = delongCovariance(scores, labels, options);
  const [auc1, auc2] = d.aucs;
  const variance1 = d.covariance[0][0];
  const variance2 = d.covariance[1][1];
  const covariance = d.covariance[0][1];
  const difference = auc1 - auc2;
  const se = Math.sqrt(Math.max(0, variance1 + variance2 - 2 * covariance));
  let z: number;
  if (difference === 0) z = 0;
  else if (se === 0) z = difference > 0 ? Infinity : -Infinity;
  else z = difference / se;
  const pValue = erfc(Math.abs(z) / Math.SQRT2);
  const q = normalQuantile((1 + confidence) / 2);
  return {
    auc1,
    auc2,
    difference,
    variance1,
    variance2,
    covariance,
    se,
    z,
    pValue,
    differenceCi: { lower: difference - q * se, upper: difference + q * se, confidence },
    nPositive: d.nPositive,
    nNegative: d.nNegative,
  };
}

/** A single AUC with its DeLong variance and normal-approximation interval. */
export interface AucCi {
  /** The AUC. */
  auc: number;
  /** DeLong variance of the AUC. */
  variance: number;
  /** Standard error, √variance. */
  se: number;
  /** auc − z·se, clipped to [0, 1] as pROC does. */
  lower: number;
  /** auc + z·se, clipped to [0, 1] as pROC does. */
  upper: number;
  /** The coverage asked for. */
  confidence: number;
  /** Number of positive samples. */
  nPositive: number;
  /** Number of negative samples. */
  nNegative: number;
}

/**
 * DeLong confidence interval of one AUC: auc ± Φ⁻¹((1+confidence)/2)·√var,
 * clipped to [0, 1] (pROC's `ci.auc(method = "delong")`).
 */
export function delongAucCi(scores: Scores, labels: Labels, options?: DelongOptions): AucCi {
  const confidence = confidenceOf(options, "delongAucCi");
  const d = delongCovariance([scores], labels, options);
  const auc = d.aucs[0];
  const variance = d.covariance[0][0];
  const se = Math.sqrt(variance);
  const q = normalQuantile((1 + confidence) / 2);
  return {
    auc,
    variance,
    se,
    lower: Math.max(0, auc - q * se),
    upper: Math.min(1, auc + q * se),
    confidence,
    nPositive: d.nPositive,
    nNegative: d.nNegative,
  };
}

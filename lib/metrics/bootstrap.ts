/**
 * Uncertainty helpers: percentile-bootstrap confidence intervals for any
 * metric (seeded, optionally stratified by label) and a mean ± std ± Student-t
 * interval over per-seed results.
 *
 * @module
 */

import { Rng } from "../util/rng.ts";
import { studentTQuantile } from "./stats.ts";
import {
  checkSameLength,
  DegenerateSampleError,
  type Labels,
  type ScoreMatrix,
  type Scores,
  toFloat64,
  toLabels,
  toMatrix,
} from "./_validate.ts";

/** Options for the bootstrap functions. */
export interface BootstrapOptions {
  /** Number of resamples. Default 1000. */
  nResamples?: number;
  /** PRNG seed; the same seed and data give the same interval. Default 0. */
  seed?: number;
  /** Two-sided coverage of the interval, in (0, 1). Default 0.95. */
  confidence?: number;
  /**
   * Resample within each label class, keeping the class counts of the
   * original sample (avoids resamples with a missing class). Default false.
   */
  stratified?: boolean;
  /** Return the per-resample metric values in `samples`. Default false. */
  keepSamples?: boolean;
}

/** A percentile-bootstrap confidence interval. */
export interface BootstrapResult {
  /** The metric on the full, original sample. */
  estimate: number;
  /** Lower percentile bound, the (1 − confidence)/2 quantile of the resampled values. */
  lower: number;
  /** Upper percentile bound, the (1 + confidence)/2 quantile of the resampled values. */
  upper: number;
  /** The coverage asked for. */
  confidence: number;
  /** Standard deviation of the resampled values (bootstrap standard error). */
  std: number;
  /** Number of resamples drawn. */
  nResamples: number;
  /** Resamples on which the metric was defined and used for the interval. */
  nUsed: number;
  /** Resamples skipped because the metric threw a `DegenerateSampleError` (e.g. one class only). */
  nSkipped: number;
  /** The used per-resample values, sorted ascending (only with `keepSamples`). */
  samples?: Float64Array;
}

/** Linear-interpolation quantile (numpy's default, type 7) of sorted values. */
function quantileSorted(sorted: Float64Array, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function checkConfidence(c: number, where: string): void {
  if (!(c > 0 && c < 1)) {
    throw new RangeError(`${where}: confidence must be in (0, 1), e.g. 0.95; got ${c}`);
  }
}

/**
 * Percentile bootstrap over sample indices: the most general form. `metric`
 * receives the indices of one resample (with repetition, `labels.length` of
 * them; the array is reused between calls, so copy it to keep it) and returns
 * a number. Use it for paired statistics such as the AUC difference of two
 * models evaluated on the same resample. `labels` give the
 * sample count and the strata for `stratified`.
 *
 * A resample on which `metric` throws `DegenerateSampleError` is skipped and
 * counted in `nSkipped`; any other error propagates.
 */
export function bootstrapIndices(
  labels: Labels,
  metric: (indices: Int32Array) => number,
  options?: BootstrapOptions,
): BootstrapResult {
  const where = "bootstrapIndices";
  const y = toLabels(labels, where);
  const n = y.length;
  const nResamples = options?.nResamples ?? 1000;
  const confidence = options?.confidence ?? 0.95;
  const seed = options?.seed ?? 0;
  if (!Number.isInteger(nResamples) || nResamples < 2) {
    throw new RangeError(`${where}: nResamples must be an integer >= 2, got ${nResamples}`);
  }
  checkConfidence(confidence, where);
  if (n === 0) throw new DegenerateSampleError(`${where}: no samples to resample`);
  const all = new Int32Array(n);
  for (let i = 0; i < n; i++) all[i] = i;
  const estimate = metric(all);
  const strata = options?.stratified ? labelStrata(y) : [all];
  const values = resampledValues(strata, metric, { n, nResamples, seed, where });
  const { lower, upper, std } = percentileInterval(values, confidence);
  const result: BootstrapResult = {
    estimate,
    lower,
    upper,
    confidence,
    std,
    nResamples,
    nUsed: values.length,
    nSkipped: nResamples - values.length,
  };
  if (options?.keepSamples) result.samples = values;
  return result;
}

/** The sample indices of each label value, labels in ascending order. */
function labelStrata(y: Int32Array): Int32Array[] {
  const groups = new Map<number, number[]>();
  for (let i = 0; i < y.length; i++) {
    let g = groups.get(y[i]);
    if (!g) groups.set(y[i], g = []);
    g.push(i);
  }
  return [...groups.keys()].sort((a, b) => a - b).map((key) => Int32Array.from(groups.get(key)!));
}

/**
 * The metric on `nResamples` resamples drawn within each stratum from
 * `Rng.rawSeeded(seed)`, skipping those where it throws
 * `DegenerateSampleError`; sorted ascending. Throws when fewer than two remain.
 */
function resampledValues(
  strata: readonly Int32Array[],
  metric: (indices: Int32Array) => number,
  options: { n: number; nResamples: number; seed: number; where: string },
): Float64Array {
  const { n, nResamples, where } = options;
  const rng = Rng.rawSeeded(options.seed);
  const values = new Float64Array(nResamples);
  let used = 0;
  const idx = new Int32Array(n);
  for (let r = 0; r < nResamples; r++) {
    let p = 0;
    for (const s of strata) {
      for (let j = 0; j < s.length; j++) idx[p++] = s[rng.int(s.length)];
    }
    let v: number;
    try {
      v = metric(idx);
    } catch (err) {
      if (err instanceof DegenerateSampleError) continue;
      throw err;
    }
    if (typeof v !== "number" || Number.isNaN(v)) {
      throw new RangeError(
        `${where}: metric returned ${v} on resample ${r}; return a number, or throw ` +
          `DegenerateSampleError when the metric is undefined for a resample`,
      );
    }
    values[used++] = v;
  }
  if (used < 2) {
    throw new DegenerateSampleError(
      `${where}: the metric was defined on only ${used} of ${nResamples} resamples; ` +
        `use stratified: true or a larger sample`,
    );
  }
  return values.slice(0, used).sort();
}

/** Percentile bounds and the standard deviation of sorted resampled values. */
function percentileInterval(
  sorted: Float64Array,
  confidence: number,
): { lower: number; upper: number; std: number } {
  const used = sorted.length;
  let mean = 0;
  for (const v of sorted) mean += v;
  mean /= used;
  let ss = 0;
  for (const v of sorted) ss += (v - mean) * (v - mean);
  const alpha = 1 - confidence;
  return {
    lower: quantileSorted(sorted, alpha / 2),
    upper: quantileSorted(sorted, 1 - alpha / 2),
    std: Math.sqrt(ss / (used - 1)),
  };
}

/** Data for {@linkcode bootstrapCi}: per-sample scores (1-D or N×K) and labels. */
export interface BootstrapData<S> {
  /** 1-D scores or an N×K score matrix, one entry/row per sample. */
  scores: S;
  /** Integer labels, one per sample. */
  labels: Labels;
}

/** An N×K matrix handed to matrix metrics during the bootstrap. */
export interface ResampledMatrix {
  /** Row-major values. */
  data: Float64Array;
  /** `[N, K]`. */
  dims: [number, number];
}

/**
 * Percentile-bootstrap confidence interval of a metric of `(scores, labels)`.
 * With 1-D scores the metric gets the resampled Float64Array; with an N×K
 * matrix it gets the resampled rows as `{data, dims}`. Metric functions of this
 * module fit directly, e.g. `bootstrapCi({ scores, labels }, aucRoc)` or
 * `bootstrapCi({ scores: probs, labels }, aucOvr, { stratified: true })`.
 */
export function bootstrapCi(
  data: BootstrapData<Scores>,
  metric: (scores: Float64Array, labels: Int32Array) => number,
  options?: BootstrapOptions,
): BootstrapResult;
/** Bootstrap a metric of an N×K score matrix and labels (see the 1-D overload). */
export function bootstrapCi(
  data: BootstrapData<ScoreMatrix>,
  metric: (probs: ResampledMatrix, labels: Int32Array) => number,
  options?: BootstrapOptions,
): BootstrapResult;
export function bootstrapCi(
  data: BootstrapData<Scores | ScoreMatrix>,
  // deno-lint-ignore no-explicit-any
  metric: (scores: any, labels: Int32Array) => number,
  options?: BootstrapOptions,
): BootstrapResult {
  const where = "bootstrapCi";
  const y = toLabels(data.labels, where);
  const s = data.scores;
  const isMatrix = s != null && typeof s === "object" &&
    (("dims" in s && !Array.isArray(s)) || (Array.isArray(s) && s.length > 0 &&
      typeof s[0] === "object"));
  if (isMatrix) {
    const m = toMatrix(s as ScoreMatrix, where, "scores");
    checkSameLength(m.rows, y.length, where, "score rows and labels");
    const k = m.cols;
    return bootstrapIndices(y, (idx) => {
      const out = new Float64Array(idx.length * k);
      const yy = new Int32Array(idx.length);
      for (let i = 0; i < idx.length; i++) {
        out.set(m.data.subarray(idx[i] * k, idx[i] * k + k), i * k);
        yy[i] = y[idx[i]];
      }
      return metric({ data: out, dims: [idx.length, k] }, yy);
    }, options);
  }
  const v = toFloat64(s as Scores, where);
  checkSameLength(v.length, y.length, where, "scores and labels");
  return bootstrapIndices(y, (idx) => {
    const vv = new Float64Array(idx.length);
    const yy = new Int32Array(idx.length);
    for (let i = 0; i < idx.length; i++) {
      vv[i] = v[idx[i]];
      yy[i] = y[idx[i]];
    }
    return metric(vv, yy);
  }, options);
}

/** Options for {@linkcode meanCi}. */
export interface MeanCiOptions {
  /** Two-sided coverage of the t-interval, in (0, 1). Default 0.95. */
  confidence?: number;
}

/** Mean, spread and Student-t confidence interval of a handful of values. */
export interface MeanCi {
  /** Number of values. */
  n: number;
  /** Arithmetic mean. */
  mean: number;
  /** Sample standard deviation (n − 1 denominator); `null` when n < 2. */
  std: number | null;
  /** Standard error of the mean, std / √n; `null` when n < 2. */
  sem: number | null;
  /** Degrees of freedom n − 1; `null` when n < 2. */
  df: number | null;
  /** The t quantile used, t_{(1+confidence)/2, n−1}; `null` when n < 2. */
  tCritical: number | null;
  /** mean − tCritical · sem; `null` when n < 2. */
  lower: number | null;
  /** mean + tCritical · sem; `null` when n < 2. */
  upper: number | null;
  /** The coverage asked for. */
  confidence: number;
}

/**
 * Mean ± sample std and the Student-t confidence interval of the mean, for
 * results over a few seeds (e.g. five test AUCs). With a single value the
 * spread fields are `null`.
 */
export function meanCi(values: Scores, options?: MeanCiOptions): MeanCi {
  const where = "meanCi";
  const v = toFloat64(values, where, "values");
  const confidence = options?.confidence ?? 0.95;
  checkConfidence(confidence, where);
  const n = v.length;
  if (n === 0) throw new DegenerateSampleError(`${where}: no values`);
  let mean = 0;
  for (const x of v) mean += x;
  mean /= n;
  if (n < 2) {
    return {
      n,
      mean,
      std: null,
      sem: null,
      df: null,
      tCritical: null,
      lower: null,
      upper: null,
      confidence,
    };
  }
  let ss = 0;
  for (const x of v) ss += (x - mean) * (x - mean);
  const std = Math.sqrt(ss / (n - 1));
  const sem = std / Math.sqrt(n);
  const df = n - 1;
  const tCritical = studentTQuantile((1 + confidence) / 2, df);
  return {
    n,
    mean,
    std,
    sem,
    df,
    tCritical,
    lower: mean - tCritical * sem,
    upper: mean + tCritical * sem,
    confidence,
  };
}

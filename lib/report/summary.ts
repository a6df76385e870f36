/**
 * Per-configuration and per-axis-level summaries of a study's run records:
 * mean ± std and Student-t intervals over seeds, the best configuration, and
 * DeLong's test of every configuration against the best.
 *
 * DeLong comparison (the choice made here): for each configuration, the test
 * scores (positive-class probabilities, same test images in the same order in
 * every run) of its successful seeds are averaged image by image into one
 * seed-ensemble score vector; `delongTest([best, other], labels)` is then run
 * on the two ensembles. To keep the comparison paired, only the seeds that
 * both configurations completed (matched by seed number) enter the two
 * ensembles of that comparison. The p-value therefore tests the AUC of the
 * seed-averaged predictors, not the spread between seeds (which the t-interval
 * of the mean AUC describes).
 *
 * @module
 */

import { aucRoc, delongTest, meanCi, rocCurve } from "../metrics/mod.ts";
import type { RunAxes, RunRecord } from "../study/record.ts";

/** The study's three axes, in report order. */
export const AXES: readonly (keyof RunAxes)[] = ["augment", "schedule", "backbone"];

/** Mean, sample std and Student-t interval of one metric over seeds. */
export interface MetricStats {
  /** Number of values (successful seeds with the metric). */
  n: number;
  /** Mean. */
  mean: number;
  /** Sample standard deviation (n − 1); `null` with a single value. */
  std: number | null;
  /** Lower end of the t-interval of the mean; `null` with a single value. */
  lower: number | null;
  /** Upper end of the t-interval of the mean; `null` with a single value. */
  upper: number | null;
}

/** Learning curves averaged over seeds, epoch by epoch. */
export interface MeanCurves {
  /** 1-based epochs (up to the longest run). */
  epoch: number[];
  /** Seeds that reached each epoch (early stopping shortens some runs). */
  n: number[];
  /** Mean train loss over the seeds that reached the epoch. */
  trainLoss: (number | null)[];
  /** Mean validation loss. */
  valLoss: (number | null)[];
  /** Mean train AUC (augmented batches as trained). */
  trainAuc: (number | null)[];
  /** Mean validation AUC. */
  valAuc: (number | null)[];
  /** Mean learning rate. */
  lr: (number | null)[];
}

/** DeLong's paired test of a configuration's seed ensemble against the best one's. */
export interface DelongVsBest {
  /** Two-sided p-value. */
  pValue: number;
  /** z statistic (best − this). */
  z: number;
  /** AUC of the best configuration's ensemble over the common seeds. */
  bestAuc: number;
  /** AUC of this configuration's ensemble over the common seeds. */
  auc: number;
  /** The seeds averaged into both ensembles. */
  seeds: number[];
}

/** Summary of one configuration over its seeds. */
export interface ConfigSummary {
  /** Configuration id. */
  configId: string;
  /** Axis levels. */
  axes: RunAxes;
  /** Short label, `augment / schedule / backbone`. */
  label: string;
  /** 1-based rank by mean test AUC (configs without a successful run come last). */
  rank: number;
  /** Whether this is the best configuration. */
  best: boolean;
  /** Successful runs. */
  nOk: number;
  /** Failed runs. */
  nFailed: number;
  /** Seeds of the successful runs, ascending. */
  seeds: number[];
  /** Seeds of the failed runs, ascending. */
  failedSeeds: number[];
  /** Test AUC over successful seeds; `null` when none has one. */
  testAuc: MetricStats | null;
  /** Test balanced accuracy over successful seeds. */
  testBalancedAccuracy: MetricStats | null;
  /** Test Brier score over successful seeds. */
  testBrier: MetricStats | null;
  /** Mean validation AUC at the selected epoch. */
  valAucMean: number | null;
  /** Mean selected (best) epoch. */
  bestEpochMean: number | null;
  /** Mean number of epochs run. */
  epochsRunMean: number | null;
  /** Mean train − validation AUC gap at the selected epoch. */
  gapAucMean: number | null;
  /** Mean validation − train loss gap at the selected epoch. */
  gapLossMean: number | null;
  /** Mean wall seconds per successful run. */
  secondsMean: number | null;
  /** Total wall seconds of all runs, failed ones included. */
  secondsTotal: number;
  /** DeLong test against the best configuration; `null` for the best itself or when impossible. */
  delongVsBest: DelongVsBest | null;
  /** Learning curves averaged over the successful seeds. */
  curves: MeanCurves;
}

/** Aggregate of one level of one axis over all successful runs that have it. */
export interface AxisLevelSummary {
  /** Axis name. */
  axis: keyof RunAxes;
  /** Level of the axis. */
  level: string;
  /** Number of successful runs with a test AUC at this level. */
  nRuns: number;
  /** Number of configurations at this level. */
  nConfigs: number;
  /** Test AUC over all those runs (mean ± std, t-interval). */
  testAuc: MetricStats | null;
  /** The best configuration at this level (highest mean test AUC); `null` if none succeeded. */
  bestConfigId: string | null;
}

/** A ROC curve for a chart. */
export interface RocPoints {
  /** False-positive rates. */
  fpr: number[];
  /** True-positive rates. */
  tpr: number[];
  /** AUC of the curve. */
  auc: number | null;
  /** How the curve was obtained, e.g. `seed ensemble (3 seeds)`. */
  source: string;
}

/** Everything the tables, charts and report show. */
export interface StudySummary {
  /** Configurations, sorted by mean test AUC, best first. */
  configs: ConfigSummary[];
  /** The best configuration; `null` when no run succeeded. */
  best: ConfigSummary | null;
  /** Per-axis-level aggregates, axis by axis, levels in study order. */
  levels: AxisLevelSummary[];
  /** Number of records. */
  nRuns: number;
  /** Number of successful runs. */
  nOk: number;
  /** Number of failed runs. */
  nFailed: number;
  /** Coverage of the t-intervals. */
  confidence: number;
  /** How the DeLong p-values were computed, in one sentence. */
  delongMethod: string;
  /** Problems met while summarizing (e.g. test labels that differ between runs). */
  warnings: string[];
  /** Seed-ensemble ROC curve of each configuration with test scores, by config id. */
  rocs: Record<string, RocPoints>;
}

/** Options for {@linkcode summarizeRuns}. */
export interface SummarizeOptions {
  /** Coverage of the t-intervals over seeds, in (0, 1). Default 0.95. */
  confidence?: number;
}

/** The DeLong method, as stated in reports. */
export const DELONG_METHOD: string =
  "DeLong p-values compare seed ensembles: each configuration's test scores are averaged " +
  "image by image over the seeds it shares with the best configuration (paired by seed " +
  "number), and DeLong's test is run on the two averaged score vectors.";

const KNOWN_ORDER: Record<keyof RunAxes, string[]> = {
  augment: ["none", "basic", "heavy"],
  schedule: ["constant", "cosine", "warmup_cosine"],
  backbone: ["resnet18", "efficientnet_b0", "vit_tiny_patch16_224", "vit_tiny"],
};

/** Sort key of a level within its axis: the study's order first, others alphabetically. */
function compareLevels(axis: keyof RunAxes, a: string, b: string): number {
  const order = KNOWN_ORDER[axis];
  const ia = order.indexOf(a);
  const ib = order.indexOf(b);
  if (ia >= 0 || ib >= 0) {
    if (ia < 0) return 1;
    if (ib < 0) return -1;
    return ia - ib;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

function stats(values: number[], confidence: number): MetricStats | null {
  if (values.length === 0) return null;
  const m = meanCi(values, { confidence });
  return { n: m.n, mean: m.mean, std: m.std, lower: m.lower, upper: m.upper };
}

function mean(values: number[]): number | null {
  if (values.length === 0) return null;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

function finite(values: (number | null | undefined)[]): number[] {
  return values.filter((v): v is number => typeof v === "number" && Number.isFinite(v));
}

function meanCurves(runs: RunRecord[]): MeanCurves {
  const length = Math.max(0, ...runs.map((r) => r.history?.length ?? 0));
  const out: MeanCurves = {
    epoch: [],
    n: [],
    trainLoss: [],
    valLoss: [],
    trainAuc: [],
    valAuc: [],
    lr: [],
  };
  for (let i = 0; i < length; i++) {
    const rows = runs.map((r) => r.history?.[i]).filter((h) => h !== undefined);
    out.epoch.push(rows[0]?.epoch ?? i + 1);
    out.n.push(rows.length);
    out.trainLoss.push(mean(finite(rows.map((h) => h.trainLoss))));
    out.valLoss.push(mean(finite(rows.map((h) => h.valLoss))));
    out.trainAuc.push(mean(finite(rows.map((h) => h.trainAuc))));
    out.valAuc.push(mean(finite(rows.map((h) => h.valAuc))));
    out.lr.push(mean(finite(rows.map((h) => h.lr))));
  }
  return out;
}

function axesLabel(axes: RunAxes): string {
  return `${axes.augment} / ${axes.schedule} / ${axes.backbone}`;
}

/** Average of the score vectors of the given runs, image by image. */
function ensembleScores(runs: RunRecord[]): number[] {
  const n = runs[0].testScores!.length;
  const out = new Array<number>(n).fill(0);
  for (const r of runs) {
    const s = r.testScores!;
    for (let i = 0; i < n; i++) out[i] += s[i];
  }
  for (let i = 0; i < n; i++) out[i] /= runs.length;
  return out;
}

/**
 * Summarize a study's run records: one {@linkcode ConfigSummary} per
 * configuration (sorted by mean test AUC, best first and marked), the
 * per-axis-level aggregates, DeLong p-values against the best configuration
 * (see the module documentation for how seeds are combined) and seed-ensemble
 * ROC curves. Failed runs are counted but excluded from every mean.
 */
export function summarizeRuns(
  records: readonly RunRecord[],
  options: SummarizeOptions = {},
): StudySummary {
  const confidence = options.confidence ?? 0.95;
  if (!(confidence > 0 && confidence < 1)) {
    throw new RangeError(
      `summarizeRuns: confidence must be in (0, 1), e.g. 0.95; got ${confidence}`,
    );
  }
  if (!Array.isArray(records)) {
    throw new TypeError("summarizeRuns: records must be an array of RunRecord objects");
  }
  const warnings: string[] = [];
  const byConfig = new Map<string, RunRecord[]>();
  records.forEach((r, i) => {
    if (!r || typeof r.configId !== "string" || !r.axes) {
      throw new TypeError(`summarizeRuns: record ${i} has no configId/axes; is it a RunRecord?`);
    }
    const list = byConfig.get(r.configId);
    if (list) list.push(r);
    else byConfig.set(r.configId, [r]);
  });

  // Reference test labels: those of the first successful run with scores.
  const scored = (r: RunRecord) =>
    r.status === "ok" && Array.isArray(r.testScores) && Array.isArray(r.testLabels);
  const reference = records.find(scored);
  const labels = reference?.testLabels;
  const sameLabels = (r: RunRecord): boolean => {
    if (!labels || !scored(r)) return false;
    const y = r.testLabels!;
    if (y.length !== labels.length || r.testScores!.length !== labels.length) return false;
    for (let i = 0; i < y.length; i++) if (y[i] !== labels[i]) return false;
    return true;
  };
  for (const r of records) {
    if (scored(r) && !sameLabels(r)) {
      warnings.push(
        `run ${r.id}: test labels/scores differ from run ${reference!.id}'s (length or order); ` +
          `its scores are left out of the DeLong tests and ROC ensembles.`,
      );
    }
  }

  const configs: ConfigSummary[] = [];
  const okRunsOf = new Map<string, RunRecord[]>();
  for (const [configId, runs] of byConfig) {
    const ok = runs.filter((r) => r.status === "ok").sort((a, b) => a.seed - b.seed);
    const failed = runs.filter((r) => r.status !== "ok").sort((a, b) => a.seed - b.seed);
    okRunsOf.set(configId, ok);
    configs.push({
      configId,
      axes: { ...runs[0].axes },
      label: axesLabel(runs[0].axes),
      rank: 0,
      best: false,
      nOk: ok.length,
      nFailed: failed.length,
      seeds: ok.map((r) => r.seed),
      failedSeeds: failed.map((r) => r.seed),
      testAuc: stats(finite(ok.map((r) => r.test?.auc)), confidence),
      testBalancedAccuracy: stats(finite(ok.map((r) => r.test?.balancedAccuracy)), confidence),
      testBrier: stats(finite(ok.map((r) => r.test?.brier)), confidence),
      valAucMean: mean(finite(ok.map((r) => r.val?.auc))),
      bestEpochMean: mean(finite(ok.map((r) => r.bestEpoch))),
      epochsRunMean: mean(finite(ok.map((r) => r.epochsRun))),
      gapAucMean: mean(finite(ok.map((r) => r.gapAuc))),
      gapLossMean: mean(finite(ok.map((r) => r.gapLoss))),
      secondsMean: mean(finite(ok.map((r) => r.seconds))),
      secondsTotal: finite(runs.map((r) => r.seconds)).reduce((s, v) => s + v, 0),
      delongVsBest: null,
      curves: meanCurves(ok),
    });
  }
  configs.sort((a, b) => {
    const ma = a.testAuc?.mean ?? -Infinity;
    const mb = b.testAuc?.mean ?? -Infinity;
    if (ma !== mb) return mb - ma;
    return a.configId < b.configId ? -1 : a.configId > b.configId ? 1 : 0;
  });
  configs.forEach((c, i) => (c.rank = i + 1));
  const best = configs.length > 0 && configs[0].testAuc ? configs[0] : null;
  if (best) best.best = true;

  // DeLong of each configuration's seed ensemble against the best's, on shared seeds.
  if (best && labels) {
    const bestRuns = okRunsOf.get(best.configId)!.filter(sameLabels);
    for (const c of configs) {
      if (c === best) continue;
      const runs = okRunsOf.get(c.configId)!.filter(sameLabels);
      const seeds = runs.map((r) => r.seed).filter((s) => bestRuns.some((b) => b.seed === s));
      if (seeds.length === 0) continue;
      const pick = (list: RunRecord[]) => list.filter((r) => seeds.includes(r.seed));
      try {
        const t = delongTest(
          [ensembleScores(pick(bestRuns)), ensembleScores(pick(runs))],
          labels,
        );
        c.delongVsBest = { pValue: t.pValue, z: t.z, bestAuc: t.auc1, auc: t.auc2, seeds };
      } catch (err) {
        warnings.push(`DeLong ${c.configId} vs ${best.configId}: ${(err as Error).message}`);
      }
    }
  }

  // Seed-ensemble ROC curve per configuration (falls back to the first seed's stored curve).
  const rocs: Record<string, RocPoints> = {};
  for (const c of configs) {
    const ok = okRunsOf.get(c.configId)!;
    const runs = ok.filter(sameLabels);
    if (runs.length > 0 && labels) {
      try {
        const scores = ensembleScores(runs);
        const roc = rocCurve(scores, labels);
        rocs[c.configId] = {
          fpr: Array.from(roc.fpr),
          tpr: Array.from(roc.tpr),
          auc: aucRoc(scores, labels),
          source: `seed ensemble (mean score over ${runs.length} seed${
            runs.length > 1 ? "s" : ""
          })`,
        };
        continue;
      } catch (err) {
        warnings.push(`ROC of ${c.configId}: ${(err as Error).message}`);
      }
    }
    const withRoc = ok.find((r) => r.roc && r.roc.fpr.length > 0);
    if (withRoc) {
      rocs[c.configId] = {
        fpr: withRoc.roc!.fpr.slice(),
        tpr: withRoc.roc!.tpr.slice(),
        auc: withRoc.test?.auc ?? null,
        source: `seed ${withRoc.seed}`,
      };
    }
  }

  // Per-axis-level aggregates over all successful runs.
  const levels: AxisLevelSummary[] = [];
  for (const axis of AXES) {
    const names = [...new Set(configs.map((c) => c.axes[axis]))].sort((a, b) =>
      compareLevels(axis, a, b)
    );
    for (const level of names) {
      const atLevel = configs.filter((c) => c.axes[axis] === level);
      const aucs = finite(
        atLevel.flatMap((c) => okRunsOf.get(c.configId)!.map((r) => r.test?.auc)),
      );
      const top = atLevel.find((c) => c.testAuc !== null) ?? null; // configs are sorted
      levels.push({
        axis,
        level,
        nRuns: aucs.length,
        nConfigs: atLevel.length,
        testAuc: stats(aucs, confidence),
        bestConfigId: top?.configId ?? null,
      });
    }
  }

  const nOk = records.filter((r) => r.status === "ok").length;
  return {
    configs,
    best,
    levels,
    nRuns: records.length,
    nOk,
    nFailed: records.length - nOk,
    confidence,
    delongMethod: DELONG_METHOD,
    warnings,
    rocs,
  };
}

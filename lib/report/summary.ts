/**
 * Per-configuration and per-axis summaries of a study's run records: mean ±
 * std and Student-t intervals over seeds, the best configuration, DeLong's
 * test of every configuration against the best with Holm's correction, axis
 * effects that follow the design (see `effects.ts`), per-class AUCs and the
 * task-aware wording (see `task.ts`).
 *
 * Records are first deduplicated by run id (two processes on one output
 * folder, or a crash between append and bookkeeping, can record a run twice):
 * a successful record of an id is preferred, else the latest, and the number
 * dropped is reported, so that seeds are counted by distinct run.
 *
 * DeLong comparison: for each configuration, the test scores
 * (positive-class probabilities, same test images in the same order in every
 * run) of its successful seeds are averaged image by image into one
 * seed-ensemble score vector; `delongTest([best, other], labels)` is then run
 * on the two ensembles. To keep the comparison paired, only the seeds that
 * both configurations completed (matched by seed number) enter the two
 * ensembles of that comparison. The p-values are then adjusted with Holm's
 * step-down method across the comparisons with the best. Multi-class and
 * multi-label tasks average the N×K probabilities the same way and use
 * DeLong's test extended to the macro AUC (`macro_delong.ts`). They test the AUC of
 * the seed-averaged predictors, not the spread between seeds (which the
 * t-interval of the mean AUC describes).
 *
 * @module
 */

import { aucRoc, delongTest, rocCurve } from "../metrics/mod.ts";
import type { RunAxes, RunRecord } from "./record.ts";
import {
  analyzeAxisEffects,
  AXES,
  type AxisEffect,
  type AxisLevels,
  type AxisLevelSummary,
  type DesignKind,
  type InteractionSummary,
  type MetricStats,
  metricStats,
} from "./effects.ts";
import { holmAdjust } from "./holm.ts";
import { macroDelongTest } from "./macro_delong.ts";
import {
  averageMatrices,
  averageVectors,
  binaryScores,
  classLabels,
  column,
  flatLabels,
  matrixData,
  runPerClassAuc,
  sameNumbers,
  scoreCount,
} from "./scores.ts";
import { className, resolveTask, type TaskInfo, type TaskOptions, testBrierOf } from "./task.ts";

export { AXES };
export type {
  AxisEffect,
  AxisLevels,
  AxisLevelSummary,
  DesignKind,
  InteractionSummary,
  MetricStats,
  TaskInfo,
};

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
  /** Two-sided p-value, uncorrected. */
  pValue: number;
  /** Holm-adjusted p-value across all comparisons with the best. */
  pHolm: number;
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
  /** Successful runs (distinct run ids). */
  nOk: number;
  /** Failed runs (distinct run ids). */
  nFailed: number;
  /** Seeds of the successful runs, ascending. */
  seeds: number[];
  /** Seeds of the failed runs, ascending. */
  failedSeeds: number[];
  /** Test AUC (the selection metric) over successful seeds; `null` when none has one. */
  testAuc: MetricStats | null;
  /** Test balanced accuracy over successful seeds. */
  testBalancedAccuracy: MetricStats | null;
  /** Test Brier score over successful seeds, in the form `summary.task.brierKind` names. */
  testBrier: MetricStats | null;
  /** Test AUC of each class (one-vs-rest) or label over seeds; `null` for binary tasks. */
  perClassAuc: (MetricStats | null)[] | null;
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

/** One class's (or label's) one-vs-rest ROC curve. */
export interface ClassRoc extends RocPoints {
  /** Class index. */
  classIndex: number;
  /** Class name from the dataset info. */
  className: string;
}

/** Everything the tables, charts and report show. */
export interface StudySummary {
  /** Configurations, sorted by mean test AUC, best first. */
  configs: ConfigSummary[];
  /** The best configuration; `null` when no run succeeded. */
  best: ConfigSummary | null;
  /** The design the axis comparisons follow. */
  design: DesignKind;
  /** The baseline of a one-at-a-time design, else `null`. */
  baseline: RunAxes | null;
  /** One comparison of levels per axis with more than one level (see `effects.ts`). */
  axisEffects: AxisEffect[];
  /** Axes run at a single level, at that level (not compared). */
  fixedAxes: Partial<RunAxes>;
  /** Every level of every axis effect, axis by axis (`axisEffects` flattened). */
  levels: AxisLevelSummary[];
  /** Two-way interactions of a full grid with ≥ 2 complete seeds. */
  interactions: InteractionSummary[];
  /** The task and dataset, as the report words them. */
  task: TaskInfo;
  /** Number of distinct runs (after dropping duplicate records). */
  nRuns: number;
  /** Number of successful runs. */
  nOk: number;
  /** Number of failed runs. */
  nFailed: number;
  /** Records dropped because their run id was recorded more than once. */
  nDuplicates: number;
  /** Coverage of the t-intervals. */
  confidence: number;
  /** How the DeLong p-values were computed, in one sentence. */
  delongMethod: string;
  /** Problems met while summarizing (e.g. test labels that differ between runs). */
  warnings: string[];
  /** Seed-ensemble ROC curve of each configuration with binary test scores, by config id. */
  rocs: Record<string, RocPoints>;
  /** Per-class (multi-class) or per-label (multi-label) ROC curves of the best configuration's seed ensemble. */
  bestClassRocs: ClassRoc[];
}

/** Options for {@linkcode summarizeRuns}. */
export interface SummarizeOptions extends TaskOptions {
  /** Coverage of the t-intervals over seeds, in (0, 1). Default 0.95. */
  confidence?: number;
  /** The study's design (`oat` or `grid`); inferred from the configurations when absent. */
  design?: "oat" | "grid";
  /** The baseline of an `oat` design; inferred when absent. */
  baseline?: RunAxes;
  /** The planned levels of each axis, so that missing cells can be named. */
  axisLevels?: Partial<AxisLevels>;
}

/** The DeLong method, as stated in reports. */
export const DELONG_METHOD: string =
  "DeLong p-values compare seed ensembles: each configuration's test scores are averaged " +
  "image by image over the seeds it shares with the best configuration (paired by seed " +
  "number), and DeLong's test is run on the two averaged score vectors; the p-values are " +
  "Holm-adjusted (step-down) across the comparisons with the best configuration.";

/** The DeLong method for multi-class and multi-label tasks, as stated in reports. */
function macroDelongMethod(task: string): string {
  const what = task === "multi-label" ? "mean per-label AUC" : "macro one-vs-rest AUC";
  return `DeLong p-values compare seed ensembles (each configuration's test probabilities ` +
    "averaged image by image over the seeds it shares with the best configuration) by " +
    `DeLong's test extended to the ${what}: the variance of the difference of the mean AUCs ` +
    "is built from each class's DeLong structural components, covariances between classes " +
    "included; the p-values are Holm-adjusted (step-down) across the comparisons with the " +
    "best configuration.";
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

/**
 * Drop records whose run id was already seen: per id, a successful record
 * is preferred over a failed one, else the latest (`finishedAt`, then the
 * later line) — the rule the study's readers use. Returns the kept records
 * (in their original order), the number dropped and the ids that had
 * duplicates.
 */
export function dedupeRuns(
  records: readonly RunRecord[],
): { records: RunRecord[]; dropped: number; ids: string[] } {
  const keep = new Map<string, number>();
  const count = new Map<string, number>();
  records.forEach((r, i) => {
    count.set(r.id, (count.get(r.id) ?? 0) + 1);
    const prev = keep.get(r.id);
    const p = prev === undefined ? undefined : records[prev];
    const better = !p ||
      (r.status !== p.status ? r.status === "ok" : (r.finishedAt ?? "") >= (p.finishedAt ?? ""));
    if (better) keep.set(r.id, i);
  });
  const kept = new Set(keep.values());
  return {
    records: records.filter((_, i) => kept.has(i)),
    dropped: records.length - kept.size,
    ids: [...count].filter(([, n]) => n > 1).map(([id]) => id),
  };
}

/**
 * Summarize a study's run records: one {@linkcode ConfigSummary} per
 * configuration (sorted by mean test AUC, best first and marked), axis
 * effects that follow the design, DeLong p-values against the best
 * configuration with Holm's correction (binary tasks; see the module
 * documentation), seed-ensemble ROC curves and per-class AUCs. Records are
 * deduplicated by run id first; failed runs are counted but excluded from
 * every mean.
 */
export function summarizeRuns(
  input: readonly RunRecord[],
  options: SummarizeOptions = {},
): StudySummary {
  const confidence = options.confidence ?? 0.95;
  if (!(confidence > 0 && confidence < 1)) {
    throw new RangeError(
      `summarizeRuns: confidence must be in (0, 1), e.g. 0.95; got ${confidence}`,
    );
  }
  if (!Array.isArray(input)) {
    throw new TypeError("summarizeRuns: records must be an array of RunRecord objects");
  }
  input.forEach((r, i) => {
    if (!r || typeof r.id !== "string" || typeof r.configId !== "string" || !r.axes) {
      throw new TypeError(
        `summarizeRuns: record ${i} has no id/configId/axes; is it a line of results.jsonl?`,
      );
    }
  });
  const warnings: string[] = [];
  const deduped = dedupeRuns(input);
  const records = deduped.records;
  if (deduped.dropped > 0) {
    const shown = deduped.ids.slice(0, 5).join(", ") + (deduped.ids.length > 5 ? ", …" : "");
    warnings.push(
      `dropped ${deduped.dropped} duplicate record${deduped.dropped === 1 ? "" : "s"} of ` +
        `${deduped.ids.length} run id${deduped.ids.length === 1 ? "" : "s"} (${shown}); ` +
        "kept one per run id (ok over failed, else the latest), so seeds are counted by " +
        "distinct run.",
    );
  }
  const task = resolveTask(records, options);
  const byConfig = new Map<string, RunRecord[]>();
  for (const r of records) {
    const list = byConfig.get(r.configId);
    if (list) list.push(r);
    else byConfig.set(r.configId, [r]);
  }

  // Reference test labels: those of the first successful run with scores.
  const scored = (r: RunRecord) => r.status === "ok" && scoreCount(r, task) > 0;
  const reference = records.find(scored);
  const refLabels = reference ? flatLabels(reference, task) : null;
  const sameLabels = (r: RunRecord): boolean => {
    if (!refLabels || !scored(r)) return false;
    const y = flatLabels(r, task);
    if (!y || !sameNumbers(y, refLabels)) return false;
    return scoreCount(r, task) === scoreCount(reference!, task);
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
    let perClassAuc: (MetricStats | null)[] | null = null;
    if (task.task !== "binary") {
      const per = ok.map((r) => runPerClassAuc(r, task)).filter((p) => p !== null);
      const k = Math.max(0, ...per.map((p) => p.length));
      if (k > 0) {
        perClassAuc = Array.from(
          { length: k },
          (_, c) => metricStats(finite(per.map((p) => p[c])), confidence),
        );
      }
    }
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
      testAuc: metricStats(finite(ok.map((r) => r.test?.auc)), confidence),
      testBalancedAccuracy: metricStats(
        finite(ok.map((r) => r.test?.balancedAccuracy)),
        confidence,
      ),
      testBrier: metricStats(finite(ok.map((r) => testBrierOf(r, task))), confidence),
      perClassAuc,
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

  // DeLong of each configuration's seed ensemble against the best's, on shared seeds: the
  // binary test, or its extension to the macro (mean per-class / per-label) AUC.
  const binary = task.task === "binary";
  const labels = binary ? refLabels : null;
  const matrixLabels = !binary && reference ? matrixData(reference, task)?.y ?? null : null;
  if (best && (labels || matrixLabels)) {
    const bestRuns = okRunsOf.get(best.configId)!.filter(sameLabels);
    const raw: { c: ConfigSummary; t: Omit<DelongVsBest, "pHolm"> }[] = [];
    for (const c of configs) {
      if (c === best) continue;
      const runs = okRunsOf.get(c.configId)!.filter(sameLabels);
      const seeds = runs.map((r) => r.seed).filter((s) => bestRuns.some((b) => b.seed === s));
      if (seeds.length === 0) continue;
      const shared = (list: RunRecord[]) => list.filter((r) => seeds.includes(r.seed));
      try {
        let t: { pValue: number; z: number; auc1: number; auc2: number };
        if (labels) {
          const pick = (list: RunRecord[]) =>
            averageVectors(shared(list).map((r) => binaryScores(r, task)!));
          t = delongTest([pick(bestRuns), pick(runs)], labels);
        } else {
          const pick = (list: RunRecord[]) =>
            averageMatrices(shared(list).map((r) => matrixData(r, task)!.m));
          t = macroDelongTest([pick(bestRuns), pick(runs)], matrixLabels!);
        }
        raw.push({ c, t: { pValue: t.pValue, z: t.z, bestAuc: t.auc1, auc: t.auc2, seeds } });
      } catch (err) {
        warnings.push(`DeLong ${c.configId} vs ${best.configId}: ${(err as Error).message}`);
      }
    }
    const adjusted = holmAdjust(raw.map((x) => x.t.pValue));
    raw.forEach((x, i) => (x.c.delongVsBest = { ...x.t, pHolm: adjusted[i] ?? 1 }));
  }

  // Seed-ensemble ROC curve per configuration (binary; falls back to the first seed's stored curve).
  const rocs: Record<string, RocPoints> = {};
  for (const c of binary ? configs : []) {
    const ok = okRunsOf.get(c.configId)!;
    const runs = ok.filter(sameLabels);
    if (runs.length > 0 && labels) {
      try {
        const scores = averageVectors(runs.map((r) => binaryScores(r, task)!));
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

  // Per-class (one-vs-rest) or per-label ROC curves of the best configuration's seed ensemble.
  const bestClassRocs: ClassRoc[] = [];
  if (!binary && best && reference) {
    const runs = okRunsOf.get(best.configId)!.filter(sameLabels);
    if (runs.length > 0) {
      const mats = runs.map((r) => matrixData(r, task)!.m);
      const k = mats[0][0].length;
      const n = mats[0].length;
      const ens = Array.from(
        { length: n },
        (_, i) =>
          Array.from({ length: k }, (_, c) => mats.reduce((s, m) => s + m[i][c], 0) / mats.length),
      );
      const y = matrixData(reference, task)!.y;
      for (let c = 0; c < k; c++) {
        const scores = column(ens, c);
        const yc = classLabels(y, c);
        try {
          const roc = rocCurve(scores, yc);
          bestClassRocs.push({
            classIndex: c,
            className: className(task, c),
            fpr: Array.from(roc.fpr),
            tpr: Array.from(roc.tpr),
            auc: aucRoc(scores, yc),
            source: `seed ensemble (mean score over ${runs.length} seed${
              runs.length > 1 ? "s" : ""
            })`,
          });
        } catch (err) {
          warnings.push(`ROC of ${className(task, c)}: ${(err as Error).message}`);
        }
      }
    } else {
      warnings.push(
        "the records store no test probabilities (testProbs/testTargets): per-class ROC " +
          "curves are not drawn.",
      );
    }
  }

  const effects = analyzeAxisEffects(
    configs.map((c) => ({
      configId: c.configId,
      axes: c.axes,
      aucBySeed: new Map(
        okRunsOf.get(c.configId)!.filter((r) => Number.isFinite(r.test?.auc ?? NaN)).map((
          r,
        ) => [r.seed, r.test!.auc!]),
      ),
    })),
    {
      design: options.design,
      baseline: options.baseline,
      axisLevels: options.axisLevels,
      confidence,
    },
  );

  const nOk = records.filter((r) => r.status === "ok").length;
  return {
    configs,
    best,
    design: effects.design,
    baseline: effects.baseline,
    axisEffects: effects.effects,
    fixedAxes: effects.fixedAxes,
    levels: effects.effects.flatMap((e) => e.levels),
    interactions: effects.interactions,
    task,
    nRuns: records.length,
    nOk,
    nFailed: records.length - nOk,
    nDuplicates: deduped.dropped,
    confidence,
    delongMethod: binary ? DELONG_METHOD : macroDelongMethod(task.task),
    warnings,
    rocs,
    bestClassRocs,
  };
}

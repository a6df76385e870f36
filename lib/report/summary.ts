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

import {
  analyzeAxisEffects,
  AXES,
  type AxisEffect,
  type AxisEffectsResult,
  type AxisLevels,
  type AxisLevelSummary,
  type DesignKind,
  type InteractionSummary,
  type MetricStats,
  metricStats,
} from "./effects.ts";
import {
  type ClassRoc,
  classRocs,
  type DelongVsBest,
  delongVsBest,
  ensembleRocs,
  type RocPoints,
  scoredRuns,
} from "./ensembles.ts";
import type { RunAxes, RunRecord } from "./record.ts";
import { runPerClassAuc } from "./scores.ts";
import { resolveTask, type TaskInfo, type TaskOptions, testBrierOf } from "./task.ts";

export { AXES };
export type {
  AxisEffect,
  AxisLevels,
  AxisLevelSummary,
  ClassRoc,
  DelongVsBest,
  DesignKind,
  InteractionSummary,
  MetricStats,
  RocPoints,
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

/** What {@linkcode dedupeRuns} kept and dropped. */
export interface DedupedRuns {
  /** The kept records, in their original order. */
  records: RunRecord[];
  /** Number of records dropped. */
  dropped: number;
  /** The run ids that had more than one record. */
  ids: string[];
}

/**
 * Drop records whose run id was already seen: per id, a successful record
 * is preferred over a failed one, else the latest (`finishedAt`, then the
 * later line) — the rule the study's readers use. Returns the kept records
 * (in their original order), the number dropped and the ids that had
 * duplicates.
 */
export function dedupeRuns(records: readonly RunRecord[]): DedupedRuns {
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

/** Check the summary's inputs: a confidence in (0, 1) and an array of records with ids and axes. */
function checkInput(input: readonly RunRecord[], confidence: number): void {
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
}

/** The warning about duplicate records, or `null` when there were none. */
function duplicateWarning(deduped: DedupedRuns): string | null {
  if (deduped.dropped === 0) return null;
  const shown = deduped.ids.slice(0, 5).join(", ") + (deduped.ids.length > 5 ? ", …" : "");
  return `dropped ${deduped.dropped} duplicate record${deduped.dropped === 1 ? "" : "s"} of ` +
    `${deduped.ids.length} run id${deduped.ids.length === 1 ? "" : "s"} (${shown}); ` +
    "kept one per run id (ok over failed, else the latest), so seeds are counted by " +
    "distinct run.";
}

/** Records grouped by configuration id, in order of first appearance. */
function groupByConfig(records: readonly RunRecord[]): Map<string, RunRecord[]> {
  const byConfig = new Map<string, RunRecord[]>();
  for (const r of records) {
    const list = byConfig.get(r.configId);
    if (list) list.push(r);
    else byConfig.set(r.configId, [r]);
  }
  return byConfig;
}

/** Per-class (or per-label) test AUC stats over `ok` runs; `null` for binary tasks or none. */
function perClassStats(
  ok: RunRecord[],
  task: TaskInfo,
  confidence: number,
): (MetricStats | null)[] | null {
  if (task.task === "binary") return null;
  const per = ok.map((r) => runPerClassAuc(r, task)).filter((p) => p !== null);
  const k = Math.max(0, ...per.map((p) => p.length));
  if (k === 0) return null;
  return Array.from({ length: k }, (_, c) => metricStats(finite(per.map((p) => p[c])), confidence));
}

/** One configuration's summary (unranked, without DeLong) from its runs and its successful ones. */
function configSummary(
  configId: string,
  runs: RunRecord[],
  ok: RunRecord[],
  task: TaskInfo,
  confidence: number,
): ConfigSummary {
  const failed = runs.filter((r) => r.status !== "ok").sort((a, b) => a.seed - b.seed);
  return {
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
    perClassAuc: perClassStats(ok, task, confidence),
    valAucMean: mean(finite(ok.map((r) => r.val?.auc))),
    bestEpochMean: mean(finite(ok.map((r) => r.bestEpoch))),
    epochsRunMean: mean(finite(ok.map((r) => r.epochsRun))),
    gapAucMean: mean(finite(ok.map((r) => r.gapAuc))),
    gapLossMean: mean(finite(ok.map((r) => r.gapLoss))),
    secondsMean: mean(finite(ok.map((r) => r.seconds))),
    secondsTotal: finite(runs.map((r) => r.seconds)).reduce((s, v) => s + v, 0),
    delongVsBest: null,
    curves: meanCurves(ok),
  };
}

/** Sort by mean test AUC (best first, then by id), set ranks and mark the best; returns it. */
function rankConfigs(configs: ConfigSummary[]): ConfigSummary | null {
  configs.sort((a, b) => {
    const ma = a.testAuc?.mean ?? -Infinity;
    const mb = b.testAuc?.mean ?? -Infinity;
    if (ma !== mb) return mb - ma;
    return a.configId < b.configId ? -1 : a.configId > b.configId ? 1 : 0;
  });
  configs.forEach((c, i) => (c.rank = i + 1));
  const best = configs.length > 0 && configs[0].testAuc ? configs[0] : null;
  if (best) best.best = true;
  return best;
}

/** The axis effects of the configurations' successful seeds' test AUCs, as the design allows. */
function axisEffectsOf(
  configs: ConfigSummary[],
  okRunsOf: ReadonlyMap<string, RunRecord[]>,
  options: SummarizeOptions,
  confidence: number,
): AxisEffectsResult {
  return analyzeAxisEffects(
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
  checkInput(input, confidence);
  const warnings: string[] = [];
  const deduped = dedupeRuns(input);
  const records = deduped.records;
  const duplicates = duplicateWarning(deduped);
  if (duplicates) warnings.push(duplicates);
  const task = resolveTask(records, options);
  const scored = scoredRuns(records, task, warnings);

  const configs: ConfigSummary[] = [];
  const okRunsOf = new Map<string, RunRecord[]>();
  for (const [configId, runs] of groupByConfig(records)) {
    const ok = runs.filter((r) => r.status === "ok").sort((a, b) => a.seed - b.seed);
    okRunsOf.set(configId, ok);
    configs.push(configSummary(configId, runs, ok, task, confidence));
  }
  const best = rankConfigs(configs);
  const configIds = configs.map((c) => c.configId);
  const binary = task.task === "binary";
  if (best) {
    const tests = delongVsBest({ scored, bestId: best.configId, configIds, okRunsOf, warnings });
    for (const c of configs) c.delongVsBest = tests.get(c.configId) ?? null;
  }
  const rocs = binary ? ensembleRocs(scored, configIds, okRunsOf, warnings) : {};
  const bestClassRocs = !binary && best
    ? classRocs(scored, okRunsOf.get(best.configId)!, warnings)
    : [];
  const effects = axisEffectsOf(configs, okRunsOf, options, confidence);

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

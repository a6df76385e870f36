/**
 * Seed ensembles of a study's stored test scores: which runs' scores can be
 * compared (same test labels, in the same order, as a reference run), DeLong's
 * test of each configuration's ensemble against the best one's with Holm's
 * correction, and the ensembles' ROC curves (see `summary.ts` for the method).
 *
 * @module
 */

import { aucRoc, delongTest, rocCurve } from "../metrics/mod.ts";
import { holmAdjust } from "./holm.ts";
import { macroDelongTest } from "./macro_delong.ts";
import type { RunRecord } from "./record.ts";
import {
  averageMatrices,
  averageVectors,
  binaryScores,
  classLabels,
  column,
  flatLabels,
  matrixData,
  sameNumbers,
  scoreCount,
} from "./scores.ts";
import { className, type TaskInfo } from "./task.ts";

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

/** Which runs' stored test scores can enter a seed ensemble. */
export interface ScoredRuns {
  /** The study's task. */
  task: TaskInfo;
  /** The first successful run with scores, whose labels every other run must match. */
  reference: RunRecord | undefined;
  /** The reference run's test labels, flattened; `null` without a reference. */
  refLabels: number[] | null;
  /** Whether a run is successful, has scores and the reference's labels and length. */
  sameLabels(r: RunRecord): boolean;
}

/**
 * Find the reference run (the first successful run with scores) and check
 * every other scored run against it; a warning is added to `warnings` for
 * each run whose labels or length differ (it is left out of the ensembles).
 */
export function scoredRuns(
  records: readonly RunRecord[],
  task: TaskInfo,
  warnings: string[],
): ScoredRuns {
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
  return { task, reference, refLabels, sameLabels };
}

/** Inputs of {@linkcode delongVsBest}. */
export interface DelongVsBestOptions {
  /** The runs that can be compared. */
  scored: ScoredRuns;
  /** Id of the best configuration. */
  bestId: string;
  /** Ids of every configuration, in rank order (the order of the Holm adjustment). */
  configIds: readonly string[];
  /** The successful runs of each configuration, by seed. */
  okRunsOf: ReadonlyMap<string, RunRecord[]>;
  /** Problems met are added here. */
  warnings: string[];
}

/**
 * DeLong's test of each configuration's seed ensemble against the best's, on
 * the seeds both completed: the binary test, or its extension to the macro
 * (mean per-class / per-label) AUC; p-values Holm-adjusted across the
 * comparisons. Returns the tests by config id (none for the best itself, a
 * configuration without shared seeds, or when the task has no labels).
 */
export function delongVsBest(options: DelongVsBestOptions): Map<string, DelongVsBest> {
  const { scored, bestId, okRunsOf, warnings } = options;
  const out = new Map<string, DelongVsBest>();
  const binary = scored.task.task === "binary";
  const labels = binary ? scored.refLabels : null;
  const matrixLabels = !binary && scored.reference
    ? matrixData(scored.reference, scored.task)?.y ?? null
    : null;
  if (!labels && !matrixLabels) return out;
  const bestRuns = okRunsOf.get(bestId)!.filter(scored.sameLabels);
  const raw: { id: string; t: Omit<DelongVsBest, "pHolm"> }[] = [];
  for (const id of options.configIds) {
    if (id === bestId) continue;
    const runs = okRunsOf.get(id)!.filter(scored.sameLabels);
    const seeds = runs.map((r) => r.seed).filter((s) => bestRuns.some((b) => b.seed === s));
    if (seeds.length === 0) continue;
    const shared = (list: RunRecord[]) => list.filter((r) => seeds.includes(r.seed));
    try {
      let t: { pValue: number; z: number; auc1: number; auc2: number };
      if (labels) {
        const pick = (list: RunRecord[]) =>
          averageVectors(shared(list).map((r) => binaryScores(r, scored.task)!));
        t = delongTest([pick(bestRuns), pick(runs)], labels);
      } else {
        const pick = (list: RunRecord[]) =>
          averageMatrices(shared(list).map((r) => matrixData(r, scored.task)!.m));
        t = macroDelongTest([pick(bestRuns), pick(runs)], matrixLabels!);
      }
      raw.push({ id, t: { pValue: t.pValue, z: t.z, bestAuc: t.auc1, auc: t.auc2, seeds } });
    } catch (err) {
      warnings.push(`DeLong ${id} vs ${bestId}: ${(err as Error).message}`);
    }
  }
  const adjusted = holmAdjust(raw.map((x) => x.t.pValue));
  raw.forEach((x, i) => out.set(x.id, { ...x.t, pHolm: adjusted[i] ?? 1 }));
  return out;
}

/** `seed ensemble (mean score over N seeds)`. */
function ensembleSource(n: number): string {
  return `seed ensemble (mean score over ${n} seed${n > 1 ? "s" : ""})`;
}

/**
 * The seed-ensemble ROC curve of each configuration (binary tasks), by
 * config id; a configuration whose ensemble cannot be formed falls back to
 * the stored curve of its first seed that has one.
 */
export function ensembleRocs(
  scored: ScoredRuns,
  configIds: readonly string[],
  okRunsOf: ReadonlyMap<string, RunRecord[]>,
  warnings: string[],
): Record<string, RocPoints> {
  const rocs: Record<string, RocPoints> = {};
  const labels = scored.refLabels;
  for (const id of configIds) {
    const ok = okRunsOf.get(id)!;
    const runs = ok.filter(scored.sameLabels);
    if (runs.length > 0 && labels) {
      try {
        const scores = averageVectors(runs.map((r) => binaryScores(r, scored.task)!));
        const roc = rocCurve(scores, labels);
        rocs[id] = {
          fpr: Array.from(roc.fpr),
          tpr: Array.from(roc.tpr),
          auc: aucRoc(scores, labels),
          source: ensembleSource(runs.length),
        };
        continue;
      } catch (err) {
        warnings.push(`ROC of ${id}: ${(err as Error).message}`);
      }
    }
    const withRoc = ok.find((r) => r.roc && r.roc.fpr.length > 0);
    if (withRoc) {
      rocs[id] = {
        fpr: withRoc.roc!.fpr.slice(),
        tpr: withRoc.roc!.tpr.slice(),
        auc: withRoc.test?.auc ?? null,
        source: `seed ${withRoc.seed}`,
      };
    }
  }
  return rocs;
}

/**
 * Per-class (one-vs-rest) or per-label ROC curves of the seed ensemble of
 * `bestRuns` (the best configuration's successful runs); none, and a
 * warning, when none of them stores comparable test probabilities; none
 * without a reference run.
 */
export function classRocs(
  scored: ScoredRuns,
  bestRuns: readonly RunRecord[],
  warnings: string[],
): ClassRoc[] {
  const { task, reference } = scored;
  if (!reference) return [];
  const runs = bestRuns.filter(scored.sameLabels);
  if (runs.length === 0) {
    warnings.push(
      "the records store no test probabilities (testProbs/testTargets): per-class ROC " +
        "curves are not drawn.",
    );
    return [];
  }
  const ens = averageMatrices(runs.map((r) => matrixData(r, task)!.m));
  const y = matrixData(reference, task)!.y;
  const out: ClassRoc[] = [];
  for (let c = 0; c < ens[0].length; c++) {
    const scores = column(ens, c);
    const yc = classLabels(y, c);
    try {
      const roc = rocCurve(scores, yc);
      out.push({
        classIndex: c,
        className: className(task, c),
        fpr: Array.from(roc.fpr),
        tpr: Array.from(roc.tpr),
        auc: aucRoc(scores, yc),
        source: ensembleSource(runs.length),
      });
    } catch (err) {
      warnings.push(`ROC of ${className(task, c)}: ${(err as Error).message}`);
    }
  }
  return out;
}

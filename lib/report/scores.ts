/**
 * Reading a run's stored test scores: binary score vectors (`testScores`,
 * `testLabels`), N×K probabilities (`testProbs`/`testTargets`, row-major, as
 * the runner records them for multi-class and multi-label tasks, or
 * `testScores` stored as rows), their labels, seed ensembles and per-class
 * AUCs.
 *
 * @module
 */

import { aucRoc } from "../metrics/mod.ts";
import type { RunRecord } from "./record.ts";
import type { TaskInfo } from "./task.ts";

/** A run's test probabilities as N×K rows and its labels (class indices, or 0/1 rows for multi-label). */
export interface MatrixData {
  /** N×K probabilities. */
  m: number[][];
  /** N class indices (single-label) or N×K 0/1 rows (multi-label). */
  y: number[] | number[][];
}

function rows(flat: readonly number[], k: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i + k <= flat.length; i += k) out.push(flat.slice(i, i + k));
  return out;
}

/**
 * A run's N×K test probabilities and labels: from `testProbs`/`testTargets`
 * (row-major, as the runner records them for multi-class and multi-label
 * tasks), or from `testScores` stored as rows; `null` for a binary score
 * vector or when absent.
 */
export function matrixData(r: RunRecord, task: TaskInfo): MatrixData | null {
  const s = r.testScores as unknown;
  if (Array.isArray(s) && s.length > 0 && Array.isArray(s[0])) {
    const y = r.testLabels as unknown;
    return Array.isArray(y) && y.length === s.length
      ? { m: s as number[][], y: y as number[] | number[][] }
      : null;
  }
  const probs = r.testProbs;
  const targets = r.testTargets;
  if (!Array.isArray(probs) || !Array.isArray(targets) || targets.length === 0) return null;
  if (task.task === "multi-label" && targets.length === probs.length) {
    const k = task.classNames?.length ?? r.test?.perClassAuc?.length ?? r.classNames?.length;
    if (!k || probs.length % k !== 0) return null;
    return { m: rows(probs, k), y: rows(targets, k) };
  }
  if (probs.length % targets.length !== 0) return null;
  return { m: rows(probs, probs.length / targets.length), y: targets.slice() };
}

/** A run's binary scores (positive-class probability per image), or `null`. */
export function binaryScores(r: RunRecord, task: TaskInfo): number[] | null {
  if (Array.isArray(r.testScores) && r.testScores.length > 0 && !Array.isArray(r.testScores[0])) {
    return r.testScores;
  }
  const d = matrixData(r, task);
  return d && d.m[0]?.length === 2 ? d.m.map((row) => row[1]) : null;
}

/** A run's test labels flattened (multi-label rows row-major), for comparing runs. */
export function flatLabels(r: RunRecord, task: TaskInfo): number[] | null {
  if (task.task === "binary" && Array.isArray(r.testLabels) && binaryScores(r, task)) {
    return r.testLabels;
  }
  const d = task.task === "binary" ? null : matrixData(r, task);
  if (d) return Array.isArray(d.y[0]) ? (d.y as number[][]).flat() : d.y as number[];
  const y = r.testLabels ?? r.testTargets;
  return Array.isArray(y) ? y : null;
}

/** The number of test images of a run's stored scores. */
export function scoreCount(r: RunRecord, task: TaskInfo): number {
  return task.task === "binary"
    ? binaryScores(r, task)?.length ?? 0
    : matrixData(r, task)?.m.length ?? 0;
}

/** Whether two number arrays are equal element by element. */
export function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Image-by-image mean of equally long vectors. */
export function averageVectors(vectors: number[][]): number[] {
  const out = new Array<number>(vectors[0].length).fill(0);
  for (const v of vectors) for (let i = 0; i < out.length; i++) out[i] += v[i];
  return out.map((x) => x / vectors.length);
}

/** Element-wise mean of equally shaped N×K matrices (a seed ensemble of probabilities). */
export function averageMatrices(mats: number[][][]): number[][] {
  const k = mats[0][0].length;
  return mats[0].map((_, i) =>
    Array.from({ length: k }, (_, c) => mats.reduce((s, m) => s + m[i][c], 0) / mats.length)
  );
}

/** Column `k` of a matrix. */
export const column = (m: number[][], k: number): number[] => m.map((row) => row[k]);

/** Binary labels of class (or label) `k`: one-vs-rest for class indices, the column for label rows. */
export function classLabels(y: number[] | number[][], k: number): number[] {
  return Array.isArray(y[0])
    ? (y as number[][]).map((row) => row[k])
    : (y as number[]).map((v) => (v === k ? 1 : 0));
}

/** Per-class (OvR) or per-label AUCs of one run: from `test.perClassAuc`, else from its scores. */
export function runPerClassAuc(r: RunRecord, task: TaskInfo): (number | null)[] | null {
  const stored = r.test?.perClassAuc;
  if (Array.isArray(stored)) return stored;
  const d = matrixData(r, task);
  if (!d) return null;
  const out: (number | null)[] = [];
  for (let c = 0; c < d.m[0].length; c++) {
    try {
      out.push(aucRoc(column(d.m, c), classLabels(d.y, c)));
    } catch {
      out.push(null);
    }
  }
  return out;
}

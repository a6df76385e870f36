/**
 * Ranking kernels shared by AUC and DeLong (internal; inputs already validated).
 *
 * @module
 */

import { DegenerateSampleError } from "./_validate.ts";

/** Midranks (1-based, ties share their average rank) of validated values. */
export function midranksOf(v: Float64Array): Float64Array {
  const n = v.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => v[a] - v[b]);
  const ranks = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && v[order[j + 1]] === v[order[i]]) j++;
    // sorted positions i..j (0-based) hold ranks i+1..j+1, whose mean is (i + j) / 2 + 1
    const r = (i + j) / 2 + 1;
    for (let t = i; t <= j; t++) ranks[order[t]] = r;
    i = j + 1;
  }
  return ranks;
}

/** Mann–Whitney AUC of validated scores given a 0/1 positive mask. */
export function aucFromMask(s: Float64Array, isPos: Uint8Array, where: string): number {
  const ranks = midranksOf(s);
  let m = 0;
  let rankSum = 0;
  for (let i = 0; i < s.length; i++) {
    if (isPos[i]) {
      m++;
      rankSum += ranks[i];
    }
  }
  const n = s.length - m;
  if (m === 0 || n === 0) {
    throw new DegenerateSampleError(
      `${where}: AUC needs both positive and negative samples, got ${m} positive and ` +
        `${n} negative`,
    );
  }
  return (rankSum - (m * (m + 1)) / 2) / (m * n);
}

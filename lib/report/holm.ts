/**
 * Holm's step-down correction for multiple comparisons (Holm 1979), used for
 * the DeLong tests of every configuration against the best one.
 *
 * @module
 */

/**
 * Holm-adjusted p-values, in the input order. With the m finite p-values
 * sorted ascending p₍₁₎ ≤ … ≤ p₍ₘ₎, the adjusted value of p₍ᵢ₎ is
 * `min(1, max_{j ≤ i} (m − j + 1) · p₍ⱼ₎)`, so that rejecting every
 * hypothesis with adjusted p < α controls the family-wise error rate at α
 * (the same numbers as R's `p.adjust(p, "holm")` and statsmodels'
 * `multipletests(p, method="holm")`). Entries that are `null` or not finite
 * are not counted in m and come back as `null`.
 *
 * @example holmAdjust([0.01, 0.04, 0.03]) → [0.03, 0.06, 0.06]
 */
export function holmAdjust(pValues: readonly (number | null | undefined)[]): (number | null)[] {
  const idx: number[] = [];
  pValues.forEach((p, i) => {
    if (typeof p === "number" && Number.isFinite(p)) {
      if (p < 0 || p > 1) {
        throw new RangeError(`holmAdjust: p-value ${i} is ${p}; p-values must lie in [0, 1]`);
      }
      idx.push(i);
    }
  });
  idx.sort((a, b) => (pValues[a] as number) - (pValues[b] as number) || a - b);
  const m = idx.length;
  const out: (number | null)[] = pValues.map(() => null);
  let running = 0;
  idx.forEach((i, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * (pValues[i] as number)));
    out[i] = running;
  });
  return out;
}

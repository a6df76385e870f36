/**
 * Rounding shared by every layer: the one place half-way cases are decided.
 *
 * @module
 */

/**
 * Round to the nearest integer, halves to the even neighbour, as Python's
 * `round()` and IEEE 754's default rounding do (augmentation box sizes follow
 * torchvision's `int(round(x))`; half-precision encoding rounds mantissas
 * this way).
 *
 * @param x Any number; infinities and NaN come back unchanged.
 * @returns The nearest integer, ties to even.
 *
 * @example
 * ```ts
 * import { roundHalfEven } from "./round.ts";
 * [0.5, 1.5, 2.5, -1.5].map(roundHalfEven); // [0, 2, 2, -2]
 * ```
 */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Shape arithmetic shared by every layer: the one place the element count of
 * a shape is computed.
 *
 * @module
 */

/**
 * Number of elements of an array with this shape (1 for a scalar `[]`).
 *
 * @param shape The dimensions, outermost first.
 * @returns Their product.
 *
 * @example
 * ```ts
 * import { sizeOf } from "./shape.ts";
 * sizeOf([32, 3, 28, 28]); // 75264
 * sizeOf([]); // 1
 * ```
 */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

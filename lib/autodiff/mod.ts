/**
 * Reverse-mode automatic differentiation over the graph builder and the VJP
 * table. (The finite-difference checker, which needs a backend to run the
 * graphs, is in `lib/runtime/gradcheck.ts`.)
 *
 * @module
 */

export { type GradientOptions, gradients } from "./gradients.ts";
export { RULES } from "./rules.ts";
export {
  type ConvInputGrad,
  type ConvWeightGrad,
  type Present,
  type VjpContext,
  type VjpInputs,
  type VjpRule,
} from "./vjp.ts";

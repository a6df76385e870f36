/**
 * Reverse-mode automatic differentiation over the graph builder, the VJP
 * table, and a finite-difference gradient checker.
 *
 * @module
 */

export { type GradientOptions, gradients } from "./gradients.ts";
export { RULES } from "./rules.ts";
export type { ConvInputGrad, ConvWeightGrad, VjpContext, VjpRule } from "./vjp.ts";
export {
  checkGradients,
  type GradCheckEntry,
  type GradCheckOptions,
  type GradCheckReport,
} from "./gradcheck.ts";

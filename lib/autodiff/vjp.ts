/**
 * Shared pieces of the VJP rules: the context a rule receives, attribute and
 * constant readers, and `unbroadcast`.
 *
 * @module
 */

import type { Graph, Node, Tensor } from "../onnx/graph.ts";
import { reduceSum, reshape } from "../onnx/ops.ts";

/** How convolution weight gradients are expressed (see `GradientOptions`). */
export type ConvWeightGrad = "im2col" | "dilated" | "blocked";

/** How convolution input gradients are expressed (see `GradientOptions`). */
export type ConvInputGrad = "conv" | "convTranspose";

/** A node's inputs as a rule sees them: absent optional inputs are null. */
export type VjpInputs = readonly (Tensor | null)[];

/**
 * Inputs whose first `N` entries are present (required by the op), the rest
 * optional: `Present<2>` is `readonly [Tensor, Tensor, ...(Tensor | null)[]]`.
 */
export type Present<N extends number, A extends Tensor[] = []> = A["length"] extends N
  ? readonly [...A, ...(Tensor | null)[]]
  : Present<N, [...A, Tensor]>;

/** What a VJP rule receives. */
export interface VjpContext<I extends VjpInputs = VjpInputs> {
  /** The node being differentiated. */
  readonly node: Node;
  /** Its inputs (see {@linkcode defineRule} for which are known present). */
  readonly inputs: I;
  /** Its outputs. */
  readonly outputs: readonly Tensor[];
  /**
   * Summed gradient of the node's first output: never null, since a rule
   * runs only when gradient reaches that output (rules differentiate the
   * first output only; gradient reaching another output is an error).
   */
  readonly dy: Tensor;
  /** Which inputs need a gradient. */
  readonly needs: readonly boolean[];
  /** The graph (for constants). */
  readonly graph: Graph;
  /** Formulation of conv weight gradients. */
  readonly convWeightGrad: ConvWeightGrad;
  /** Formulation of conv input gradients. */
  readonly convInputGrad: ConvInputGrad;
}

/** A VJP rule: one gradient (or null) per input of the node. */
export type VjpRule = (ctx: VjpContext) => (Tensor | null)[];

/**
 * A rule for an op whose first `required` inputs are always present
 * (`"all"`: every input, as in Concat). The rule sees them typed as
 * `Tensor`; the check that they are present runs once here, with an error
 * naming the node, instead of a `!` at every use.
 *
 * @param required How many leading inputs the op requires, or `"all"`.
 * @param rule The rule, typed with those inputs present.
 * @returns The rule as the table stores it.
 */
export function defineRule(
  required: "all",
  rule: (ctx: VjpContext<readonly Tensor[]>) => (Tensor | null)[],
): VjpRule;
export function defineRule<N extends number>(
  required: N,
  rule: (ctx: VjpContext<Present<N>>) => (Tensor | null)[],
): VjpRule;
export function defineRule(
  required: number | "all",
  // The overloads type the rule; at run time it receives the checked context.
  rule: (ctx: never) => (Tensor | null)[],
): VjpRule {
  return (ctx) => {
    const n = required === "all" ? ctx.inputs.length : required;
    for (let i = 0; i < n; i++) {
      if (!ctx.inputs[i]) {
        throw new Error(
          `gradient rule: ${ctx.node.op} node #${ctx.node.index} lacks its required input ${i}`,
        );
      }
    }
    return rule(ctx as never);
  };
}

// ------------------------------------------------------------------ helpers

/** Sum `dy` over the axes along which a tensor of `shape` was broadcast, and reshape to `shape`. */
export function unbroadcast(dy: Tensor, shape: readonly number[]): Tensor {
  if (dy.shape.length === shape.length && dy.shape.every((d, i) => d === shape[i])) return dy;
  const lead = dy.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < dy.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && dy.shape[i] !== 1)) axes.push(i);
  }
  const summed = axes.length ? reduceSum(dy, axes, { keepdims: true }) : dy;
  return reshape(summed, shape);
}

/** Integer attribute (or default). */
export function attrInt(node: Node, name: string, fallback: number): number {
  const a = node.attrs[name];
  return a && a.type === "int" ? a.value : fallback;
}

/** Float attribute (or default). */
export function attrFloat(node: Node, name: string, fallback: number): number {
  const a = node.attrs[name];
  return a && a.type === "float" ? a.value : fallback;
}

/** Integer-list attribute (or default). */
export function attrInts(node: Node, name: string, fallback: readonly number[]): number[] {
  const a = node.attrs[name];
  return a && a.type === "ints" ? [...a.value] : [...fallback];
}

/** The values of a constant integer tensor (axes, shapes, pads). */
export function constInts(graph: Graph, t: Tensor | null, what: string): number[] {
  const data = t ? graph.constants.get(t) : undefined;
  if (!data) throw new Error(`gradient rule: ${what} must be a constant`);
  return Array.from(data as ArrayLike<number | bigint>, (v) => Number(v));
}

/**
 * Shared pieces of the VJP rules: the context a rule receives, attribute and
 * constant readers, and `unbroadcast`.
 *
 * @module
 */

import type { Graph, Node, Tensor } from "../onnx/graph.ts";
import { reduceSum, reshape } from "../onnx/ops.ts";

/** How convolution weight gradients are expressed (see `GradientOptions`). */
export type ConvWeightGrad = "im2col" | "dilated";

/** How convolution input gradients are expressed (see `GradientOptions`). */
export type ConvInputGrad = "conv" | "convTranspose";

/** What a VJP rule receives. */
export interface VjpContext {
  /** The node being differentiated. */
  readonly node: Node;
  /** Its inputs. */
  readonly inputs: readonly (Tensor | null)[];
  /** Its outputs. */
  readonly outputs: readonly Tensor[];
  /** Summed gradients of the outputs (null where none flows). */
  readonly dys: readonly (Tensor | null)[];
  /** Which inputs need a gradient. */
  readonly needs: readonly boolean[];
  /** The graph (for constants). */
  readonly graph: Graph;
  /** Formulation of conv weight gradients. */
  readonly convWeightGrad: ConvWeightGrad;
  /** Formulation of conv input gradients. */
  readonly convInputGrad: ConvInputGrad;
}

/** A VJP rule. */
export type VjpRule = (ctx: VjpContext) => (Tensor | null)[];

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

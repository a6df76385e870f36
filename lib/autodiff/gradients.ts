/**
 * Reverse-mode automatic differentiation over the graph builder's node list.
 *
 * `gradients(y, xs)` appends the backward pass to `y`'s graph: nodes are
 * visited in reverse creation order (creation order is topological), only
 * nodes that lie on a path from some `x` to `y` are differentiated (unused
 * branches are pruned), gradients reaching a tensor along several paths are
 * summed, and regions built with `Graph.withCustomGradient` use their
 * hand-written rule instead of their nodes' rules.
 *
 * @module
 */

import { type CustomGradient, formatShape, type Node, type Tensor } from "../onnx/graph.ts";
import { add, concat, expand, full } from "../onnx/ops.ts";
import { RULES } from "./rules.ts";
import type { ConvInputGrad, ConvWeightGrad, VjpContext } from "./vjp.ts";

/** Options of {@linkcode gradients}. */
export interface GradientOptions {
  /** Gradient of `y` itself (default: ones of `y`'s shape). */
  outputGradient?: Tensor;
  /**
   * How convolution weight gradients are expressed: `im2col` (one GEMM per
   * kernel tap, or patches by one-hot convolution then MatMul), `dilated`
   * (one convolution with strides and dilations swapped; least memory, for
   * WebGPU) or `blocked` (`im2col`, except that dense convolutions on maps
   * of at least 196 output positions take the dilated form on a zero-padded
   * input, which the cpu backend runs on onnxruntime's blocked NCHWc
   * kernels, and 3×3 "same" convolutions on 4×4 maps take Winograd
   * F(2×2, 3×3) as the cpu backend's lowering takes their forward pass and
   * input gradient; the cpu backend's default).
   * Default `im2col`.
   */
  convWeightGrad?: ConvWeightGrad;
  /**
   * How convolution input gradients are expressed: `conv` (stride-1 layers as
   * a convolution of the output gradient with the flipped, transposed kernel,
   * which runs on the runtime's fast forward-conv kernels; strided layers
   * fall back to ConvTranspose) or `convTranspose` (every layer as
   * ConvTranspose; the formulation verified on WebGPU). Default `conv`.
   */
  convInputGrad?: ConvInputGrad;
}

type Unit =
  | { kind: "node"; node: Node; inputs: readonly (Tensor | null)[]; outputs: readonly Tensor[] }
  | {
    kind: "custom";
    inputs: readonly Tensor[];
    outputs: readonly Tensor[];
    vjp: (dys: readonly (Tensor | null)[]) => readonly (Tensor | null)[];
  };

/** The formulation choices a rule receives. */
type Formulation = Pick<VjpContext, "convWeightGrad" | "convInputGrad">;

/**
 * Gradients of the scalar `y` (or of `Σ y ⊙ outputGradient`) with respect to each of `xs`,
 * built as new nodes of `y`'s graph. A tensor that `y` does not depend on
 * gets `null`.
 *
 * @param y The output to differentiate (any shape; a scalar unless `outputGradient` is given).
 * @param xs The tensors to differentiate with respect to.
 * @param options The output gradient and the conv gradient formulations.
 * @returns One gradient per `xs` entry, of its shape, or null.
 */
export function gradients(
  y: Tensor,
  xs: readonly Tensor[],
  options: GradientOptions = {},
): (Tensor | null)[] {
  const g = y.graph;
  const units = collectUnits(g.nodes, g.customGradients);
  const dependsOnX = forwardDependence(units, xs);
  if (!dependsOnX.has(y)) return xs.map(() => null);

  const seed = options.outputGradient;
  if (seed && formatShape(seed.shape) !== formatShape(y.shape)) {
    throw new Error(`gradients: outputGradient ${seed} must have the shape of ${y}`);
  }
  const partials = new Partials();
  partials.push(y, seed ?? full(y, y.shape, 1));
  const formulation: Formulation = {
    convWeightGrad: options.convWeightGrad ?? "im2col",
    convInputGrad: options.convInputGrad ?? "conv",
  };
  for (let ui = units.length - 1; ui >= 0; ui--) {
    const u = units[ui];
    if (!u.outputs.some((o) => partials.has(o))) continue;
    const needs = u.inputs.map((t) => t !== null && dependsOnX.has(t));
    if (!needs.some((n) => n)) continue;
    const dys = u.outputs.map((o) => partials.total(o));
    const step = u.kind === "custom"
      ? { where: `custom gradient of ${u.outputs.map(String).join(", ")}`, dxs: u.vjp(dys) }
      : applyRule(u.node, dys, needs, formulation);
    u.inputs.forEach((t, i) => {
      const dx = step.dxs[i];
      if (!t || !needs[i] || !dx) return;
      if (formatShape(dx.shape) !== formatShape(t.shape)) {
        throw new Error(
          `gradients: the rule of ${step.where} gave input ${i} a gradient of shape ${
            formatShape(dx.shape)
          }, expected ${formatShape(t.shape)}`,
        );
      }
      partials.push(t, dx);
    });
  }
  return xs.map((x) => partials.total(x));
}

/** The tensors that depend on some `x` (float32 outputs of units with such an input). */
function forwardDependence(units: readonly Unit[], xs: readonly Tensor[]): Set<Tensor> {
  const dependsOnX = new Set<Tensor>(xs);
  for (const u of units) {
    if (u.inputs.some((t) => t && dependsOnX.has(t))) {
      for (const o of u.outputs) if (o.dtype === "float32") dependsOnX.add(o);
    }
  }
  return dependsOnX;
}

/** Gradient contributions per tensor, summed (once) when first read. */
class Partials {
  #parts = new Map<Tensor, Tensor[]>();

  /** Whether some gradient reached `t`. */
  has(t: Tensor): boolean {
    return this.#parts.has(t);
  }

  /** Add a contribution to `t`'s gradient. */
  push(t: Tensor, dx: Tensor): void {
    const list = this.#parts.get(t);
    if (list) list.push(dx);
    else this.#parts.set(t, [dx]);
  }

  /**
   * The sum of `t`'s contributions (Add nodes), or null when none reached it.
   * Slice gradients that tile one axis (ViT's q, k and v out of one qkv) are
   * joined by one Concat instead of padded to the full shape and added. A
   * contribution that is an Expand (a pooled gradient spread over the map)
   * is added by broadcasting its source instead: the same additions in the
   * same order, one pass over the map less (EfficientNet-B0's squeeze-excite
   * blocks: 17 Expands, 10.6 ms of a 64 px step at 1 thread).
   */
  total(t: Tensor): Tensor | null {
    const parts = this.#parts.get(t);
    if (!parts || parts.length === 0) return null;
    let sum = parts.length > 1 ? concatOfTiles(parts) : null;
    if (!sum) {
      // Same additions in the same order: only where each Expand's copies are made moves.
      sum = expandSource(parts[0]) ?? parts[0];
      for (let i = 1; i < parts.length; i++) sum = add(sum, expandSource(parts[i]) ?? parts[i]);
      sum = expand(sum, t.shape);
    }
    this.#parts.set(t, [sum]);
    return sum;
  }
}

/** The input of `t`'s Expand node, or undefined when `t` is not an Expand's output. */
function expandSource(t: Tensor): Tensor | undefined {
  const node = t.graph.producer(t);
  return node?.op === "Expand" && !node.domain && node.inputs[0] ? node.inputs[0] : undefined;
}

/**
 * `parts` summed as one Concat when each is a zero Pad of a piece along the
 * same single axis and the pieces tile that axis exactly, else null. (The
 * Pads and Adds it replaces wrote the full tensor once per piece: 15 ms per
 * ViT-Tiny training step at 28 px, 1 thread.)
 */
function concatOfTiles(parts: readonly Tensor[]): Tensor | null {
  const graph = parts[0].graph;
  const tiles: { piece: Tensor; begin: number }[] = [];
  let axis = -1;
  for (const part of parts) {
    const node = graph.producer(part);
    if (node?.op !== "Pad" || node.domain || !node.inputs[0] || !node.inputs[1]) return null;
    const mode = node.attrs.mode;
    if (mode && !(mode.type === "string" && mode.value === "constant")) return null;
    const value = node.inputs[2] ? graph.constants.get(node.inputs[2]) : undefined;
    if (node.inputs[2] && !(value && value.length === 1 && Number(value[0]) === 0)) return null;
    const pads = graph.constants.get(node.inputs[1]);
    if (!pads || node.inputs.length > 3) return null;
    const rank = part.rank;
    const padded = [...Array(rank).keys()].filter((a) =>
      Number(pads[a]) !== 0 || Number(pads[a + rank]) !== 0
    );
    if (padded.length !== 1 || (axis >= 0 && padded[0] !== axis)) return null;
    axis = padded[0];
    tiles.push({ piece: node.inputs[0], begin: Number(pads[axis]) });
  }
  tiles.sort((a, b) => a.begin - b.begin);
  let next = 0;
  for (const { piece, begin } of tiles) {
    if (begin !== next) return null;
    next += piece.shape[axis];
  }
  if (next !== parts[0].shape[axis]) return null;
  return concat(tiles.map((tile) => tile.piece), axis);
}

/**
 * Run the table's rule of `node`. Rules differentiate a node's first output:
 * gradient reaching any other output (LayerNormalization's saved statistics)
 * is an error rather than a silently dropped term.
 */
function applyRule(
  node: Node,
  dys: readonly (Tensor | null)[],
  needs: readonly boolean[],
  formulation: Formulation,
): { where: string; dxs: readonly (Tensor | null)[] } {
  const rule = RULES[node.op];
  const where = `${node.op} node #${node.index} (${node.outputs.map(String).join(", ")})`;
  if (!rule) {
    throw new Error(
      `gradients: no gradient rule for ${where}; ops with rules: ${
        Object.keys(RULES).sort().join(", ")
      }`,
    );
  }
  const dy = dys[0];
  const stray = dys.findIndex((d, i) => i > 0 && d !== null);
  if (!dy || stray > 0) {
    throw new Error(
      `gradients: gradient reached output ${stray} of ${where}, whose rule differentiates ` +
        `its first output only`,
    );
  }
  const graph = dy.graph;
  const dxs = rule({
    node,
    inputs: node.inputs,
    outputs: node.outputs,
    dy,
    needs,
    graph,
    ...formulation,
  });
  return { where, dxs };
}

/** The nodes in creation order, each custom-gradient region replaced by one unit. */
function collectUnits(nodes: readonly Node[], customs: readonly CustomGradient[]): Unit[] {
  const owner = new Array<number>(nodes.length).fill(-1);
  // Regions are recorded when they close, so an enclosing region comes after
  // the regions nested in it: claim nodes from the last region backwards so
  // that the outermost region owns them.
  for (let ci = customs.length - 1; ci >= 0; ci--) {
    for (let i = customs[ci].firstNode; i < customs[ci].endNode; i++) {
      if (owner[i] === -1) owner[i] = ci;
    }
  }
  const units: Unit[] = [];
  nodes.forEach((node, i) => {
    const ci = owner[i];
    if (ci === -1) {
      units.push({ kind: "node", node, inputs: node.inputs, outputs: node.outputs });
    } else if (i === customs[ci].endNode - 1) {
      const c = customs[ci];
      units.push({ kind: "custom", inputs: c.inputs, outputs: c.outputs, vjp: c.vjp });
    }
  });
  return units;
}

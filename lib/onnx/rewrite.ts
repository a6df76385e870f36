/**
 * The scaffolding of a graph rewrite: a new graph with the source's inputs
 * and constants, a map from source tensors to their rewritten values, nodes
 * copied as they are, and the outputs declared at the end. The runtime
 * lowerings (NCHWc convolutions, dense tiny-map convolutions) fill in the
 * nodes they change.
 *
 * @module
 */

import { Graph, type Node, type Tensor, type TensorData } from "./graph.ts";

/** Options of {@linkcode GraphRewrite}. */
export interface GraphRewriteOptions {
  /** Who rewrites, for errors (e.g. `lowerConvsToNchwc`). */
  label: string;
  /** How a source constant enters the new graph (default: `out.constant` with the same data). */
  constant?: (out: Graph, t: Tensor, data: TensorData) => Tensor;
}

/** A rewrite of `source` into a new graph, node by node, in order. */
export class GraphRewrite {
  /** The graph being built. */
  readonly out: Graph;
  readonly #map = new Map<Tensor, Tensor>();
  readonly #label: string;

  /** Start a rewrite of `source`: its inputs and constants are in the new graph. */
  constructor(readonly source: Graph, options: GraphRewriteOptions) {
    this.#label = options.label;
    this.out = new Graph({ name: source.name, dynamicBatch: source.dynamicBatch });
    for (const t of source.inputs) this.#map.set(t, this.out.input(t.name, t.dtype, t.shape));
    const constant = options.constant ?? ((out, t, data) => out.constant(data, t.shape, t.dtype));
    for (const [t, data] of source.constants) this.#map.set(t, constant(this.out, t, data));
  }

  /** The rewritten value of source tensor `t`. */
  get(t: Tensor): Tensor {
    const mapped = this.#map.get(t);
    if (!mapped) throw new Error(`${this.#label}: ${t} is used before it is defined`);
    return mapped;
  }

  /** Make `value` (of the new graph) the rewritten value of source tensor `t`. */
  set(t: Tensor, value: Tensor): void {
    this.#map.set(t, value);
  }

  /** Copy `node` as it is, on the rewritten values of its inputs. */
  copy(node: Node): void {
    const results = this.out.addNode(
      node.op,
      node.inputs.map((t) => (t ? this.get(t) : null)),
      node.outputs.map((t) => ({ dtype: t.dtype, shape: t.shape })),
      { ...node.attrs },
      node.domain,
    );
    node.outputs.forEach((t, k) => this.#map.set(t, results[k]));
  }

  /** Declare the source's outputs on their rewritten values; returns the new graph. */
  finish(): Graph {
    for (const [name, t] of this.source.outputs) this.out.output(name, this.get(t));
    return this.out;
  }
}

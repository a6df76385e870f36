/**
 * Finds which nodes of a graph a backend refuses, by compiling each distinct
 * node (same op, attributes, dtypes and shapes) alone. Used to turn
 * "a node would fall back to the CPU" into the op and node that did.
 *
 * @module
 */

import { Graph, type Node, type Tensor } from "../onnx/graph.ts";
import type { Backend } from "./backend.ts";

/** A node the backend refused. */
export interface RefusedNode {
  /** ONNX op type. */
  op: string;
  /** Index in the graph's node list. */
  index: number;
  /** Input dtypes and shapes. */
  inputs: string[];
  /** The backend's message. */
  message: string;
}

/** Compile every distinct node of `graph` alone on `backend`; return those refused. */
export async function findRefusedNodes(backend: Backend, graph: Graph): Promise<RefusedNode[]> {
  const seen = new Map<string, string | null>();
  const refused: RefusedNode[] = [];
  for (const node of graph.nodes) {
    const key = signature(node);
    if (!seen.has(key)) seen.set(key, await tryNode(backend, graph, node));
    const message = seen.get(key);
    if (message) {
      refused.push({
        op: node.op,
        index: node.index,
        inputs: node.inputs.map((t) => (t ? `${t.dtype}[${t.shape}]` : "-")),
        message,
      });
    }
  }
  return refused;
}

function signature(node: Node): string {
  const ins = node.inputs.map((t) => (t ? `${t.dtype}[${t.shape}]` : "-"));
  return `${node.op}|${JSON.stringify(node.attrs)}|${ins.join(",")}`;
}

async function tryNode(backend: Backend, source: Graph, node: Node): Promise<string | null> {
  const g = new Graph({ name: `probe_${node.op}` });
  const inputs = node.inputs.map((t, i): Tensor | null => {
    if (!t) return null;
    const data = source.constants.get(t);
    return data ? g.constant(data, t.shape, t.dtype) : g.input(`in${i}`, t.dtype, t.shape);
  });
  const outs = g.addNode(
    node.op,
    inputs,
    node.outputs.map((o) => ({ dtype: o.dtype, shape: o.shape })),
    { ...node.attrs },
  );
  outs.forEach((o, i) => g.output(`out${i}`, o));
  try {
    const session = await backend.createSession(g.toModel(), { label: `probe of ${node.op}` });
    await session.release();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

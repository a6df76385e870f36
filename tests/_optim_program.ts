// An optimizer update compiled on its own: each parameter's graph input (named
// as the parameter) and every optimizer state tensor read from and written back
// to a StateStore under its own name, as the train step wires them.

import type { Graph } from "../lib/onnx/graph.ts";
import type { Backend } from "../lib/runtime/backend.ts";
import { Program } from "../lib/runtime/program.ts";
import type { OptimizerUpdate } from "../lib/train/optim.ts";

/** Compile `update` (built on `graph` for `params`) with its state wired to the store. */
export async function compileUpdateProgram(
  backend: Backend,
  graph: Graph,
  update: OptimizerUpdate,
  params: readonly string[],
): Promise<Program> {
  const state: Record<string, string> = {};
  const updates: Record<string, string> = {};
  for (const name of params) {
    state[name] = name;
    graph.output(`next_${name}`, update.newParams.get(name)!);
    updates[`next_${name}`] = name;
  }
  for (const s of update.stateInputs) state[s.input.name] = s.key;
  for (const [key, t] of update.newState) {
    graph.output(`next:${key}`, t);
    updates[`next:${key}`] = key;
  }
  return await Program.compile(backend, graph, { state, updates });
}

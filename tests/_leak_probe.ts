// Leak probe for tests/engine_test.ts, run in its own process:
//   deno run -A tests/_leak_probe.ts <backend> <steps>
// prints the RSS growth (bytes) over the last half of the steps.

import assert from "node:assert/strict";
import { Graph } from "../lib/onnx/graph.ts";
import * as op from "../lib/onnx/ops.ts";
import type { Backend, BackendName } from "../lib/runtime/backend.ts";
import { Program, StateStore } from "../lib/runtime/program.ts";
import { createBackend } from "../lib/runtime/select.ts";

/**
 * A linear-regression train step, w ← w − lr·∇, with w (1 MiB) kept on the
 * device. Returns the RSS growth over the last `steps / 2` of `steps` steps:
 * by then allocator pools have reached their plateau, so the growth is what
 * a leak adds (1 MiB per step if replaced state were never disposed).
 */
export async function leakProbe(b: Backend, steps: number): Promise<number> {
  const g = new Graph({ name: "leak_probe" });
  const x = g.input("x", "float32", [64, 512]);
  const w = g.input("w", "float32", [512, 512]);
  const y = op.matmul(x, w);
  const loss = op.reduceMean(op.mul(y, y), [0, 1], { keepdims: false });
  g.output("loss", loss);
  g.output("w_next", op.sub(w, op.mul(op.matmul(op.transpose(x, [1, 0]), y), 1e-7)));
  const program = await Program.compile(b, g, { state: { w: "w" }, updates: { w_next: "w" } });
  const store = new StateStore(b);
  store.set("w", new Float32Array(512 * 512).fill(0.01), [512, 512]);
  const feed = { x: new Float32Array(64 * 512).fill(0.5) };
  // Reading the state back waits for the device to finish the queued work,
  // so buffers whose destruction is still pending do not count as growth.
  const settledRss = async () => {
    await store.read("w");
    await new Promise((r) => setTimeout(r, 100));
    return Deno.memoryUsage().rss;
  };
  for (let i = 0; i < steps / 2; i++) await program.run(store, feed);
  const before = await settledRss();
  for (let i = 0; i < steps / 2; i++) await program.run(store, feed);
  const growth = (await settledRss()) - before;
  assert.equal(store.size, 1);
  store.dispose();
  await program.release();
  return growth;
}

if (import.meta.main) {
  const [name, steps] = Deno.args;
  const backend = await createBackend(name as BackendName, { verbose: false });
  console.log(await leakProbe(backend, Number(steps)));
}

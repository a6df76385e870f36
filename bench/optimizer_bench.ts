/**
 * AdamW over ResNet-18's 11.2M parameters (five tensors), the cpu backend's
 * two forms: `WasmAdamW` (one wasm SIMD pass per parameter over an arena,
 * the default since issue 10) against `adamWUpdate`'s graph (13
 * onnxruntime elementwise passes per parameter, the form the wasm and webgpu
 * backends run). Before timing, both take one step from the same state and
 * must agree to the bit.
 *
 * Measured on the 2-core development machine (Zen 4), means: the wasm pass
 * 8.7 ms on one thread; the graph 95.5 ms on one thread, 50.8 ms on two
 * (each graph run also hands back 15 fresh 9 MB outputs).
 * Run: `deno bench -A bench/optimizer_bench.ts`.
 *
 * @module
 */
import { Graph } from "../lib/onnx/graph.ts";
import { createCpuBackend } from "../lib/runtime/cpu.ts";
import { Program, StateStore } from "../lib/runtime/program.ts";
import { type AdamWConfig, adamWUpdate, optimizerScalars } from "../lib/train/optim.ts";
import { WasmAdamW } from "../lib/train/wasm_adamw.ts";

// Five parts: one 45 MB tensor would be above the cpu backend's 32 MB mmap
// threshold and page-fault its outputs every run (ResNet-18's largest weight
// is 9.4 MB).
const PARTS = 5;
const PER = 2_240_000;
const CONFIG: AdamWConfig = { name: "adamw", lr: 1e-3, weightDecay: 1e-2 };
const names = [...Array(PARTS).keys()].map((k) => `w${k}`);

const arena = new WasmAdamW({
  params: names.map((name) => ({ name, size: PER, decay: true })),
  config: CONFIG,
});
const feeds: Record<string, Float32Array> = {};
names.forEach((name, k) => {
  const [p, g, m, v] = [
    arena.param(name),
    arena.grad(name),
    arena.moment1(name),
    arena.moment2(name),
  ];
  for (let i = 0; i < PER; i++) {
    const j = k * PER + i;
    p[i] = Math.sin(j * 0.37) * 0.05;
    g[i] = Math.cos(j * 0.11) * 1e-3;
    m[i] = g[i] * 0.5;
    v[i] = g[i] * g[i] * 0.5;
  }
  Object.assign(feeds, {
    [`p_${name}`]: p.slice(),
    [`g_${name}`]: g.slice(),
    [`adam_m:${name}`]: m.slice(),
    [`adam_v:${name}`]: v.slice(),
  });
});
const scalars = optimizerScalars(CONFIG, 1, CONFIG.lr);
Object.assign(feeds, scalars);
const step = () =>
  arena.step({
    stepSize: scalars["hp:step_size"][0],
    epsHat: scalars["hp:eps_hat"][0],
    decayFactor: scalars["hp:decay_factor"][0],
  });

async function graphProgram(threads: number): Promise<() => Promise<unknown>> {
  const graph = new Graph({ name: "adamw" });
  const params = names.map((name) => ({
    name,
    value: graph.input(`p_${name}`, "float32", [PER]),
    grad: graph.input(`g_${name}`, "float32", [PER]),
    decay: true,
  }));
  const update = adamWUpdate(graph, params, CONFIG);
  for (const name of names) graph.output(`next_${name}`, update.newParams.get(name)!);
  for (const [key, t] of update.newState) graph.output(`next:${key}`, t);
  const program = await Program.compile(await createCpuBackend({ threads }), graph);
  const store = new StateStore(program.backend);
  return () => program.run(store, feeds);
}

const graphs = { 1: await graphProgram(1), 2: await graphProgram(2) };
const reference = await graphs[1]() as Record<string, Float32Array>;
step();
for (const name of names) {
  const [got, want] = [arena.param(name), reference[`next_${name}`]];
  for (let i = 0; i < PER; i++) {
    if (Object.is(got[i], want[i])) continue;
    throw new Error(`WasmAdamW differs from the graph at ${name}[${i}]: ${got[i]} vs ${want[i]}`);
  }
}

Deno.bench(
  "AdamW 11.2M params: wasm SIMD pass (1 thread)",
  { group: "adamw", baseline: true },
  step,
);
Deno.bench("AdamW 11.2M params: onnxruntime graph, 1 thread", { group: "adamw" }, async () => {
  await graphs[1]();
});
Deno.bench("AdamW 11.2M params: onnxruntime graph, 2 threads", { group: "adamw" }, async () => {
  await graphs[2]();
});

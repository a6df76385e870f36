// Engine throughput: MatMul 1024³ and one 3×3 conv layer forward + backward
// (N=32, 64→64 channels, 56×56) on each available backend.
//
//   deno bench -A bench/engine_bench.ts               # cpu and wasm (+ webgpu on a hardware GPU)
//   MEDTUNE_BENCH_WEBGPU=1 deno bench -A bench/...     # also on a software WebGPU adapter (slow)
//   deno run -A bench/engine_bench.ts                 # prints ms and GFLOP/s per case
//
// GFLOP per call: MatMul 2·1024³ = 2.15; conv forward 2·N·M·C·9·56·56 = 7.40,
// forward + dX + dW = 22.2 (dW uses the backend's formulation: im2col on
// cpu/wasm, dilated on webgpu).

import { gradients } from "../lib/autodiff/gradients.ts";
import { Graph } from "../lib/onnx/graph.ts";
import { conv, matmul } from "../lib/onnx/ops.ts";
import type { Backend, BackendName } from "../lib/runtime/backend.ts";
import { Program, StateStore } from "../lib/runtime/program.ts";
import { createBackend } from "../lib/runtime/select.ts";
import { defaultConvWeightGrad } from "../lib/train/programs.ts";
import { requestAdapter, summarizeAdapter } from "../lib/runtime/web.ts";

interface Case {
  name: string;
  gflop: number;
  build: (backend: Backend) => Graph;
  feeds: Record<string, Float32Array>;
}

const random = (n: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.5);

const CASES: Case[] = [
  {
    name: "MatMul 1024x1024x1024",
    gflop: (2 * 1024 ** 3) / 1e9,
    build: () => {
      const g = new Graph();
      g.output(
        "y",
        matmul(g.input("a", "float32", [1024, 1024]), g.input("b", "float32", [1024, 1024])),
      );
      return g;
    },
    feeds: { a: random(1024 * 1024), b: random(1024 * 1024) },
  },
  {
    name: "conv 3x3 N32 64->64 56x56 forward+backward",
    gflop: (3 * 2 * 32 * 64 * 64 * 9 * 56 * 56) / 1e9,
    build: (backend) => {
      const g = new Graph();
      const x = g.input("x", "float32", [32, 64, 56, 56]);
      const w = g.input("w", "float32", [64, 64, 3, 3]);
      const dy = g.input("dy", "float32", [32, 64, 56, 56]);
      const y = conv(x, w, null, { pads: [1, 1, 1, 1] });
      const [dx, dw] = gradients(y, [x, w], {
        outputGradient: dy,
        convWeightGrad: defaultConvWeightGrad(backend.name),
      });
      g.output("y", y);
      g.output("dx", dx!);
      g.output("dw", dw!);
      return g;
    },
    feeds: { x: random(32 * 64 * 56 * 56), w: random(64 * 64 * 9), dy: random(32 * 64 * 56 * 56) },
  },
];

async function available(): Promise<BackendName[]> {
  const names: BackendName[] = ["cpu", "wasm"];
  const adapter = await requestAdapter();
  if (adapter && (!summarizeAdapter(adapter).software || Deno.env.get("MEDTUNE_BENCH_WEBGPU"))) {
    names.push("webgpu");
  }
  return names;
}

async function prepare(backend: Backend, c: Case): Promise<() => Promise<unknown>> {
  const program = await Program.compile(backend, c.build(backend), { label: c.name });
  const store = new StateStore(backend);
  const run = () => program.run(store, c.feeds);
  await run(); // warm-up (shader compilation, arena growth)
  return run;
}

const names = await available();
const backends = new Map<BackendName, Backend>();
for (const name of names) backends.set(name, await createBackend(name, { verbose: false }));

if (import.meta.main) {
  // Script mode: print ms per call and GFLOP/s.
  for (const c of CASES) {
    for (const [name, backend] of backends) {
      const run = await prepare(backend, c);
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t = performance.now();
        await run();
        times.push(performance.now() - t);
      }
      const ms = times.sort((a, b) => a - b)[2];
      console.log(
        `${c.name.padEnd(44)} ${name.padEnd(7)} ${ms.toFixed(1).padStart(8)} ms  ${
          (c.gflop / (ms / 1000)).toFixed(1).padStart(7)
        } GFLOP/s`,
      );
    }
  }
} else {
  for (const c of CASES) {
    for (const [name, backend] of backends) {
      const run = await prepare(backend, c);
      Deno.bench({
        name: `${c.name} [${c.gflop.toFixed(2)} GFLOP] on ${name}`,
        group: c.name,
        baseline: name === "cpu",
        fn: async () => {
          await run();
        },
      });
    }
  }
}

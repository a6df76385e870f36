/**
 * Backbone throughput: one train step (forward, loss, backward, clipping,
 * AdamW) and one eval batch of 32 images, for ResNet-18, EfficientNet-B0 and
 * ViT-Tiny at 28, 64 and 224 px on the cpu backend, and at 28 px on wasm.
 *
 *   deno bench -A bench/models_bench.ts                      # everything (long: 224 px train steps)
 *   deno bench -A bench/models_bench.ts --filter resnet18    # one backbone
 *   deno bench -A bench/models_bench.ts --filter "28px cpu"  # one size and backend
 *   deno run -A bench/models_bench.ts --print [filter]       # img/s table (median of a few runs)
 *
 * Each bench iteration is one batch of 32: img/s = 32 / (time per iteration).
 * Programs are compiled once per configuration, outside the timed region,
 * and warmed up. Eval runs the frozen program (weights compiled in, see
 * lib/train/frozen_eval.ts) unless MEDTUNE_BENCH_EVAL=generic. Side by side
 * with PyTorch: `deno task bench:compare` (bench/compare.ts). Inputs are 3-channel images with 2 classes, dropout 0.3
 * before the head (the study's setting), label smoothing 0.1, clipping 1.
 * ViT-Tiny uses patch 4 at 28 px and patch 16 otherwise; ResNet-18 the
 * small-input 3×3 stem at ≤ 64 px, plus `resnet18-7x7` with the standard stem
 * (the stem bench/torch_reference.py's torchvision model has) at 28 and 64 px.
 *
 * @module
 */

import type { Model } from "../lib/nn/model.ts";
import type { Backend, BackendName } from "../lib/runtime/backend.ts";
import { createBackend } from "../lib/runtime/select.ts";
import { TrainingSession } from "../lib/train/session.ts";
import { Rng } from "../lib/util/rng.ts";
import { BENCH_LABELS, benchModel } from "./_models.ts";

const BATCH = 32;

interface Config {
  /** Label in bench names (a registry name, or `resnet18-7x7`). */
  label: string;
  size: number;
  backend: BackendName;
  model: () => Model;
}

function configs(): Config[] {
  const out: Config[] = [];
  const add = (size: number, backend: BackendName) => {
    for (const label of BENCH_LABELS) {
      // The standard 7×7 stem only where the small-input one is the default.
      if (label === "resnet18-7x7" && size > 64) continue;
      out.push({ label, size, backend, model: () => benchModel(label, size) });
    }
  };
  for (const size of [28, 64, 224]) add(size, "cpu");
  add(28, "wasm");
  return out;
}

const backends = new Map<BackendName, Promise<Backend>>();
function backend(name: BackendName): Promise<Backend> {
  let b = backends.get(name);
  if (!b) {
    b = createBackend(name, { verbose: false });
    backends.set(name, b);
  }
  return b;
}

// One live session at a time: the configuration being measured.
let live: { key: string; session: TrainingSession; x: Float32Array; targets: Float32Array } | null =
  null;

async function sessionFor(c: Config) {
  const key = `${c.label}/${c.size}/${c.backend}`;
  if (live?.key === key) return live;
  await disposeLive();
  const model = c.model();
  const session = await TrainingSession.create(await backend(c.backend), model, {
    batchSize: BATCH,
    evalBatchSize: BATCH,
    optimizer: { name: "adamw", lr: 1e-3, weightDecay: 0.01 },
    labelSmoothing: 0.1,
    clipGradNorm: 1,
    seed: 0,
    // Eval with fixed weights, as PyTorch's eval reference: the weights are
    // compiled into the program (once, in the warm-up); MEDTUNE_BENCH_EVAL=generic
    // measures the program that takes them as inputs (a validation pass's path).
    frozenEval: Deno.env.get("MEDTUNE_BENCH_EVAL") === "generic" ? "never" : "always",
  });
  const rng = new Rng(1);
  const x = Float32Array.from({ length: BATCH * 3 * c.size * c.size }, () => rng.normal());
  const targets = new Float32Array(BATCH * 2);
  for (let i = 0; i < BATCH; i++) targets[i * 2 + (i % 2)] = 1;
  live = { key, session, x, targets };
  return live;
}

async function disposeLive(): Promise<void> {
  await live?.session.dispose();
  live = null;
}

function name(c: Config, mode: "train" | "eval"): string {
  return `${c.label} ${mode} ${c.size}px ${c.backend} b${BATCH}`;
}

/** Iterations per configuration: fewer where one batch takes seconds. */
function iterations(c: Config, mode: "train" | "eval"): { n: number; warmup: number } {
  const heavy = c.size === 224 || c.backend === "wasm";
  if (heavy) return mode === "train" ? { n: 3, warmup: 1 } : { n: 5, warmup: 1 };
  return { n: 10, warmup: 2 };
}

async function step(c: Config, mode: "train" | "eval"): Promise<void> {
  const s = await sessionFor(c);
  if (mode === "train") await s.session.trainStep({ x: s.x, targets: s.targets }, 1e-3);
  else await s.session.predict(s.x, BATCH);
}

if (import.meta.main && Deno.args.includes("--print")) {
  const filter = Deno.args.find((a) => a !== "--print") ?? "";
  console.log(`| config | ms / batch of ${BATCH} | img/s |`);
  console.log("|---|---|---|");
  for (const c of configs()) {
    for (const mode of ["train", "eval"] as const) {
      const label = name(c, mode);
      if (!label.includes(filter)) continue;
      const { n, warmup } = iterations(c, mode);
      for (let i = 0; i < warmup; i++) await step(c, mode);
      const times: number[] = [];
      for (let i = 0; i < Math.min(n, 5); i++) {
        const t = performance.now();
        await step(c, mode);
        times.push(performance.now() - t);
      }
      times.sort((a, b) => a - b);
      const ms = times[Math.floor(times.length / 2)];
      console.log(`| ${label} | ${ms.toFixed(0)} | ${(BATCH / (ms / 1000)).toFixed(1)} |`);
    }
  }
  await disposeLive();
} else {
  for (const c of configs()) {
    for (const mode of ["train", "eval"] as const) {
      const { n, warmup } = iterations(c, mode);
      Deno.bench({
        name: name(c, mode),
        group: `${c.label} ${c.size}px ${c.backend}`,
        n,
        warmup,
        async fn(b) {
          await sessionFor(c); // compile outside the timed region
          b.start();
          await step(c, mode);
          b.end();
        },
      });
    }
  }
}

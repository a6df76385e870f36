/**
 * Study planning: default budgets per backend and time estimates from
 * measured throughput, so `deno task ablate` can say up front what it will
 * run and for how long.
 *
 * @module
 */

import type { BackendName } from "../runtime/backend.ts";
import { type PlannedRun, planRuns, type StudySpec } from "./spec.ts";

/**
 * Measured train and eval images/s at batch 32 on the `cpu` backend of a
 * 2-core machine (bench/models_bench.ts), by backbone and image size. Used
 * only for the plan's estimate; while a study runs, the progress printer
 * replaces it with the epoch times it measures.
 */
export const CPU_THROUGHPUT: Record<string, Record<number, { train: number; eval: number }>> = {
  // Small-input 3×3 stem at 28 and 64 px (the study's setting), 7×7 stem at 224.
  resnet18: {
    28: { train: 54, eval: 220 },
    64: { train: 13, eval: 59 },
    224: { train: 12.7, eval: 57 },
  },
  efficientnet_b0: {
    28: { train: 130, eval: 810 },
    64: { train: 72, eval: 490 },
    224: { train: 9.6, eval: 63 },
  },
  vit_tiny_patch16_224: {
    28: { train: 100, eval: 410 },
    64: { train: 210, eval: 910 },
    224: { train: 20.6, eval: 73 },
  },
};

/** Relative speed of the other backends against `cpu` (rough, for estimates). */
const BACKEND_FACTOR: Record<BackendName, number> = { cpu: 1, wasm: 0.15, webgpu: 10 };

/** Throughput estimate for a backbone at an image size (nearest measured size, scaled by pixels). */
export function estimateThroughput(
  backbone: string,
  imageSize: number,
  backend: BackendName,
): { train: number; eval: number } {
  const key = backbone === "vit_tiny" ? "vit_tiny_patch16_224" : backbone;
  const table = CPU_THROUGHPUT[key] ?? CPU_THROUGHPUT.resnet18;
  const sizes = Object.keys(table).map(Number).sort((a, b) => a - b);
  const nearest = sizes.reduce((
    a,
    b,
  ) => (Math.abs(b - imageSize) < Math.abs(a - imageSize) ? b : a));
  const scale = (nearest / imageSize) ** 2 * BACKEND_FACTOR[backend];
  return { train: table[nearest].train * scale, eval: table[nearest].eval * scale };
}

/** Seconds one run is expected to take at most (the full epoch budget, no early stop). */
export function estimateRunSeconds(
  run: PlannedRun,
  sizes: { train: number; val: number; test: number },
  backend: BackendName,
): number {
  const f = run.config.fixed;
  const tp = estimateThroughput(run.axes.backbone, f.imageSize, backend);
  const stepsPerEpoch = Math.floor(sizes.train / f.batchSize);
  const trainImages = Math.min(stepsPerEpoch, f.maxStepsPerEpoch ?? Infinity) * f.batchSize;
  const perEpoch = trainImages / tp.train + sizes.val / tp.eval;
  const final = (sizes.train + sizes.val + sizes.test) / tp.eval;
  return f.epochs * perEpoch + final + 5; // + program compilation
}

/** The plan `deno task ablate` prints before it starts. */
export interface StudyPlan {
  /** Runs of this invocation (after sharding and resume). */
  runs: PlannedRun[];
  /** Runs already recorded. */
  done: number;
  /** Estimated seconds of the runs to do (upper bound: full epoch budgets). */
  estimatedSeconds: number;
}

/** Estimate the runs still to do. */
export function planStudy(
  spec: StudySpec,
  options: {
    backend: BackendName;
    sizes: { train: number; val: number; test: number };
    doneIds?: ReadonlySet<string>;
    runs?: PlannedRun[];
  },
): StudyPlan {
  const all = options.runs ?? planRuns(spec);
  const runs = all.filter((r) => !options.doneIds?.has(r.id));
  const estimatedSeconds = runs.reduce(
    (sum, r) => sum + estimateRunSeconds(r, options.sizes, options.backend),
    0,
  );
  return { runs, done: all.length - runs.length, estimatedSeconds };
}

/**
 * Study planning: time estimates from a warm-up step measured on the chosen
 * backend at the study's image and batch size ({@linkcode measureStudyThroughput}),
 * so `deno task ablate` can say up front what it will run, for how long, and
 * whether the device is fit for training at all.
 *
 * @module
 */

import type { ModelName } from "../models/registry.ts";
import type { Backend, BackendName } from "../runtime/backend.ts";
import { TrainingSession } from "../train/session.ts";
import { modelForRun } from "./runner.ts";
import { type PlannedRun, planRuns, type StudySpec } from "./spec.ts";
import type { SplitSizes } from "./subset.ts";

/**
 * Train and eval images/s at batch 32 on the `cpu` backend of a 2-core
 * machine (bench/models_bench.ts), by backbone and image size. A fallback
 * only, for estimates made without a measurement (the plan then says so):
 * `measureStudyThroughput` times the real programs on the chosen backend.
 */
export const CPU_THROUGHPUT: Record<ModelName, Record<number, ImageRates>> = {
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

/** Train and eval images per second. */
export interface ImageRates {
  /** Training images per second. */
  train: number;
  /** Evaluation images per second. */
  eval: number;
}

/** Relative speed of the other backends against `cpu` (rough; unmeasured fallback only). */
const BACKEND_FACTOR: Record<BackendName, number> = { cpu: 1, wasm: 0.15, webgpu: 10 };

/**
 * Throughput guess for a backbone at an image size from {@linkcode CPU_THROUGHPUT}
 * (nearest size, scaled by pixels); a fallback when nothing was measured.
 */
export function estimateThroughput(
  backbone: ModelName,
  imageSize: number,
  backend: BackendName,
): ImageRates {
  const table = CPU_THROUGHPUT[backbone];
  const sizes = Object.keys(table).map(Number).sort((a, b) => a - b);
  const nearest = sizes.reduce((
    a,
    b,
  ) => (Math.abs(b - imageSize) < Math.abs(a - imageSize) ? b : a));
  const scale = (nearest / imageSize) ** 2 * BACKEND_FACTOR[backend];
  return { train: table[nearest].train * scale, eval: table[nearest].eval * scale };
}

/** Images/s of one backbone's programs, measured or guessed. */
export interface Throughput {
  /** Training images per second (train program, the study's batch size). */
  train: number;
  /** Evaluation images per second (eval program). */
  eval: number;
  /** Seconds to compile the programs and run their first step (shader compilation on GPUs). */
  startupSeconds?: number;
  /** True when timed on the backend; false for the table guess. */
  measured: boolean;
}

/** Options of {@linkcode measureThroughput}. */
export interface MeasureThroughputOptions {
  /** Number of classes of the task (default 2). */
  numClasses?: number;
  /**
   * Eval batch size (default: the train batch size, at most 64 as the study
   * runner; a smaller batch than the runner's keeps the warm-up cheap and
   * errs on the slow side).
   */
  evalBatchSize?: number;
  /** Timed train steps after the warm-up one (default 1). */
  steps?: number;
}

/**
 * Time the run's own programs on `backend`: compile the train and eval
 * programs of its backbone at its image and batch size, run one warm-up
 * train step and eval batch (shader compilation on a GPU: counted in
 * `startupSeconds`, not in the rates), then time `steps` train steps and
 * one eval batch.
 */
export async function measureThroughput(
  backend: Backend,
  run: PlannedRun,
  options: MeasureThroughputOptions = {},
): Promise<Throughput> {
  const f = run.config.fixed;
  const k = options.numClasses ?? 2;
  const model = modelForRun(run, k);
  const evalBatch = options.evalBatchSize ?? Math.min(64, f.batchSize);
  const t0 = performance.now();
  const session = await TrainingSession.create(backend, model, {
    batchSize: f.batchSize,
    evalBatchSize: evalBatch,
    optimizer: { name: "adamw", lr: f.lr, weightDecay: f.weightDecay },
    labelSmoothing: f.labelSmoothing,
    clipGradNorm: f.clipGradNorm,
    seed: run.seed,
  });
  try {
    const per = model.inChannels * model.imageSize * model.imageSize;
    const x = new Float32Array(f.batchSize * per).map((_, i) => Math.sin(i * 0.1));
    const targets = new Float32Array(f.batchSize * k);
    for (let i = 0; i < f.batchSize; i++) targets[i * k + (i % k)] = 1;
    const time = async (fn: () => Promise<unknown>) => {
      const t = performance.now();
      await fn();
      return (performance.now() - t) / 1000;
    };
    const step = () => session.trainStep({ x, targets }, f.lr);
    const evalX = new Float32Array(evalBatch * per).map((_, i) => Math.cos(i * 0.1));
    const evalStep = () => session.predict(evalX, evalBatch);
    await step();
    await evalStep();
    const startupSeconds = (performance.now() - t0) / 1000;
    const steps = Math.max(1, options.steps ?? 1);
    let trainSeconds = 0;
    for (let i = 0; i < steps; i++) trainSeconds += await time(step);
    trainSeconds /= steps;
    const evalSeconds = await time(evalStep);
    return {
      train: f.batchSize / trainSeconds,
      eval: evalBatch / evalSeconds,
      startupSeconds,
      measured: true,
    };
  } finally {
    await session.dispose();
  }
}

const measuredCache = new Map<string, Throughput>();

/** Options of {@linkcode measureStudyThroughput}. */
export interface MeasureStudyOptions extends MeasureThroughputOptions {
  /** Says which backbone is being measured. */
  log?: (line: string) => void;
}

/**
 * Measure each backbone of `runs` once ({@linkcode measureThroughput} on the
 * first run that uses it), cached per backend, backbone, image and batch
 * size for the life of the process. Returns throughput by backbone.
 */
export async function measureStudyThroughput(
  backend: Backend,
  runs: readonly PlannedRun[],
  options: MeasureStudyOptions = {},
): Promise<Map<ModelName, Throughput>> {
  const out = new Map<ModelName, Throughput>();
  for (const run of runs) {
    const b = run.axes.backbone;
    if (out.has(b)) continue;
    const f = run.config.fixed;
    const key = [backend.description, b, f.imageSize, f.batchSize, options.numClasses ?? 2].join(
      "|",
    );
    let tp = measuredCache.get(key);
    if (!tp) {
      options.log?.(`measuring ${b} at ${f.imageSize} px, batch ${f.batchSize} on ${backend.name}`);
      tp = await measureThroughput(backend, run, options);
      measuredCache.set(key, tp);
    }
    out.set(b, tp);
  }
  return out;
}

/**
 * Seconds one run is expected to take at most (the full epoch budget, no
 * early stop): from `throughput` (measured, by backbone) when given, else
 * the {@linkcode CPU_THROUGHPUT} guess for `backend`.
 */
export function estimateRunSeconds(
  run: PlannedRun,
  sizes: SplitSizes,
  backend: BackendName,
  throughput?: ReadonlyMap<ModelName, Throughput>,
): number {
  const f = run.config.fixed;
  const tp = throughput?.get(run.axes.backbone) ??
    { ...estimateThroughput(run.axes.backbone, f.imageSize, backend), startupSeconds: 5 };
  const stepsPerEpoch = Math.floor(sizes.train / f.batchSize);
  const trainImages = Math.min(stepsPerEpoch, f.maxStepsPerEpoch ?? Infinity) * f.batchSize;
  const perEpoch = trainImages / tp.train + sizes.val / tp.eval;
  const final = (sizes.train + sizes.val + sizes.test) / tp.eval;
  return f.epochs * perEpoch + final + (tp.startupSeconds ?? 5);
}

/** The plan `deno task ablate` prints before it starts. */
export interface StudyPlan {
  /** Runs of this invocation (after sharding and resume). */
  runs: PlannedRun[];
  /** Runs already recorded. */
  done: number;
  /** Estimated seconds of the runs to do (upper bound: full epoch budgets). */
  estimatedSeconds: number;
  /** Whether the estimate comes from steps timed on the backend (else a table guess). */
  measured: boolean;
  /** Measured throughput by backbone (when measured). */
  throughput?: Map<ModelName, Throughput>;
  /** Lines the plan should show: how the estimate was made, and warnings about the device. */
  notes: string[];
}

/** Options of {@linkcode planStudy}. */
export interface PlanStudyOptions {
  /** The backend the study runs on. */
  backend: BackendName;
  /** Split sizes of the dataset (after any `limitImages`). */
  sizes: SplitSizes;
  /** Ids of runs already recorded. */
  doneIds?: ReadonlySet<string>;
  /** The runs of this invocation (default: every planned run). */
  runs?: PlannedRun[];
  /** Measured throughput by backbone ({@linkcode measureStudyThroughput}). */
  throughput?: Map<ModelName, Throughput>;
}

/** Options of {@linkcode planStudyMeasured}. */
export interface PlanMeasuredOptions extends Omit<PlanStudyOptions, "backend" | "throughput"> {
  /** Number of classes of the task (default 2). */
  numClasses?: number;
  /** Says which backbone is being measured. */
  log?: (line: string) => void;
}

/** Estimate the runs still to do (synchronous: measure first to pass `throughput`). */
export function planStudy(spec: StudySpec, options: PlanStudyOptions): StudyPlan {
  const all = options.runs ?? planRuns(spec);
  const runs = all.filter((r) => !options.doneIds?.has(r.id));
  const estimatedSeconds = runs.reduce(
    (sum, r) => sum + estimateRunSeconds(r, options.sizes, options.backend, options.throughput),
    0,
  );
  const measured = options.throughput !== undefined &&
    runs.every((r) => options.throughput!.get(r.axes.backbone)?.measured);
  const notes: string[] = [];
  if (measured) {
    const parts = [...options.throughput!].map(([b, tp]) =>
      `${b} train ${formatRate(tp.train)} / eval ${formatRate(tp.eval)} img/s`
    );
    notes.push(`measured on this backend: ${parts.join("; ")}`);
  } else if (runs.length) {
    notes.push(`not measured: guessed from a 2-core CPU table (${options.backend})`);
  }
  return {
    runs,
    done: all.length - runs.length,
    estimatedSeconds,
    measured,
    ...(options.throughput ? { throughput: options.throughput } : {}),
    notes,
  };
}

/**
 * The plan with its estimate measured on `backend` (a warm-up step per
 * planned backbone, see {@linkcode measureStudyThroughput}); on a software
 * WebGPU adapter it warns that the device is for correctness, not training.
 */
export async function planStudyMeasured(
  spec: StudySpec,
  backend: Backend,
  options: PlanMeasuredOptions,
): Promise<StudyPlan> {
  const all = options.runs ?? planRuns(spec);
  const todo = all.filter((r) => !options.doneIds?.has(r.id));
  const throughput = todo.length
    ? await measureStudyThroughput(backend, todo, {
      numClasses: options.numClasses,
      log: options.log,
    })
    : undefined;
  const plan = planStudy(spec, { ...options, backend: backend.name, throughput });
  if (backend.software) {
    plan.notes.push(
      `warning: ${backend.description} is a software adapter, a correctness device, not a ` +
        `training one (30-80x slower than the CPU); train with --backend cpu`,
    );
  }
  return plan;
}

function formatRate(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toPrecision(2);
}

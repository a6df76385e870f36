/**
 * Learning-rate schedules as plain, serializable objects (they go into study
 * configs and checkpoints) plus one pure function, {@linkcode lrAt}, that
 * gives the learning rate of any optimizer step.
 *
 * Conventions:
 * - `step` is the 0-based index of the optimizer update about to be taken;
 *   `lrAt` is evaluated per step (timm's `t_in_epochs=False`), so warmup and
 *   decay are smooth within an epoch.
 * - Lengths given in epochs (`warmupEpochs`, `stepSizeEpochs`,
 *   `milestonesEpochs`) become `Math.round(epochs * stepsPerEpoch)` steps.
 * - Rates are given relative to `baseLr` (`minLrRatio`, `warmupStartRatio`),
 *   so one schedule works across a learning-rate sweep.
 *
 * ```ts
 * import { lrAt, warmupCosine } from "./schedules.ts";
 * const schedule = warmupCosine({ warmupEpochs: 5, minLrRatio: 0.01 });
 * const ctx = { stepsPerEpoch: 20, totalSteps: 2000, baseLr: 1e-3 };
 * lrAt(schedule, { ...ctx, step: 0 }); // 0 (warmup starts at warmupStartRatio · baseLr)
 * lrAt(schedule, { ...ctx, step: 100 }); // 1e-3 (warmup done, cosine begins)
 * ```
 *
 * @module
 */

/** Constant learning rate: `baseLr` at every step. */
export interface ConstantSchedule {
  /** Discriminant. */
  kind: "constant";
}

/** Cosine decay from `baseLr` at step 0 to `minLrRatio · baseLr` at `totalSteps`. */
export interface CosineSchedule {
  /** Discriminant. */
  kind: "cosine";
  /** Final learning rate as a fraction of `baseLr`, in [0, 1]. */
  minLrRatio: number;
}

/**
 * Linear warmup from `warmupStartRatio · baseLr` to `baseLr` over the warmup
 * steps, then cosine decay to `minLrRatio · baseLr` at `totalSteps`. Give the
 * warmup length in epochs or in steps, not both.
 */
export interface WarmupCosineSchedule {
  /** Discriminant. */
  kind: "warmup_cosine";
  /** Warmup length in epochs (may be fractional); converted with `stepsPerEpoch`. */
  warmupEpochs?: number;
  /** Warmup length in optimizer steps. */
  warmupSteps?: number;
  /** Learning rate at step 0 as a fraction of `baseLr`, in [0, 1]. */
  warmupStartRatio: number;
  /** Final learning rate as a fraction of `baseLr`, in [0, 1]. */
  minLrRatio: number;
}

/** Step decay: `baseLr · gamma^floor(step / stepSize)`. Give the step size in epochs or steps. */
export interface StepSchedule {
  /** Discriminant. */
  kind: "step";
  /** Decay period in epochs; converted with `stepsPerEpoch`. */
  stepSizeEpochs?: number;
  /** Decay period in optimizer steps. */
  stepSizeSteps?: number;
  /** Multiplicative factor applied at each period, in (0, 1]. */
  gamma: number;
}

/** Multi-step decay: multiply by `gamma` at each milestone (epochs or steps, increasing). */
export interface MultiStepSchedule {
  /** Discriminant. */
  kind: "multi_step";
  /** Milestones in epochs, strictly increasing; converted with `stepsPerEpoch`. */
  milestonesEpochs?: number[];
  /** Milestones in optimizer steps, strictly increasing. */
  milestonesSteps?: number[];
  /** Multiplicative factor applied at each milestone, in (0, 1]. */
  gamma: number;
}

/** Any learning-rate schedule; a JSON-serializable plain object discriminated by `kind`. */
export type LrSchedule =
  | ConstantSchedule
  | CosineSchedule
  | WarmupCosineSchedule
  | StepSchedule
  | MultiStepSchedule;

/** Where in training the learning rate is asked for. */
export interface LrContext {
  /** 0-based index of the optimizer step about to be taken. */
  step: number;
  /** The peak (initial) learning rate the schedule scales. */
  baseLr: number;
  /** Optimizer steps per epoch; required when the schedule uses epoch units. */
  stepsPerEpoch?: number;
  /** Total optimizer steps of the run; required by the cosine schedules. */
  totalSteps?: number;
}

const KINDS = ["constant", "cosine", "warmup_cosine", "step", "multi_step"] as const;

const ALLOWED_KEYS: Record<LrSchedule["kind"], readonly string[]> = {
  constant: ["kind"],
  cosine: ["kind", "minLrRatio"],
  warmup_cosine: ["kind", "warmupEpochs", "warmupSteps", "warmupStartRatio", "minLrRatio"],
  step: ["kind", "stepSizeEpochs", "stepSizeSteps", "gamma"],
  multi_step: ["kind", "milestonesEpochs", "milestonesSteps", "gamma"],
};

function fail(where: string, msg: string): never {
  throw new RangeError(`${where}: ${msg}`);
}

function checkRatio(v: unknown, where: string, name: string): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > 1) {
    fail(where, `${name} must be a number in [0, 1] (a fraction of baseLr), got ${v}`);
  }
  return v;
}

function checkGamma(v: unknown, where: string): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0 || v > 1) {
    fail(where, `gamma must be a number in (0, 1], got ${v}`);
  }
  return v;
}

/** Exactly one of the epoch/step variants must be present. */
function checkOneOf(
  obj: Record<string, unknown>,
  epochsKey: string,
  stepsKey: string,
  where: string,
): void {
  const hasE = obj[epochsKey] !== undefined;
  const hasS = obj[stepsKey] !== undefined;
  if (hasE === hasS) {
    fail(
      where,
      hasE
        ? `give ${epochsKey} or ${stepsKey}, not both`
        : `${epochsKey} or ${stepsKey} is required`,
    );
  }
}

function checkLength(v: unknown, where: string, name: string, integer: boolean): void {
  if (v === undefined) return;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || (integer && !Number.isInteger(v))) {
    fail(where, `${name} must be a finite ${integer ? "integer" : "number"} >= 0, got ${v}`);
  }
}

function checkMilestones(v: unknown, where: string, name: string, integer: boolean): void {
  if (v === undefined) return;
  if (!Array.isArray(v)) fail(where, `${name} must be an array of increasing numbers, got ${v}`);
  v.forEach((m, i) => {
    checkLength(m, where, `${name}[${i}]`, integer);
    if (i > 0 && m <= v[i - 1]) {
      fail(
        where,
        `${name} must be strictly increasing, but [${i - 1}] = ${v[i - 1]} >= [${i}] = ${m}`,
      );
    }
  });
}

/** Options of {@linkcode parseSchedule}. */
export interface ParseScheduleOptions {
  /** Name of the value in error messages (default `"schedule"`). */
  path?: string;
}

/**
 * Check a schedule value (e.g. parsed from a study config's JSON) and return it
 * typed. Rejects unknown kinds, unknown keys (catches typos such as
 * `warmup_epochs`), out-of-range values and missing or doubled epoch/step
 * lengths. `path` names the value in error messages (default `"schedule"`).
 */
export function parseSchedule(value: unknown, options?: ParseScheduleOptions): LrSchedule {
  const where = options?.path ?? "schedule";
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    fail(
      where,
      `must be an object like { kind: "warmup_cosine", ... }, got ${JSON.stringify(value)}`,
    );
  }
  const obj = value as Record<string, unknown>;
  const kind = obj.kind;
  if (typeof kind !== "string" || !(KINDS as readonly string[]).includes(kind)) {
    fail(
      where,
      `kind must be one of ${KINDS.map((k) => `"${k}"`).join(", ")}, got ${JSON.stringify(kind)}`,
    );
  }
  const k = kind as LrSchedule["kind"];
  for (const key of Object.keys(obj)) {
    if (!ALLOWED_KEYS[k].includes(key)) {
      fail(where, `unknown key "${key}" for kind "${k}"; allowed: ${ALLOWED_KEYS[k].join(", ")}`);
    }
  }
  switch (k) {
    case "constant":
      return { kind: "constant" };
    case "cosine":
      return { kind: "cosine", minLrRatio: checkRatio(obj.minLrRatio, where, "minLrRatio") };
    case "warmup_cosine": {
      checkOneOf(obj, "warmupEpochs", "warmupSteps", where);
      checkLength(obj.warmupEpochs, where, "warmupEpochs", false);
      checkLength(obj.warmupSteps, where, "warmupSteps", true);
      const out: WarmupCosineSchedule = {
        kind: "warmup_cosine",
        warmupStartRatio: checkRatio(obj.warmupStartRatio, where, "warmupStartRatio"),
        minLrRatio: checkRatio(obj.minLrRatio, where, "minLrRatio"),
      };
      if (obj.warmupEpochs !== undefined) out.warmupEpochs = obj.warmupEpochs as number;
      else out.warmupSteps = obj.warmupSteps as number;
      return out;
    }
    case "step": {
      checkOneOf(obj, "stepSizeEpochs", "stepSizeSteps", where);
      checkLength(obj.stepSizeEpochs, where, "stepSizeEpochs", false);
      checkLength(obj.stepSizeSteps, where, "stepSizeSteps", true);
      if (obj.stepSizeEpochs === 0 || obj.stepSizeSteps === 0) {
        fail(where, "the step size must be > 0");
      }
      const out: StepSchedule = { kind: "step", gamma: checkGamma(obj.gamma, where) };
      if (obj.stepSizeEpochs !== undefined) out.stepSizeEpochs = obj.stepSizeEpochs as number;
      else out.stepSizeSteps = obj.stepSizeSteps as number;
      return out;
    }
    case "multi_step": {
      checkOneOf(obj, "milestonesEpochs", "milestonesSteps", where);
      checkMilestones(obj.milestonesEpochs, where, "milestonesEpochs", false);
      checkMilestones(obj.milestonesSteps, where, "milestonesSteps", true);
      const out: MultiStepSchedule = { kind: "multi_step", gamma: checkGamma(obj.gamma, where) };
      if (obj.milestonesEpochs !== undefined) {
        out.milestonesEpochs = [...(obj.milestonesEpochs as number[])];
      } else out.milestonesSteps = [...(obj.milestonesSteps as number[])];
      return out;
    }
  }
}

/** A constant learning rate. */
export function constant(): ConstantSchedule {
  return { kind: "constant" };
}

/** Options for {@linkcode cosine}. */
export interface CosineOptions {
  /** Final learning rate as a fraction of `baseLr`. Default 0. */
  minLrRatio?: number;
}

/** Cosine decay from `baseLr` to `minLrRatio · baseLr` over the whole run. */
export function cosine(options?: CosineOptions): CosineSchedule {
  return parseSchedule({ kind: "cosine", minLrRatio: options?.minLrRatio ?? 0 }, {
    path: "cosine",
  }) as CosineSchedule;
}

/** Options for {@linkcode warmupCosine}; give `warmupEpochs` or `warmupSteps`. */
export interface WarmupCosineOptions {
  /** Warmup length in epochs (may be fractional). */
  warmupEpochs?: number;
  /** Warmup length in optimizer steps. */
  warmupSteps?: number;
  /** Learning rate at step 0 as a fraction of `baseLr`. Default 0. */
  warmupStartRatio?: number;
  /** Final learning rate as a fraction of `baseLr`. Default 0. */
  minLrRatio?: number;
}

/** Linear warmup then cosine decay; see {@linkcode WarmupCosineSchedule}. */
export function warmupCosine(options: WarmupCosineOptions): WarmupCosineSchedule {
  return parseSchedule({
    kind: "warmup_cosine",
    warmupEpochs: options?.warmupEpochs,
    warmupSteps: options?.warmupSteps,
    warmupStartRatio: options?.warmupStartRatio ?? 0,
    minLrRatio: options?.minLrRatio ?? 0,
  }, { path: "warmupCosine" }) as WarmupCosineSchedule;
}

/** Options for {@linkcode stepDecay}; give `stepSizeEpochs` or `stepSizeSteps`. */
export interface StepDecayOptions {
  /** Decay period in epochs. */
  stepSizeEpochs?: number;
  /** Decay period in optimizer steps. */
  stepSizeSteps?: number;
  /** Factor applied each period. Default 0.1. */
  gamma?: number;
}

/** Multiply the learning rate by `gamma` every step size; see {@linkcode StepSchedule}. */
export function stepDecay(options: StepDecayOptions): StepSchedule {
  return parseSchedule({
    kind: "step",
    stepSizeEpochs: options?.stepSizeEpochs,
    stepSizeSteps: options?.stepSizeSteps,
    gamma: options?.gamma ?? 0.1,
  }, { path: "stepDecay" }) as StepSchedule;
}

/** Options for {@linkcode multiStep}; give `milestonesEpochs` or `milestonesSteps`. */
export interface MultiStepOptions {
  /** Milestones in epochs, strictly increasing. */
  milestonesEpochs?: number[];
  /** Milestones in optimizer steps, strictly increasing. */
  milestonesSteps?: number[];
  /** Factor applied at each milestone. Default 0.1. */
  gamma?: number;
}

/** Multiply the learning rate by `gamma` at each milestone; see {@linkcode MultiStepSchedule}. */
export function multiStep(options: MultiStepOptions): MultiStepSchedule {
  return parseSchedule({
    kind: "multi_step",
    milestonesEpochs: options?.milestonesEpochs,
    milestonesSteps: options?.milestonesSteps,
    gamma: options?.gamma ?? 0.1,
  }, { path: "multiStep" }) as MultiStepSchedule;
}

/** Convert an epoch length to steps, or pass a step length through. */
function toSteps(
  epochs: number | undefined,
  steps: number | undefined,
  ctx: LrContext,
  name: string,
): number {
  if (steps !== undefined) return steps;
  if (ctx.stepsPerEpoch === undefined) {
    fail("lrAt", `the schedule gives ${name} in epochs, so ctx.stepsPerEpoch is required`);
  }
  return Math.round(epochs! * ctx.stepsPerEpoch);
}

function needTotal(ctx: LrContext, kind: string): number {
  if (ctx.totalSteps === undefined) {
    fail("lrAt", `a "${kind}" schedule needs ctx.totalSteps (epochs × stepsPerEpoch)`);
  }
  return ctx.totalSteps;
}

function cosineBetween(hi: number, lo: number, progress: number): number {
  const p = Math.min(1, Math.max(0, progress));
  return lo + (hi - lo) * 0.5 * (1 + Math.cos(Math.PI * p));
}

/**
 * The learning rate of optimizer step `ctx.step` under `schedule`. Pure and
 * cheap: call it before every update. Steps past `totalSteps` keep the final
 * rate. Throws naming the missing or invalid context field.
 */
export function lrAt(schedule: LrSchedule, ctx: LrContext): number {
  const where = "lrAt";
  const { step, baseLr } = ctx;
  if (!Number.isInteger(step) || step < 0) {
    fail(where, `ctx.step must be an integer >= 0, got ${step}`);
  }
  if (typeof baseLr !== "number" || !Number.isFinite(baseLr) || baseLr <= 0) {
    fail(where, `ctx.baseLr must be a finite number > 0, got ${baseLr}`);
  }
  if (
    ctx.stepsPerEpoch !== undefined &&
    (!Number.isInteger(ctx.stepsPerEpoch) || ctx.stepsPerEpoch <= 0)
  ) {
    fail(where, `ctx.stepsPerEpoch must be a positive integer, got ${ctx.stepsPerEpoch}`);
  }
  if (
    ctx.totalSteps !== undefined && (!Number.isInteger(ctx.totalSteps) || ctx.totalSteps <= 0)
  ) {
    fail(where, `ctx.totalSteps must be a positive integer, got ${ctx.totalSteps}`);
  }
  switch (schedule.kind) {
    case "constant":
      return baseLr;
    case "cosine": {
      const total = needTotal(ctx, schedule.kind);
      return cosineBetween(baseLr, baseLr * schedule.minLrRatio, step / total);
    }
    case "warmup_cosine": {
      const total = needTotal(ctx, schedule.kind);
      const warm = toSteps(schedule.warmupEpochs, schedule.warmupSteps, ctx, "the warmup");
      if (warm >= total) {
        fail(
          where,
          `warmup of ${warm} steps is not shorter than totalSteps ${total}; shorten the ` +
            `warmup or train longer`,
        );
      }
      if (step < warm) {
        const start = baseLr * schedule.warmupStartRatio;
        return start + ((baseLr - start) * step) / warm;
      }
      return cosineBetween(baseLr, baseLr * schedule.minLrRatio, (step - warm) / (total - warm));
    }
    case "step": {
      const size = Math.max(
        1,
        toSteps(schedule.stepSizeEpochs, schedule.stepSizeSteps, ctx, "the step size"),
      );
      return baseLr * schedule.gamma ** Math.floor(step / size);
    }
    case "multi_step": {
      const ms = schedule.milestonesSteps ??
        schedule.milestonesEpochs!.map((e) => toSteps(e, undefined, ctx, "milestones"));
      let passed = 0;
      for (const m of ms) if (step >= m) passed++;
      return baseLr * schedule.gamma ** passed;
    }
    default:
      return fail(
        where,
        `unknown schedule kind ${JSON.stringify((schedule as { kind: unknown }).kind)}; ` +
          `build schedules with parseSchedule() or the factory helpers`,
      );
  }
}

/**
 * The learning rate of every step `0..totalSteps-1` (for plots, logs and
 * tests). `ctx` is {@linkcode LrContext} without `step`; `totalSteps` is required.
 */
export function lrCurve(schedule: LrSchedule, ctx: Omit<LrContext, "step">): Float64Array {
  const total = needTotal({ ...ctx, step: 0 }, schedule.kind);
  const out = new Float64Array(total);
  for (let s = 0; s < total; s++) out[s] = lrAt(schedule, { ...ctx, step: s });
  return out;
}

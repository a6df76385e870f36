/**
 * The typed study spec: the three axes and their levels, the fixed settings
 * (the anti-overfitting stack), the seeds and the design — `oat` (vary one
 * axis at a time around a baseline, as the original notebook does) or
 * `grid` (full factorial) — and its expansion into runs with stable ids.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { BackboneOptions } from "../models/common.ts";
import { createModel, resolveModelName } from "../models/registry.ts";
import type { RunAxes } from "../report/record.ts";

/** Augmentation levels of the study. */
export const AUGMENT_LEVELS = ["none", "basic", "heavy"] as const;
/** LR-schedule levels of the study. */
export const SCHEDULE_LEVELS = ["constant", "cosine", "warmup_cosine"] as const;
/** Backbone levels of the study (timm names). */
export const BACKBONE_LEVELS = ["resnet18", "efficientnet_b0", "vit_tiny_patch16_224"] as const;

/** Settings shared by every run of a study. */
export interface FixedSettings {
  /** MedMNIST dataset (default `breastmnist`). */
  dataset: string;
  /** Image size trained at. */
  imageSize: number;
  /** Epoch budget per run. */
  epochs: number;
  /** Batch size. */
  batchSize: number;
  /** AdamW peak learning rate. */
  lr: number;
  /** AdamW decoupled weight decay (1e-2). */
  weightDecay: number;
  /** Label smoothing of the loss (0.1). */
  labelSmoothing: number;
  /** Global gradient-norm clip (1.0). */
  clipGradNorm: number;
  /** Dropout before the head (0.3). */
  dropRate: number;
  /** Stochastic depth rate (0 by default). */
  dropPathRate: number;
  /** Early-stopping patience on validation AUC (8). */
  patience: number;
  /** Epochs before early stopping may end a run (default 20; see `EarlyStopping.minEpochs`). */
  minEpochs: number;
  /** Warmup epochs of `warmup_cosine` (default 5, capped at a third of the budget). */
  warmupEpochs: number;
  /** ViT patch size at small images (16 at ≥ 64 px; 4 at 28 px). */
  vitPatchSize?: number;
  /** Optional timm weights per backbone (safetensors paths). */
  pretrained?: Record<string, string>;
  /** Stop each epoch after this many steps (smoke tests only). */
  maxStepsPerEpoch?: number;
}

/** A study: axes, baseline, design, seeds and fixed settings. */
export interface StudySpec {
  /** Study name (report title). */
  name: string;
  /** Levels of each axis. */
  axes: { augment: string[]; schedule: string[]; backbone: string[] };
  /** The configuration the `oat` design varies around. */
  baseline: RunAxes;
  /** `oat`: one axis at a time around the baseline; `grid`: full factorial. */
  design: "oat" | "grid";
  /** Seeds; each configuration runs once per seed. */
  seeds: number[];
  /** Settings shared by every run. */
  fixed: FixedSettings;
}

/** A configuration: axis levels plus the fixed settings. */
export interface RunConfig extends RunAxes {
  /** Settings shared by every run. */
  fixed: FixedSettings;
}

/** One planned run. */
export interface PlannedRun {
  /** Stable id of configuration + seed. */
  id: string;
  /** Stable id of the configuration. */
  configId: string;
  /** Axis levels. */
  axes: RunAxes;
  /** Full configuration. */
  config: RunConfig;
  /** Seed. */
  seed: number;
}

/** The study's defaults: the regularization stack of the brief. */
export const DEFAULT_FIXED: FixedSettings = {
  dataset: "breastmnist",
  imageSize: 28,
  epochs: 60,
  batchSize: 32,
  lr: 1e-3,
  weightDecay: 1e-2,
  labelSmoothing: 0.1,
  clipGradNorm: 1,
  dropRate: 0.3,
  dropPathRate: 0,
  patience: 8,
  minEpochs: 20,
  warmupEpochs: 5,
};

/** The baseline of the `oat` design. */
export const DEFAULT_BASELINE: RunAxes = {
  augment: "basic",
  schedule: "cosine",
  backbone: "resnet18",
};

/** The full BreastMNIST study with `overrides` applied. */
export function defaultStudy(overrides: Partial<Omit<StudySpec, "fixed">> & {
  fixed?: Partial<FixedSettings>;
} = {}): StudySpec {
  const spec: StudySpec = {
    name: overrides.name ?? "BreastMNIST fine-tuning ablation",
    axes: overrides.axes ?? {
      augment: [...AUGMENT_LEVELS],
      schedule: [...SCHEDULE_LEVELS],
      backbone: [...BACKBONE_LEVELS],
    },
    baseline: overrides.baseline ?? DEFAULT_BASELINE,
    design: overrides.design ?? "oat",
    seeds: overrides.seeds ?? [0, 1, 2],
    fixed: { ...DEFAULT_FIXED, ...overrides.fixed },
  };
  validateStudy(spec);
  return spec;
}

/** Check a spec, with errors naming the field, the bad value and what is allowed. */
export function validateStudy(spec: StudySpec): void {
  const known: Record<keyof RunAxes, readonly string[]> = {
    augment: AUGMENT_LEVELS,
    schedule: SCHEDULE_LEVELS,
    backbone: [...BACKBONE_LEVELS, "vit_tiny"],
  };
  for (const axis of ["augment", "schedule", "backbone"] as const) {
    const levels = spec.axes[axis];
    if (!Array.isArray(levels) || levels.length === 0) {
      throw new Error(`study: axes.${axis} needs at least one level (${known[axis].join(", ")})`);
    }
    for (const level of levels) {
      if (!known[axis].includes(level)) {
        throw new Error(
          `study: unknown ${axis} level "${level}"; choose from ${known[axis].join(", ")}`,
        );
      }
    }
    if (spec.design === "oat" && !levels.includes(spec.baseline[axis])) {
      throw new Error(
        `study: baseline ${axis} "${spec.baseline[axis]}" is not among the levels ${
          levels.join(", ")
        }`,
      );
    }
  }
  if (spec.design !== "oat" && spec.design !== "grid") {
    throw new Error(`study: design must be "oat" or "grid", got "${spec.design}"`);
  }
  if (!spec.seeds.length || spec.seeds.some((s) => !Number.isInteger(s) || s < 0)) {
    throw new Error(`study: seeds must be non-negative integers, got [${spec.seeds}]`);
  }
  const repeated = spec.seeds.find((s, i) => spec.seeds.indexOf(s) !== i);
  if (repeated !== undefined) {
    throw new Error(
      `study: seed ${repeated} is listed twice in [${spec.seeds}]; each seed runs once per configuration`,
    );
  }
  const f = spec.fixed;
  const positive: (keyof FixedSettings)[] = ["imageSize", "epochs", "batchSize", "lr"];
  for (const key of positive) {
    const v = f[key] as number;
    if (!(typeof v === "number" && v > 0 && Number.isFinite(v))) {
      throw new Error(`study: fixed.${key} must be a positive number, got ${v}`);
    }
  }
  if (
    !Number.isInteger(f.epochs) || !Number.isInteger(f.batchSize) || !Number.isInteger(f.imageSize)
  ) {
    throw new Error("study: fixed.epochs, batchSize and imageSize must be integers");
  }
  for (const backbone of spec.axes.backbone) {
    const problem = backboneSizeProblem(backbone, f);
    if (problem) throw new Error(`study: ${problem}`);
  }
}

/** The ViT patch size a study uses: `fixed.vitPatchSize`, else 16 from 64 px up, else 4. */
export function studyPatchSize(fixed: Pick<FixedSettings, "imageSize" | "vitPatchSize">): number {
  return fixed.vitPatchSize ?? (fixed.imageSize >= 64 ? 16 : 4);
}

/**
 * Why `backbone` cannot take the study's image size, or `undefined` when it
 * can: the registry's own checks, run on the options a run would use (a ViT's
 * image size must be a multiple of its patch size).
 */
export function backboneSizeProblem(
  backbone: string,
  fixed: Pick<FixedSettings, "imageSize" | "vitPatchSize">,
): string | undefined {
  const vit = resolveModelName(backbone) === "vit_tiny_patch16_224";
  try {
    createModel(backbone, {
      numClasses: 2,
      inChannels: 3,
      imageSize: fixed.imageSize,
      ...(vit ? { patchSize: studyPatchSize(fixed) } : {}),
    } as BackboneOptions);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Configurations of the design, deduplicated, baseline first for `oat`. */
export function planConfigs(spec: StudySpec): RunAxes[] {
  const out: RunAxes[] = [];
  const seen = new Set<string>();
  const push = (a: RunAxes) => {
    const key = `${a.augment}|${a.schedule}|${a.backbone}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(a);
    }
  };
  if (spec.design === "grid") {
    for (const backbone of spec.axes.backbone) {
      for (const augment of spec.axes.augment) {
        for (const schedule of spec.axes.schedule) push({ augment, schedule, backbone });
      }
    }
  } else {
    push(spec.baseline);
    for (const axis of ["augment", "schedule", "backbone"] as const) {
      for (const level of spec.axes[axis]) push({ ...spec.baseline, [axis]: level });
    }
  }
  return out;
}

/** Canonical JSON: object keys sorted, so equal configs hash equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** Stable id of a configuration: readable levels plus a hash of everything. */
export function configIdOf(config: RunConfig): string {
  const hash = createHash("sha256").update(canonicalJson(config)).digest("hex").slice(0, 8);
  const short = { none: "none", basic: "basic", heavy: "heavy" }[config.augment] ?? config.augment;
  const backbone = config.backbone.replace("_patch16_224", "");
  return `${backbone}-${short}-${config.schedule}-${hash}`;
}

/** Every run of the study: each configuration × each seed. */
export function planRuns(spec: StudySpec): PlannedRun[] {
  validateStudy(spec);
  const runs: PlannedRun[] = [];
  for (const axes of planConfigs(spec)) {
    const config: RunConfig = { ...axes, fixed: spec.fixed };
    const configId = configIdOf(config);
    for (const seed of spec.seeds) {
      runs.push({ id: `${configId}-s${seed}`, configId, axes, config, seed });
    }
  }
  return runs;
}

/** A shard `i/n` (1-based i): every n-th run starting at the i-th. */
export interface Shard {
  /** 1-based shard index. */
  index: number;
  /** Number of shards. */
  count: number;
}

/** Parse `"i/n"`, with an error that says what is expected. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count) {
    throw new Error(`--shard must look like i/n with 1 <= i <= n (e.g. 2/4), got "${text}"`);
  }
  return { index, count };
}

/** The runs of one shard (round-robin, so each shard gets a mix of backbones). */
export function shardRuns(runs: readonly PlannedRun[], shard: Shard): PlannedRun[] {
  return runs.filter((_, i) => i % shard.count === shard.index - 1);
}

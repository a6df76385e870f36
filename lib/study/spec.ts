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
import {
  architectureInfo,
  listModels,
  type ModelName,
  modelOptionsProblem,
  resolveModelName,
} from "../models/registry.ts";
import type { RunAxes } from "../report/record.ts";

/** Augmentation levels of the study. */
export const AUGMENT_LEVELS = ["none", "basic", "heavy"] as const;
/** LR-schedule levels of the study. */
export const SCHEDULE_LEVELS = ["constant", "cosine", "warmup_cosine"] as const;
/** Backbone levels of the study: the registry's backbones, by canonical (timm) name. */
export const BACKBONE_LEVELS: readonly ModelName[] = listModels();

/** An augmentation level: one of {@linkcode AUGMENT_LEVELS}. */
export type AugmentLevel = typeof AUGMENT_LEVELS[number];
/** An LR-schedule level: one of {@linkcode SCHEDULE_LEVELS}. */
export type ScheduleLevel = typeof SCHEDULE_LEVELS[number];

/** The levels of one configuration, typed: a run's axes inside the study. */
export interface RunLevels extends RunAxes {
  /** Augmentation preset. */
  augment: AugmentLevel;
  /** LR schedule. */
  schedule: ScheduleLevel;
  /** Backbone (canonical registry name; aliases are resolved at the boundary). */
  backbone: ModelName;
}

/** The levels of each axis of a study. */
export interface StudyAxes {
  /** Augmentation levels. */
  augment: AugmentLevel[];
  /** LR-schedule levels. */
  schedule: ScheduleLevel[];
  /** Backbones (canonical registry names). */
  backbone: ModelName[];
}

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
  pretrained?: Partial<Record<ModelName, string>>;
  /** Stop each epoch after this many steps (smoke tests only). */
  maxStepsPerEpoch?: number;
  /**
   * Use at most this many images of each split, a deterministic
   * class-stratified subset (smoke tests only; see `subset.ts`). Part of the
   * configuration, so a limited run never resumes into or dedupes with a full one.
   */
  limitImages?: number;
}

/** A study: axes, baseline, design, seeds and fixed settings. */
export interface StudySpec {
  /** Study name (report title). */
  name: string;
  /** Levels of each axis. */
  axes: StudyAxes;
  /** The configuration the `oat` design varies around. */
  baseline: RunLevels;
  /** `oat`: one axis at a time around the baseline; `grid`: full factorial. */
  design: "oat" | "grid";
  /** Seeds; each configuration runs once per seed. */
  seeds: number[];
  /** Settings shared by every run. */
  fixed: FixedSettings;
}

/** A configuration: axis levels plus the fixed settings. */
export interface RunConfig extends RunLevels {
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
  axes: RunLevels;
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
export const DEFAULT_BASELINE: RunLevels = {
  augment: "basic",
  schedule: "cosine",
  backbone: "resnet18",
};

/** What {@linkcode defaultStudy} changes in the full BreastMNIST study. */
export interface StudyOverrides extends Partial<Omit<StudySpec, "fixed">> {
  /** Fixed settings replacing the defaults ({@linkcode DEFAULT_FIXED}). */
  fixed?: Partial<FixedSettings>;
}

/**
 * The full BreastMNIST study with `overrides` applied, validated. Backbone
 * aliases (e.g. `vit_tiny`, from untyped callers) are resolved here to the
 * registry's canonical names, once.
 */
export function defaultStudy(overrides: StudyOverrides = {}): StudySpec {
  const baseline = overrides.baseline ?? DEFAULT_BASELINE;
  const axes = overrides.axes ?? {
    augment: [...AUGMENT_LEVELS],
    schedule: [...SCHEDULE_LEVELS],
    backbone: [...BACKBONE_LEVELS],
  };
  const fixed = { ...DEFAULT_FIXED, ...overrides.fixed };
  if (fixed.pretrained) {
    const entries = Object.entries(fixed.pretrained);
    fixed.pretrained = Object.fromEntries(entries.map(([b, p]) => [canonicalBackbone(b), p]));
  }
  const spec: StudySpec = {
    name: overrides.name ?? "BreastMNIST fine-tuning ablation",
    axes: { ...axes, backbone: axes.backbone?.map(canonicalBackbone) },
    baseline: { ...baseline, backbone: canonicalBackbone(baseline.backbone) },
    design: overrides.design ?? "oat",
    seeds: overrides.seeds ?? [0, 1, 2],
    fixed,
  };
  validateStudy(spec);
  return spec;
}

/** A backbone name or alias as its canonical name (unknown names pass on to validation). */
function canonicalBackbone(name: string): ModelName {
  return resolveModelName(name) ?? (name as ModelName);
}

const KNOWN_LEVELS: Record<keyof RunAxes, readonly string[]> = {
  augment: AUGMENT_LEVELS,
  schedule: SCHEDULE_LEVELS,
  backbone: BACKBONE_LEVELS,
};

/** Check a spec, with errors naming the field, the bad value and what is allowed. */
export function validateStudy(spec: StudySpec): void {
  for (const axis of ["augment", "schedule", "backbone"] as const) validateAxis(spec, axis);
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
  if (f.limitImages !== undefined && !(Number.isInteger(f.limitImages) && f.limitImages >= 1)) {
    throw new Error(`study: fixed.limitImages must be a whole number >= 1, got ${f.limitImages}`);
  }
  for (const backbone of spec.axes.backbone) {
    const problem = backboneSizeProblem(backbone, f);
    if (problem) throw new Error(`study: ${problem}`);
  }
}

/** Check one axis: levels known (canonical names), at least one, the `oat` baseline among them. */
function validateAxis(spec: StudySpec, axis: keyof RunAxes): void {
  const known = KNOWN_LEVELS[axis];
  const levels: readonly string[] = spec.axes[axis];
  if (!Array.isArray(levels) || levels.length === 0) {
    throw new Error(`study: axes.${axis} needs at least one level (${known.join(", ")})`);
  }
  for (const level of levels) {
    if (!known.includes(level)) {
      throw new Error(`study: unknown ${axis} level "${level}"; choose from ${known.join(", ")}`);
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

/** The ViT patch size a study uses: `fixed.vitPatchSize`, else 16 from 64 px up, else 4. */
export function studyPatchSize(fixed: Pick<FixedSettings, "imageSize" | "vitPatchSize">): number {
  return fixed.vitPatchSize ?? (fixed.imageSize >= 64 ? 16 : 4);
}

/** The settings {@linkcode backboneOptions} reads. */
export type BackboneSettings =
  & Pick<FixedSettings, "imageSize" | "vitPatchSize">
  & Partial<Pick<FixedSettings, "dropRate" | "dropPathRate">>;

/**
 * The options a study builds `backbone` with: RGB input at the study's image
 * size, its dropout rates, and the study's patch size for a backbone the
 * registry says has patches ({@linkcode studyPatchSize}).
 */
export function backboneOptions(
  backbone: ModelName,
  fixed: BackboneSettings,
  numClasses: number,
): BackboneOptions {
  const patched = architectureInfo(backbone).patchSize !== undefined;
  return {
    numClasses,
    inChannels: 3,
    imageSize: fixed.imageSize,
    dropRate: fixed.dropRate,
    dropPathRate: fixed.dropPathRate,
    ...(patched ? { patchSize: studyPatchSize(fixed) } : {}),
  } as BackboneOptions;
}

/**
 * Why `backbone` cannot take the study's image size, or `undefined` when it
 * can: the registry's own checks ({@linkcode modelOptionsProblem}), run on
 * the options a run would use (a ViT's image size must be a multiple of its
 * patch size).
 */
export function backboneSizeProblem(
  backbone: ModelName,
  fixed: Pick<FixedSettings, "imageSize" | "vitPatchSize">,
): string | undefined {
  const { imageSize, vitPatchSize } = fixed;
  return modelOptionsProblem(backbone, backboneOptions(backbone, { imageSize, vitPatchSize }, 2));
}

/** Configurations of the design, deduplicated, baseline first for `oat`. */
export function planConfigs(spec: StudySpec): RunLevels[] {
  const out: RunLevels[] = [];
  const seen = new Set<string>();
  const push = (a: RunLevels) => {
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
  const backbone = architectureInfo(config.backbone).shortName;
  return `${backbone}-${config.augment}-${config.schedule}-${hash}`;
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

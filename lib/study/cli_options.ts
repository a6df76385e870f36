/**
 * The flags of `deno task ablate`: parsing (`node:util` `parseArgs`) and
 * validation into a typed {@linkcode CliOptions}, the help text, and the
 * study spec the flags describe. Every problem is a {@linkcode CliError}
 * that names the flag, the bad value and the fix.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { MEDMNIST_INFO, MEDMNIST_NAMES, type MedMNISTName } from "../data/medmnist.ts";
import { architectureInfo, type ModelName, resolveModelName } from "../models/registry.ts";
import type { BackendChoice, BackendName } from "../runtime/backend.ts";
import {
  AUGMENT_LEVELS,
  type AugmentLevel,
  BACKBONE_LEVELS,
  backboneSizeProblem,
  DEFAULT_BASELINE,
  defaultStudy,
  type FixedSettings,
  parseShard,
  type RunLevels,
  SCHEDULE_LEVELS,
  type ScheduleLevel,
  type Shard,
  type StudyAxes,
  type StudySpec,
} from "./spec.ts";
import { limitedSizes, type SplitSizes } from "./subset.ts";

/** Options of {@linkcode CliError}. */
export interface CliErrorOptions {
  /** 2 for a usage error (default), 1 for a runtime failure. */
  exitCode?: 1 | 2;
  /** The error behind it. */
  cause?: unknown;
}

/** A problem the command reports in one or two lines, with its exit status. */
export class CliError extends Error {
  /** 2 for a usage error (a bad flag), 1 for a runtime failure. */
  readonly exitCode: 1 | 2;

  /** Build the error; `exitCode` defaults to 2 (usage). */
  constructor(message: string, options: CliErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = "CliError";
    this.exitCode = options.exitCode ?? 2;
  }
}

/** The validated flags of `deno task ablate`. */
export interface CliOptions {
  /** `--dataset`: a MedMNIST 2D dataset (default `breastmnist`). */
  dataset: MedMNISTName;
  /** `--data`: folder holding the `.npz` (default: `$MEDTUNE_DATA_DIR`, else the cache). */
  data?: string;
  /** `--offline`: never download; a missing file is an error that says where to put it. */
  offline: boolean;
  /** `--out`: output folder (default `runs/<dataset>-ablation`). */
  out: string;
  /** `--backend`. */
  backend: BackendChoice;
  /** `--threads`: threads of the cpu backend (of each worker with `--workers`). */
  threads?: number;
  /** `--workers`: worker processes on the cpu backend (`auto`: 2 where there are ≥ 2 cores). */
  workers: number | "auto";
  /** `--design`. */
  design?: "oat" | "grid";
  /** `--baseline A/S/B` (the backbone by its canonical name). */
  baseline?: RunLevels;
  /** `--augment`, `--schedule`, `--backbone` levels (undefined: all; backbones canonical). */
  axes: Partial<StudyAxes>;
  /** `--epochs`. */
  epochs?: number;
  /** `--image-size`. */
  imageSize?: number;
  /** `--batch-size` (default 32). */
  batchSize: number;
  /** `--lr` (default 1e-3). */
  lr: number;
  /** `--patience` (default 8). */
  patience: number;
  /** `--min-epochs` (default 20). */
  minEpochs: number;
  /** `--seeds`: the seeds themselves (undefined: the backend's default). */
  seeds?: number[];
  /** `--pretrained B=PATH`, by backbone (canonical name). */
  pretrained: Partial<Record<ModelName, string>>;
  /** `--max-steps` per epoch. */
  maxSteps?: number;
  /** `--limit-images`: at most this many images of each split (a stratified subset). */
  limitImages?: number;
  /** `--shard i/n`. */
  shard?: Shard;
  /** `--merge`. */
  merge: boolean;
  /** `--report-only`. */
  reportOnly: boolean;
  /** `--plan`: print the plan and exit. */
  plan: boolean;
  /** `--no-resume` sets this false: move old results aside and start afresh. */
  resume: boolean;
  /** `--retry-failed`. */
  retryFailed: boolean;
  /** `--verbose` (or env `MEDTUNE_DEBUG=1`): stack traces and backend notes. */
  verbose: boolean;
  /** `--help`. */
  help: boolean;
}

/** One-line usage. */
export const CLI_USAGE = "usage: deno task ablate [flags]   (deno task ablate --help lists them)";

/** Backbone names the flags accept: the registry's canonical names and their aliases. */
const BACKBONES_ACCEPTED: readonly string[] = BACKBONE_LEVELS.flatMap((
  name,
) => [name, ...architectureInfo(name).aliases]);

/** The `--help` text: flags grouped by purpose, then three example command lines. */
export function cliHelp(): string {
  return `usage: deno task ablate [flags]

Fine-tuning ablation on a MedMNIST 2D dataset: augmentation (${AUGMENT_LEVELS.join("/")}) ×
LR schedule (${SCHEDULE_LEVELS.join("/")}) × backbone (${BACKBONE_LEVELS.join("/")}), with label
smoothing 0.1, AdamW (weight decay 1e-2), dropout 0.3, gradient clipping at norm 1.0 and early
stopping on validation AUC. Finished runs are appended to OUT/results.jsonl and a rerun resumes;
then it writes results.csv, results.md, charts/, report.html and best/ (the best weights).
Defaults follow the backend: 224 px, 60 epochs, 3 seeds on a hardware GPU; on CPU 28 px,
30 epochs, 1 seed (20–28 minutes on 2 cores, as early stopping falls). Exit status: 0 done,
1 a run or the command failed, 2 a bad flag.

Data
  --dataset NAME      ${MEDMNIST_NAMES.join(", ")}
                      (default breastmnist)
  --data DIR          folder with NAME.npz (default: $MEDTUNE_DATA_DIR, else the cache
                      $MEDTUNE_CACHE_DIR or ~/.cache/medtune); a missing file is downloaded
                      from Zenodo (md5-checked) into DIR or the cache
  --offline           never download; a missing file ends with where to put it

Design
  --design D          oat (one axis at a time around the baseline, default) or grid (all)
  --baseline A/S/B    oat baseline (default basic/cosine/resnet18; an axis narrowed without
                      its default level uses its first level)
  --augment L,..      augmentation levels (default ${AUGMENT_LEVELS.join(",")})
  --schedule L,..     schedule levels (default ${SCHEDULE_LEVELS.join(",")})
  --backbone L,..     backbones (default ${BACKBONE_LEVELS.join(",")})
  --seeds N|a,b,..    number of seeds, or the seeds themselves (distinct)
  --pretrained B=PATH timm .safetensors for backbone B (repeatable)

Training budget
  --epochs N          epoch budget per run
  --image-size N      image size (28 reads the 28 px file; others resize it; ViT needs a
                      multiple of its patch, 4 below 64 px and 16 from 64 px)
  --batch-size N      batch size (default 32)
  --lr X              AdamW learning rate, > 0 (default 1e-3)
  --patience N        early-stopping patience in epochs (default 8)
  --min-epochs N      never stop early before epoch N (default 20)
  --max-steps N       stop each epoch after N steps (smoke tests)
  --limit-images N    use at most N images of each split, a fixed class-stratified subset
                      (smoke tests; its runs are a separate study, never mixed with full ones)
  --backend NAME      auto (default: a hardware GPU, else cpu, else wasm), webgpu, cpu, wasm
  --threads N         cpu backend threads of each worker, fixed (default: the cores shared
                      out among the workers; when one finishes, a worker still training
                      takes its cores over from its next epoch)
  --workers N|auto    train N runs side by side in separate processes on the cpu backend
                      (default auto: 2 where there are 2 or more cores; 1 on a GPU)

Outputs
  --out DIR           output folder (default runs/NAME-ablation)
  --plan              print the plan and exit
  --report-only       write the report from OUT/results.jsonl without training
  --no-resume         move earlier results and checkpoints aside and start afresh
  --retry-failed      run the recorded failures again

Distribution
  --shard i/n         run only the i-th of n parts (OUT/results.shard-i-of-n.jsonl)
  --merge             merge the shards' results into results.jsonl and write the report

Other
  --verbose           stack traces and backend notes (also env MEDTUNE_DEBUG=1)
  -h, --help          this help

Examples
  deno task ablate
  deno task ablate --design grid --seeds 3 --out runs/breast-grid
  deno task ablate --dataset pneumoniamnist --epochs 10
`;
}

const FLAGS = {
  dataset: { type: "string" },
  data: { type: "string" },
  offline: { type: "boolean" },
  // Accepted for older scripts: downloading a missing file is the default now.
  download: { type: "boolean" },
  out: { type: "string" },
  backend: { type: "string" },
  threads: { type: "string" },
  workers: { type: "string" },
  design: { type: "string" },
  baseline: { type: "string" },
  augment: { type: "string" },
  schedule: { type: "string" },
  backbone: { type: "string" },
  epochs: { type: "string" },
  "image-size": { type: "string" },
  "batch-size": { type: "string" },
  lr: { type: "string" },
  patience: { type: "string" },
  "min-epochs": { type: "string" },
  seeds: { type: "string" },
  pretrained: { type: "string", multiple: true },
  "max-steps": { type: "string" },
  "limit-images": { type: "string" },
  shard: { type: "string" },
  merge: { type: "boolean" },
  "report-only": { type: "boolean" },
  plan: { type: "boolean" },
  resume: { type: "boolean" },
  "retry-failed": { type: "boolean" },
  verbose: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

function rawFlags(args: string[]) {
  try {
    return parseArgs({ args, options: FLAGS, allowPositionals: false, allowNegative: true })
      .values;
  } catch (err) {
    throw new CliError(parseArgsProblem((err as Error).message));
  }
}

/** parseArgs's messages, said in the command's terms. */
function parseArgsProblem(message: string): string {
  const flag = /'(-[^' ]+)/.exec(message)?.[1] ?? "";
  if (message.startsWith("Unknown option")) {
    const name = flag.replace(/^-+(no-)?/, "");
    const near = Object.keys(FLAGS).filter((f) => editDistance(f, name) <= 2);
    const hint = near.length ? `; did you mean ${near.map((f) => `--${f}`).join(" or ")}?` : "";
    return `unknown flag ${flag}${hint}`;
  }
  if (message.startsWith("Unexpected argument")) {
    return `unexpected argument ${
      flag || /'([^']*)'/.exec(message)?.[1]
    }: the command takes only flags`;
  }
  if (/argument missing|ambiguous/.test(message)) {
    return `${flag} needs a value (${flag} VALUE; a value starting with "-" is written ${flag}=-VALUE)`;
  }
  if (message.includes("does not take an argument")) return `${flag} takes no value`;
  return message.split("\n")[0];
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return d[b.length];
}

function intFlag(name: string, v: string | undefined, min = 1): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === "" || !Number.isInteger(n) || n < min) {
    throw new CliError(`--${name} must be a whole number >= ${min}, got "${v}"`);
  }
  return n;
}

function listFlag<T extends string>(name: string, v: string | undefined, allowed: readonly T[]) {
  if (v === undefined) return undefined;
  const items = v.split(",").map((s) => s.trim()).filter(Boolean);
  if (!items.length) throw new CliError(`--${name} needs at least one of ${allowed.join(", ")}`);
  for (const item of items) {
    if (!(allowed as readonly string[]).includes(item)) {
      throw new CliError(`--${name}: unknown level "${item}"; choose from ${allowed.join(", ")}`);
    }
  }
  const twice = items.find((x, i) => items.indexOf(x) !== i);
  if (twice) throw new CliError(`--${name} lists "${twice}" twice; give each level once`);
  return items as T[];
}

/** `--backbone`: names or aliases, resolved here (once) to the registry's canonical names. */
function backbonesFlag(v: string | undefined): ModelName[] | undefined {
  const names = listFlag("backbone", v, BACKBONES_ACCEPTED)?.map(canonical);
  const twice = names?.find((x, i) => names.indexOf(x) !== i);
  if (twice) {
    throw new CliError(
      `--backbone names ${twice} twice (once by an alias); give each backbone once`,
    );
  }
  return names;
}

/** The canonical name of an accepted backbone name or alias. */
function canonical(name: string): ModelName {
  return resolveModelName(name)!;
}

function seedsFlag(v: string | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  if (!v.includes(",")) {
    const n = intFlag("seeds", v, 1)!;
    return Array.from({ length: n }, (_, i) => i);
  }
  const seeds = v.split(",").map((s) => {
    const n = Number(s.trim());
    if (s.trim() === "" || !Number.isInteger(n) || n < 0) {
      throw new CliError(`--seeds: "${s}" is not a seed; seeds are whole numbers >= 0`);
    }
    return n;
  });
  const twice = seeds.find((s, i) => seeds.indexOf(s) !== i);
  if (twice !== undefined) {
    throw new CliError(
      `--seeds ${v} repeats seed ${twice}; give distinct seeds (e.g. --seeds 0,1,2 or --seeds 3)`,
    );
  }
  return seeds;
}

function lrFlag(v: string | undefined): number {
  if (v === undefined) return 1e-3;
  const lr = Number(v);
  if (v.trim() === "" || !Number.isFinite(lr) || lr <= 0) {
    throw new CliError(`--lr must be a finite number > 0 (e.g. 1e-3), got "${v}"`);
  }
  return lr;
}

function choiceFlag<T extends string>(name: string, v: string | undefined, allowed: T[]) {
  if (v === undefined) return undefined;
  if (!(allowed as string[]).includes(v)) {
    throw new CliError(`--${name} must be one of ${allowed.join(", ")}, got "${v}"`);
  }
  return v as T;
}

function baselineFlag(v: string | undefined): CliOptions["baseline"] {
  if (v === undefined) return undefined;
  const [augment, schedule, backbone, extra] = v.split("/");
  if (!backbone || extra !== undefined) {
    throw new CliError(
      `--baseline must look like augment/schedule/backbone (e.g. basic/cosine/resnet18), got "${v}"`,
    );
  }
  listFlag("baseline", augment, AUGMENT_LEVELS);
  listFlag("baseline", schedule, SCHEDULE_LEVELS);
  listFlag("baseline", backbone, BACKBONES_ACCEPTED);
  return {
    augment: augment as AugmentLevel,
    schedule: schedule as ScheduleLevel,
    backbone: canonical(backbone),
  };
}

function pretrainedFlag(items: string[] | undefined): CliOptions["pretrained"] {
  const out: CliOptions["pretrained"] = {};
  for (const item of items ?? []) {
    const eq = item.indexOf("=");
    const name = item.slice(0, eq);
    if (eq < 1 || eq === item.length - 1 || !BACKBONES_ACCEPTED.includes(name)) {
      throw new CliError(
        `--pretrained must look like BACKBONE=PATH with BACKBONE one of ${
          BACKBONE_LEVELS.join(", ")
        }, got "${item}"`,
      );
    }
    out[canonical(name)] = item.slice(eq + 1);
  }
  return out;
}

function datasetFlag(v: string | undefined): MedMNISTName {
  if (v === undefined) return "breastmnist";
  const name = v.toLowerCase();
  if (!(MEDMNIST_NAMES as readonly string[]).includes(name)) {
    throw new CliError(
      `--dataset: unknown dataset "${v}"; choose one of ${MEDMNIST_NAMES.join(", ")}`,
    );
  }
  return name as MedMNISTName;
}

function envDebug(): boolean {
  try {
    return Deno.env.get("MEDTUNE_DEBUG") === "1";
  } catch {
    return false;
  }
}

/**
 * Parse and check the flags of `deno task ablate` (no file access). Throws a
 * {@linkcode CliError} (exit 2) naming the flag, the bad value and the fix.
 */
export function parseCliArgs(args: string[]): CliOptions {
  const v = rawFlags(args);
  if (v.download && v.offline) {
    throw new CliError("--download and --offline exclude each other; give one");
  }
  const dataset = datasetFlag(v.dataset);
  const opts: CliOptions = {
    dataset,
    data: v.data?.replace(/(.)\/+$/, "$1"),
    offline: v.offline ?? false,
    out: (v.out ?? `runs/${dataset}-ablation`).replace(/(.)\/+$/, "$1"),
    backend: choiceFlag("backend", v.backend, ["auto", "cpu", "wasm", "webgpu"]) ?? "auto",
    threads: intFlag("threads", v.threads),
    workers: workersFlag(v.workers),
    design: choiceFlag("design", v.design, ["oat", "grid"]),
    baseline: baselineFlag(v.baseline),
    axes: {
      augment: listFlag("augment", v.augment, AUGMENT_LEVELS),
      schedule: listFlag("schedule", v.schedule, SCHEDULE_LEVELS),
      backbone: backbonesFlag(v.backbone),
    },
    epochs: intFlag("epochs", v.epochs),
    imageSize: intFlag("image-size", v["image-size"]),
    batchSize: intFlag("batch-size", v["batch-size"]) ?? 32,
    lr: lrFlag(v.lr),
    patience: intFlag("patience", v.patience) ?? 8,
    minEpochs: intFlag("min-epochs", v["min-epochs"], 0) ?? 20,
    seeds: seedsFlag(v.seeds),
    pretrained: pretrainedFlag(v.pretrained),
    maxSteps: intFlag("max-steps", v["max-steps"]),
    limitImages: intFlag("limit-images", v["limit-images"]),
    shard: v.shard === undefined ? undefined : shardFlag(v.shard),
    merge: v.merge ?? false,
    reportOnly: v["report-only"] ?? false,
    plan: v.plan ?? false,
    resume: v.resume ?? true,
    retryFailed: v["retry-failed"] ?? false,
    verbose: v.verbose ?? envDebug(),
    help: v.help ?? false,
  };
  checkCombinations(opts);
  return opts;
}

function workersFlag(v: string | undefined): number | "auto" {
  if (v === undefined || v.trim() === "auto") return "auto";
  const n = Number(v);
  if (v.trim() === "" || !Number.isInteger(n) || n < 1) {
    throw new CliError(`--workers must be a whole number >= 1 or auto, got "${v}"`);
  }
  return n;
}

function shardFlag(text: string): Shard {
  try {
    return parseShard(text);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

function checkCombinations(o: CliOptions): void {
  const pairs: [boolean, string][] = [
    [o.merge && o.reportOnly, "--merge and --report-only"],
    [o.merge && o.shard !== undefined, "--merge and --shard"],
    [!o.resume && o.retryFailed, "--no-resume and --retry-failed"],
    [!o.resume && (o.merge || o.reportOnly), "--no-resume and --merge/--report-only"],
  ];
  for (const [bad, what] of pairs) {
    if (bad) throw new CliError(`${what} exclude each other; give one`);
  }
  if (
    typeof o.workers === "number" && o.workers > 1 &&
    (o.backend === "wasm" || o.backend === "webgpu")
  ) {
    throw new CliError(
      `--workers ${o.workers} runs worker processes on the cpu backend only, not --backend ${o.backend}; ` +
        `drop --workers or use --backend cpu`,
    );
  }
  const { baseline, design, axes } = o;
  if (baseline && design !== "grid") {
    for (const axis of ["augment", "schedule", "backbone"] as const) {
      const levels: readonly string[] | undefined = axes[axis];
      if (levels && !levels.includes(baseline[axis])) {
        throw new CliError(
          `--baseline ${axis} "${baseline[axis]}" is not among --${axis} ${
            levels.join(",")
          }; add it there or change --baseline`,
        );
      }
    }
  }
}

/** The default baseline, with each narrowed axis that lacks its level taking its first level. */
function defaultBaseline(axes: StudyAxes): RunLevels {
  const pick = <T extends string>(levels: T[], level: T): T =>
    levels.includes(level) ? level : levels[0];
  return {
    augment: pick(axes.augment, DEFAULT_BASELINE.augment),
    schedule: pick(axes.schedule, DEFAULT_BASELINE.schedule),
    backbone: pick(axes.backbone, DEFAULT_BASELINE.backbone),
  };
}

/** What the flags default to on a backend. */
export interface BackendDefaults {
  /** Image size. */
  imageSize: number;
  /** Epoch budget. */
  epochs: number;
  /** Seeds. */
  seeds: number[];
}

/** Per-backend defaults: the original study on a GPU, an hour-sized one on CPU. */
export function backendDefaults(backend: BackendName): BackendDefaults {
  return backend === "webgpu"
    ? { imageSize: 224, epochs: 60, seeds: [0, 1, 2] }
    : { imageSize: 28, epochs: 30, seeds: [0] };
}

/**
 * The study the flags describe on `backend`. Combinations that a planned
 * run could not train (an image size a backbone cannot take) are
 * {@linkcode CliError}s here, before anything trains.
 */
export function studyFromOptions(o: CliOptions, backend: BackendName): StudySpec {
  const d = backendDefaults(backend);
  const info = MEDMNIST_INFO[o.dataset];
  const fixed: Partial<FixedSettings> & Pick<FixedSettings, "imageSize"> = {
    dataset: o.dataset,
    imageSize: o.imageSize ?? d.imageSize,
    epochs: o.epochs ?? d.epochs,
    batchSize: o.batchSize,
    lr: o.lr,
    patience: o.patience,
    minEpochs: o.minEpochs,
    maxStepsPerEpoch: o.maxSteps,
    limitImages: o.limitImages,
    pretrained: Object.keys(o.pretrained).length ? o.pretrained : undefined,
  };
  const axes: StudyAxes = {
    augment: o.axes.augment ?? [...AUGMENT_LEVELS],
    schedule: o.axes.schedule ?? [...SCHEDULE_LEVELS],
    backbone: o.axes.backbone ?? [...BACKBONE_LEVELS],
  };
  for (const b of axes.backbone) {
    const problem = backboneSizeProblem(b, fixed);
    if (problem) {
      throw new CliError(
        `--image-size ${fixed.imageSize}: ${
          problem.split("; ")[0]
        }; pick another size (e.g. 28, 64, 224) or leave ${b} out of --backbone`,
      );
    }
  }
  checkLimit(o);
  const subset = o.limitImages === undefined
    ? ""
    : ` (subset: ≤ ${o.limitImages} images per split)`;
  try {
    return defaultStudy({
      name: `${info.pythonClass} fine-tuning ablation${subset}`,
      design: o.design,
      baseline: o.baseline ?? defaultBaseline(axes),
      axes,
      seeds: o.seeds ?? d.seeds,
      fixed,
    });
  } catch (err) {
    throw new CliError(`the flags describe no valid study: ${(err as Error).message}`);
  }
}

/**
 * `--limit-images` must leave every class an image (so AUC stays defined)
 * and training a full batch.
 */
function checkLimit(o: CliOptions): void {
  const limit = o.limitImages;
  if (limit === undefined) return;
  const info = MEDMNIST_INFO[o.dataset];
  if (limit < info.numClasses) {
    throw new CliError(
      `--limit-images ${limit}: ${o.dataset} has ${info.numClasses} ${
        info.task === "multi-label" ? "labels" : "classes"
      }; give at least ${info.numClasses} so the subset keeps each of them`,
    );
  }
  if (limit < o.batchSize) {
    throw new CliError(
      `--limit-images ${limit} is below --batch-size ${o.batchSize}: training needs a full ` +
        `batch; give --limit-images >= ${o.batchSize} or a smaller --batch-size`,
    );
  }
}

/** The split sizes a study trains on: the dataset's, cut to `--limit-images` when given. */
export function studySizes(o: Pick<CliOptions, "dataset" | "limitImages">): SplitSizes {
  return limitedSizes(MEDMNIST_INFO[o.dataset].samples, o.limitImages);
}

/**
 * Synthetic, plausible {@linkcode RunRecord}s for the report tests: a few
 * configurations × seeds on a fixed binary test set, with learning curves that
 * look like real ones (train loss falling, validation loss turning up, early
 * stopping on some seeds) and test metrics computed from the synthetic scores
 * with lib/metrics, so that every number in a record is consistent.
 *
 * @module
 */

import type { EpochRecord, RunAxes, RunRecord, SplitMetrics } from "../lib/report/record.ts";
import {
  accuracy,
  argmaxPredictions,
  aucRoc,
  balancedAccuracy,
  binaryBrierScore,
  expectedCalibrationError,
  rocCurve,
} from "../lib/metrics/mod.ts";

/** One synthetic configuration: its axes and how well it separates the classes. */
export interface FixtureConfig {
  /** Configuration id. */
  configId: string;
  /** Axis levels. */
  axes: RunAxes;
  /** Class separation of the test scores (logit shift of positives); larger is better. */
  separation: number;
  /** Overfitting strength: how far train AUC/loss run ahead of validation. */
  overfit: number;
}

/** The default three configurations, best (`cfg-b`) to worst (`cfg-a`). */
export const FIXTURE_CONFIGS: readonly FixtureConfig[] = [
  {
    configId: "cfg-a",
    axes: { augment: "none", schedule: "constant", backbone: "resnet18" },
    separation: 0.9,
    overfit: 1.0,
  },
  {
    configId: "cfg-b",
    axes: { augment: "basic", schedule: "cosine", backbone: "resnet18" },
    separation: 2.4,
    overfit: 0.4,
  },
  {
    configId: "cfg-c",
    axes: { augment: "heavy", schedule: "warmup_cosine", backbone: "vit_tiny_patch16_224" },
    separation: 1.5,
    overfit: 0.2,
  },
];

/** The baseline of the one-at-a-time fixture (the study's default baseline). */
export const OAT_BASELINE: RunAxes = { augment: "basic", schedule: "cosine", backbone: "resnet18" };

/**
 * A deterministic class separation for a configuration: additive effects of
 * the three axes plus a small augment × backbone interaction, so that axis
 * effects and interactions are non-trivial.
 */
export function separationOf(axes: RunAxes): number {
  const aug: Record<string, number> = { none: -0.4, basic: 0.3, heavy: 0.1 };
  const sch: Record<string, number> = { constant: -0.2, cosine: 0.2, warmup_cosine: 0.1 };
  const bb: Record<string, number> = {
    resnet18: 0.4,
    efficientnet_b0: 0.2,
    vit_tiny_patch16_224: -0.5,
  };
  const inter = axes.augment === "heavy" && axes.backbone === "vit_tiny_patch16_224" ? 0.5 : 0;
  return 1.6 + (aug[axes.augment] ?? 0) + (sch[axes.schedule] ?? 0) + (bb[axes.backbone] ?? 0) +
    inter;
}

/** Fixture config of the given axes (id `augment.schedule.backbone`, separation from {@linkcode separationOf}). */
export function fixtureConfig(axes: RunAxes): FixtureConfig {
  return {
    configId: `${axes.augment}.${axes.schedule}.${axes.backbone}`,
    axes: { ...axes },
    separation: separationOf(axes),
    overfit: axes.augment === "none" ? 1 : axes.augment === "basic" ? 0.4 : 0.2,
  };
}

/** Levels of the fixture designs (a small version of the study's axes). */
export const FIXTURE_LEVELS = {
  augment: ["none", "basic", "heavy"],
  schedule: ["constant", "cosine"],
  backbone: ["resnet18", "vit_tiny_patch16_224"],
};

/**
 * The configurations of a one-at-a-time design around `baseline` (default
 * {@linkcode OAT_BASELINE}) over `levels` (default {@linkcode FIXTURE_LEVELS}):
 * the baseline first, then each other level of each axis.
 */
export function oatFixtureConfigs(
  levels: { augment: string[]; schedule: string[]; backbone: string[] } = FIXTURE_LEVELS,
  baseline: RunAxes = OAT_BASELINE,
): FixtureConfig[] {
  const out = [fixtureConfig(baseline)];
  for (const axis of ["augment", "schedule", "backbone"] as const) {
    for (const level of levels[axis]) {
      if (level !== baseline[axis]) out.push(fixtureConfig({ ...baseline, [axis]: level }));
    }
  }
  return out;
}

/** The configurations of the full grid over `levels` (default {@linkcode FIXTURE_LEVELS}). */
export function gridFixtureConfigs(
  levels: { augment: string[]; schedule: string[]; backbone: string[] } = FIXTURE_LEVELS,
): FixtureConfig[] {
  const out: FixtureConfig[] = [];
  for (const augment of levels.augment) {
    for (const schedule of levels.schedule) {
      for (const backbone of levels.backbone) {
        out.push(fixtureConfig({ augment, schedule, backbone }));
      }
    }
  }
  return out;
}

/** Options for {@linkcode makeFixtureRuns}. */
export interface FixtureOptions {
  /** Configurations (default {@linkcode FIXTURE_CONFIGS}). */
  configs?: readonly FixtureConfig[];
  /** Seeds per configuration (default `[0, 1, 2]`). */
  seeds?: readonly number[];
  /** Add one failed run (seed 3 of this config id; default `"cfg-c"`, `null` for none). */
  failedConfigId?: string | null;
  /** Test-set size (default 80, about 70 % positive like BreastMNIST). */
  nTest?: number;
  /** Epoch budget (default 8; seed 1 stops early after 6 epochs). */
  epochs?: number;
  /** Dataset id written to `config.fixed.dataset` (default: none, as in old records). */
  dataset?: string;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** The fixed test labels (same order in every run). */
export function fixtureLabels(nTest = 80): number[] {
  const rand = mulberry32(12345);
  return Array.from({ length: nTest }, (_, i) => (i < 4 ? i % 2 : rand() < 0.7 ? 1 : 0));
}

function splitMetrics(scores: number[], labels: number[]): SplitMetrics {
  const probs = scores.map((p) => [1 - p, p]);
  const predictions = argmaxPredictions(probs);
  let loss = 0;
  for (let i = 0; i < scores.length; i++) {
    const p = labels[i] === 1 ? scores[i] : 1 - scores[i];
    loss -= Math.log(Math.max(p, 1e-12));
  }
  return {
    auc: aucRoc(scores, labels),
    accuracy: accuracy(predictions, labels),
    balancedAccuracy: balancedAccuracy(predictions, labels),
    // The two-class sum, as records without `brierKind` hold it (twice sklearn's binary Brier).
    brier: 2 * binaryBrierScore(scores, labels),
    ece: expectedCalibrationError(probs, labels, { nBins: 15 }),
    loss: loss / scores.length,
  };
}

function lrAt(schedule: string, epoch: number, epochs: number): number {
  const base = 1e-3;
  const t = (epoch - 1) / Math.max(1, epochs - 1);
  if (schedule === "constant") return base;
  if (schedule === "warmup_cosine" && epoch === 1) return base * 0.5;
  return base * 0.5 * (1 + Math.cos(Math.PI * t));
}

/**
 * Synthetic runs: every configuration × seed (status `ok`), plus one failed
 * run (seed 3 of `failedConfigId`) without test metrics. Deterministic.
 */
export function makeFixtureRuns(options: FixtureOptions = {}): RunRecord[] {
  const configs = options.configs ?? FIXTURE_CONFIGS;
  const seeds = options.seeds ?? [0, 1, 2];
  const nTest = options.nTest ?? 80;
  const epochs = options.epochs ?? 8;
  const labels = fixtureLabels(nTest);
  const records: RunRecord[] = [];
  let clock = Date.UTC(2025, 0, 1);
  for (const cfg of configs) {
    for (const seed of seeds) {
      const rand = mulberry32(hash(`${cfg.configId}/${seed}`));
      const epochsRun = seed === 1 ? Math.min(6, epochs) : epochs;
      const bestEpoch = Math.max(1, epochsRun - 2);
      const history: EpochRecord[] = [];
      for (let e = 1; e <= epochsRun; e++) {
        const trainLoss = 0.65 * Math.exp(-0.25 * e * (1 + cfg.overfit)) + 0.05 +
          0.01 * rand();
        const valLoss = 0.6 * Math.exp(-0.3 * e) + 0.3 + 0.02 * cfg.overfit * e * e / epochs +
          0.01 * rand();
        const valAuc = Math.min(
          0.99,
          0.5 + (0.08 + 0.1 * cfg.separation) * (1 - Math.exp(-0.6 * e)) +
            0.01 * rand(),
        );
        history.push({
          epoch: e,
          lr: lrAt(cfg.axes.schedule, e, epochs),
          trainLoss,
          trainAccuracy: Math.min(0.99, 0.7 + 0.03 * e),
          trainAuc: Math.min(0.999, valAuc + 0.02 * cfg.overfit * e),
          valLoss,
          valAccuracy: 0.6 + 0.03 * e,
          valAuc,
          seconds: 3 + rand(),
        });
      }
      const scores = labels.map((y) => {
        const logit = -0.3 + (y === 1 ? cfg.separation : 0) + 1.1 * gaussian(rand);
        return 1 / (1 + Math.exp(-logit));
      });
      const test = splitMetrics(scores, labels);
      const val = { ...test, auc: history[bestEpoch - 1].valAuc };
      const train = {
        ...test,
        auc: Math.min(0.999, (val.auc ?? 0.5) + 0.1 * cfg.overfit),
        loss: test.loss * (1 - 0.3 * cfg.overfit),
      };
      const roc = rocCurve(scores, labels);
      const seconds = history.reduce((s, h) => s + h.seconds, 0);
      clock += seconds * 1000;
      records.push({
        id: `${cfg.configId}-s${seed}`,
        configId: cfg.configId,
        axes: { ...cfg.axes },
        config: {
          ...cfg.axes,
          epochs,
          imageSize: 28,
          batchSize: 64,
          ...(options.dataset ? { fixed: { dataset: options.dataset } } : {}),
        },
        seed,
        status: "ok",
        backend: "cpu",
        imageSize: 28,
        epochsRun,
        bestEpoch,
        history,
        train,
        val,
        test,
        testScores: scores,
        testLabels: labels.slice(),
        roc: { fpr: Array.from(roc.fpr), tpr: Array.from(roc.tpr) },
        gapAuc: (train.auc ?? 0) - (val.auc ?? 0),
        gapLoss: val.loss - train.loss,
        seconds,
        finishedAt: new Date(clock).toISOString(),
      });
    }
  }
  const failedId = options.failedConfigId === undefined ? "cfg-c" : options.failedConfigId;
  const failedCfg = configs.find((c) => c.configId === failedId);
  if (failedCfg) {
    records.push({
      id: `${failedCfg.configId}-s3`,
      configId: failedCfg.configId,
      axes: { ...failedCfg.axes },
      config: { ...failedCfg.axes, epochs, imageSize: 28, batchSize: 64 },
      seed: 3,
      status: "failed",
      error: "RangeError: loss became NaN at epoch 2",
      backend: "cpu",
      imageSize: 28,
      epochsRun: 2,
      bestEpoch: 1,
      history: [],
      seconds: 5.5,
      finishedAt: new Date(clock + 6000).toISOString(),
    });
  }
  return records;
}

/** Width and height from a PNG's IHDR chunk, after checking the PNG signature. */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  const signature = [137, 80, 78, 71, 13, 10, 26, 10];
  if (png.length < 24 || signature.some((b, i) => png[i] !== b)) {
    throw new Error("not a PNG: bad signature");
  }
  if (new TextDecoder().decode(png.subarray(12, 16)) !== "IHDR") {
    throw new Error("not a PNG: first chunk is not IHDR");
  }
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: dv.getUint32(16), height: dv.getUint32(20) };
}

/** Pixel statistics of a decoded PNG (via `@napi-rs/canvas`). */
export interface PixelStats {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Fraction of pixels that differ from the top-left pixel (the background) by > 24 in a channel. */
  nonBackground: number;
  /** Fraction of pixels that are opaque (alpha 255). */
  opaque: number;
  /** Count of pixels within ±12 per channel of each requested colour. */
  colorCounts: Record<string, number>;
}

/** Decode a PNG with `@napi-rs/canvas` and measure how much of it is drawn. */
export async function pixelStats(png: Uint8Array, colors: string[] = []): Promise<PixelStats> {
  const { createCanvas, loadImage } = await import("@napi-rs/canvas");
  const image = await loadImage(png);
  const canvas = createCanvas(image.width, image.height);
  const ctx = canvas.getContext("2d");
  ctx.drawImage(image, 0, 0);
  const { data } = ctx.getImageData(0, 0, image.width, image.height);
  const rgb = colors.map((c) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)));
  const counts = colors.map(() => 0);
  let differ = 0;
  let opaque = 0;
  const n = image.width * image.height;
  for (let p = 0; p < data.length; p += 4) {
    if (data[p + 3] === 255) opaque++;
    if (
      Math.abs(data[p] - data[0]) > 24 || Math.abs(data[p + 1] - data[1]) > 24 ||
      Math.abs(data[p + 2] - data[2]) > 24
    ) differ++;
    rgb.forEach((c, k) => {
      if (
        Math.abs(data[p] - c[0]) <= 12 && Math.abs(data[p + 1] - c[1]) <= 12 &&
        Math.abs(data[p + 2] - c[2]) <= 12
      ) counts[k]++;
    });
  }
  return {
    width: image.width,
    height: image.height,
    nonBackground: differ / n,
    opaque: opaque / n,
    colorCounts: Object.fromEntries(colors.map((c, k) => [c, counts[k]])),
  };
}

/** Options for {@linkcode makeMultiClassRuns}. */
export interface MultiClassFixtureOptions {
  /** Configurations (default: {@linkcode oatFixtureConfigs}). */
  configs?: readonly FixtureConfig[];
  /** Seeds (default `[0, 1]`). */
  seeds?: readonly number[];
  /** Classes (or labels) per image (default 5, like RetinaMNIST). */
  numClasses?: number;
  /** Test-set size (default 120). */
  nTest?: number;
  /** Multi-label (sigmoid scores, 0/1 label rows) instead of multi-class. */
  multiLabel?: boolean;
  /** Dataset id in `config.fixed.dataset` (default `retinamnist`, or none when multi-label). */
  dataset?: string;
  /** `task` field of the records (default: none, so the report infers it). */
  task?: string;
  /** `classNames` field of the records (default: none). */
  classNames?: string[];
  /** `test.brierKind` of the records (default: none). */
  brierKind?: string;
  /** `scoredAs` field of the records (default: none). */
  scoredAs?: string;
  /** Store `test.perClassAuc` (default `false`: the report computes it from the probabilities). */
  storePerClassAuc?: boolean;
}

/**
 * Synthetic multi-class (N×K softmax rows, integer labels) or multi-label
 * (N×K sigmoid scores, 0/1 label rows) runs, stored as the runner stores
 * them: `testProbs` N×K row-major and `testTargets` (N class indices, or N×K
 * 0/1 values), no `testScores`; `test.auc` is the macro one-vs-rest (or mean
 * per-label) AUC of the probabilities.
 */
export function makeMultiClassRuns(options: MultiClassFixtureOptions = {}): RunRecord[] {
  const configs = options.configs ?? oatFixtureConfigs();
  const seeds = options.seeds ?? [0, 1];
  const k = options.numClasses ?? 5;
  const n = options.nTest ?? 120;
  const multiLabel = options.multiLabel ?? false;
  const dataset = options.dataset ?? (multiLabel ? undefined : "retinamnist");
  const rand0 = mulberry32(777);
  const labels: number[] | number[][] = multiLabel
    ? Array.from(
      { length: n },
      (_, i) => Array.from({ length: k }, (_, c) => (i % k === c || rand0() < 0.25 ? 1 : 0)),
    )
    : Array.from({ length: n }, (_, i) => i % k);
  const out: RunRecord[] = [];
  for (const cfg of configs) {
    for (const seed of seeds) {
      const rand = mulberry32(hash(`mc/${cfg.configId}/${seed}`));
      const scores = Array.from({ length: n }, (_, i) => {
        const logits = Array.from({ length: k }, (_, c) => {
          const pos = multiLabel ? (labels as number[][])[i][c] === 1 : labels[i] === c;
          return (pos ? cfg.separation : 0) + gaussian(rand);
        });
        if (multiLabel) return logits.map((z) => 1 / (1 + Math.exp(-z + cfg.separation / 2)));
        const mx = Math.max(...logits);
        const e = logits.map((z) => Math.exp(z - mx));
        const sum = e.reduce((a, b) => a + b, 0);
        return e.map((v) => v / sum);
      });
      const perClass = Array.from({ length: k }, (_, c) =>
        aucRoc(
          scores.map((row) => row[c]),
          multiLabel
            ? (labels as number[][]).map((row) => row[c])
            : (labels as number[]).map((y) => (y === c ? 1 : 0)),
        ));
      const auc = perClass.reduce((a, b) => a + b, 0) / k;
      let brier = 0;
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < k; c++) {
          const y = multiLabel ? (labels as number[][])[i][c] : labels[i] === c ? 1 : 0;
          brier += (scores[i][c] - y) ** 2;
        }
      }
      brier /= multiLabel ? n * k : n;
      const test = {
        auc,
        accuracy: 0.5,
        balancedAccuracy: 0.4 + 0.1 * cfg.separation,
        brier,
        ece: 0.05,
        loss: 1,
        ...(options.brierKind ? { brierKind: options.brierKind } : {}),
        ...(options.storePerClassAuc ? { perClassAuc: perClass } : {}),
      };
      const record = {
        id: `${cfg.configId}-s${seed}`,
        configId: cfg.configId,
        axes: { ...cfg.axes },
        config: { ...cfg.axes, ...(dataset ? { fixed: { dataset } } : {}) },
        seed,
        status: "ok",
        backend: "cpu",
        imageSize: 28,
        epochsRun: 3,
        bestEpoch: 2,
        history: [1, 2, 3].map((epoch) => ({
          epoch,
          lr: 1e-3,
          trainLoss: 1 / epoch,
          trainAccuracy: 0.5,
          trainAuc: 0.7,
          valLoss: 1.2 / epoch,
          valAccuracy: 0.5,
          valAuc: 0.6 + 0.05 * epoch,
          seconds: 1,
        })),
        train: test,
        val: test,
        test,
        testProbs: scores.flat(),
        testTargets: labels.flat(),
        gapAuc: 0.05,
        gapLoss: 0.1,
        seconds: 3,
        finishedAt: new Date(Date.UTC(2025, 0, 1)).toISOString(),
        ...(options.task ? { task: options.task } : {}),
        ...(options.classNames ? { classNames: options.classNames } : {}),
        ...(options.scoredAs ? { scoredAs: options.scoredAs } : {}),
      };
      out.push(record as unknown as RunRecord);
    }
  }
  return out;
}

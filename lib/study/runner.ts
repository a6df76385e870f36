/**
 * Runs a study: each planned run (configuration × seed) is trained,
 * evaluated at its best epoch and appended as one line to `results.jsonl`.
 * Rerunning resumes: finished runs (and recorded failures) are not repeated,
 * and a run interrupted mid-way continues from its last epoch checkpoint.
 * A failed run is recorded with its reason and the study goes on.
 * `--shard i/n` runs every n-th run into its own results file; `mergeShards`
 * combines them.
 *
 * @module
 */

import type { Dataset } from "../data/dataset.ts";
import { loadMedMNISTSplits } from "../data/medmnist.ts";
import { metricTaskOf, rocCurve, taskNote } from "../metrics/mod.ts";
import { createModel } from "../models/registry.ts";
import type { Model } from "../nn/model.ts";
import type { Backend } from "../runtime/backend.ts";
import { constant, cosine, type LrSchedule, warmupCosine } from "../train/schedules.ts";
import { rocCurvesPerClass } from "../train/evaluate.ts";
import { type Evaluation, Trainer, TrainingDivergedError } from "../train/trainer.ts";
import { appendLine, atomicWriteFile } from "../util/fs.ts";
import type { EpochRecord, RunRecord } from "./record.ts";
import { type PlannedRun, planRuns, type Shard, shardRuns, type StudySpec } from "./spec.ts";

/** Progress events of a study. */
export interface StudyProgress {
  /** A run starts: its 0-based position among the runs to do now, and those still to come after it. */
  runStart?(info: { run: PlannedRun; index: number; total: number; next: PlannedRun[] }): void;
  /** An epoch of the current run ended. */
  epochEnd?(info: { run: PlannedRun; record: EpochRecord; epochs: number }): void;
  /** A run finished (ok or failed). */
  runEnd?(info: { run: PlannedRun; record: RunRecord; index: number; total: number }): void;
}

/** Options of {@linkcode runStudy}. */
export interface RunStudyOptions {
  /** Output folder (results, per-run checkpoints, report). */
  outDir: string;
  /** Backend shared by every run. */
  backend: Backend;
  /** Folder holding the MedMNIST `.npz` files (else env / cache). */
  dataDir?: string;
  /** Download the dataset when missing. */
  download?: boolean;
  /** Run only this shard. */
  shard?: Shard;
  /** Run recorded failures again (default: they count as done). */
  retryFailed?: boolean;
  /** Progress callbacks. */
  progress?: StudyProgress;
  /** Log lines (resume notices, warnings). */
  log?: (line: string) => void;
}

/** What {@linkcode runStudy} did. */
export interface StudyOutcome {
  /** Every record of the planned runs found in the results file(s) afterwards. */
  records: RunRecord[];
  /** Runs trained now. */
  ran: number;
  /** Runs skipped because they were already recorded. */
  skipped: number;
}

/** Results file of a shard, or of the whole study. */
export function resultsPath(outDir: string, shard?: Shard): string {
  return shard && shard.count > 1
    ? `${outDir}/results.shard-${shard.index}-of-${shard.count}.jsonl`
    : `${outDir}/results.jsonl`;
}

/**
 * Read a results file. A last line cut short by a crash is ignored with a
 * warning; any other bad line is an error naming the file and line.
 */
export async function readResults(
  path: string,
  options: { log?: (line: string) => void } = {},
): Promise<RunRecord[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
  const lines = text.split("\n");
  const records: RunRecord[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      records.push(JSON.parse(line) as RunRecord);
    } catch {
      const last = lines.slice(i + 1).every((l) => !l.trim());
      if (last && !text.endsWith("\n")) {
        options.log?.(`${path}: ignoring an unfinished last line (an interrupted write)`);
        return;
      }
      throw new Error(`${path}:${i + 1}: not a JSON run record; fix or delete that line`);
    }
  });
  return records;
}

/** Train every run of `spec` (or of one shard) that is not recorded yet. */
export async function runStudy(spec: StudySpec, options: RunStudyOptions): Promise<StudyOutcome> {
  const planned = planRuns(spec);
  const mine = options.shard ? shardRuns(planned, options.shard) : planned;
  const path = resultsPath(options.outDir, options.shard);
  await Deno.mkdir(options.outDir, { recursive: true });
  await atomicWriteFile(`${options.outDir}/study.json`, JSON.stringify(spec, null, 2) + "\n");
  const done = new Map<string, RunRecord>();
  for (const r of await readResults(path, options)) done.set(r.id, r);
  const todo = mine.filter((run) => {
    const prev = done.get(run.id);
    return !prev || (prev.status === "failed" && options.retryFailed);
  });
  const skipped = mine.length - todo.length;
  if (skipped) {
    options.log?.(`resuming: ${skipped} of ${mine.length} runs already recorded in ${path}`);
  }

  const data = todo.length ? await loadData(spec, options) : undefined;
  for (let i = 0; i < todo.length; i++) {
    const run = todo[i];
    options.progress?.runStart?.({ run, index: i, total: todo.length, next: todo.slice(i + 1) });
    const record = await executeRun(run, { ...options, data: data! });
    await appendLine(path, JSON.stringify(record));
    done.set(run.id, record);
    options.progress?.runEnd?.({ run, record, index: i, total: todo.length });
  }
  const ids = new Set(mine.map((r) => r.id));
  return { records: [...done.values()].filter((r) => ids.has(r.id)), ran: todo.length, skipped };
}

interface Splits {
  train: Dataset;
  val: Dataset;
  test: Dataset;
}

async function loadData(spec: StudySpec, options: RunStudyOptions): Promise<Splits> {
  return await loadMedMNISTSplits(spec.fixed.dataset, {
    root: options.dataDir,
    download: options.download,
  });
}

/** The model of a run's configuration. */
export function modelForRun(run: PlannedRun, numClasses: number): Model {
  const f = run.config.fixed;
  const common = {
    numClasses,
    inChannels: 3,
    imageSize: f.imageSize,
    dropRate: f.dropRate,
    dropPathRate: f.dropPathRate,
  };
  if (run.axes.backbone === "vit_tiny_patch16_224" || run.axes.backbone === "vit_tiny") {
    return createModel("vit_tiny_patch16_224", {
      ...common,
      patchSize: f.vitPatchSize ?? (f.imageSize >= 64 ? 16 : 4),
    });
  }
  return createModel(run.axes.backbone, common);
}

/** The LR schedule of a run's configuration. */
export function scheduleForRun(run: PlannedRun): LrSchedule {
  const f = run.config.fixed;
  switch (run.axes.schedule) {
    case "constant":
      return constant();
    case "cosine":
      return cosine();
    case "warmup_cosine":
      return warmupCosine({
        warmupEpochs: Math.max(1, Math.min(f.warmupEpochs, Math.floor(f.epochs / 3))),
      });
    default:
      throw new Error(`unknown schedule "${run.axes.schedule}"`);
  }
}

/** Folder of a run's checkpoints inside the study's output folder. */
export function runDir(outDir: string, run: PlannedRun): string {
  return `${outDir}/runs/${run.id}`;
}

/** Train, select and evaluate one run; never throws for a training failure (it is recorded). */
export async function executeRun(
  run: PlannedRun,
  options: RunStudyOptions & { data: Splits },
): Promise<RunRecord> {
  const t0 = performance.now();
  const f = run.config.fixed;
  const { train, val, test } = options.data;
  const dir = runDir(options.outDir, run);
  const base = {
    id: run.id,
    configId: run.configId,
    axes: run.axes,
    config: run.config as unknown as Record<string, unknown>,
    seed: run.seed,
    backend: options.backend.description,
    imageSize: f.imageSize,
    task: train.task,
    scoredAs: metricTaskOf(train.task, train.numClasses),
    taskNote: taskNote(train.task, train.numClasses),
    classNames: [...train.labelNames],
  };
  let trainer: Trainer | undefined;
  try {
    const model = modelForRun(run, train.numClasses);
    trainer = new Trainer(model, {
      backend: options.backend,
      optimizer: { name: "adamw", lr: f.lr, weightDecay: f.weightDecay },
      schedule: scheduleForRun(run),
      labelSmoothing: f.labelSmoothing,
      clipGradNorm: f.clipGradNorm,
      seed: run.seed,
      evalBatchSize: 64,
      log: options.log,
      logEpochs: false,
    });
    const pretrained = f.pretrained?.[run.axes.backbone];
    if (pretrained) await trainer.loadPretrained(pretrained);
    const fit = await trainer.fit(train, val, {
      epochs: f.epochs,
      batchSize: f.batchSize,
      augment: run.axes.augment as "none",
      earlyStopping: { patience: f.patience, minEpochs: Math.min(f.minEpochs, f.epochs) },
      maxStepsPerEpoch: f.maxStepsPerEpoch,
      checkpointDir: dir,
      onEpochEnd: ({ record }) => options.progress?.epochEnd?.({ run, record, epochs: f.epochs }),
    });
    const [trainEval, valEval, testEval] = [
      await trainer.evaluate(train),
      await trainer.evaluate(val),
      await trainer.evaluate(test),
    ];
    const binary = testEval.task === "binary";
    const scores = positiveScores(testEval);
    const roc = binary ? rocCurve(scores, testEval.labels) : undefined;
    const rocPerClass = rocCurvesPerClass(testEval.probs, testEval.labels, test.numClasses, {
      task: testEval.task,
    });
    await cleanRunDir(dir);
    return {
      ...base,
      status: "ok",
      epochsRun: fit.epochsRun,
      bestEpoch: fit.bestEpoch,
      history: fit.history,
      train: trainEval.metrics,
      val: valEval.metrics,
      test: testEval.metrics,
      testScores: binary ? Array.from(scores) : undefined,
      testLabels: binary ? Array.from(testEval.labels) : undefined,
      testProbs: binary ? undefined : Array.from(testEval.probs, (p) => Math.round(p * 1e6) / 1e6),
      testTargets: binary ? undefined : Array.from(testEval.labels),
      roc: roc ? { fpr: Array.from(roc.fpr), tpr: Array.from(roc.tpr) } : undefined,
      rocPerClass,
      gapAuc: trainEval.metrics.auc !== null && valEval.metrics.auc !== null
        ? trainEval.metrics.auc - valEval.metrics.auc
        : null,
      gapLoss: valEval.metrics.loss - trainEval.metrics.loss,
      seconds: (performance.now() - t0) / 1000,
      finishedAt: new Date().toISOString(),
    };
  } catch (err) {
    const history = err instanceof TrainingDivergedError ? err.history : trainer?.history ?? [];
    options.log?.(`run ${run.id} failed: ${(err as Error).message}`);
    return {
      ...base,
      status: "failed",
      error: (err as Error).message,
      epochsRun: history.length,
      bestEpoch: 0,
      history,
      seconds: (performance.now() - t0) / 1000,
      finishedAt: new Date().toISOString(),
    };
  } finally {
    await trainer?.dispose();
  }
}

/** Positive-class probability (binary) or the max probability per image. */
function positiveScores(e: Evaluation): Float64Array {
  const k = e.probs.length / e.labels.length;
  const out = new Float64Array(e.labels.length);
  for (let i = 0; i < out.length; i++) out[i] = k === 2 ? e.probs[i * 2 + 1] : e.probs[i * k];
  return out;
}

/** Keep a finished run's best weights; drop the resume state (weights + optimizer). */
async function cleanRunDir(dir: string): Promise<void> {
  for (const name of ["last.safetensors", "ema.safetensors"]) {
    await Deno.remove(`${dir}/${name}`).catch(() => {});
  }
}

/**
 * Combine `results.shard-*-of-*.jsonl` (and any existing `results.jsonl`)
 * into `results.jsonl`, one record per run id (the latest wins), written
 * atomically. Returns the merged records.
 */
export async function mergeShards(
  outDir: string,
  options: { log?: (line: string) => void } = {},
): Promise<RunRecord[]> {
  const merged = new Map<string, RunRecord>();
  const files: string[] = [];
  for await (const entry of Deno.readDir(outDir)) {
    if (entry.isFile && /^results\.shard-\d+-of-\d+\.jsonl$/.test(entry.name)) {
      files.push(entry.name);
    }
  }
  if (files.length === 0) {
    throw new Error(`merge: no results.shard-*-of-*.jsonl files in ${outDir}`);
  }
  files.sort();
  for (const name of ["results.jsonl", ...files]) {
    for (const r of await readResults(`${outDir}/${name}`, options)) merged.set(r.id, r);
  }
  const records = [...merged.values()];
  await atomicWriteFile(
    `${outDir}/results.jsonl`,
    records.map((r) => JSON.stringify(r)).join("\n") + "\n",
  );
  options.log?.(
    `merged ${files.length} shard file(s) into ${outDir}/results.jsonl (${records.length} runs)`,
  );
  return records;
}

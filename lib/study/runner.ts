/**
 * Runs a study: each planned run (configuration × seed) is trained,
 * evaluated at its best epoch and appended as one line to `results.jsonl`
 * (see `results_log.ts` for how appends survive crashes).
 * Rerunning resumes: finished runs (and recorded failures) are not repeated,
 * and a run interrupted mid-way continues from its last epoch checkpoint.
 * A failed run is recorded with its reason and the study goes on.
 *
 * Several workers may share one output folder: each run is claimed before it
 * trains (`claims.ts`), so every run is trained by one worker once; a worker
 * that finds the remaining runs claimed by live workers waits for them (and
 * takes over a run whose worker died). `--shard i/n` runs every n-th run into
 * its own results file; `mergeShards` combines them. `fresh` moves the
 * previous results aside into `previous-<time>/` and starts again.
 *
 * @module
 */

import type { Dataset } from "../data/dataset.ts";
import { loadMedMNISTSplits } from "../data/medmnist.ts";
import { rocCurve } from "../metrics/mod.ts";
import { metricTaskOf, taskNote } from "../metrics/task.ts";
import { createModel } from "../models/registry.ts";
import type { Model } from "../nn/model.ts";
import type { Backend } from "../runtime/backend.ts";
import { constant, cosine, type LrSchedule, warmupCosine } from "../train/schedules.ts";
import { rocCurvesPerClass } from "../train/evaluate.ts";
import { type Evaluation, Trainer, TrainingDivergedError } from "../train/trainer.ts";
import { atomicWriteFile, exists, fsyncDir } from "../util/fs.ts";
import {
  ClaimLostError,
  claimRun,
  DEFAULT_CLAIM_STALE_SECONDS,
  liveClaims,
  type RunClaim,
  sleep,
  withFileLock,
} from "./claims.ts";
import type { EpochRecord, RunRecord } from "../report/record.ts";
import { appendRecord, dedupeRecords, fileTimestamp, readResults } from "./results_log.ts";
import { type PlannedRun, planRuns, type Shard, shardRuns, type StudySpec } from "./spec.ts";

export { dedupeRecords, readResults };

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
  /** Output folder (results, per-run checkpoints, claims, report). */
  outDir: string;
  /** Backend shared by every run. */
  backend: Backend;
  /** Folder holding the MedMNIST `.npz` files (else env / cache). */
  dataDir?: string;
  /** Download the dataset when missing. */
  download?: boolean;
  /** Run only this shard. */
  shard?: Shard;
  /** Run failures recorded before this call again (default: they count as done). */
  retryFailed?: boolean;
  /**
   * Start afresh, destroying nothing: the previous results, checkpoints,
   * claims, report and `best/` are moved into `OUT/previous-<time>/` first
   * (with a shard: only that shard's results file, checkpoints and claims).
   */
  fresh?: boolean;
  /** A claim without a heartbeat for this many seconds is taken over (default 300). */
  claimStaleSeconds?: number;
  /** Heartbeat interval of a claim while its run trains, in seconds (default 30). */
  heartbeatSeconds?: number;
  /** How often to look again while other workers hold the remaining runs, in seconds (default 10). */
  pollSeconds?: number;
  /** Progress callbacks. */
  progress?: StudyProgress;
  /** Log lines (resume notices, warnings). */
  log?: (line: string) => void;
}

/** What {@linkcode runStudy} did. */
export interface StudyOutcome {
  /** One record per planned run (of the shard) found in the results file afterwards. */
  records: RunRecord[];
  /** Runs trained now by this worker. */
  ran: number;
  /** Runs skipped because they were already recorded when the study started. */
  skipped: number;
  /** Runs of this study (or shard) recorded as failed. */
  failed: number;
  /** Where `fresh` moved the previous study (absent when nothing was moved). */
  previousDir?: string;
}

/** Results file of a shard, or of the whole study. */
export function resultsPath(outDir: string, shard?: Shard): string {
  return shard && shard.count > 1
    ? `${outDir}/results.shard-${shard.index}-of-${shard.count}.jsonl`
    : `${outDir}/results.jsonl`;
}

/** A log function that says each distinct line once. */
function onceLog(log?: (line: string) => void): (line: string) => void {
  const said = new Set<string>();
  return (line) => {
    if (said.has(line)) return;
    said.add(line);
    log?.(line);
  };
}

/** Train every run of `spec` (or of one shard) that is not recorded yet. */
export async function runStudy(spec: StudySpec, options: RunStudyOptions): Promise<StudyOutcome> {
  const planned = planRuns(spec);
  const mine = options.shard ? shardRuns(planned, options.shard) : planned;
  const path = resultsPath(options.outDir, options.shard);
  const log = onceLog(options.log);
  await Deno.mkdir(options.outDir, { recursive: true });
  const previousDir = options.fresh
    ? await moveStudyAside(options.outDir, { shard: options.shard, runs: mine, log })
    : undefined;
  await atomicWriteFile(`${options.outDir}/study.json`, JSON.stringify(spec, null, 2) + "\n");

  const startedAt = new Date().toISOString();
  const needsRun = (rec: RunRecord | undefined) =>
    !rec || (rec.status === "failed" && !!options.retryFailed && rec.finishedAt < startedAt);
  const recorded = async () =>
    new Map((await readResults(path, { log })).map((r) => [r.id, r] as const));

  const initial = await recorded();
  const total = mine.filter((run) => needsRun(initial.get(run.id))).length;
  const skipped = mine.length - total;
  if (skipped) {
    log(`resuming: ${skipped} of ${mine.length} runs already recorded in ${path}`);
  }
  const staleSeconds = options.claimStaleSeconds ?? DEFAULT_CLAIM_STALE_SECONDS;
  const claimOptions = {
    staleSeconds,
    heartbeatSeconds: options.heartbeatSeconds,
    log,
  };

  let data: Splits | undefined;
  let ran = 0;
  while (true) {
    const done = await recorded();
    const pending = mine.filter((run) => needsRun(done.get(run.id)));
    if (!pending.length) break;
    let progressed = false;
    for (let p = 0; p < pending.length; p++) {
      const run = pending[p];
      const claim = await claimRun(options.outDir, run.id, claimOptions);
      if (!claim) continue;
      try {
        // Another worker may have finished it since we looked.
        if (!needsRun((await recorded()).get(run.id))) continue;
        data ??= await loadData(spec, options);
        const index = ran;
        options.progress?.runStart?.({
          run,
          index,
          total: Math.max(total, index + 1),
          next: pending.slice(p + 1),
        });
        claim.startHeartbeat();
        const record = await executeRun(run, { ...options, data, claim });
        if (!(await claim.verify())) claim.throwIfLost();
        await appendRecord(path, record, { log });
        if (record.status === "ok") await cleanRunDir(runDir(options.outDir, run));
        ran++;
        progressed = true;
        options.progress?.runEnd?.({ run, record, index, total: Math.max(total, index + 1) });
      } catch (err) {
        if (!(err instanceof ClaimLostError)) throw err;
        log(`${err.message}; leaving it to that worker`);
      } finally {
        await claim.release();
      }
    }
    if (!progressed) {
      const ids = pending.map((r) => r.id);
      const held = await liveClaims(options.outDir, ids, staleSeconds);
      const who = [...new Set(held.map((c) => `${c.owner.host}:${c.owner.pid}`))].join(", ");
      log(
        `waiting for ${pending.length} run(s) claimed by other workers (${who || "ending"}) ` +
          `in ${options.outDir}/claims/`,
      );
      await sleep((options.pollSeconds ?? 10) * 1000);
    }
  }
  const ids = new Set(mine.map((r) => r.id));
  const records = [...(await recorded()).values()].filter((r) => ids.has(r.id));
  return {
    records,
    ran,
    skipped,
    failed: records.filter((r) => r.status === "failed").length,
    ...(previousDir ? { previousDir } : {}),
  };
}

/** Files and folders of a study's output (besides earlier `previous-*` folders). */
const STUDY_ENTRIES = [
  "study.json",
  "runs",
  "claims",
  "best",
  "charts",
  "results.csv",
  "results.md",
  "report.html",
  "augment_grid.png",
];

/**
 * Move a study's results, checkpoints, claims, report and `best/` into
 * `outDir/previous-<time>/` (nothing is deleted). With `shard`, only that
 * shard's results file and its runs' checkpoints and claims move. Returns the
 * folder, or undefined when there was nothing to move.
 */
export async function moveStudyAside(
  outDir: string,
  options: { shard?: Shard; runs?: readonly PlannedRun[]; log?: (line: string) => void } = {},
): Promise<string | undefined> {
  const names: string[] = [];
  const sharded = options.shard && options.shard.count > 1;
  if (sharded) {
    const file = resultsPath(outDir, options.shard).slice(outDir.length + 1);
    names.push(file);
    for (const run of options.runs ?? []) {
      names.push(`runs/${run.id}`, `claims/${run.id}.json`);
    }
    for await (const e of Deno.readDir(outDir)) {
      if (e.name.startsWith(`${file}.torn-`)) names.push(e.name);
    }
  } else {
    names.push(...STUDY_ENTRIES);
    for await (const e of Deno.readDir(outDir)) {
      if (/^results.*\.jsonl/.test(e.name) && !e.name.endsWith(".lock")) names.push(e.name);
    }
  }
  const present: string[] = [];
  for (const name of names) if (await exists(`${outDir}/${name}`)) present.push(name);
  if (!present.length) return undefined;
  let dest = `${outDir}/previous-${fileTimestamp()}`;
  while (await exists(dest)) dest += "-1";
  await withFileLock(`${resultsPath(outDir, options.shard)}.lock`, async () => {
    for (const name of present) {
      const slash = name.lastIndexOf("/");
      if (slash > 0) await Deno.mkdir(`${dest}/${name.slice(0, slash)}`, { recursive: true });
      else await Deno.mkdir(dest, { recursive: true });
      await Deno.rename(`${outDir}/${name}`, `${dest}/${name}`);
    }
  });
  await fsyncDir(outDir);
  options.log?.(
    `starting afresh: moved the previous ${present.length > 3 ? "study" : present.join(", ")} ` +
      `into ${dest}/ (nothing was deleted)`,
  );
  return dest;
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
    case "warmup_cosine": {
      const warmup = Math.max(1, Math.min(f.warmupEpochs, Math.floor(f.epochs / 3)));
      // A one-epoch budget (smoke tests) warms up for a third of it, not all of it.
      return warmupCosine({ warmupEpochs: warmup < f.epochs ? warmup : f.epochs / 3 });
    }
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
  options: RunStudyOptions & { data: Splits; claim?: RunClaim },
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
      onEpochEnd: ({ record }) => {
        options.claim?.throwIfLost();
        options.progress?.epochEnd?.({ run, record, epochs: f.epochs });
      },
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
    if (err instanceof ClaimLostError) throw err;
    const history = err instanceof TrainingDivergedError ? err.history : trainer?.history ?? [];
    const diverged = err instanceof TrainingDivergedError ? divergencePoint(err) : undefined;
    const message = (err as Error).message;
    const error = diverged
      ? `diverged at epoch ${diverged.epoch}, step ${diverged.step}: ${
        message.replace(/^training diverged( at epoch \d+, step \d+)?:\s*/, "")
      }`
      : message;
    options.log?.(`run ${run.id} failed: ${error}`);
    return {
      ...base,
      status: "failed",
      error,
      ...(diverged ? { divergedAt: diverged } : {}),
      epochsRun: err instanceof TrainingDivergedError ? err.completedEpochs : history.length,
      bestEpoch: 0,
      history,
      seconds: (performance.now() - t0) / 1000,
      finishedAt: new Date().toISOString(),
    };
  } finally {
    await trainer?.dispose();
  }
}

/** Where training diverged. */
function divergencePoint(err: TrainingDivergedError): { epoch: number; step: number } {
  return { epoch: err.epoch, step: err.step };
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
 * into `results.jsonl`, one record per run id ({@linkcode dedupeRecords}: ok
 * over failed, else the latest), written atomically under the results lock.
 * Returns the merged records.
 */
export async function mergeShards(
  outDir: string,
  options: { log?: (line: string) => void } = {},
): Promise<RunRecord[]> {
  const files: string[] = [];
  try {
    for await (const entry of Deno.readDir(outDir)) {
      if (entry.isFile && /^results\.shard-\d+-of-\d+\.jsonl$/.test(entry.name)) {
        files.push(entry.name);
      }
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    throw new Error(`merge: the folder ${outDir} does not exist; pass the --out of the shards`);
  }
  if (files.length === 0) {
    throw new Error(
      `merge: no results.shard-*-of-*.jsonl files in ${outDir}; run the shards (--shard i/n) first`,
    );
  }
  files.sort();
  const target = resultsPath(outDir);
  return await withFileLock(`${target}.lock`, async () => {
    const all: RunRecord[] = [];
    for (const name of ["results.jsonl", ...files]) {
      all.push(...await readResults(`${outDir}/${name}`, { ...options, keepDuplicates: true }));
    }
    // The same line in results.jsonl (an earlier merge) and in its shard file is no duplicate.
    const seen = new Set<string>();
    const distinct = all.filter((r) => {
      const key = JSON.stringify(r);
      return seen.has(key) ? false : (seen.add(key), true);
    });
    const records = dedupeRecords(distinct, { log: options.log, source: `merge of ${outDir}` });
    await atomicWriteFile(target, records.map((r) => JSON.stringify(r) + "\n").join(""));
    options.log?.(
      `merged ${files.length} shard file(s) into ${target} (${records.length} runs)`,
    );
    return records;
  });
}

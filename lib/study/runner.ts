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
import { architectureInfo, createModel } from "../models/registry.ts";
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
import {
  backboneOptions,
  type PlannedRun,
  planRuns,
  type Shard,
  shardRuns,
  type StudySpec,
} from "./spec.ts";
import { limitDataset } from "./subset.ts";

export { dedupeRecords, readResults };

/** What {@linkcode StudyProgress.runStart} is told. */
export interface RunStartInfo {
  /** The run. */
  run: PlannedRun;
  /** Its 0-based position among the runs this worker does now. */
  index: number;
  /** Runs to do now (at least `index + 1`). */
  total: number;
  /**
   * The runs this worker may still train after it: those of its pass not
   * recorded and not claimed by another live worker when this run starts
   * (what a study ETA should count).
   */
  next: PlannedRun[];
  /** The runs other live workers on this folder are training meanwhile (from their claims). */
  others?: InFlightRun[];
}

/** A run another live worker is training, read from its claim. */
export interface InFlightRun {
  /** The run. */
  run: PlannedRun;
  /** When that worker claimed it (milliseconds since the Unix epoch). */
  startedAt: number;
}

/** What a worker's study ETA counts besides its own run, looked up from results and claims. */
export interface StudyOutlook {
  /** The runs this worker may still train after its current one. */
  next: PlannedRun[];
  /** The runs other live workers are training meanwhile. */
  others: InFlightRun[];
}

/** What {@linkcode StudyProgress.epochEnd} is told. */
export interface EpochEndInfo {
  /** The run. */
  run: PlannedRun;
  /** The epoch's record. */
  record: EpochRecord;
  /** The run's epoch budget. */
  epochs: number;
  /**
   * The runs this worker may still train after this one, as of this epoch's
   * end (absent: as {@linkcode RunStartInfo.next} said).
   */
  next?: PlannedRun[];
  /** The runs other live workers are training, as of this epoch's end. */
  others?: InFlightRun[];
}

/** What {@linkcode StudyProgress.runEnd} is told. */
export interface RunEndInfo {
  /** The run. */
  run: PlannedRun;
  /** Its record (ok or failed), as appended. */
  record: RunRecord;
  /** Its 0-based position among the runs this worker does now. */
  index: number;
  /** Runs to do now (at least `index + 1`). */
  total: number;
}

/** Progress events of a study. */
export interface StudyProgress {
  /** A run starts: its 0-based position among the runs to do now, and those still to come after it. */
  runStart?(info: RunStartInfo): void;
  /** An epoch of the current run ended. */
  epochEnd?(info: EpochEndInfo): void;
  /** A run finished (ok or failed). */
  runEnd?(info: RunEndInfo): void;
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
  /**
   * Return once every run still to do is claimed by another live worker,
   * instead of waiting for them (the worker processes of `--workers`, whose
   * parent waits for all of them and writes the report).
   */
  leaveClaimedRuns?: boolean;
  /**
   * Asked after each epoch of a run with at least two epochs still to go: a
   * backend with more threads to continue it on (the cores of a worker that
   * has finished), or undefined to go on as it is. The run then stops at that
   * epoch's checkpoint and resumes from it on the new backend, which the
   * worker's later runs use too. (The `--workers` processes: see
   * `workers.ts`. The cpu backend's programs give the same numbers on one
   * thread and two, so the run's history does not change.)
   */
  moreThreads?: () => Promise<Backend | undefined>;
  /** Progress callbacks. */
  progress?: StudyProgress;
  /** Log lines (resume notices, warnings). */
  log?: (line: string) => void;
}

/** Thrown at an epoch's end to continue the run on `backend` (see `RunStudyOptions.moreThreads`). */
class MoveToBackend extends Error {
  constructor(readonly backend: Backend, readonly epoch: number) {
    super(`continue on ${backend.description} after epoch ${epoch}`);
  }
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
  const log = onceLog(options.log);
  await Deno.mkdir(options.outDir, { recursive: true });
  const previousDir = options.fresh
    ? await moveStudyAside(options.outDir, { shard: options.shard, runs: mine, log })
    : undefined;
  await atomicWriteFile(`${options.outDir}/study.json`, JSON.stringify(spec, null, 2) + "\n");

  const worker = new StudyWorker(spec, options, mine, log);
  const skipped = await worker.countTodo();
  while (true) {
    const pending = await worker.pending();
    if (!pending.length) break;
    if (await worker.runPass(pending)) continue;
    if (options.leaveClaimedRuns) break;
    await worker.waitForOthers(pending);
  }
  const ids = new Set(mine.map((r) => r.id));
  const records = [...(await worker.recorded()).values()].filter((r) => ids.has(r.id));
  return {
    records,
    ran: worker.ran,
    skipped,
    failed: records.filter((r) => r.status === "failed").length,
    ...(previousDir ? { previousDir } : {}),
  };
}

/**
 * One worker's pass through a study: which runs still need training (read
 * from the results file each time, as other workers append to it), claiming
 * and training them one at a time, and waiting while others hold the rest.
 */
class StudyWorker {
  /** Runs trained by this worker. */
  ran = 0;
  readonly #spec: StudySpec;
  readonly #options: RunStudyOptions;
  readonly #mine: readonly PlannedRun[];
  readonly #log: (line: string) => void;
  readonly #path: string;
  readonly #startedAt = new Date().toISOString();
  readonly #staleSeconds: number;
  #total = 0;
  #data?: StudySplits;
  /** The backend runs train on (a later one after `moreThreads`). */
  #backend: Backend;

  constructor(
    spec: StudySpec,
    options: RunStudyOptions,
    mine: readonly PlannedRun[],
    log: (line: string) => void,
  ) {
    this.#spec = spec;
    this.#options = options;
    this.#mine = mine;
    this.#log = log;
    this.#path = resultsPath(options.outDir, options.shard);
    this.#staleSeconds = options.claimStaleSeconds ?? DEFAULT_CLAIM_STALE_SECONDS;
    this.#backend = options.backend;
  }

  /** The records in the results file, by run id (its warnings to `log`, default the study's). */
  async recorded(log: (line: string) => void = this.#log): Promise<Map<string, RunRecord>> {
    const records = await readResults(this.#path, { log });
    return new Map(records.map((r) => [r.id, r] as const));
  }

  /**
   * What a study ETA counts besides `run`: of `next`, the runs this worker
   * may still train (not recorded in `done`, not held by another live
   * worker), and the runs other live workers hold, with when they took them.
   */
  async #outlook(
    run: PlannedRun,
    next: readonly PlannedRun[],
    done: Map<string, RunRecord>,
  ): Promise<StudyOutlook> {
    const open = new Map(
      this.#mine.filter((r) => r.id !== run.id && this.#needsRun(done.get(r.id)))
        .map((r) => [r.id, r] as const),
    );
    const claims = await liveClaims(this.#options.outDir, [...open.keys()], this.#staleSeconds);
    const others = claims.flatMap((c) => {
      const held = open.get(c.owner.runId ?? "");
      // A claim that does not say when it was made counts as made now.
      const startedAt = Date.parse(c.owner.startedAt);
      return held
        ? [{ run: held, startedAt: Number.isFinite(startedAt) ? startedAt : Date.now() }]
        : [];
    });
    const heldIds = new Set(others.map((o) => o.run.id));
    return {
      next: next.filter((r) => this.#needsRun(done.get(r.id)) && !heldIds.has(r.id)),
      others,
    };
  }

  /** Whether a run with this record (if any) still needs training. */
  #needsRun(rec: RunRecord | undefined): boolean {
    return !rec ||
      (rec.status === "failed" && !!this.#options.retryFailed && rec.finishedAt < this.#startedAt);
  }

  /** Count the runs to do at the start; returns those already recorded (and says so). */
  async countTodo(): Promise<number> {
    this.#total = (await this.pending()).length;
    const skipped = this.#mine.length - this.#total;
    if (skipped) {
      this.#log(
        `resuming: ${skipped} of ${this.#mine.length} runs already recorded in ${this.#path}`,
      );
    }
    return skipped;
  }

  /** The runs that still need training. */
  async pending(): Promise<PlannedRun[]> {
    const done = await this.recorded();
    return this.#mine.filter((run) => this.#needsRun(done.get(run.id)));
  }

  /** Claim and train each of `pending` that no live worker holds; whether any was trained. */
  async runPass(pending: readonly PlannedRun[]): Promise<boolean> {
    let progressed = false;
    for (let p = 0; p < pending.length; p++) {
      const claim = await claimRun(this.#options.outDir, pending[p].id, {
        staleSeconds: this.#staleSeconds,
        heartbeatSeconds: this.#options.heartbeatSeconds,
        log: this.#log,
      });
      if (!claim) continue;
      try {
        if (await this.#trainClaimed(pending[p], claim, pending.slice(p + 1))) progressed = true;
      } catch (err) {
        if (!(err instanceof ClaimLostError)) throw err;
        this.#log(`${err.message}; leaving it to that worker`);
      } finally {
        await claim.release();
      }
    }
    return progressed;
  }

  /** Train a claimed run and append its record; false when another worker finished it first. */
  async #trainClaimed(run: PlannedRun, claim: RunClaim, next: PlannedRun[]): Promise<boolean> {
    // Another worker may have finished it since we looked.
    const done = await this.recorded();
    if (!this.#needsRun(done.get(run.id))) return false;
    const options = this.#options;
    this.#data ??= await loadData(this.#spec, options);
    const index = this.ran;
    const total = Math.max(this.#total, index + 1);
    options.progress?.runStart?.({ run, index, total, ...await this.#outlook(run, next, done) });
    claim.startHeartbeat();
    const record = await executeRun(run, {
      ...options,
      backend: this.#backend,
      data: this.#data,
      claim,
      onBackend: (backend) => this.#backend = backend,
      // Quietly: a torn last line was already reported when the pass began.
      outlook: async () => await this.#outlook(run, next, await this.recorded(() => {})),
    });
    if (!(await claim.verify())) claim.throwIfLost();
    await appendRecord(this.#path, record, { log: this.#log });
    if (record.status === "ok") await cleanRunDir(runDir(options.outDir, run));
    this.ran++;
    options.progress?.runEnd?.({ run, record, index, total });
    return true;
  }

  /** Say who holds the remaining runs, then wait a poll interval. */
  async waitForOthers(pending: readonly PlannedRun[]): Promise<void> {
    const { outDir } = this.#options;
    const held = await claimedByOthers(outDir, pending.map((r) => r.id), this.#staleSeconds);
    this.#log(held.line);
    await sleep((this.#options.pollSeconds ?? 10) * 1000);
  }
}

/** How many of `runIds` live workers hold, and the line that says who, for a worker about to wait. */
export async function claimedByOthers(
  outDir: string,
  runIds: readonly string[],
  staleSeconds: number = DEFAULT_CLAIM_STALE_SECONDS,
): Promise<{ held: number; line: string }> {
  const held = await liveClaims(outDir, runIds, staleSeconds);
  const who = [...new Set(held.map((c) => `${c.owner.host}:${c.owner.pid}`))].join(", ");
  return {
    held: held.length,
    line: `waiting for ${runIds.length} run(s) claimed by other workers (${who || "ending"}) ` +
      `in ${outDir}/claims/`,
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

/** Options of {@linkcode moveStudyAside}. */
export interface MoveAsideOptions {
  /** Move only this shard's results file and its runs' checkpoints and claims. */
  shard?: Shard;
  /** The shard's runs (with `shard`). */
  runs?: readonly PlannedRun[];
  /** Log line saying what moved where. */
  log?: (line: string) => void;
}

/**
 * Move a study's results, checkpoints, claims, report and `best/` into
 * `outDir/previous-<time>/` (nothing is deleted). With `shard`, only that
 * shard's results file and its runs' checkpoints and claims move. Returns the
 * folder, or undefined when there was nothing to move.
 */
export async function moveStudyAside(
  outDir: string,
  options: MoveAsideOptions = {},
): Promise<string | undefined> {
  const names = await studyEntries(outDir, options);
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

/** The names (relative to `outDir`) that {@linkcode moveStudyAside} moves, present or not. */
async function studyEntries(outDir: string, options: MoveAsideOptions): Promise<string[]> {
  const names: string[] = [];
  if (options.shard && options.shard.count > 1) {
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
  return names;
}

/** The three splits a study's runs train, select and test on. */
export interface StudySplits {
  /** Training split. */
  train: Dataset;
  /** Validation split (early stopping, best epoch). */
  val: Dataset;
  /** Test split (reported metrics). */
  test: Dataset;
}

/** The study's splits, each cut to `fixed.limitImages` when set ({@linkcode limitDataset}). */
async function loadData(spec: StudySpec, options: RunStudyOptions): Promise<StudySplits> {
  const { train, val, test } = await loadMedMNISTSplits(spec.fixed.dataset, {
    root: options.dataDir,
    download: options.download,
  });
  const limit = spec.fixed.limitImages;
  if (limit === undefined) return { train, val, test };
  return {
    train: limitDataset(train, limit),
    val: limitDataset(val, limit),
    test: limitDataset(test, limit),
  };
}

/** The model of a run's configuration (the registry's backbone with the study's options). */
export function modelForRun(run: PlannedRun, numClasses: number): Model {
  return createModel(
    run.axes.backbone,
    backboneOptions(run.axes.backbone, run.config.fixed, numClasses),
  );
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

/** Options of {@linkcode executeRun}. */
export interface ExecuteRunOptions extends RunStudyOptions {
  /** The study's splits (already cut to `fixed.limitImages`). */
  data: StudySplits;
  /** The run's claim: checked after each epoch, so a run taken over stops. */
  claim?: RunClaim;
  /** Told when the run moves to another backend ({@linkcode RunStudyOptions.moreThreads}). */
  onBackend?: (backend: Backend) => void;
  /**
   * The study's outlook besides this run, looked up again after each epoch
   * for {@linkcode EpochEndInfo.next} and {@linkcode EpochEndInfo.others}
   * (other workers claim and finish runs meanwhile).
   */
  outlook?: () => Promise<StudyOutlook>;
}

/** The fields of a run's record that do not depend on how it went. */
type RecordBase = Pick<
  RunRecord,
  | "id"
  | "configId"
  | "axes"
  | "config"
  | "seed"
  | "backend"
  | "imageSize"
  | "task"
  | "scoredAs"
  | "taskNote"
  | "classNames"
>;

/** Train, select and evaluate one run; never throws for a training failure (it is recorded). */
export async function executeRun(run: PlannedRun, options: ExecuteRunOptions): Promise<RunRecord> {
  const t0 = performance.now();
  let trainer: Trainer | undefined;
  try {
    while (true) {
      trainer = trainerForRun(run, options);
      try {
        const ok = await trainAndEvaluate(run, trainer, options);
        return {
          ...recordBase(run, options),
          ...ok,
          seconds: (performance.now() - t0) / 1000,
          finishedAt: new Date().toISOString(),
        };
      } catch (err) {
        if (!(err instanceof MoveToBackend)) throw err;
        // The epoch's checkpoint is on disk (fit flushes it): resume from it there.
        await trainer.dispose();
        trainer = undefined;
        options = { ...options, backend: err.backend };
        options.onBackend?.(err.backend);
        options.log?.(
          `${run.id}: continuing from epoch ${err.epoch} on ${err.backend.description} ` +
            `(a worker's cores were freed)`,
        );
      }
    }
  } catch (err) {
    if (err instanceof ClaimLostError) throw err;
    const failed = failedFields(err, trainer);
    options.log?.(`run ${run.id} failed: ${failed.error}`);
    return {
      ...recordBase(run, options),
      ...failed,
      seconds: (performance.now() - t0) / 1000,
      finishedAt: new Date().toISOString(),
    };
  } finally {
    await trainer?.dispose();
  }
}

/** The record fields known before training: ids, configuration, backend, task. */
function recordBase(run: PlannedRun, options: ExecuteRunOptions): RecordBase {
  const { train } = options.data;
  return {
    id: run.id,
    configId: run.configId,
    axes: run.axes,
    config: run.config as unknown as Record<string, unknown>,
    seed: run.seed,
    backend: options.backend.description,
    imageSize: run.config.fixed.imageSize,
    task: train.task,
    scoredAs: metricTaskOf(train.task, train.numClasses),
    taskNote: taskNote(train.task, train.numClasses),
    classNames: [...train.labelNames],
  };
}

/** The trainer of a run: AdamW, its schedule, the fixed regularization, its seed. */
function trainerForRun(run: PlannedRun, options: ExecuteRunOptions): Trainer {
  const f = run.config.fixed;
  return new Trainer(modelForRun(run, options.data.train.numClasses), {
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
}

/** Fields of a run's record that depend on its outcome. */
type OutcomeFields = Omit<RunRecord, keyof RecordBase | "seconds" | "finishedAt">;

/**
 * Load the pretrained weights (if any), fit with early stopping and
 * checkpoints, then evaluate the best epoch's weights on every split.
 */
async function trainAndEvaluate(
  run: PlannedRun,
  trainer: Trainer,
  options: ExecuteRunOptions,
): Promise<OutcomeFields> {
  const f = run.config.fixed;
  const { train, val, test } = options.data;
  const pretrained = f.pretrained?.[run.axes.backbone];
  if (pretrained) await trainer.loadPretrained(pretrained);
  const fit = await trainer.fit(train, val, {
    epochs: f.epochs,
    batchSize: f.batchSize,
    augment: run.axes.augment,
    normalize: architectureInfo(run.axes.backbone).normalization,
    earlyStopping: { patience: f.patience, minEpochs: Math.min(f.minEpochs, f.epochs) },
    maxStepsPerEpoch: f.maxStepsPerEpoch,
    checkpointDir: runDir(options.outDir, run),
    onEpochEnd: async ({ record }) => {
      options.claim?.throwIfLost();
      if (options.progress?.epochEnd) {
        // For the ETA only: a lookup that fails leaves the last list, not the run.
        const outlook = await options.outlook?.().catch(() => undefined);
        options.progress.epochEnd({ run, record, epochs: f.epochs, ...outlook });
      }
      if (options.moreThreads && f.epochs - record.epoch >= 2) {
        // An offer: when it cannot be taken up, the run goes on where it is.
        const backend = await options.moreThreads().catch((err) => {
          options.log?.(`${run.id}: staying on ${options.backend.description} (${err.message})`);
          return undefined;
        });
        if (backend) throw new MoveToBackend(backend, record.epoch);
      }
    },
  });
  const [trainEval, valEval, testEval] = [
    await trainer.evaluate(train),
    await trainer.evaluate(val),
    await trainer.evaluate(test),
  ];
  return {
    status: "ok",
    epochsRun: fit.epochsRun,
    bestEpoch: fit.bestEpoch,
    history: fit.history,
    train: trainEval.metrics,
    val: valEval.metrics,
    test: testEval.metrics,
    ...testOutputs(testEval, test.numClasses),
    gapAuc: trainEval.metrics.auc !== null && valEval.metrics.auc !== null
      ? trainEval.metrics.auc - valEval.metrics.auc
      : null,
    gapLoss: valEval.metrics.loss - trainEval.metrics.loss,
  };
}

/** The test set's per-image outputs and ROC curves, as the record keeps them. */
function testOutputs(testEval: Evaluation, numClasses: number): Partial<OutcomeFields> {
  const binary = testEval.task === "binary";
  const scores = positiveScores(testEval);
  const roc = binary ? rocCurve(scores, testEval.labels) : undefined;
  const rocPerClass = rocCurvesPerClass(testEval.probs, testEval.labels, numClasses, {
    task: testEval.task,
  });
  return {
    testScores: binary ? Array.from(scores) : undefined,
    testLabels: binary ? Array.from(testEval.labels) : undefined,
    testProbs: binary ? undefined : Array.from(testEval.probs, (p) => Math.round(p * 1e6) / 1e6),
    testTargets: binary ? undefined : Array.from(testEval.labels),
    roc: roc ? { fpr: Array.from(roc.fpr), tpr: Array.from(roc.tpr) } : undefined,
    rocPerClass,
  };
}

/** The outcome fields of a failed run: why, where it diverged, the history so far. */
function failedFields(
  err: unknown,
  trainer: Trainer | undefined,
): OutcomeFields & { error: string } {
  const history = err instanceof TrainingDivergedError ? err.history : trainer?.history ?? [];
  const diverged = err instanceof TrainingDivergedError ? divergencePoint(err) : undefined;
  const message = (err as Error).message;
  const error = diverged
    ? `diverged at epoch ${diverged.epoch}, step ${diverged.step}: ${
      message.replace(/^training diverged( at epoch \d+, step \d+)?:\s*/, "")
    }`
    : message;
  return {
    status: "failed",
    error,
    ...(diverged ? { divergedAt: diverged } : {}),
    epochsRun: err instanceof TrainingDivergedError ? err.completedEpochs : history.length,
    bestEpoch: 0,
    history,
  };
}

/** Where training diverged. */
function divergencePoint(err: TrainingDivergedError): { epoch: number; step: number } {
  return { epoch: err.epoch, step: err.step };
}

/**
 * The score per test image that the record keeps as `testScores`: with two
 * classes, the probability of class 1 (the positive class); otherwise the
 * probability of class 0 (only binary records keep them).
 */
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

/** Options of {@linkcode mergeShards}. */
export interface MergeShardsOptions {
  /** Log lines: dropped duplicates, and what was merged into which file. */
  log?: (line: string) => void;
}

/**
 * Combine `results.shard-*-of-*.jsonl` (and any existing `results.jsonl`)
 * into `results.jsonl`, one record per run id ({@linkcode dedupeRecords}: ok
 * over failed, else the latest), written atomically under the results lock.
 * Returns the merged records.
 */
export async function mergeShards(
  outDir: string,
  options: MergeShardsOptions = {},
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

/**
 * The `deno task ablate` command: flags → plan → data (downloaded when
 * missing) → runs → report. {@linkcode runCli} returns the exit status: 0
 * done, 1 a runtime failure (or a failed run), 2 a usage error. Normal
 * output (plan, progress, results) goes to stdout; an error is one or two
 * lines on stderr in the command's own terms (`--data`, `--offline`, the
 * cache path), with a stack trace only under `--verbose` or
 * `MEDTUNE_DEBUG=1`.
 *
 * @module
 */

import {
  ChecksumError,
  DownloadError,
  loadMedMNIST,
  type LoadMedMNISTOptions,
  locateMedMNIST,
  MEDMNIST_INFO,
  medmnistDownloadUrl,
  medmnistSearchDirs,
} from "../data/medmnist.ts";
import { DataError } from "../data/errors.ts";
import type { ModelName } from "../models/registry.ts";
import type { Backend } from "../runtime/backend.ts";
import { createBackend } from "../runtime/select.ts";
import {
  CliError,
  cliHelp,
  type CliOptions,
  parseCliArgs,
  studyFromOptions,
  studySizes,
} from "./cli_options.ts";
import { createDownloadProgress } from "./download_progress.ts";
import { finalizeStudy } from "./finalize.ts";
import { estimateRunSeconds, planStudy, planStudyMeasured, type Throughput } from "./plan.ts";
import { createProgressPrinter, formatDuration } from "./progress.ts";
import {
  claimedByOthers,
  mergeShards,
  moveStudyAside,
  readResults,
  resultsPath,
  runStudy,
} from "./runner.ts";
import type { RunRecord } from "../report/record.ts";
import { type PlannedRun, planRuns, shardRuns, type StudySpec } from "./spec.ts";
import { measurementShares, type ReportedThroughput, runWorkerProcesses } from "./workers.ts";
import { sleep } from "./claims.ts";

export { CliError, cliHelp, type CliOptions, parseCliArgs, studyFromOptions };

/** Where the command writes, and test hooks for downloads. */
export interface CliIo {
  /** Normal output, as written: lines end in `\n`, redrawn lines start with `\r` (default: stdout). */
  out?: (text: string) => void;
  /** Error lines (default: stderr). */
  err?: (text: string) => void;
  /** Whether stdout is a terminal: progress is redrawn in place (default: asked of Deno). */
  tty?: boolean;
  /** Download hooks (mirror URL, md5 override, fetch) passed to the data layer. */
  download?: Pick<LoadMedMNISTOptions, "fetch" | "baseUrl" | "md5">;
}

interface Io {
  /** Write a line (a newline is added when missing). */
  out: (line: string) => void;
  /** Write text as is (progress redraws). */
  raw: (text: string) => void;
  err: (line: string) => void;
  tty: boolean;
  download: CliIo["download"];
}

function resolveIo(io: CliIo): Io {
  const enc = new TextEncoder();
  const raw = io.out ?? ((t: string) => Deno.stdout.writeSync(enc.encode(t)));
  const rawErr = io.err ?? ((t: string) => Deno.stderr.writeSync(enc.encode(t)));
  const line = (w: (t: string) => void) => (l: string) => w(l.endsWith("\n") ? l : l + "\n");
  return {
    out: line(raw),
    raw,
    err: line(rawErr),
    tty: io.tty ?? Deno.stdout.isTerminal(),
    download: io.download,
  };
}

/**
 * Run `deno task ablate` with `args`; returns the exit status (0, 1 or 2).
 * Never throws: every error is printed as one or two lines.
 */
export async function runCli(args: string[], io: CliIo = {}): Promise<number> {
  const sink = resolveIo(io);
  // Known before parsing, so that a flag error also shows its stack under --verbose.
  let verbose = args.includes("--verbose") || Deno.env.get("MEDTUNE_DEBUG") === "1";
  try {
    const opts = parseCliArgs(args);
    verbose = opts.verbose;
    if (opts.help) {
      sink.out(cliHelp());
      return 0;
    }
    return await execute(opts, sink);
  } catch (err) {
    const { message, exitCode } = describeError(err);
    sink.err(`medtune: ${message}`);
    if (exitCode === 2) {
      sink.err("usage: deno task ablate [flags]; deno task ablate --help lists them");
    }
    if (verbose) sink.err(String((err as Error)?.stack ?? err));
    return exitCode;
  }
}

async function execute(opts: CliOptions, io: Io): Promise<number> {
  await checkCliPaths(opts);
  // Check the flags against the CPU defaults before starting a backend.
  studyFromOptions(opts, "cpu");
  // The data comes first (found, else downloaded), so a missing file stops the command
  // before anything starts; only --plan needs none.
  if (!opts.plan) await ensureDataset(opts, io);
  const cores = navigator.hardwareConcurrency ?? 1;
  let backend = await createBackend(opts.backend, {
    threads: opts.threads,
    verbose: opts.verbose,
    log: io.out,
  });
  try {
    const spec = studyFromOptions(opts, backend.name);
    if (opts.merge || opts.reportOnly) return await reportOnly(spec, opts, backend, io);
    const runs = await commandRuns(spec, opts, io);
    const todo = runs.mine.filter((r) => !runs.doneIds.has(r.id)).length;
    const workers = workerCount(opts, backend.name, todo, cores);
    const threads = opts.threads ?? Math.max(1, Math.floor(cores / workers));
    const share = { workers, threads, runs };
    if (workers > 1 && threads !== (opts.threads ?? cores)) {
      // The plan describes (and with --plan measures) what each worker runs with.
      await backend.destroy().catch(() => {});
      backend = await createBackend("cpu", { threads, verbose: opts.verbose, log: io.out });
    }
    // Workers time the backbones themselves, side by side, before they train.
    if (workers > 1 && !opts.plan) return await trainInWorkers(spec, opts, backend, io, share);
    const throughput = await printPlan(spec, opts, backend, io, share);
    if (opts.plan) return 0;
    return await train(spec, opts, backend, io, throughput);
  } finally {
    await backend.destroy().catch(() => {});
  }
}

/** This command's planned runs and which of them count as done. */
interface CommandRuns {
  /** The planned runs of this command (its shard's with `--shard`). */
  mine: PlannedRun[];
  /** Ids recorded already (failures too, unless `--retry-failed`; none with `--no-resume`). */
  doneIds: Set<string>;
}

/** The planned runs of this command and those recorded already. */
async function commandRuns(spec: StudySpec, opts: CliOptions, io: Io): Promise<CommandRuns> {
  const all = planRuns(spec);
  const mine = opts.shard ? shardRuns(all, opts.shard) : all;
  const path = resultsPath(opts.out, opts.shard);
  const recorded = opts.resume ? await readResults(path, { log: io.out }) : [];
  const doneIds = new Set(
    recorded.filter((r) => r.status === "ok" || !opts.retryFailed).map((r) => r.id),
  );
  return { mine, doneIds };
}

/**
 * How many worker processes train: `--workers N` (at most one per run to
 * do), or `auto`: 2 on the cpu backend with 2 or more cores, else 1.
 */
export function workerCount(
  opts: Pick<CliOptions, "workers">,
  backend: string,
  todo: number,
  cores: number,
): number {
  if (opts.workers === "auto") return backend === "cpu" && cores >= 2 ? Math.min(2, todo) || 1 : 1;
  if (opts.workers > 1 && backend !== "cpu") {
    throw new CliError(
      `--workers ${opts.workers} runs worker processes on the cpu backend only, and the backend ` +
        `chosen is ${backend}; drop --workers or pass --backend cpu`,
    );
  }
  return Math.max(1, Math.min(opts.workers, todo));
}

/**
 * Check the paths the flags name before anything starts: `--data` is a
 * folder, `--out` is (or can become) a writable folder, `--merge` and
 * `--report-only` point at an existing study, `--pretrained` files exist.
 */
export async function checkCliPaths(o: CliOptions): Promise<void> {
  if (o.data !== undefined) {
    const st = await statOrUndefined(o.data);
    if (!st?.isDirectory) {
      throw new CliError(
        `--data ${o.data}: ${st ? "is a file, not a folder" : "no such folder"}; give the folder ` +
          `that holds ${o.dataset}.npz, or leave --data out to use the cache (downloaded there)`,
      );
    }
  }
  for (const [backbone, path] of Object.entries(o.pretrained)) {
    const st = await statOrUndefined(path);
    if (!st?.isFile) {
      throw new CliError(
        `--pretrained ${backbone}=${path}: ${st ? "is not a file" : "no such file"}; ` +
          `give the path of a timm .safetensors file`,
      );
    }
  }
  if (o.merge || o.reportOnly) {
    const flag = o.merge ? "--merge" : "--report-only";
    if (!(await statOrUndefined(o.out))?.isDirectory) {
      throw new CliError(
        `${flag}: no study folder ${o.out}; pass --out DIR, the folder the study wrote to`,
      );
    }
    return;
  }
  await checkWritable(o.out);
}

async function statOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
      return undefined;
    }
    throw err;
  }
}

/** `--out` must be a folder, or creatable in a writable one; nothing is created here. */
async function checkWritable(out: string): Promise<void> {
  let dir = out;
  for (;;) {
    const st = await statOrUndefined(dir);
    if (st && !st.isDirectory) {
      throw new CliError(
        `--out ${out}: ${dir} is a file, not a folder; give a folder (it is created when missing)`,
      );
    }
    if (st) break;
    const parent = dir.includes("/") ? dir.slice(0, dir.lastIndexOf("/")) || "/" : ".";
    if (parent === dir) break;
    dir = parent;
  }
  try {
    const probe = await Deno.makeTempFile({ dir, prefix: ".medtune-write-test-" });
    await Deno.remove(probe);
  } catch (err) {
    throw new CliError(
      `--out ${out}: cannot write in ${dir}${
        err instanceof Deno.errors.PermissionDenied ? " (permission denied)" : ""
      }; choose a writable folder`,
      { cause: err },
    );
  }
}

/** The backbones the workers timed for the plan, and those they could not. */
interface WorkerMeasurements {
  /** Throughput by backbone. */
  throughput: Map<ModelName, Throughput>;
  /** Why a backbone could not be timed, by backbone. */
  failed: Map<ModelName, string>;
}

/**
 * Collects the workers' measurements: `done` resolves once every backbone
 * dealt out is reported, or its worker has ended without reporting it.
 */
class WorkerTiming {
  readonly #measured: WorkerMeasurements = { throughput: new Map(), failed: new Map() };
  /** Backbones still to report, by worker (1-based). */
  readonly #waiting = new Map<number, Set<ModelName>>();
  #resolve!: (m: WorkerMeasurements) => void;
  /** The measurements, once nothing more can come. */
  readonly done = new Promise<WorkerMeasurements>((resolve) => this.#resolve = resolve);

  /** The backbones in the order the runs to do first use them. */
  readonly #order: Set<ModelName>;

  constructor(todo: readonly PlannedRun[], shares: readonly string[][]) {
    this.#order = new Set(todo.map((r) => r.axes.backbone));
    const backboneOf = new Map(todo.map((r) => [r.id, r.axes.backbone]));
    shares.forEach((runIds, i) => {
      const backbones = new Set(runIds.map((id) => backboneOf.get(id)!));
      if (backbones.size) this.#waiting.set(i + 1, backbones);
    });
    this.#settle();
  }

  /** Whether any backbone is still to be timed. */
  get pending(): boolean {
    return this.#waiting.size > 0;
  }

  /** A worker's report of one backbone. */
  report(r: ReportedThroughput): void {
    if (r.throughput) this.#measured.throughput.set(r.backbone, r.throughput);
    else this.#measured.failed.set(r.backbone, r.error ?? "no reason given");
    for (const [worker, backbones] of this.#waiting) {
      backbones.delete(r.backbone);
      if (!backbones.size) this.#waiting.delete(worker);
    }
    this.#settle();
  }

  /** A worker ended: what it had not reported yet will not come. */
  exited(worker: number): void {
    for (const backbone of this.#waiting.get(worker) ?? []) {
      this.#measured.failed.set(backbone, `worker ${worker} ended before timing it`);
    }
    this.#waiting.delete(worker);
    this.#settle();
  }

  #settle(): void {
    if (this.#waiting.size) return;
    // In the order the runs use the backbones, whichever worker reported first.
    const throughput = new Map(
      [...this.#order].filter((b) => this.#measured.throughput.has(b))
        .map((b) => [b, this.#measured.throughput.get(b)!]),
    );
    this.#resolve({ throughput, failed: this.#measured.failed });
  }
}

/** How the runs are shared out: worker processes and threads per worker. */
interface WorkerShare {
  /** Worker processes (1: this process trains). */
  workers: number;
  /** Threads of each worker's cpu backend. */
  threads: number;
  /** The command's runs. */
  runs: CommandRuns;
}

/**
 * Print the plan. Its estimate comes from a warm-up step per backbone on
 * this backend (plan.ts), or from `measured`: what the workers timed, with
 * a line for each backbone they could not (guessed instead).
 */
async function printPlan(
  spec: StudySpec,
  opts: CliOptions,
  backend: Backend,
  io: Io,
  share: WorkerShare,
  measured?: WorkerMeasurements,
): Promise<Map<ModelName, Throughput> | undefined> {
  const info = MEDMNIST_INFO[opts.dataset];
  const sizes = studySizes(opts);
  const { mine, doneIds } = share.runs;
  const path = resultsPath(opts.out, opts.shard);
  const planned = { sizes, doneIds, runs: mine };
  const plan = measured
    ? planStudy(spec, { ...planned, backend: "cpu", throughput: measured.throughput })
    : await planStudyMeasured(spec, backend, {
      ...planned,
      numClasses: info.numClasses,
      log: io.out,
    });
  for (const [backbone, error] of measured?.failed ?? []) {
    plan.notes.push(`${backbone} could not be timed (${error}): its estimate is guessed`);
  }
  const configs = new Set(mine.map((r) => r.configId)).size;
  const f = spec.fixed;
  const task = info.task === "ordinal-regression"
    ? `ordinal grades, trained as ${info.numClasses}-class classification`
    : `${info.task}, ${info.numClasses} ${info.task === "multi-label" ? "labels" : "classes"}`;
  const shard = opts.shard ? `, shard ${opts.shard.index}/${opts.shard.count}` : "";
  const full = info.samples;
  io.out(
    [
      `medtune ablation: ${spec.name}`,
      `  dataset      ${info.name} (${task}; ${full.train}/${full.val}/${full.test} images)`,
      opts.limitImages === undefined
        ? ""
        : `  subset       ${sizes.train}/${sizes.val}/${sizes.test} images ` +
          `(--limit-images ${opts.limitImages}, class-stratified): a smoke test, not the study's numbers`,
      `  backend      ${backend.description}`,
      `  design       ${spec.design} (${configs} configurations × ${spec.seeds.length} seed(s) = ${mine.length} runs${shard})`,
      `  image size   ${f.imageSize} px, batch ${f.batchSize}, up to ${f.epochs} epochs ` +
      `(early stopping after epoch ${Math.min(f.minEpochs, f.epochs)}, patience ${f.patience})`,
      `  to run       ${plan.runs.length} (${plan.done} already recorded in ${path})` +
      (opts.resume ? "" : "; --no-resume moves earlier results aside"),
      share.workers > 1
        ? `  workers      ${share.workers} processes side by side, ${share.threads} thread(s) each ` +
          `(--workers; their lines are prefixed [worker i])`
        : "",
      `  estimate     ≤ ${
        formatDuration(plan.estimatedSeconds / share.workers)
      } (full epoch budgets; early stopping shortens it${
        share.workers > 1 ? `; the runs' total divided among ${share.workers} workers` : ""
      })`,
      ...plan.notes.map((note) => `               ${note}`),
      backend.name === "webgpu"
        ? ""
        : `  more         --seeds 3 --epochs 60 --design grid --image-size 64 (longer on CPU)`,
    ].filter(Boolean).join("\n"),
  );
  return plan.throughput;
}

/**
 * Make sure the dataset file is on disk: found in `--data` (or
 * `$MEDTUNE_DATA_DIR`, or the cache), else downloaded with a progress
 * display, unless `--offline`. Returns its path.
 */
export async function ensureDataset(opts: CliOptions, io: CliIo = {}): Promise<string> {
  const sink = resolveIo(io);
  const info = MEDMNIST_INFO[opts.dataset];
  const file = info.files[28];
  const dirs = medmnistSearchDirs(opts.data);
  for (const dir of dirs) {
    if ((await statOrUndefined(`${dir}/${file.fileName}`))?.isFile) {
      return `${dir}/${file.fileName}`;
    }
  }
  const target = `${dirs[dirs.length - 1]}/${file.fileName}`;
  const url = medmnistDownloadUrl(file, sink.download?.baseUrl);
  if (opts.offline) {
    throw new CliError(
      `${file.fileName} not found (looked in ${
        dirs.join(", ")
      }) and --offline forbids downloading: ` +
        `download ${url} (md5 ${file.md5}) and put it at ${target}, or run without --offline`,
      { exitCode: 1 },
    );
  }
  const progress = createDownloadProgress({ label: file.fileName, tty: sink.tty, write: sink.raw });
  sink.out(`${file.fileName} not found locally; downloading it into ${target}`);
  const path = await locateMedMNIST(opts.dataset, {
    root: opts.data,
    download: true,
    ...sink.download,
    onProgress: (received, total) => progress.update(received, total),
  });
  progress.done();
  return path;
}

async function train(
  spec: StudySpec,
  opts: CliOptions,
  backend: Backend,
  io: Io,
  throughput?: Map<ModelName, Throughput>,
): Promise<number> {
  const sizes = studySizes(opts);
  const studyOptions = {
    outDir: opts.out,
    backend,
    dataDir: opts.data,
    download: false,
    shard: opts.shard,
    retryFailed: opts.retryFailed,
    fresh: !opts.resume,
    log: io.out,
    progress: createProgressPrinter({
      tty: io.tty,
      write: io.raw,
      estimateSeconds: (run) => estimateRunSeconds(run, sizes, backend.name, throughput),
    }),
  };
  const outcome = await runStudy(spec, studyOptions);
  io.out(`ran ${outcome.ran} run(s), ${outcome.skipped} already recorded`);
  return await endStudy(spec, opts, outcome.records, backend, io);
}

/** After training: the report (or, for a shard, how to merge), and the exit status. */
async function endStudy(
  spec: StudySpec,
  opts: CliOptions,
  records: RunRecord[],
  backend: Backend,
  io: Io,
): Promise<number> {
  const shard = opts.shard;
  if (shard && shard.count > 1) {
    io.out(
      `shard ${shard.index}/${shard.count} done; when every shard is, run: deno task ablate --merge --out ${opts.out}`,
    );
  } else {
    await writeReport(spec, opts, records, backend, io);
  }
  return failedExit(records.filter((r) => r.status === "failed").length, opts, io);
}

/**
 * Train in `share.workers` processes (`workers.ts`), then read what they
 * recorded and write the report, as {@linkcode train} does in one.
 */
async function trainInWorkers(
  spec: StudySpec,
  opts: CliOptions,
  backend: Backend,
  io: Io,
  share: WorkerShare,
): Promise<number> {
  const { mine, doneIds } = share.runs;
  const ids = new Set(mine.map((r) => r.id));
  const path = resultsPath(opts.out, opts.shard);
  await Deno.mkdir(opts.out, { recursive: true });
  if (!opts.resume) {
    await moveStudyAside(opts.out, { shard: opts.shard, runs: mine, log: io.out });
  }
  const before = new Set(
    (await readResults(path, { log: io.out })).map((r) => r.id).filter((id) => ids.has(id)),
  );
  const todo = mine.filter((r) => !doneIds.has(r.id));
  const shares = measurementShares(todo, share.workers);
  const timing = new WorkerTiming(todo, shares);
  if (timing.pending) {
    io.out(
      `timing ${[...new Set(todo.map((r) => r.axes.backbone))].join(", ")} in the ` +
        `${share.workers} workers (${share.threads} thread(s) each) for the estimate`,
    );
  }
  const printed = timing.done.then((measured) =>
    printPlan(spec, opts, backend, io, share, measured)
  );
  const exits = await runWorkerProcesses({
    spec,
    outDir: opts.out,
    dataDir: opts.data,
    shard: opts.shard,
    retryFailed: opts.retryFailed,
    threads: share.threads,
    sizes: studySizes(opts),
    measure: { numClasses: MEDMNIST_INFO[opts.dataset].numClasses, runIds: shares },
  }, {
    workers: share.workers,
    out: io.out,
    err: io.err,
    onThroughput: (reported) => timing.report(reported),
    onExit: (exit) => timing.exited(exit.worker),
    holdOutput: printed,
    // With --threads, each worker keeps the threads it was given.
    shareFreedCores: opts.threads === undefined,
  });
  await printed;
  const recorded = async () =>
    (await readResults(path, { log: io.out })).filter((r) => ids.has(r.id));
  let records = await recorded();
  const missingOf = () => mine.filter((r) => !records.some((rec) => rec.id === r.id));
  // Runs the workers left to live workers of another command on this folder: wait for those.
  for (let said = ""; missingOf().length;) {
    const { held, line } = await claimedByOthers(opts.out, missingOf().map((r) => r.id));
    if (!held) break;
    if (line !== said) io.out(line);
    said = line;
    await sleep(5000);
    records = await recorded();
  }
  const ran = exits.reduce((sum, e) => sum + e.trained, 0);
  io.out(`ran ${ran} run(s) in ${share.workers} workers, ${before.size} already recorded`);
  const missing = missingOf();
  if (missing.length) {
    const died = exits.filter((e) => e.code !== 0)
      .map((e) =>
        `worker ${e.worker} exited with ${e.code}${e.lastError ? `: ${e.lastError}` : ""}`
      );
    io.err(
      `medtune: ${missing.length} run(s) not recorded (${missing.map((r) => r.id).join(", ")})` +
        `${died.length ? `; ${died.join("; ")}` : ""}; run the same command again to resume them`,
    );
    return 1;
  }
  return await endStudy(spec, opts, records, backend, io);
}

function failedExit(failed: number, opts: CliOptions, io: Io): number {
  if (!failed) return 0;
  io.err(
    `medtune: ${failed} run(s) failed (reasons in ${resultsPath(opts.out, opts.shard)}); ` +
      `rerun the same command with --retry-failed to run them again`,
  );
  return 1;
}

async function writeReport(
  spec: StudySpec,
  opts: CliOptions,
  records: Parameters<typeof finalizeStudy>[2],
  backend: Backend,
  io: Io,
): Promise<void> {
  const train = await loadMedMNIST(opts.dataset, { root: opts.data, split: "train" });
  const result = await finalizeStudy(spec, opts.out, records, { backend, train, log: io.out });
  io.out(
    `wrote ${opts.out}/report.html, results.md, results.csv, charts/` +
      `${result.bestWritten ? " and best/" : " (no best/: see the line above)"} ` +
      `(${result.files.length} files)`,
  );
}

async function reportOnly(
  spec: StudySpec,
  opts: CliOptions,
  backend: Backend,
  io: Io,
): Promise<number> {
  const records = opts.merge
    ? await mergeShards(opts.out, { log: io.out })
    : await readResults(resultsPath(opts.out), { log: io.out });
  if (!records.length) {
    throw new CliError(
      `--report-only: no results in ${
        resultsPath(opts.out)
      }; run the study first (same flags, without --report-only)`,
    );
  }
  const planned = new Set(planRuns(spec).map((r) => r.id));
  const mine = records.filter((r) => planned.has(r.id));
  if (!mine.length) {
    throw new CliError(
      `${opts.merge ? "--merge" : "--report-only"}: the ${records.length} run(s) in ${opts.out} ` +
        `belong to another study; pass the flags that study ran with (see ${opts.out}/study.json)`,
    );
  }
  await writeReport(spec, opts, mine, backend, io);
  return failedExit(mine.filter((r) => r.status === "failed").length, opts, io);
}

/** How the command reports an error: its message and exit status. */
export interface ErrorReport {
  /** The line(s) to print after `medtune: `. */
  message: string;
  /** 1 for a runtime failure, 2 for a usage error. */
  exitCode: 1 | 2;
}

/** The line(s) and exit status for an error reaching the command's boundary. */
export function describeError(err: unknown): ErrorReport {
  if (err instanceof CliError) return { message: err.message, exitCode: err.exitCode };
  if (err instanceof DownloadError) {
    return {
      message: `could not download ${err.url}: ${err.reason}. Check the network and run again, ` +
        `or download it by hand and put it at ${err.target} (or pass --data DIR with the file)`,
      exitCode: 1,
    };
  }
  if (err instanceof ChecksumError) {
    return {
      message: `${err.path} is damaged or another version (md5 ${err.actual}, expected ` +
        `${err.expected}); delete it and run again to download a fresh copy (or get ${err.url} by hand)`,
      exitCode: 1,
    };
  }
  if (err instanceof DataError) return { message: err.message, exitCode: 1 };
  const message = err instanceof Error ? err.message : String(err);
  return { message: `${message} (--verbose shows where)`, exitCode: 1 };
}

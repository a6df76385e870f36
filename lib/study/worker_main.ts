/**
 * One worker process of `deno task ablate --workers N`: reads its
 * {@linkcode WorkerJob} as JSON from stdin, times its share of the
 * backbones for the parent's plan (`job.measure`), trains the study's runs
 * it can claim on a cpu backend of the job's thread count (more once the
 * parent passes on the cores of a worker that has finished), prints progress lines
 * and exits when every run still to do is recorded or claimed by another
 * worker (exit status 0; 1 when the worker itself failed, with one line on
 * stderr). The parent (`workers.ts`) writes the report.
 *
 * @module
 */

import type { ModelName } from "../models/registry.ts";
import type { Backend } from "../runtime/backend.ts";
import { createBackend } from "../runtime/select.ts";
import { estimateRunSeconds, measureThroughput, type Throughput } from "./plan.ts";
import { crashNow, faultArg, faultNumber } from "./fault.ts";
import { createProgressPrinter } from "./progress.ts";
import { runStudy } from "./runner.ts";
import { planRuns } from "./spec.ts";
import { throughputLine, WORKER_READY_LINE, workerDoneLine, type WorkerJob } from "./workers.ts";

/** Options of {@linkcode runWorkerJob}. */
export interface RunWorkerJobOptions {
  /**
   * How many shares of cores (`job.threads` threads each) other workers have
   * freed for this one so far (the parent's `SIGUSR1`s): from the next epoch
   * of a run with two or more to go, it trains on that many more threads, up
   * to the machine's cores.
   */
  freedShares?: () => number;
}

/** Train what `job` allows this worker to claim; returns the exit status. */
export async function runWorkerJob(
  job: WorkerJob,
  write: (text: string) => void,
  options: RunWorkerJobOptions = {},
): Promise<number> {
  const backend = await createBackend("cpu", { threads: job.threads });
  const later: Backend[] = [];
  let threads = job.threads;
  const moreThreads = async () => {
    const cores = navigator.hardwareConcurrency ?? threads;
    const want = Math.min(job.threads * (1 + (options.freedShares?.() ?? 0)), cores);
    if (want <= threads) return undefined;
    threads = want; // asked once: a backend that cannot be made is not tried again
    try {
      later.push(await createBackend("cpu", { threads }));
      return later[later.length - 1];
    } catch (err) {
      // An offer, not a need: the run goes on where it is.
      write(`could not start a ${threads}-thread backend (${(err as Error).message}); staying\n`);
      return undefined;
    }
  };
  try {
    const throughput = new Map(job.throughput ?? []);
    for (const [backbone, tp] of await measureShare(job, backend, write)) {
      throughput.set(backbone, tp);
    }
    const outcome = await runStudy(job.spec, {
      outDir: job.outDir,
      backend,
      dataDir: job.dataDir,
      download: false,
      shard: job.shard,
      retryFailed: job.retryFailed,
      fresh: false,
      leaveClaimedRuns: true,
      ...(options.freedShares ? { moreThreads } : {}),
      log: (line) => write(line.endsWith("\n") ? line : line + "\n"),
      progress: createProgressPrinter({
        tty: false,
        write,
        estimateSeconds: (run) => estimateRunSeconds(run, job.sizes, "cpu", throughput),
      }),
    });
    write(`${workerDoneLine(outcome.ran)}\n`);
    return 0;
  } finally {
    for (const b of [backend, ...later]) await b.destroy().catch(() => {});
  }
}

/**
 * Count the parent's `SIGUSR1`s (each: one more share of cores freed by a
 * worker that has finished) in `onFreed`. Returns false where signals cannot
 * be listened to (Windows): the worker then keeps its threads.
 */
function listenForFreedCores(onFreed: () => void): boolean {
  try {
    Deno.addSignalListener("SIGUSR1", onFreed);
    return true;
  } catch {
    return false;
  }
}

/**
 * Time this worker's share of the backbones (`job.measure`, by
 * `MEDTUNE_WORKER`) and report each on a {@linkcode throughputLine}: a
 * failed measurement is reported as such and does not stop the worker (the
 * plan then guesses that backbone).
 */
async function measureShare(
  job: WorkerJob,
  backend: Backend,
  write: (text: string) => void,
): Promise<Map<ModelName, Throughput>> {
  const out = new Map<ModelName, Throughput>();
  const index = Number(Deno.env.get("MEDTUNE_WORKER") ?? "1") - 1;
  const ids = new Set(job.measure?.runIds[index] ?? []);
  if (!ids.size) return out;
  for (const run of planRuns(job.spec).filter((r) => ids.has(r.id))) {
    const backbone = run.axes.backbone;
    if (faultNumber("measure", "crash-worker") === index + 1) crashNow("measure");
    try {
      if (faultArg("measure") === "fail") throw new Error("MEDTUNE_FAULT: measure:fail");
      const tp = await measureThroughput(backend, run, { numClasses: job.measure!.numClasses });
      out.set(backbone, tp);
      write(`${throughputLine(backbone, tp)}\n`);
    } catch (err) {
      write(`${throughputLine(backbone, { error: (err as Error).message })}\n`);
    }
  }
  return out;
}

/**
 * Exit when the parent that started this worker is gone (killed, even with
 * SIGKILL): a worker never trains on alone. Its run's claim then names a dead
 * process, so the next `deno task ablate` on the folder takes the run over
 * and resumes it from its last epoch checkpoint.
 */
function exitWithParent(write: (text: string) => void): void {
  const parent = Deno.ppid;
  const timer = setInterval(() => {
    if (Deno.ppid === parent) return;
    write(`medtune worker: the study process (pid ${parent}) is gone; stopping\n`);
    Deno.exit(1);
  }, 1000);
  Deno.unrefTimer(timer);
}

if (import.meta.main) {
  const enc = new TextEncoder();
  exitWithParent((t) => Deno.stderr.writeSync(enc.encode(t)));
  const write = (t: string) => Deno.stdout.writeSync(enc.encode(t));
  let freed = 0;
  // Said only once the signal is handled: before, a SIGUSR1 would end the process.
  if (listenForFreedCores(() => freed++)) write(`${WORKER_READY_LINE}\n`);
  let code = 1;
  try {
    const text = await new Response(Deno.stdin.readable).text();
    code = await runWorkerJob(JSON.parse(text) as WorkerJob, write, {
      freedShares: () => freed,
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    Deno.stderr.writeSync(enc.encode(`medtune worker: ${message}\n`));
    if (Deno.env.get("MEDTUNE_DEBUG") === "1") {
      Deno.stderr.writeSync(enc.encode(`${(err as Error)?.stack ?? ""}\n`));
    }
  }
  Deno.exit(code);
}

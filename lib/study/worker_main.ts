/**
 * One worker process of `deno task ablate --workers N`: reads its
 * {@linkcode WorkerJob} as JSON from stdin, times its share of the
 * backbones for the parent's plan (`job.measure`), trains the study's runs
 * it can claim on a cpu backend of the job's thread count, prints progress lines
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
import { throughputLine, workerDoneLine, type WorkerJob } from "./workers.ts";

/** Train what `job` allows this worker to claim; returns the exit status. */
export async function runWorkerJob(
  job: WorkerJob,
  write: (text: string) => void,
): Promise<number> {
  const backend = await createBackend("cpu", { threads: job.threads });
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
    await backend.destroy().catch(() => {});
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
  let code = 1;
  try {
    const text = await new Response(Deno.stdin.readable).text();
    code = await runWorkerJob(
      JSON.parse(text) as WorkerJob,
      (t) => Deno.stdout.writeSync(enc.encode(t)),
    );
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    Deno.stderr.writeSync(enc.encode(`medtune worker: ${message}\n`));
    if (Deno.env.get("MEDTUNE_DEBUG") === "1") {
      Deno.stderr.writeSync(enc.encode(`${(err as Error)?.stack ?? ""}\n`));
    }
  }
  Deno.exit(code);
}

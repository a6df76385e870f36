/**
 * `--workers N`: one study trained by N processes on this machine, each with
 * its own cpu backend and a share of the cores. Small convnets do not keep
 * many cores busy inside one step (measured on 2 cores: two one-thread
 * workers train 1.25× (ResNet-18), 1.4× (ViT-Tiny) and 1.5×
 * (EfficientNet-B0) the images per second of one two-thread process), so
 * separate runs side by side finish a study sooner.
 *
 * The parent spawns the workers (`worker_main.ts`, the job as JSON on
 * stdin), relays their output line by line under a `[worker i]` prefix and
 * waits for all of them. The plan's throughput is measured by the workers
 * themselves, each timing a share of the backbones before it trains (the
 * backbones measured side by side, not one after another in the parent
 * before any worker starts), and reported to the parent on lines of their
 * own ({@linkcode THROUGHPUT_LINE}), which it holds the workers' output
 * behind until the plan is printed; the workers share the output folder through the
 * runner's claims (each run is trained once), and each leaves when every run
 * still to do is claimed by another. The parent then reads the results file
 * and writes the report.
 *
 * @module
 */

import type { ModelName } from "../models/registry.ts";
import type { Throughput } from "./plan.ts";
import type { PlannedRun, Shard, StudySpec } from "./spec.ts";
import type { SplitSizes } from "./subset.ts";

/**
 * A worker's first line: it handles `SIGUSR1` (one more share of cores, freed
 * by a worker that has finished), so the parent may send it. Not relayed.
 */
export const WORKER_READY_LINE = "medtune-worker-ready";

/** What one worker process trains: the job `worker_main.ts` reads from stdin. */
export interface WorkerJob {
  /** The study (as written to `study.json`). */
  spec: StudySpec;
  /** The shared output folder. */
  outDir: string;
  /** Folder of the dataset file (already on disk: workers never download). */
  dataDir?: string;
  /** Only this shard's runs. */
  shard?: Shard;
  /** Train recorded failures again. */
  retryFailed: boolean;
  /** Intra-op threads of the worker's cpu backend. */
  threads: number;
  /** Split sizes, for the progress estimates. */
  sizes: SplitSizes;
  /** Measured throughput by backbone (the plan's, at the worker's thread count). */
  throughput?: [ModelName, Throughput][];
  /** Backbones each worker times before it trains, for the parent's plan. */
  measure?: WorkerMeasureJob;
}

/** What the workers measure for the plan ({@linkcode WorkerJob.measure}). */
export interface WorkerMeasureJob {
  /** Classes of the task (the measured programs' head). */
  numClasses: number;
  /**
   * Per worker (index 0 is worker 1), the ids of the runs whose backbones it
   * times: one run per backbone, the first of the runs to do that uses it.
   */
  runIds: string[][];
}

/**
 * The prefix of a worker's line that reports one measured backbone to the
 * parent: the prefix, then `[backbone, throughput]` as JSON, or
 * `[backbone, null, reason]` when the measurement failed. The parent takes
 * these lines out of the relayed output.
 */
export const THROUGHPUT_LINE = "medtune-throughput ";

/** The line a worker writes for one measured backbone (see {@linkcode THROUGHPUT_LINE}). */
export function throughputLine(
  backbone: ModelName,
  measured: Throughput | { error: string },
): string {
  const body = "error" in measured ? [backbone, null, measured.error] : [backbone, measured];
  return THROUGHPUT_LINE + JSON.stringify(body);
}

/** A backbone's measurement as a worker reported it: the throughput, or why there is none. */
export interface ReportedThroughput {
  /** The backbone. */
  backbone: ModelName;
  /** Its throughput, or null when its measurement failed. */
  throughput: Throughput | null;
  /** Why the measurement failed. */
  error?: string;
}

/** Parse a {@linkcode THROUGHPUT_LINE}, or undefined for any other line. */
export function parseThroughputLine(line: string): ReportedThroughput | undefined {
  if (!line.startsWith(THROUGHPUT_LINE)) return undefined;
  try {
    const [backbone, throughput, error] = JSON.parse(line.slice(THROUGHPUT_LINE.length));
    if (typeof backbone !== "string") return undefined;
    return {
      backbone: backbone as ModelName,
      throughput: throughput ?? null,
      ...(typeof error === "string" ? { error } : {}),
    };
  } catch {
    return undefined;
  }
}

/**
 * The measurement share of each of `workers` workers: the first run to do of
 * each backbone, dealt out in turn (worker 1 the first backbone, worker 2
 * the second, …).
 */
export function measurementShares(runs: readonly PlannedRun[], workers: number): string[][] {
  const shares: string[][] = Array.from({ length: workers }, () => []);
  const seen = new Set<string>();
  for (const run of runs) {
    if (seen.has(run.axes.backbone)) continue;
    shares[seen.size % workers].push(run.id);
    seen.add(run.axes.backbone);
  }
  return shares;
}

/** How one worker process ended. */
export interface WorkerExit {
  /** 1-based worker number (as in the `[worker i]` prefix). */
  worker: number;
  /** The process's exit status (0: it found nothing more to claim). */
  code: number;
  /** Its last stderr line, when it failed. */
  lastError?: string;
  /** Runs it trained (from its last line, `trained N run(s)`; 0 when it said none). */
  trained: number;
}

/** The last line of a worker that ends normally (`worker_main.ts`); the parent counts its runs by it. */
export function workerDoneLine(trained: number): string {
  return `trained ${trained} run(s); nothing left to claim`;
}

/** Options of {@linkcode runWorkerProcesses}. */
export interface WorkerProcessesOptions {
  /** Number of worker processes. */
  workers: number;
  /** Write one line of output (relayed from a worker, prefixed). */
  out: (line: string) => void;
  /** Write one error line (relayed from a worker's stderr, prefixed). */
  err: (line: string) => void;
  /** Called with each backbone a worker measured ({@linkcode THROUGHPUT_LINE}; not relayed). */
  onThroughput?: (reported: ReportedThroughput, worker: number) => void;
  /** Called when a worker process has ended (before its exit is returned). */
  onExit?: (exit: WorkerExit) => void;
  /** The workers' output is held back (in order) until this settles. */
  holdOutput?: Promise<unknown>;
  /**
   * When a worker finds nothing left to claim and ends, pass its cores on to
   * a worker still training (`SIGUSR1`, one share each; spread over those
   * that have had fewest), which continues its run on more threads.
   */
  shareFreedCores?: boolean;
  /**
   * The command that runs one worker (default: this Deno with every
   * permission and the project's `deno.json`, running `worker_main.ts`).
   */
  command?: string[];
}

/** The Deno command line that runs `worker_main.ts` (with this project's config when local). */
export function workerCommand(): string[] {
  const main = new URL("./worker_main.ts", import.meta.url);
  const config = new URL("../../deno.json", import.meta.url);
  const args = [Deno.execPath(), "run", "-q", "-A"];
  if (config.protocol === "file:") {
    try {
      if (Deno.statSync(config).isFile) args.push("--config", decodeURIComponent(config.pathname));
    } catch {
      // Not a checkout (a published copy): the importing project's config applies.
    }
  }
  args.push(main.protocol === "file:" ? decodeURIComponent(main.pathname) : main.href);
  return args;
}

/**
 * Start `workers` processes on `job` and wait for all of them, relaying
 * their output. Returns how each ended; never throws for a worker's failure.
 */
export async function runWorkerProcesses(
  job: WorkerJob,
  options: WorkerProcessesOptions,
): Promise<WorkerExit[]> {
  const [exe, ...args] = options.command ?? workerCommand();
  const input = new TextEncoder().encode(JSON.stringify(job));
  const one = async (worker: number): Promise<WorkerExit> => {
    const prefix = `[worker ${worker}] `;
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(exe, {
        args,
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
        env: { MEDTUNE_WORKER: String(worker) },
      }).spawn();
    } catch (err) {
      const lastError = `could not start ${exe}: ${(err as Error).message}`;
      write(options.err, prefix + lastError);
      const exit = { worker, code: 1, lastError, trained: 0 };
      options.onExit?.(exit);
      return exit;
    }
    const writer = child.stdin.getWriter();
    await writer.write(input);
    await writer.close();
    let lastError: string | undefined;
    let trained = 0;
    const [status] = await Promise.all([
      child.status,
      relayLines(child.stdout, (line) => {
        if (line === WORKER_READY_LINE) {
          ready.set(worker, { child, shares: 0 });
          // Cores freed before any worker could take them go to the first that can.
          while (unclaimed.length > 0 && passOnCores(unclaimed[0])) unclaimed.shift();
          return;
        }
        const reported = parseThroughputLine(line);
        if (reported) {
          options.onThroughput?.(reported, worker);
          return;
        }
        const done = line.match(/^trained (\d+) run\(s\); nothing left to claim$/);
        if (done) trained = Number(done[1]);
        write(options.out, prefix + line);
      }),
      relayLines(child.stderr, (line) => {
        lastError = line;
        write(options.err, prefix + line);
      }),
    ]);
    const exit = {
      worker,
      code: status.code,
      trained,
      ...(status.code && lastError ? { lastError } : {}),
    };
    ready.delete(worker);
    if (exit.code === 0 && options.shareFreedCores && !passOnCores(worker)) unclaimed.push(worker);
    options.onExit?.(exit);
    return exit;
  };
  // Workers that handle SIGUSR1 and are still running, with the shares passed to each.
  const ready = new Map<number, { child: Deno.ChildProcess; shares: number }>();
  // Workers that ended while no other had said it was ready (a fast worker can
  // find nothing to claim before a slow one has started): their cores wait.
  const unclaimed: number[] = [];
  /** Pass `from`'s cores to the ready worker with the fewest shares; false if none took them. */
  const passOnCores = (from: number): boolean => {
    const to = [...ready.entries()].sort((a, b) => a[1].shares - b[1].shares || a[0] - b[0])[0];
    if (!to) return false;
    try {
      to[1].child.kill("SIGUSR1");
      to[1].shares++;
      write(options.out, `[worker ${from}] done: its cores go to worker ${to[0]}`);
      return true;
    } catch {
      // It has just ended: nobody to pass them to.
      return false;
    }
  };
  // Lines held back until `holdOutput` settles, in the order they came.
  let held: [(line: string) => void, string][] | null = options.holdOutput ? [] : null;
  const write = (sink: (line: string) => void, line: string) => {
    if (held) held.push([sink, line]);
    else sink(line);
  };
  const release = () => {
    const lines = held ?? [];
    held = null;
    for (const [sink, line] of lines) sink(line);
  };
  options.holdOutput?.then(release, release);
  const exits = await Promise.all(Array.from({ length: options.workers }, (_, i) => one(i + 1)));
  release();
  return exits;
}

/** Call `write` with each line of a byte stream (a final unterminated line included). */
async function relayLines(
  stream: ReadableStream<Uint8Array>,
  write: (line: string) => void,
): Promise<void> {
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) write(line.replace(/^.*\r/, ""));
  }
  if (pending) write(pending);
}

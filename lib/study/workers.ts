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
 * waits for all of them; the workers share the output folder through the
 * runner's claims (each run is trained once), and each leaves when every run
 * still to do is claimed by another. The parent then reads the results file
 * and writes the report.
 *
 * @module
 */

import type { ModelName } from "../models/registry.ts";
import type { Throughput } from "./plan.ts";
import type { Shard, StudySpec } from "./spec.ts";
import type { SplitSizes } from "./subset.ts";

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
      options.err(prefix + lastError);
      return { worker, code: 1, lastError, trained: 0 };
    }
    const writer = child.stdin.getWriter();
    await writer.write(input);
    await writer.close();
    let lastError: string | undefined;
    let trained = 0;
    const [status] = await Promise.all([
      child.status,
      relayLines(child.stdout, (line) => {
        const done = line.match(/^trained (\d+) run\(s\); nothing left to claim$/);
        if (done) trained = Number(done[1]);
        options.out(prefix + line);
      }),
      relayLines(child.stderr, (line) => {
        lastError = line;
        options.err(prefix + line);
      }),
    ]);
    return {
      worker,
      code: status.code,
      trained,
      ...(status.code && lastError ? { lastError } : {}),
    };
  };
  return await Promise.all(Array.from({ length: options.workers }, (_, i) => one(i + 1)));
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

/**
 * How far apart the machine's two cores are, as the time one thread takes to
 * see a cache line another thread wrote (a ping-pong over a SharedArrayBuffer
 * between the main thread and a Worker, median of several bursts, in ns).
 *
 * Why it matters here: on the 2-vCPU cloud machines this project is developed
 * on, the host sometimes runs the two vCPUs on cores that share an L3 cache
 * (≈ 35–40 ns a handoff) and sometimes on cores that do not (≈ 180 ns), and
 * moves them every few tens of seconds. onnxruntime's thread pool hands each
 * operator's data from one thread to the other, so medtune's two-thread
 * training step is ≈ 1.5× slower while the cores are split (ResNet-18 at
 * 28 px: 545 → 840 ms); PyTorch's statically partitioned OpenMP loops are
 * not (≈ 500 ms either way). `bench/compare.ts` records this figure next to
 * each measurement, so that a ratio is read against the placement it ran in.
 * It is a guide, not a classifier: the host can move the vCPUs during a
 * measurement, and 100–160 ns readings have come with the fast step too.
 *
 *   deno run -A bench/core_distance.ts               # one figure
 *   deno run -A bench/core_distance.ts --watch 60    # one a second for 60 s
 *
 * @module
 */

import { parseArgs } from "node:util";

/** One cache-line handoff between two threads, with the placement it suggests. */
export interface CoreDistance {
  /** Median one-way handoff time over the bursts, in nanoseconds. */
  handoffNs: number;
  /** `shared-L3` below {@linkcode SPLIT_THRESHOLD_NS}, else `split`. */
  placement: "shared-L3" | "split";
}

/**
 * Handoffs slower than this (ns) mean the two threads' cores do not share a
 * last-level cache: between the ≈ 40 and ≈ 180 ns measured on Zen 4 guests.
 */
export const SPLIT_THRESHOLD_NS = 100;

const WORKER_SOURCE = `
self.onmessage = (e) => {
  const { sab, rounds } = e.data;
  const flag = new Int32Array(sab);
  Atomics.store(flag, 1, 1); // ready
  for (let burst = 0; ; burst++) {
    while (Atomics.load(flag, 2) === burst) {} // wait for the burst to open (or quit)
    if (Atomics.load(flag, 2) < 0) break;
    for (let i = 0; i < rounds; i++) {
      const want = 2 * i + 1;
      while (Atomics.load(flag, 0) !== want) {}
      Atomics.store(flag, 0, want + 1);
    }
  }
  self.close();
};
`;

/**
 * Measures the handoff time: `bursts` bursts of `rounds` round trips (each
 * two handoffs), median per burst. Both threads spin, so run it with the
 * machine otherwise idle; it takes about `bursts × rounds × 0.4 µs`.
 */
export async function measureCoreDistance(
  options: { bursts?: number; rounds?: number } = {},
): Promise<CoreDistance> {
  const bursts = options.bursts ?? 5;
  const rounds = options.rounds ?? 20_000;
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
  const worker = new Worker(url, { type: "module" });
  const sab = new SharedArrayBuffer(3 * 4);
  const flag = new Int32Array(sab);
  worker.postMessage({ sab, rounds });
  try {
    const started = performance.now();
    while (Atomics.load(flag, 1) !== 1) {
      if (performance.now() - started > 10_000) throw new Error("core distance: no worker");
      await new Promise((r) => setTimeout(r, 1));
    }
    const perBurst: number[] = [];
    for (let burst = 0; burst < bursts; burst++) {
      Atomics.store(flag, 0, 0);
      Atomics.store(flag, 2, burst + 1); // open the burst
      const t0 = performance.now();
      let spins = 0;
      for (let i = 0; i < rounds; i++) {
        Atomics.store(flag, 0, 2 * i + 1);
        while (Atomics.load(flag, 0) !== 2 * i + 2) {
          if ((++spins & 0xffff) === 0 && performance.now() - t0 > 10_000) {
            throw new Error("core distance: the worker stopped answering");
          }
        }
      }
      perBurst.push(((performance.now() - t0) * 1e6) / (2 * rounds));
    }
    perBurst.sort((a, b) => a - b);
    const handoffNs = perBurst[perBurst.length >> 1];
    return { handoffNs, placement: handoffNs < SPLIT_THRESHOLD_NS ? "shared-L3" : "split" };
  } finally {
    Atomics.store(flag, 2, -1);
    worker.terminate();
    URL.revokeObjectURL(url);
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { watch: { type: "string" } },
  });
  const seconds = values.watch === undefined ? 0 : Number(values.watch);
  if (!Number.isFinite(seconds) || seconds < 0) {
    console.error(`error: --watch takes a number of seconds, got "${values.watch}"`);
    Deno.exit(2);
  }
  const until = performance.now() + seconds * 1000;
  do {
    const d = await measureCoreDistance();
    console.log(`core handoff ${d.handoffNs.toFixed(0)} ns (${d.placement})`);
    if (seconds > 0) await new Promise((r) => setTimeout(r, 1000));
  } while (performance.now() < until);
}

/**
 * The machine's FMA peak in GFLOP/s, measured by `fma_peak.c` (compiled here
 * with the system's C compiler, `-O2 -march=native`): the denominator of "fraction
 * of peak" in `bench/compare.ts`. Where no C compiler is installed it says so
 * and reports nothing.
 *
 *   deno run -A bench/fma_peak.ts            # all cores
 *   deno run -A bench/fma_peak.ts --threads 1
 *
 * @module
 */

import { parseArgs } from "node:util";

const SOURCE = new URL("./fma_peak.c", import.meta.url).pathname;
const COMPILERS = ["cc", "gcc", "clang"];

/** A measured FMA peak, or why there is none. */
export type FmaPeak =
  | { gflops: number; threads: number; lanes: number }
  | { gflops: null; reason: string };

async function output(cmd: string, args: string[]): Promise<{ ok: boolean; text: string }> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    const dec = new TextDecoder();
    return { ok: out.success, text: dec.decode(out.stdout) + dec.decode(out.stderr) };
  } catch (err) {
    return { ok: false, text: (err as Error).message };
  }
}

/**
 * Compile `fma_peak.c` and run it on `threads` threads (default: all logical
 * cores); the best of three repetitions.
 */
export async function measureFmaPeak(
  threads = navigator.hardwareConcurrency ?? 1,
): Promise<FmaPeak> {
  const dir = await Deno.makeTempDir({ prefix: "medtune-fma-" });
  try {
    const binary = `${dir}/fma_peak`;
    let built = "";
    for (const cc of COMPILERS) {
      const r = await output(cc, ["-O2", "-march=native", "-pthread", SOURCE, "-o", binary]);
      if (r.ok) {
        built = cc;
        break;
      }
    }
    if (!built) {
      return {
        gflops: null,
        reason: `no C compiler (${COMPILERS.join(", ")}) could build ${SOURCE}`,
      };
    }
    const r = await output(binary, [String(threads)]);
    const m = r.text.match(/(\d+) threads (\d+) lanes ([\d.]+) GFLOP\/s/);
    if (!r.ok || !m) return { gflops: null, reason: `fma_peak printed: ${r.text.trim()}` };
    return { gflops: Number(m[3]), threads: Number(m[1]), lanes: Number(m[2]) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const USAGE = `usage: deno run -A bench/fma_peak.ts [--threads N]

The machine's FMA peak in GFLOP/s (fma_peak.c, built with the system's C
compiler), the denominator of bench:compare's share of peak.

  --threads N   threads to run on (default: all logical cores)
  -h, --help    this text`;

if (import.meta.main) {
  let values: { threads?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: { threads: { type: "string" }, help: { type: "boolean", short: "h" } },
    }));
  } catch (err) {
    console.error(`error: ${(err as Error).message} (see --help)`);
    Deno.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) {
    console.error(`error: --threads must be a positive integer, got "${values.threads}"`);
    Deno.exit(2);
  }
  const peak = await measureFmaPeak(threads);
  if (peak.gflops === null) console.log(`FMA peak not measured: ${peak.reason}`);
  else {
    console.log(
      `FMA peak: ${peak.gflops.toFixed(1)} GFLOP/s on ${peak.threads} thread(s) ` +
        `(${peak.lanes}-float vectors)`,
    );
  }
}

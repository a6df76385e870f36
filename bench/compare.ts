/**
 * medtune against PyTorch, side by side: for each configuration, alternate
 * PyTorch (bench/torch_reference.py) and medtune (bench/models_bench.ts
 * --print) for several rounds in this one session, both on all cores, and
 * print medians, ranges and the median of the per-round ratios.
 *
 *   deno task bench:compare                          # the study's sizes: 28 and 64 px, cpu
 *   deno task bench:compare --rounds 5 "resnet18 train 28px"
 *   deno task bench:compare --baseline ../medtune-old   # also an older checkout ("before")
 *   deno task bench:compare --peak-gflops 200          # a known FMA peak instead of measuring
 *
 * Needs Debian's PyTorch (`apt-get install -y python3-torch python3-torchvision`);
 * without it, says so and exits 0 having measured nothing. Run it on an idle
 * machine: these figures are only comparable within one session.
 *
 * Each measurement is bracketed by a core-distance probe (`core_distance.ts`):
 * on cloud machines whose two vCPUs the host sometimes splits across L3
 * caches, medtune's two-thread figures drop by up to a third while split and
 * PyTorch's do not. The last columns give the handoff times (ns, the larger
 * of the probes around each measurement, PyTorch·medtune per round) and the
 * ratio over the rounds where both ran with the cores sharing an L3.
 *
 * The FLOP columns put both sides against the machine: FLOPs per image from
 * the model's graph (`lib/models/flops.ts`: a train step is forward, input
 * gradient and weight gradient, about three forward passes; a multiply-add
 * counts 2), times the median img/s, as a share of the FMA peak that
 * `fma_peak.c` measures on all cores (or `--peak-gflops N` where no C compiler
 * is installed). Nominal FLOPs, as fvcore counts them, include the taps that
 * land on zero padding; where a map is as small as the kernel (the 7×7 stem's
 * last stages) medtune's frozen eval skips those products, so a share above
 * 100% can appear there. The peak is measured once, before the rounds.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { measureCoreDistance, SPLIT_THRESHOLD_NS } from "./core_distance.ts";
import { forwardMacs, trainStepFlops } from "../lib/models/flops.ts";
import { BENCH_LABELS, type BenchLabel, benchModel } from "./_models.ts";
import { measureFmaPeak } from "./fma_peak.ts";

const HERE = new URL(".", import.meta.url).pathname;
const PYTHON = Deno.env.get("MEDTUNE_PYTHON") ?? "/usr/bin/python3";

const USAGE = `usage: deno task bench:compare [options] [config ...]

  config               "LABEL train|eval SIZEpx", LABEL one of resnet18, resnet18-7x7,
                       efficientnet_b0, vit_tiny (default: every label at 28 and 64 px)
  --rounds N           alternations of PyTorch and medtune per config (default 3)
  --baseline DIR       also time an older medtune checkout in DIR ("before")
  --peak-gflops N      the machine's FMA peak, instead of measuring it with bench/fma_peak.c
  -h, --help           this text

Needs Debian's PyTorch (apt-get install -y python3-torch python3-torchvision).`;

const DEFAULT_CONFIGS = BENCH_LABELS.flatMap(
  (label) => [28, 64].flatMap((size) => [`${label} train ${size}px`, `${label} eval ${size}px`]),
);

async function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

async function torchHasRuntime(): Promise<string | null> {
  try {
    const v = await run(PYTHON, ["-c", "import torch, torchvision; print(torch.__version__)"]);
    return v.trim();
  } catch {
    return null;
  }
}

/** img/s of one configuration under PyTorch. */
async function torchImgPerSec(config: string): Promise<number> {
  const text = await run(PYTHON, [`${HERE}torch_reference.py`, config]);
  const line = text.trim().split("\n").find((l) => l.startsWith(`${config} `) || l === config);
  const value = Number(line?.split(" ").at(-1));
  if (!Number.isFinite(value)) {
    throw new Error(`torch_reference.py printed no figure for ${config}`);
  }
  return value;
}

/** img/s of one configuration under medtune (cpu backend), from the checkout at `root`. */
async function medtuneImgPerSec(config: string, root = `${HERE}..`): Promise<number> {
  const text = await run(Deno.execPath(), [
    "run",
    "-A",
    `${root}/bench/models_bench.ts`,
    "--print",
    `${config} cpu`,
  ]);
  const row = text.split("\n").find((l) => l.startsWith(`| ${config} cpu`));
  const value = Number(row?.split("|").at(-2)?.trim());
  if (!Number.isFinite(value)) throw new Error(`models_bench.ts printed no figure for ${config}`);
  return value;
}

/**
 * FLOPs of one image in a configuration (`resnet18 train 28px`): a training
 * step's (forward and both gradients, `lib/models/flops.ts`), or a forward
 * pass's for eval; a multiply-add counts 2.
 */
function flopsPerImage(config: string): number {
  const [label, mode, sizeText] = config.split(" ");
  const model = benchModel(label as BenchLabel, Number(sizeText.replace("px", "")));
  return mode === "train" ? trainStepFlops(model) : 2 * forwardMacs(model).macs;
}

/** `GFLOP/s (share of peak)` of a throughput. */
function gflopsCell(imgPerSec: number, flops: number, peak: number | null): string {
  const gflops = (imgPerSec * flops) / 1e9;
  return `${gflops.toFixed(0)}${peak ? ` (${((100 * gflops) / peak).toFixed(0)}%)` : ""}`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function range(xs: number[], digits: number): string {
  return `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;
}

if (import.meta.main) {
  const { values, positionals } = parsedArgs();
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) {
    console.error(`error: --rounds must be a positive integer, got "${values.rounds}"`);
    Deno.exit(2);
  }
  let peak: number | null = null;
  let peakSource = "";
  if (values["peak-gflops"] !== undefined) {
    peak = Number(values["peak-gflops"]);
    if (!(peak > 0)) {
      console.error(
        `error: --peak-gflops must be a positive number, got "${values["peak-gflops"]}"`,
      );
      Deno.exit(2);
    }
    peakSource = "given with --peak-gflops";
  }
  const torch = await torchHasRuntime();
  if (!torch) {
    console.log(
      `PyTorch not found for ${PYTHON} (apt-get install -y python3-torch python3-torchvision, ` +
        `or set MEDTUNE_PYTHON): nothing compared.`,
    );
    Deno.exit(0);
  }
  const configs = positionals.length
    ? DEFAULT_CONFIGS.filter((c) => positionals.some((p) => c.includes(p)))
    : DEFAULT_CONFIGS;
  const baseline = values.baseline?.replace(/\/+$/, "");
  if (peak === null) {
    const measured = await measureFmaPeak();
    if (measured.gflops === null) {
      console.log(`FMA peak not measured (${measured.reason}): no share-of-peak figures`);
    } else {
      peak = measured.gflops;
      peakSource = `measured by bench/fma_peak.c on ${measured.threads} threads, ` +
        `${measured.lanes}-float vectors`;
    }
  }
  if (peak) console.log(`FMA peak: ${peak.toFixed(1)} GFLOP/s (${peakSource})`);
  console.log(
    `medtune (cpu backend) vs PyTorch ${torch}, batch 32, img/s, ${rounds} alternating rounds, ` +
      `${navigator.hardwareConcurrency} cores${
        baseline ? `; before = the checkout at ${baseline}` : ""
      }`,
  );
  const extra = baseline ? " before median | before ratio |" : "";
  console.log(
    `| config | medtune median (range) | PyTorch median (range) | ratio median (range) | ` +
      `core handoff ns (PyTorch·medtune) | ratio, shared-L3 rounds (n) | ` +
      `GFLOP/image | GFLOP/s medtune · PyTorch (share of peak) |${extra}`,
  );
  console.log(`|---|---|---|---|---|---|---|---|${baseline ? "---|---|" : ""}`);
  for (const config of configs) {
    const m: number[] = [];
    const t: number[] = [];
    const b: number[] = [];
    const handoffs: [number, number][] = [];
    for (let r = 0; r < rounds; r++) {
      const before = await handoffNs();
      t.push(await torchImgPerSec(config));
      const between = await handoffNs();
      m.push(await medtuneImgPerSec(config));
      const after = await handoffNs();
      handoffs.push([Math.max(before, between), Math.max(between, after)]);
      if (baseline) b.push(await medtuneImgPerSec(config, baseline));
    }
    const ratios = m.map((v, i) => v / t[i]);
    const flops = flopsPerImage(config);
    const shared = ratios.filter((_, i) => handoffs[i].every((h) => h < SPLIT_THRESHOLD_NS));
    const before = baseline
      ? ` ${median(b).toFixed(1)} | ${median(b.map((v, i) => v / t[i])).toFixed(2)} |`
      : "";
    console.log(
      `| ${config} | ${median(m).toFixed(1)} (${range(m, 0)}) | ${median(t).toFixed(1)} (${
        range(t, 0)
      }) | ${median(ratios).toFixed(2)} (${range(ratios, 2)}) | ${
        handoffs.map(([a, c]) => `${a.toFixed(0)}·${c.toFixed(0)}`).join(", ")
      } | ${shared.length ? `${median(shared).toFixed(2)} (${shared.length})` : "–"} | ${
        (flops / 1e9).toFixed(3)
      } | ${gflopsCell(median(m), flops, peak)} · ${gflopsCell(median(t), flops, peak)} |${before}`,
    );
  }
}

/** The command line, or exit 2 with parseArgs's message (an unknown flag, a missing value). */
function parsedArgs() {
  try {
    return parseArgs({
      args: Deno.args,
      allowPositionals: true,
      options: {
        rounds: { type: "string", default: "3" },
        baseline: { type: "string" },
        "peak-gflops": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    Deno.exit(2);
  }
}

/** The core handoff time in ns (see `core_distance.ts`). */
async function handoffNs(): Promise<number> {
  return (await measureCoreDistance()).handoffNs;
}

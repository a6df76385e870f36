// The BreastMNIST fine-tuning ablation study: augmentation × LR schedule ×
// backbone, with the anti-overfitting stack fixed. `deno task ablate` runs it.
//
//   deno task ablate                      # the default study for this machine (prints its plan)
//   deno task ablate --help               # every flag
//   deno task ablate --shard 2/4          # one part of four (Slurm arrays, Kubernetes indexed jobs)
//   deno task ablate --merge              # combine the shards' results, then write the report

import { parseArgs } from "node:util";
import { loadMedMNISTSplits } from "../lib/data/medmnist.ts";
import type { Backend, BackendChoice } from "../lib/runtime/backend.ts";
import { createBackend } from "../lib/runtime/select.ts";
import { finalizeStudy } from "../lib/study/finalize.ts";
import { estimateRunSeconds, planStudy } from "../lib/study/plan.ts";
import { createProgressPrinter, formatDuration } from "../lib/study/progress.ts";
import { mergeShards, readResults, resultsPath, runStudy } from "../lib/study/runner.ts";
import {
  AUGMENT_LEVELS,
  BACKBONE_LEVELS,
  defaultStudy,
  parseShard,
  planRuns,
  SCHEDULE_LEVELS,
  type Shard,
  shardRuns,
  type StudySpec,
} from "../lib/study/spec.ts";

const USAGE = "usage: deno task ablate [--data DIR] [--out DIR] [--backend auto|cpu|wasm|webgpu] " +
  "[--design oat|grid] [--augment L,..] [--schedule L,..] [--backbone L,..] [--epochs N] " +
  "[--image-size N] [--batch-size N] [--seeds N|a,b,..] [--shard i/n] [--merge] [--report-only] " +
  "[--plan] [--no-resume] [--retry-failed] [--help]";

const HELP = `${USAGE}

Runs the BreastMNIST ablation (MedMNIST v2): augmentation (${AUGMENT_LEVELS.join("/")}) ×
LR schedule (${SCHEDULE_LEVELS.join("/")}) × backbone (${BACKBONE_LEVELS.join("/")}),
with label smoothing 0.1, AdamW (weight decay 1e-2), dropout 0.3 before the head, gradient
clipping at norm 1.0 and early stopping on validation AUC (patience 8). Finished runs are
appended to OUT/results.jsonl; rerunning resumes without repeating any. Then it writes
results.csv, results.md, charts/*.png, report.html and the best configuration's checkpoint
(best/model.safetensors, best/config.json, best/model.onnx).

Defaults depend on the backend: on a hardware GPU (webgpu) 224 px, 60 epochs, 3 seeds, as the
original study; on CPU a budget that finishes within about an hour on 2 cores (the plan says
which, and how to ask for more).

  --data DIR          folder with breastmnist.npz (default: $MEDTUNE_DATA_DIR, else the cache)
  --download          fetch the dataset from Zenodo when missing (md5-checked)
  --out DIR           output folder (default: runs/breastmnist-ablation)
  --backend NAME      auto (default), webgpu, cpu or wasm
  --threads N         cpu backend threads (default: all cores)
  --design D          oat (one axis at a time around the baseline, default) or grid (all 27)
  --baseline A/S/B    oat baseline (default basic/cosine/resnet18)
  --augment L,..      augmentation levels (default ${AUGMENT_LEVELS.join(",")})
  --schedule L,..     schedule levels (default ${SCHEDULE_LEVELS.join(",")})
  --backbone L,..     backbones (default ${BACKBONE_LEVELS.join(",")})
  --epochs N          epoch budget per run
  --image-size N      image size (28 uses the 28 px files; other sizes resize them)
  --batch-size N      batch size (default 32)
  --lr X              AdamW learning rate (default 1e-3)
  --patience N        early-stopping patience (default 8)
  --min-epochs N      never stop early before epoch N (default 20)
  --seeds N|a,b,..    number of seeds, or the seeds themselves
  --pretrained B=PATH timm safetensors for backbone B (repeatable)
  --max-steps N       stop each epoch after N steps (smoke tests)
  --shard i/n         run only the i-th of n parts (results.shard-i-of-n.jsonl)
  --merge             merge OUT/results.shard-*.jsonl into results.jsonl and write the report
  --report-only       write the report from OUT/results.jsonl without training
  --plan              print the plan and exit
  --no-resume         ignore recorded runs and checkpoints (results.jsonl is kept, new lines appended)
  --retry-failed      run recorded failures again
  -h, --help          this help
`;

class UsageError extends Error {}

function fail(message: string): never {
  throw new UsageError(message);
}

function parseIntFlag(name: string, v: string | undefined, min = 1): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) fail(`--${name} must be an integer >= ${min}, got "${v}"`);
  return n;
}

function parseList(name: string, v: string | undefined, allowed: readonly string[]) {
  if (v === undefined) return undefined;
  const items = v.split(",").map((s) => s.trim()).filter(Boolean);
  for (const item of items) {
    if (!allowed.includes(item)) {
      fail(`--${name}: unknown level "${item}"; choose from ${allowed.join(", ")}`);
    }
  }
  if (!items.length) fail(`--${name} needs at least one level`);
  return items;
}

function parseSeeds(v: string | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  if (!v.includes(",")) {
    const n = parseIntFlag("seeds", v, 1)!;
    return Array.from({ length: n }, (_, i) => i);
  }
  return v.split(",").map((s) => parseIntFlag("seeds", s.trim(), 0)!);
}

async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: false,
      allowNegative: true,
      options: {
        data: { type: "string" },
        download: { type: "boolean" },
        out: { type: "string" },
        backend: { type: "string" },
        threads: { type: "string" },
        design: { type: "string" },
        baseline: { type: "string" },
        augment: { type: "string" },
        schedule: { type: "string" },
        backbone: { type: "string" },
        epochs: { type: "string" },
        "image-size": { type: "string" },
        "batch-size": { type: "string" },
        lr: { type: "string" },
        patience: { type: "string" },
        "min-epochs": { type: "string" },
        seeds: { type: "string" },
        pretrained: { type: "string", multiple: true },
        "max-steps": { type: "string" },
        shard: { type: "string" },
        merge: { type: "boolean" },
        "report-only": { type: "boolean" },
        plan: { type: "boolean" },
        resume: { type: "boolean", default: true },
        "retry-failed": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    fail((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) {
    console.log(HELP);
    return 0;
  }
  const backendChoice = (v.backend ?? "auto") as BackendChoice;
  if (!["auto", "cpu", "wasm", "webgpu"].includes(backendChoice)) {
    fail(`--backend must be auto, cpu, wasm or webgpu, got "${v.backend}"`);
  }
  if (v.design !== undefined && v.design !== "oat" && v.design !== "grid") {
    fail(`--design must be oat or grid, got "${v.design}"`);
  }
  const shard: Shard | undefined = v.shard === undefined ? undefined : (() => {
    try {
      return parseShard(v.shard);
    } catch (err) {
      fail((err as Error).message);
    }
  })();
  const threads = parseIntFlag("threads", v.threads);
  const lr = v.lr === undefined ? undefined : Number(v.lr);
  if (lr !== undefined && !(lr > 0)) fail(`--lr must be a positive number, got "${v.lr}"`);
  let baseline;
  if (v.baseline !== undefined) {
    const [augment, schedule, backbone] = v.baseline.split("/");
    if (!backbone) fail(`--baseline must look like augment/schedule/backbone, got "${v.baseline}"`);
    baseline = { augment, schedule, backbone };
  }
  const pretrained: Record<string, string> = {};
  for (const item of v.pretrained ?? []) {
    const [name, path] = item.split("=");
    if (!path || !(BACKBONE_LEVELS as readonly string[]).includes(name)) {
      fail(
        `--pretrained must look like BACKBONE=PATH with a backbone of ${
          BACKBONE_LEVELS.join(", ")
        }`,
      );
    }
    pretrained[name] = path;
  }

  // Validate every flag before starting a backend.
  const flags = {
    imageSize: parseIntFlag("image-size", v["image-size"]),
    epochs: parseIntFlag("epochs", v.epochs),
    batchSize: parseIntFlag("batch-size", v["batch-size"]),
    patience: parseIntFlag("patience", v.patience),
    minEpochs: parseIntFlag("min-epochs", v["min-epochs"], 0),
    maxSteps: parseIntFlag("max-steps", v["max-steps"]),
    seeds: parseSeeds(v.seeds),
    augment: parseList("augment", v.augment, AUGMENT_LEVELS),
    schedule: parseList("schedule", v.schedule, SCHEDULE_LEVELS),
    backbone: parseList("backbone", v.backbone, [...BACKBONE_LEVELS, "vit_tiny"]),
  };

  const backend: Backend = await createBackend(backendChoice, { threads });
  const onGpu = backend.name === "webgpu";
  // Defaults by backend: the original study on a GPU; an hour-sized budget on CPU.
  const defaults = onGpu
    ? { imageSize: 224, epochs: 60, seeds: [0, 1, 2] }
    : { imageSize: 28, epochs: 30, seeds: [0] };
  let spec: StudySpec;
  try {
    spec = defaultStudy({
      design: v.design as "oat" | "grid" | undefined,
      baseline,
      axes: {
        augment: flags.augment ?? [...AUGMENT_LEVELS],
        schedule: flags.schedule ?? [...SCHEDULE_LEVELS],
        backbone: flags.backbone ?? [...BACKBONE_LEVELS],
      },
      seeds: flags.seeds ?? defaults.seeds,
      fixed: {
        imageSize: flags.imageSize ?? defaults.imageSize,
        epochs: flags.epochs ?? defaults.epochs,
        batchSize: flags.batchSize ?? 32,
        lr: lr ?? 1e-3,
        patience: flags.patience ?? 8,
        minEpochs: flags.minEpochs ?? 20,
        maxStepsPerEpoch: flags.maxSteps,
        pretrained: Object.keys(pretrained).length ? pretrained : undefined,
      },
    });
  } catch (err) {
    fail((err as Error).message);
  }

  const outDir = (v.out ?? "runs/breastmnist-ablation").replace(/\/+$/, "");
  const data = await loadMedMNISTSplits(spec.fixed.dataset, {
    root: v.data,
    download: v.download,
  });
  const log = (line: string) => console.error(`medtune: ${line}`);

  if (v.merge || v["report-only"]) {
    const records = v.merge
      ? await mergeShards(outDir, { log })
      : await readResults(resultsPath(outDir), { log });
    if (!records.length) fail(`no results in ${resultsPath(outDir)}; run the study first`);
    const result = await finalizeStudy(spec, outDir, records, { backend, train: data.train, log });
    console.log(
      `wrote ${result.files.length} files to ${outDir}/ (report.html, results.md, best/)`,
    );
    return 0;
  }

  const all = planRuns(spec);
  const mine = shard ? shardRuns(all, shard) : all;
  const recorded = v.resume ? await readResults(resultsPath(outDir, shard), { log }) : [];
  const doneIds = new Set(
    recorded.filter((r) => r.status === "ok" || !v["retry-failed"]).map((r) => r.id),
  );
  const sizes = { train: data.train.n, val: data.val.n, test: data.test.n };
  const plan = planStudy(spec, { backend: backend.name, sizes, doneIds, runs: mine });
  const configs = new Set(mine.map((r) => r.configId)).size;
  console.log(
    [
      `medtune ablation: ${spec.name}`,
      `  backend      ${backend.description}`,
      `  design       ${spec.design} (${configs} configurations × ${spec.seeds.length} seed(s) = ${mine.length} runs` +
      `${shard ? `, shard ${shard.index}/${shard.count}` : ""})`,
      `  image size   ${spec.fixed.imageSize} px, batch ${spec.fixed.batchSize}, up to ${spec.fixed.epochs} epochs ` +
      `(early stopping after epoch ${spec.fixed.minEpochs}, patience ${spec.fixed.patience})`,
      `  to run       ${plan.runs.length} (${plan.done} already recorded in ${
        resultsPath(outDir, shard)
      })`,
      `  estimate     ≤ ${
        formatDuration(plan.estimatedSeconds)
      } (full epoch budgets; early stopping shortens it)`,
      onGpu
        ? ""
        : `  more         --seeds 3 --epochs 60 --design grid --image-size 64 (longer on CPU)`,
    ].filter(Boolean).join("\n"),
  );
  if (v.plan) return 0;
  if (!v.resume) {
    await Deno.remove(`${outDir}/runs`, { recursive: true }).catch(() => {});
  }

  const outcome = await runStudy(spec, {
    outDir,
    backend,
    dataDir: v.data,
    download: v.download,
    shard,
    retryFailed: v["retry-failed"],
    log,
    progress: createProgressPrinter({
      estimateSeconds: (run) => estimateRunSeconds(run, sizes, backend.name),
    }),
  });
  console.log(`ran ${outcome.ran} run(s), ${outcome.skipped} already recorded`);
  if (shard && shard.count > 1) {
    console.log(
      `shard ${shard.index}/${shard.count} done; when every shard is, run: deno task ablate --merge --out ${outDir}`,
    );
    return 0;
  }
  const result = await finalizeStudy(spec, outDir, outcome.records, {
    backend,
    train: data.train,
    log,
  });
  console.log(
    `wrote ${outDir}/report.html, results.md, results.csv, charts/ and best/ (${result.files.length} files)`,
  );
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exitCode = await main(Deno.args);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`error: ${err.message}\n${USAGE}`);
      Deno.exitCode = 2;
    } else {
      throw err;
    }
  }
}

export { main };

/**
 * The measuring half of the one-shot GPU check (bench/gpu_check.sh runs it,
 * one subcommand per step, each under its own time limit):
 *
 *   deno run -A bench/gpu_check.ts adapter
 *   deno run -A bench/gpu_check.ts bench --backbone resnet18 [--size 224] [--batch 32] [--steps 5]
 *   deno run -A bench/gpu_check.ts breast [--size 224] [--batch 32] [--epochs 8] [--seconds 150]
 *
 * Every measurement is printed as one `RESULT {json}` line (plus a readable
 * line), so the results file can be grepped straight into a note.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { loadMedMNISTSplits } from "../lib/data/medmnist.ts";
import { createModel } from "../lib/models/registry.ts";
import type { Backend, BackendChoice } from "../lib/runtime/backend.ts";
import { createBackend } from "../lib/runtime/select.ts";
import { requestAdapter, summarizeAdapter } from "../lib/runtime/web.ts";
import { constant, warmupCosine } from "../lib/train/schedules.ts";
import { TrainingSession } from "../lib/train/session.ts";
import { Trainer } from "../lib/train/trainer.ts";

function result(kind: string, fields: Record<string, unknown>): void {
  console.log(`RESULT ${JSON.stringify({ kind, ...fields })}`);
}

async function adapter(): Promise<number> {
  const a = await requestAdapter();
  if (!a) {
    console.log("no WebGPU adapter: navigator.gpu.requestAdapter() returned null");
    result("adapter", { found: false });
    return 1;
  }
  const s = summarizeAdapter(a);
  const limits: Record<string, number> = {};
  for (
    const k of ["maxBufferSize", "maxStorageBufferBindingSize", "maxComputeWorkgroupStorageSize"]
  ) {
    limits[k] = (a.limits as unknown as Record<string, number>)[k];
  }
  console.log(`adapter: ${s.text}${s.software ? " (software)" : ""}`);
  console.log(`features: ${[...a.features].sort().join(", ")}`);
  const i = a.info; // getters: copy the fields JSON would skip
  const info = {
    vendor: i.vendor,
    architecture: i.architecture,
    device: i.device,
    description: i.description,
  };
  const backend = Deno.env.get("DENO_WEBGPU_BACKEND") ?? "default";
  result("adapter", { found: true, backend, text: s.text, software: s.software, info, limits });
  return 0;
}

async function backendFor(name: string): Promise<Backend> {
  const backend = await createBackend(name as BackendChoice, { verbose: false });
  console.log(`backend: ${backend.description}`);
  return backend;
}

async function bench(v: Record<string, string | undefined>): Promise<number> {
  const backbone = v.backbone ?? "resnet18";
  const size = Number(v.size ?? 224);
  const batch = Number(v.batch ?? 32);
  const steps = Number(v.steps ?? 5);
  const backend = await backendFor(v.backend ?? "webgpu");
  const model = createModel(backbone, {
    numClasses: 2,
    inChannels: 3,
    imageSize: size,
    // As the study: ViT patches of 16 px from 64 px up, 4 px below.
    ...(backbone.startsWith("vit") ? { patchSize: size >= 64 ? 16 : 4 } : {}),
  });
  let t = performance.now();
  const session = await TrainingSession.create(backend, model, {
    batchSize: batch,
    evalBatchSize: batch,
    optimizer: { name: "adamw", lr: 1e-3, weightDecay: 1e-2 },
    labelSmoothing: 0.1,
    clipGradNorm: 1,
  });
  const compileS = (performance.now() - t) / 1000;
  console.log(`compiled the train and eval programs in ${round(compileS)} s`);
  const x = new Float32Array(batch * 3 * size * size).map((_, i) => Math.sin(i * 0.01));
  const targets = new Float32Array(batch * 2).map((_, i) => (i % 2 === (i >> 1) % 2 ? 1 : 0));
  t = performance.now();
  await session.trainStep({ x, targets }, 1e-3); // first run: shader compilation
  const firstStepS = (performance.now() - t) / 1000;
  console.log(`first train step (shader compilation) ${round(firstStepS)} s`);
  t = performance.now();
  for (let i = 0; i < steps; i++) await session.trainStep({ x, targets }, 1e-3);
  const trainS = (performance.now() - t) / 1000;
  await session.predict(x, batch); // warm-up of the eval program
  t = performance.now();
  for (let i = 0; i < steps; i++) await session.predict(x, batch);
  const evalS = (performance.now() - t) / 1000;
  const fields = {
    backbone,
    backend: backend.description,
    size,
    batch,
    steps,
    compileS: round(compileS),
    firstStepS: round(firstStepS),
    trainImgS: round((steps * batch) / trainS),
    evalImgS: round((steps * batch) / evalS),
  };
  console.log(
    `${backbone} ${size} px batch ${batch}: train ${fields.trainImgS} img/s, eval ${fields.evalImgS} img/s ` +
      `(compile ${fields.compileS} s, first step ${fields.firstStepS} s)`,
  );
  result("throughput", fields);
  await session.dispose();
  return 0;
}

async function breast(v: Record<string, string | undefined>): Promise<number> {
  const size = Number(v.size ?? 224);
  const batch = Number(v.batch ?? 32);
  const epochs = Number(v.epochs ?? 8);
  const seconds = Number(v.seconds ?? 150);
  const maxSteps = v["max-steps"] === undefined ? undefined : Number(v["max-steps"]);
  const backbone = v.backbone ?? "resnet18";
  const backend = await backendFor(v.backend ?? "webgpu");
  const { train, val, test } = await loadMedMNISTSplits("breastmnist", { root: v.data });
  const model = createModel(backbone, {
    numClasses: 2,
    inChannels: 1,
    imageSize: size,
    dropRate: 0.3,
  });
  const trainer = new Trainer(model, {
    backend,
    optimizer: { name: "adamw", lr: 1e-3, weightDecay: 1e-2 },
    // One warm-up epoch when there is more than one (a rehearsal may run just one).
    schedule: epochs > 1 ? warmupCosine({ warmupEpochs: 1 }) : constant(),
    labelSmoothing: 0.1,
    clipGradNorm: 1,
    seed: 0,
    evalBatchSize: batch,
    log: (line) => console.log(line),
  });
  const t0 = performance.now();
  // Stop after the epoch that crosses the time budget (the step's own limit is the hard one).
  const fit = await trainer.fit(train, val, {
    epochs,
    batchSize: batch,
    augment: "basic",
    maxStepsPerEpoch: maxSteps,
    onEpochEnd: () => (performance.now() - t0) / 1000 < seconds,
  });
  const evaluation = await trainer.evaluate(test);
  const fields = {
    backbone,
    backend: backend.description,
    size,
    batch,
    epochsRun: fit.epochsRun,
    bestEpoch: fit.bestEpoch,
    bestValAuc: round(fit.bestScore, 4),
    testAuc: round(evaluation.metrics.auc ?? NaN, 4),
    testAccuracy: round(evaluation.metrics.accuracy, 4),
    secondsPerEpoch: fit.history.map((h) => round(h.seconds)),
    seconds: round(fit.seconds),
  };
  console.log(
    `breastmnist ${backbone} ${size} px: ${fit.epochsRun} epochs in ${fields.seconds} s, ` +
      `best val AUC ${fields.bestValAuc} (epoch ${fit.bestEpoch}), test AUC ${fields.testAuc}`,
  );
  result("breastmnist", fields);
  await trainer.dispose();
  return 0;
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

async function main(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: Object.fromEntries(
      ["backbone", "size", "batch", "steps", "epochs", "seconds", "max-steps", "backend", "data"]
        .map((k) => [k, { type: "string" as const }]),
    ),
  });
  const v = values as Record<string, string | undefined>;
  switch (positionals[0]) {
    case "adapter":
      return await adapter();
    case "bench":
      return await bench(v);
    case "breast":
      return await breast(v);
    default:
      console.error("usage: deno run -A bench/gpu_check.ts adapter|bench|breast [options]");
      return 2;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));

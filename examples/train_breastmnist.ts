// Train a backbone from scratch on BreastMNIST at 28 px with the study's
// regularization stack, over several seeds, choosing each run's checkpoint by
// validation AUC, and print test AUC / accuracy as mean ± std.
//
//   deno run -A examples/train_breastmnist.ts                       # ResNet-18, 3 seeds
//   deno run -A examples/train_breastmnist.ts --model vit_tiny --seeds 1
//   deno run -A examples/train_breastmnist.ts --help

import { parseArgs } from "node:util";
import type { PresetName } from "../lib/augment/presets.ts";
import { loadMedMNISTSplits } from "../lib/data/medmnist.ts";
import { meanCi } from "../lib/metrics/mod.ts";
import { createModel } from "../lib/models/registry.ts";
import { createBackend } from "../lib/runtime/select.ts";
import { cosine, warmupCosine } from "../lib/train/schedules.ts";
import { Trainer } from "../lib/train/trainer.ts";

const HELP = `usage: deno run -A examples/train_breastmnist.ts [options]

  --model NAME       resnet18 (default), efficientnet_b0, vit_tiny
  --seeds N          number of seeds (default 3)
  --epochs N         epoch budget (default 60; early stopping, patience 8)
  --augment P        none, basic (default) or heavy
  --lr X             AdamW learning rate (default 1e-3)
  --warmup N         linear warmup epochs before the cosine decay (default 5; 0 = plain cosine)
  --min-epochs N     never stop early before epoch N (default 20)
  --ema D            keep a weight EMA with decay D and select/evaluate it (default off)
  --image-size N     image size (default 28)
  --batch-size N     batch size (default 32)
  --backend NAME     auto (default), cpu, wasm, webgpu
  --data DIR         folder with breastmnist.npz (default $MEDTUNE_DATA_DIR, else the cache)
  --out DIR          write each seed's best checkpoint here (optional)
`;

const { values: v } = parseArgs({
  args: Deno.args,
  options: {
    model: { type: "string", default: "resnet18" },
    seeds: { type: "string", default: "3" },
    epochs: { type: "string", default: "60" },
    augment: { type: "string", default: "basic" },
    lr: { type: "string", default: "1e-3" },
    warmup: { type: "string", default: "5" },
    ema: { type: "string" },
    "min-epochs": { type: "string", default: "20" },
    "image-size": { type: "string", default: "28" },
    "batch-size": { type: "string", default: "32" },
    backend: { type: "string", default: "auto" },
    data: { type: "string" },
    out: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (v.help) {
  console.log(HELP);
  Deno.exit(0);
}
const num = (name: string, text: string) => {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`error: --${name} must be a non-negative number, got "${text}"\n${HELP}`);
    Deno.exit(2);
  }
  return n;
};
const seeds = num("seeds", v.seeds);
const epochs = num("epochs", v.epochs);
const imageSize = num("image-size", v["image-size"]);
const warmup = num("warmup", v.warmup);

const backend = await createBackend(v.backend as "auto");
const { train, val, test } = await loadMedMNISTSplits("breastmnist", { root: v.data });
console.log(
  `${v.model} from scratch on BreastMNIST ${imageSize} px, ${backend.description}, ` +
    `augment ${v.augment}, AdamW lr ${v.lr} wd 1e-2, smoothing 0.1, dropout 0.3, clip 1.0, ` +
    `${warmup ? `warmup ${warmup} + ` : ""}cosine, ≤ ${epochs} epochs, patience 8 after epoch ${
      v["min-epochs"]
    }`,
);

const rows: {
  seed: number;
  auc: number;
  acc: number;
  balAcc: number;
  epochs: number;
  best: number;
  s: number;
}[] = [];
for (let seed = 0; seed < seeds; seed++) {
  const model = createModel(v.model, {
    numClasses: 2,
    inChannels: 3,
    imageSize,
    dropRate: 0.3,
    ...(v.model.startsWith("vit") ? { patchSize: imageSize >= 64 ? 16 : 4 } : {}),
  });
  const trainer = new Trainer(model, {
    backend,
    optimizer: { name: "adamw", lr: num("lr", v.lr), weightDecay: 1e-2 },
    schedule: warmup > 0 ? warmupCosine({ warmupEpochs: warmup }) : cosine(),
    labelSmoothing: 0.1,
    clipGradNorm: 1,
    emaDecay: v.ema === undefined ? undefined : num("ema", v.ema),
    seed,
  });
  const fit = await trainer.fit(train, val, {
    epochs,
    batchSize: num("batch-size", v["batch-size"]),
    augment: v.augment as PresetName,
    earlyStopping: { patience: 8, minEpochs: num("min-epochs", v["min-epochs"]) },
  });
  const { metrics } = await trainer.evaluate(test);
  rows.push({
    seed,
    auc: metrics.auc ?? NaN,
    acc: metrics.accuracy,
    balAcc: metrics.balancedAccuracy,
    epochs: fit.epochsRun,
    best: fit.bestEpoch,
    s: fit.seconds,
  });
  console.log(
    `seed ${seed}: test AUC ${metrics.auc?.toFixed(4)} ACC ${metrics.accuracy.toFixed(4)} ` +
      `bal. ACC ${metrics.balancedAccuracy.toFixed(4)} Brier ${metrics.brier.toFixed(4)} | ` +
      `best epoch ${fit.bestEpoch}/${fit.epochsRun} (val AUC ${fit.bestScore.toFixed(4)}), ${
        fit.seconds.toFixed(0)
      } s`,
  );
  if (v.out) await trainer.save(`${v.out}/${v.model}-seed${seed}.safetensors`);
  await trainer.dispose();
}
const fmt = (xs: number[]) => {
  const ci = meanCi(xs);
  return `${ci.mean.toFixed(4)} ± ${(ci.std ?? 0).toFixed(4)}`;
};
console.log(
  `\n${v.model}, ${rows.length} seed(s): test AUC ${fmt(rows.map((r) => r.auc))}, ` +
    `ACC ${fmt(rows.map((r) => r.acc))}, balanced ACC ${fmt(rows.map((r) => r.balAcc))}; ` +
    `epochs ${rows.map((r) => `${r.best}/${r.epochs}`).join(", ")}; ` +
    `wall ${rows.reduce((a, r) => a + r.s, 0).toFixed(0)} s on ${backend.name}`,
);

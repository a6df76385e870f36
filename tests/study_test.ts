// The ablation study: planning (designs, stable ids, shards), a tiny study
// end to end through the CLI with its numbers checked against independent
// computations, a study killed mid-run and resumed, a failed run, and a
// sharded study merged. Flag errors and exit codes: cli_test.ts.

import assert from "node:assert/strict";
import { loadMedMNISTSplits } from "../lib/data/medmnist.ts";
import { aucRoc } from "../lib/metrics/auc.ts";
import { createBackend } from "../lib/runtime/select.ts";
import { parseCliArgs, studyFromOptions } from "../lib/study/cli_options.ts";
import { pidAlive, readClaim } from "../lib/study/claims.ts";
import { readResults } from "../lib/study/results_log.ts";
import { modelForRun } from "../lib/study/runner.ts";
import {
  defaultStudy,
  parseShard,
  planConfigs,
  planRuns,
  shardRuns,
  type StudySpec,
} from "../lib/study/spec.ts";
import { Trainer } from "../lib/train/trainer.ts";
import { cli, csvWithoutTimes, fileExists, spawnCli, tinyArgs } from "./_study_cli.ts";
import { DATA_DIR } from "./data_fixtures.ts";

Deno.test("oat varies one axis at a time around the baseline; grid is the full factorial", () => {
  const oat = planConfigs(defaultStudy({ design: "oat" }));
  assert.equal(oat.length, 7);
  assert.deepEqual(oat[0], { augment: "basic", schedule: "cosine", backbone: "resnet18" });
  for (const c of oat.slice(1)) {
    const differs = (["augment", "schedule", "backbone"] as const).filter((a) =>
      c[a] !== oat[0][a]
    );
    assert.equal(differs.length, 1, JSON.stringify(c));
  }
  assert.equal(planConfigs(defaultStudy({ design: "grid" })).length, 27);
});

Deno.test("run ids are stable and change with any setting", () => {
  const a = planRuns(defaultStudy());
  const b = planRuns(defaultStudy());
  assert.deepEqual(a.map((r) => r.id), b.map((r) => r.id));
  assert.equal(new Set(a.map((r) => r.id)).size, a.length);
  const c = planRuns(defaultStudy({ fixed: { lr: 5e-4 } }));
  assert.notEqual(c[0].configId, a[0].configId);
  assert.match(a[0].id, /^resnet18-basic-cosine-[0-9a-f]{8}-s0$/);
  // Pinned: the ids of the default study (results files of earlier studies resume into them).
  assert.deepEqual([...new Set(a.map((r) => r.configId))], [
    "resnet18-basic-cosine-1f907596",
    "resnet18-none-cosine-1ef7f5f3",
    "resnet18-heavy-cosine-39af422e",
    "resnet18-basic-constant-e9cf5a22",
    "resnet18-basic-warmup_cosine-9ae7afaf",
    "efficientnet_b0-basic-cosine-cc3a939f",
    "vit_tiny-basic-cosine-5fa502d5",
  ]);
  // An alias from an untyped caller is resolved to the canonical name: the same run ids.
  const alias = defaultStudy({
    axes: { augment: ["basic"], schedule: ["cosine"], backbone: ["vit_tiny" as never] },
    baseline: { augment: "basic", schedule: "cosine", backbone: "vit_tiny" as never },
  });
  assert.equal(planRuns(alias)[0].configId, "vit_tiny-basic-cosine-5fa502d5");
});

Deno.test("shards partition the runs", () => {
  const runs = planRuns(defaultStudy({ design: "grid" }));
  const parts = [1, 2, 3, 4].map((i) => shardRuns(runs, { index: i, count: 4 }));
  const ids = parts.flat().map((r) => r.id).sort();
  assert.deepEqual(ids, runs.map((r) => r.id).sort());
  assert.throws(() => parseShard("5/4"), /--shard must look like i\/n/);
  assert.throws(() => parseShard("x"), /--shard/);
});

// Small and quick: 16 px images, batch 8, one step per epoch, two epochs, cpu backend.
const tiny = (out: string, augment: string) =>
  tinyArgs(out, { augment, imageSize: 16, epochs: 2, maxSteps: 1 });

/** The CSV as one object per row, numbers parsed (empty cells are null). */
async function csvRecords(path: string): Promise<Record<string, string | number | null>[]> {
  const [header, ...rows] = (await Deno.readTextFile(path)).trim().split("\n").map((l) =>
    l.split(",")
  );
  const cell = (v: string) => (v === "" ? null : Number.isNaN(Number(v)) ? v : Number(v));
  return rows.map((row) => Object.fromEntries(header.map((name, i) => [name, cell(row[i])])));
}

const close = (a: number | null | undefined, b: number | null | undefined, what: string) =>
  assert.ok(
    typeof a === "number" && typeof b === "number" && Math.abs(a - b) < 1e-9,
    `${what}: ${a} vs ${b}`,
  );

Deno.test("a tiny study runs end to end; its records, CSV and best/ hold the numbers they claim", async () => {
  const out = await Deno.makeTempDir();
  const r = await cli(tiny(out, "none,basic"));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /2 configurations × 1 seed\(s\) = 2 runs/);
  const records = await readResults(`${out}/results.jsonl`);
  assert.equal(records.length, 2);
  const { test } = await loadMedMNISTSplits("breastmnist", { root: DATA_DIR });
  for (const rec of records) {
    assert.equal(rec.status, "ok", rec.error);
    assert.equal(rec.history.length, 2);
    // The recorded test AUC is the AUC of the recorded scores, over the test set's labels.
    assert.deepEqual(rec.testLabels, Array.from(test.labels));
    close(rec.test!.auc, aucRoc(rec.testScores!, rec.testLabels!), `${rec.id} test AUC`);
    assert.equal(rec.roc!.fpr.length, rec.roc!.tpr.length);
  }
  // Every results.csv row holds its configuration's record (one seed: the means are the values).
  const rows = await csvRecords(`${out}/results.csv`);
  assert.deepEqual(rows.map((row) => row.config_id).sort(), records.map((x) => x.configId).sort());
  for (const row of rows) {
    const rec = records.find((x) => x.configId === row.config_id)!;
    assert.deepEqual([row.augment, row.backbone, row.n_ok, row.n_failed], [
      rec.axes.augment,
      rec.axes.backbone,
      1,
      0,
    ]);
    close(row.test_auc_mean as number, rec.test!.auc, "test_auc_mean");
    close(row.test_balanced_accuracy_mean as number, rec.test!.balancedAccuracy, "balanced acc");
    close(row.test_brier_mean as number, rec.test!.brier, "test_brier_mean");
    close(row.val_auc_mean as number, rec.val!.auc, "val_auc_mean");
    close(row.gap_auc_mean as number, rec.gapAuc, "gap_auc_mean");
    assert.deepEqual([row.best_epoch_mean, row.epochs_run_mean], [rec.bestEpoch, rec.epochsRun]);
  }
  assert.match(await Deno.readTextFile(`${out}/results.md`), /★/);
  for (const f of ["report.html", "augment_grid.png", "charts/auc_by_level.png"]) {
    assert.ok((await Deno.stat(`${out}/${f}`)).size > 100, `${f} is empty`);
  }
  // best/ is the best configuration's run: re-evaluated, its weights give the recorded test AUC.
  const best = JSON.parse(await Deno.readTextFile(`${out}/best/config.json`));
  const chosen = records.find((rec) => rec.id === best.runId)!;
  assert.equal(rows.find((row) => row.best === 1)!.config_id, chosen.configId);
  const spec: StudySpec = JSON.parse(await Deno.readTextFile(`${out}/study.json`));
  const run = planRuns(spec).find((p) => p.id === chosen.id)!;
  const backend = await createBackend("cpu");
  const trainer = new Trainer(modelForRun(run, 2), { backend, evalBatchSize: 64 });
  try {
    await trainer.load(`${out}/best/model.safetensors`);
    const again = await trainer.evaluate(test);
    close(again.metrics.auc, chosen.test!.auc, "best/ re-evaluated test AUC");
  } finally {
    await trainer.dispose();
    await backend.destroy();
  }
  // The exported model runs standalone in onnxruntime-node with a batch of 3.
  const ort = await import("onnxruntime-node");
  const session = await ort.InferenceSession.create(await Deno.readFile(`${out}/best/model.onnx`));
  const x = new ort.Tensor("float32", new Float32Array(3 * 3 * 16 * 16).fill(0.1), [3, 3, 16, 16]);
  const res = await session.run({ [session.inputNames[0]]: x });
  assert.deepEqual(res.probs.dims, [3, 2]);
  await Deno.remove(out, { recursive: true });
});

/** Wait until no process holding a claim in `out/claims` is alive (at most 30 s). */
async function untilClaimantsStop(out: string): Promise<void> {
  const pids = new Set<number>();
  for await (const e of Deno.readDir(`${out}/claims`)) {
    const claim = await readClaim(`${out}/claims/${e.name}`);
    if (claim) pids.add(claim.owner.pid);
  }
  for (let i = 0; i < 300; i++) {
    const alive = await Promise.all([...pids].map((pid) => pidAlive(pid)));
    if (!alive.some(Boolean)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the killed study's workers (${[...pids].join(", ")}) are still running`);
}

Deno.test("a study killed mid-run resumes without repeating or losing a run", async () => {
  const out = await Deno.makeTempDir();
  const args = tiny(out, "none,basic,heavy");
  // Start, and kill the process as soon as the first run is recorded.
  const { child, done } = spawnCli(args);
  const results = `${out}/results.jsonl`;
  for (let i = 0; i < 600; i++) {
    await new Promise((r) => setTimeout(r, 200));
    if ((await readResults(results).catch(() => [])).length >= 1) break;
  }
  child.kill("SIGKILL");
  await done;
  // Its workers (--workers auto: two on two cores) stop within a second and
  // may record the run they were finishing; count what is recorded once
  // every process of the killed study is gone.
  await untilClaimantsStop(out);
  const before = await readResults(results);
  assert.ok(
    before.length >= 1 && before.length < 3,
    `${before.length} runs recorded before the kill`,
  );

  const r = await cli(args);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`${before.length} already recorded`));
  const after = await readResults(results);
  const ids = after.map((rec) => rec.id);
  assert.equal(ids.length, 3, ids.join());
  assert.equal(new Set(ids).size, 3, "a finished run was repeated");
  for (const rec of before) assert.deepEqual(after.find((a) => a.id === rec.id), rec);
  await Deno.remove(out, { recursive: true });
});

Deno.test("a failed run is recorded with its reason, the study goes on and exits 1", async () => {
  const out = await Deno.makeTempDir();
  // A learning rate of 1e30 diverges within the first steps.
  const args = [...tiny(out, "none,basic"), "--lr", "1e30"];
  const r = await cli(args);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout + r.stderr, /2 run\(s\) failed/);
  const records = await readResults(`${out}/results.jsonl`);
  assert.equal(records.length, 2);
  for (const rec of records) {
    assert.equal(rec.status, "failed");
    assert.match(rec.error!, /^diverged at epoch 1, step \d+: /);
    assert.ok(rec.history.length >= 1, "the partial epoch was not kept");
  }
  assert.ok((await Deno.stat(`${out}/results.md`)).isFile);
  await assert.rejects(() => Deno.stat(`${out}/best`), Deno.errors.NotFound);
  // Failures count as done: a rerun repeats nothing.
  const again = await cli(args);
  assert.match(again.stdout, /ran 0 run\(s\), 2 already recorded/);
  assert.equal((await readResults(`${out}/results.jsonl`, { keepDuplicates: true })).length, 2);
  await Deno.remove(out, { recursive: true });
});

Deno.test("two shards in separate folders, brought together, --merge into the unsharded study; --report-only rewrites the same report", async () => {
  const dir = await Deno.makeTempDir({ prefix: "medtune_shards_" });
  try {
    // A subset of 32 images per split keeps it quick; it is part of the study's identity.
    const flags = (
      out: string,
    ) => [...tinyArgs(out, { augment: "none,basic" }), "--limit-images", "32"];
    const planned = planRuns(studyFromOptions(parseCliArgs(flags(dir)), "cpu")).map((r) => r.id);
    assert.equal(planned.length, 2);
    for (const i of [1, 2]) {
      const r = await cli([...flags(`${dir}/part${i}`), "--shard", `${i}/2`]);
      assert.equal(r.code, 0, r.all);
      assert.match(r.stdout, /subset {7}32\/32\/32 images \(--limit-images 32, class-stratified\)/);
      assert.match(r.stdout, new RegExp(`shard ${i}/2 done; when every shard is, run: .*--merge`));
      const recs = await readResults(`${dir}/part${i}/results.shard-${i}-of-2.jsonl`);
      assert.deepEqual(recs.map((x) => x.id), [planned[i - 1]]);
      assert.equal(recs[0].testScores!.length, 32, "the test split was cut to 32 images");
      assert.equal(await fileExists(`${dir}/part${i}/results.jsonl`), false);
      assert.equal(await fileExists(`${dir}/part${i}/report.html`), false);
    }
    // Bring part 2's results and checkpoints into part 1's folder, as after copying them back.
    const out = `${dir}/part1`;
    await Deno.rename(
      `${dir}/part2/results.shard-2-of-2.jsonl`,
      `${out}/results.shard-2-of-2.jsonl`,
    );
    await Deno.rename(`${dir}/part2/runs/${planned[1]}`, `${out}/runs/${planned[1]}`);
    const merged = await cli([...flags(out), "--merge"]);
    assert.equal(merged.code, 0, merged.all);
    assert.match(merged.all, /merged 2 shard file\(s\) into .*results\.jsonl \(2 runs\)/);
    const records = await readResults(`${out}/results.jsonl`);
    assert.deepEqual(records.map((x) => x.id).sort(), [...planned].sort());
    assert.ok(records.every((x) => x.status === "ok"));
    const best = JSON.parse(await Deno.readTextFile(`${out}/best/config.json`));
    assert.ok(planned.includes(best.runId), best.runId);
    assert.match(await Deno.readTextFile(`${out}/results.md`), /subset: ≤ 32 images per split/);
    // --report-only trains nothing and writes the same table from the same records.
    const csv = await csvWithoutTimes(`${out}/results.csv`);
    await Deno.remove(`${out}/results.csv`);
    const report = await cli([...flags(out), "--report-only"]);
    assert.equal(report.code, 0, report.all);
    assert.ok(!/ran \d+ run/.test(report.all), report.all);
    assert.equal(await csvWithoutTimes(`${out}/results.csv`), csv);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--limit-images is part of a run's identity and the study's name", () => {
  const base = ["--backbone", "resnet18", "--augment", "none", "--schedule", "constant"];
  const full = studyFromOptions(parseCliArgs(base), "cpu");
  const cut = studyFromOptions(parseCliArgs([...base, "--limit-images", "64"]), "cpu");
  assert.equal(cut.fixed.limitImages, 64);
  assert.equal(full.fixed.limitImages, undefined);
  assert.notEqual(planRuns(cut)[0].id, planRuns(full)[0].id);
  assert.equal(full.name, "BreastMNIST fine-tuning ablation");
  assert.equal(cut.name, "BreastMNIST fine-tuning ablation (subset: ≤ 64 images per split)");
});

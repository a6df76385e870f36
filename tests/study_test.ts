// The ablation study: planning (designs, stable ids, shards), a tiny study
// end to end through the CLI with every output checked, a study killed
// mid-run and resumed, and the CLI's handling of bad flags.

import assert from "node:assert/strict";
import { readResults } from "../lib/study/results_log.ts";
import { defaultStudy, parseShard, planConfigs, planRuns, shardRuns } from "../lib/study/spec.ts";
import { DATA_DIR } from "./data_fixtures.ts";

const CLI = new URL("../examples/ablation.ts", import.meta.url).pathname;

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
});

Deno.test("shards partition the runs", () => {
  const runs = planRuns(defaultStudy({ design: "grid" }));
  const parts = [1, 2, 3, 4].map((i) => shardRuns(runs, { index: i, count: 4 }));
  const ids = parts.flat().map((r) => r.id).sort();
  assert.deepEqual(ids, runs.map((r) => r.id).sort());
  assert.throws(() => parseShard("5/4"), /--shard must look like i\/n/);
  assert.throws(() => parseShard("x"), /--shard/);
});

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

// Small and quick: 16 px images, batch 8, one step per epoch, cpu backend.
const TINY = [
  "--data",
  DATA_DIR,
  "--backend",
  "cpu",
  "--image-size",
  "16",
  "--batch-size",
  "8",
  "--epochs",
  "2",
  "--max-steps",
  "1",
  "--seeds",
  "1",
  "--schedule",
  "constant",
  "--backbone",
  "resnet18",
  "--baseline",
  "none/constant/resnet18",
];

Deno.test("a tiny study runs end to end and writes every output", async () => {
  const out = await Deno.makeTempDir();
  const r = await cli([...TINY, "--augment", "none,basic", "--out", out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /2 configurations × 1 seed\(s\) = 2 runs/);
  const records = await readResults(`${out}/results.jsonl`);
  assert.equal(records.length, 2);
  for (const rec of records) {
    assert.equal(rec.status, "ok", rec.error);
    assert.equal(rec.history.length, 2);
    assert.ok(rec.test && rec.val && rec.train && rec.roc && rec.testScores?.length === 156);
  }
  for (
    const f of [
      "study.json",
      "results.csv",
      "results.md",
      "report.html",
      "augment_grid.png",
      "best/model.safetensors",
      "best/model.onnx",
      "best/config.json",
      "charts/auc_by_level.png",
      "charts/gap_by_config.png",
      "charts/roc_augment.png",
    ]
  ) {
    const info = await Deno.stat(`${out}/${f}`);
    assert.ok(info.size > 100, `${f} is empty`);
  }
  const csv = (await Deno.readTextFile(`${out}/results.csv`)).trim().split("\n");
  assert.equal(csv.length, 3);
  assert.match(await Deno.readTextFile(`${out}/results.md`), /★/);
  const best = JSON.parse(await Deno.readTextFile(`${out}/best/config.json`));
  assert.ok(records.some((rec) => rec.id === best.runId));
  // The exported model runs standalone in onnxruntime-node with a batch of 3.
  const ort = await import("onnxruntime-node");
  const session = await ort.InferenceSession.create(await Deno.readFile(`${out}/best/model.onnx`));
  const x = new ort.Tensor("float32", new Float32Array(3 * 3 * 16 * 16).fill(0.1), [3, 3, 16, 16]);
  const res = await session.run({ [session.inputNames[0]]: x });
  assert.deepEqual(res.probs.dims, [3, 2]);
  await Deno.remove(out, { recursive: true });
});

Deno.test("a study killed mid-run resumes without repeating or losing a run", async () => {
  const out = await Deno.makeTempDir();
  const args = [...TINY, "--augment", "none,basic,heavy", "--out", out];
  // Start, and kill the process as soon as the first run is recorded.
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const results = `${out}/results.jsonl`;
  for (let i = 0; i < 600; i++) {
    await new Promise((r) => setTimeout(r, 200));
    if ((await readResults(results).catch(() => [])).length >= 1) break;
  }
  child.kill("SIGKILL");
  await child.status;
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

Deno.test("bad flags exit with code 2, a clear error and the usage line", async () => {
  for (
    const [args, message] of [
      [["--bogus"], /--bogus/],
      [["--epochs", "zero"], /--epochs must be .*>= 1, got "zero"/],
      [
        ["--augment", "extreme"],
        /--augment: unknown level "extreme"; choose from none, basic, heavy/,
      ],
      [["--shard", "3/2"], /--shard must look like i\/n/],
      [["--backend", "tpu"], /--backend must be .*auto, cpu, wasm.*webgpu.*"tpu"/],
    ] as const
  ) {
    const r = await cli([...args]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /usage: deno task ablate/);
  }
  const help = await cli(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--shard/);
});

Deno.test("a failed run is recorded with its reason, the study goes on and exits 1", async () => {
  const out = await Deno.makeTempDir();
  // A learning rate of 1e30 diverges within the first steps.
  const args = [...TINY, "--augment", "none,basic", "--lr", "1e30", "--out", out];
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

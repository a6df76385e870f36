// Starting afresh destroys nothing, and every way of going on afterwards
// (plain rerun, --retry-failed, --report-only) ends with a complete, readable
// study; a diverged run is recorded as such, counted as failed, and finalize
// claims no best/ it did not write.

import assert from "node:assert/strict";
import { loadMedMNISTSplits } from "../lib/data/medmnist.ts";
import { createBackend } from "../lib/runtime/select.ts";
import { finalizeStudy } from "../lib/study/finalize.ts";
import { readResults } from "../lib/study/results_log.ts";
import { runStudy } from "../lib/study/runner.ts";
import { defaultStudy, planRuns } from "../lib/study/spec.ts";
import { cli, fileExists, tinyArgs } from "./_study_cli.ts";
import { DATA_DIR } from "./data_fixtures.ts";

/** Every planned run recorded once and ok, with the report and best/ in place. */
async function assertComplete(out: string, ids: string[], step: string): Promise<void> {
  const lines = await readResults(`${out}/results.jsonl`, { keepDuplicates: true });
  assert.deepEqual(lines.map((r) => r.id).sort(), [...ids].sort(), `${step}: results.jsonl`);
  assert.ok(lines.every((r) => r.status === "ok"), `${step}: a run failed`);
  for (
    const f of [
      "results.csv",
      "results.md",
      "report.html",
      "best/model.safetensors",
      "best/config.json",
    ]
  ) {
    assert.ok(await fileExists(`${out}/${f}`), `${step}: ${f} is missing`);
  }
  const best = JSON.parse(await Deno.readTextFile(`${out}/best/config.json`));
  assert.ok(ids.includes(best.runId), `${step}: best/ names run ${best.runId}`);
}

Deno.test("--no-resume moves the finished study aside; rerun, --retry-failed and --report-only then all end complete", async () => {
  const out = await Deno.makeTempDir();
  const args = tinyArgs(out);
  const first = await cli(args);
  assert.equal(first.code, 0, first.all);
  const ids = (await readResults(`${out}/results.jsonl`)).map((r) => r.id);
  assert.equal(ids.length, 1);
  await assertComplete(out, ids, "first run");
  const before = await Deno.readTextFile(`${out}/results.jsonl`);

  const fresh = await cli([...args, "--no-resume"]);
  assert.equal(fresh.code, 0, fresh.all);
  assert.match(fresh.all, /ran 1 run\(s\), 0 already recorded/);
  assert.match(fresh.all, /moved the previous study into .*previous-/);
  const previous = [...Deno.readDirSync(out)].filter((e) => e.name.startsWith("previous-"));
  assert.equal(previous.length, 1);
  const prev = `${out}/${previous[0].name}`;
  // Nothing was destroyed: the old study is whole where it was moved.
  assert.equal(await Deno.readTextFile(`${prev}/results.jsonl`), before);
  for (const f of ["report.html", "best/model.safetensors", `runs/${ids[0]}/best.safetensors`]) {
    assert.ok(await fileExists(`${prev}/${f}`), `previous study lacks ${f}`);
  }
  await assertComplete(out, ids, "--no-resume");

  const rerun = await cli(args);
  assert.equal(rerun.code, 0, rerun.all);
  assert.match(rerun.all, /ran 0 run\(s\), 1 already recorded/);
  await assertComplete(out, ids, "plain rerun");

  const retry = await cli([...args, "--retry-failed"]);
  assert.equal(retry.code, 0, retry.all);
  await assertComplete(out, ids, "--retry-failed");

  const report = await cli([...args, "--report-only"]);
  assert.equal(report.code, 0, report.all);
  await assertComplete(out, ids, "--report-only");

  // A duplicated line (e.g. pasted in by hand): --report-only counts the run once and says so.
  const text = await Deno.readTextFile(`${out}/results.jsonl`);
  await Deno.writeTextFile(`${out}/results.jsonl`, text + text);
  const dup = await cli([...args, "--report-only"]);
  assert.equal(dup.code, 0, dup.all);
  assert.match(dup.all, /dropped 1 duplicate record\(s\) of 1 run\(s\)/);
  const csv = (await Deno.readTextFile(`${out}/results.csv`)).trim().split("\n");
  const nOk = csv[0].split(",").indexOf("n_ok");
  assert.equal(csv.length, 2);
  assert.equal(csv[1].split(",")[nOk], "1", "the duplicate was counted as a seed");
  await Deno.remove(out, { recursive: true });
});

Deno.test("a diverged run is recorded as 'diverged at epoch e, step s' with its history, counted as failed; no best/ is claimed", async () => {
  const out = await Deno.makeTempDir();
  const spec = defaultStudy({
    axes: { augment: ["none"], schedule: ["constant"], backbone: ["resnet18"] },
    baseline: { augment: "none", schedule: "constant", backbone: "resnet18" },
    seeds: [0],
    fixed: { imageSize: 28, epochs: 1, batchSize: 8, maxStepsPerEpoch: 3, lr: 1e30, minEpochs: 0 },
  });
  const backend = await createBackend("cpu");
  const lines: string[] = [];
  const log = (line: string) => lines.push(line);
  try {
    const outcome = await runStudy(spec, { outDir: out, backend, dataDir: DATA_DIR, log });
    assert.equal(outcome.ran, 1);
    assert.equal(outcome.failed, 1);
    const [rec] = await readResults(`${out}/results.jsonl`);
    assert.equal(rec.id, planRuns(spec)[0].id);
    assert.equal(rec.status, "failed");
    assert.match(rec.error!, /^diverged at epoch 1, step [1-3]: /);
    assert.equal(rec.divergedAt?.epoch, 1);
    assert.ok(rec.history.length >= 1, "the partial epoch's history was lost");
    assert.equal(rec.epochsRun, 0);
    assert.match(lines.join("\n"), /failed: diverged at epoch 1/);

    const { train } = await loadMedMNISTSplits("breastmnist", { root: DATA_DIR });
    const result = await finalizeStudy(spec, out, outcome.records, { backend, train, log });
    assert.equal(result.bestWritten, false);
    assert.equal(result.best, undefined);
    assert.ok(result.files.every((f) => !f.includes("/best/")), result.files.join());
    assert.equal(await fileExists(`${out}/best`), false);
    for (const f of result.files) assert.ok(await fileExists(f), `claimed ${f}, not written`);
  } finally {
    await backend.destroy();
    await Deno.remove(out, { recursive: true });
  }
});

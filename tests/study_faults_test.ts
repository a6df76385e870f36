// Fault injection: a tiny study is killed (-9) at random points — mid-run,
// mid-append (MEDTUNE_FAULT=append:after-bytes=N, a random N), mid-finalize
// (MEDTUNE_FAULT=finalize:after-report) — and rerun until it finishes. Every
// planned run must be recorded exactly once, and the records and the report
// must equal those of an uninterrupted study with the same seeds. The random
// points are printed, so a failure can be replayed.

import assert from "node:assert/strict";
import { readResults } from "../lib/study/results_log.ts";
import {
  cli,
  csvWithoutTimes,
  fileExists,
  outcomeOf,
  spawnCli,
  tinyArgs,
  waitFor,
} from "./_study_cli.ts";

const STUDY = { augment: "none,basic", epochs: 2, maxSteps: 2 };

/** Whether some run folder in `out` holds a checkpoint named `name`. */
async function someRunHas(out: string, name: string): Promise<boolean> {
  if (!(await fileExists(`${out}/runs`))) return false;
  for await (const e of Deno.readDir(`${out}/runs`)) {
    if (await fileExists(`${out}/runs/${e.name}/${name}`)) return true;
  }
  return false;
}

Deno.test("a study killed mid-run, mid-append and mid-finalize ends as if never interrupted", async () => {
  const ref = await Deno.makeTempDir();
  const out = await Deno.makeTempDir();
  const reference = await cli(tinyArgs(ref, STUDY));
  assert.equal(reference.code, 0, reference.all);

  // 1. Mid-run: killed at a random moment after the first epoch checkpoint.
  const delay = Math.floor(Math.random() * 1500);
  console.log(`fault points: kill ${delay} ms after the first checkpoint`);
  const first = spawnCli(tinyArgs(out, STUDY));
  await waitFor(() => someRunHas(out, "last.safetensors"), 300, "a checkpoint");
  await new Promise((r) => setTimeout(r, delay));
  first.child.kill("SIGKILL");
  const killed = await first.done;
  assert.notEqual(killed.code, 0, "the study finished before the kill");

  // 2. Mid-append: the next process dies after N bytes of its first record.
  const bytes = 1 + Math.floor(Math.random() * 3000);
  console.log(`fault points: append cut after ${bytes} bytes`);
  const torn = await cli(tinyArgs(out, STUDY), { MEDTUNE_FAULT: `append:after-bytes=${bytes}` });
  assert.notEqual(torn.code, 0, torn.all);
  assert.match(torn.all, /MEDTUNE_FAULT: crashing at append/);
  const text = await Deno.readTextFile(`${out}/results.jsonl`);
  assert.ok(!text.endsWith("\n"), "the record was not torn");

  // 3. Mid-finalize: the remaining run(s) finish, the process dies after the report.
  const fin = await cli(tinyArgs(out, STUDY), { MEDTUNE_FAULT: "finalize:after-report" });
  assert.notEqual(fin.code, 0, fin.all);
  assert.match(fin.all, /moved it to .*results\.jsonl\.torn-/);
  assert.match(fin.all, /MEDTUNE_FAULT: crashing at finalize:after-report/);

  // 4. Rerun until it finishes (once should do).
  let last = await cli(tinyArgs(out, STUDY));
  for (let i = 0; i < 2 && last.code !== 0; i++) last = await cli(tinyArgs(out, STUDY));
  assert.equal(last.code, 0, last.all);
  assert.match(last.all, /ran 0 run\(s\), 2 already recorded/);

  const got = await readResults(`${out}/results.jsonl`, { keepDuplicates: true });
  const want = await readResults(`${ref}/results.jsonl`);
  const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
  assert.deepEqual(got.map((r) => r.id).sort(), want.map((r) => r.id).sort(), "each run once");
  assert.deepEqual(got.sort(byId).map(outcomeOf), want.sort(byId).map(outcomeOf));
  assert.equal(
    await csvWithoutTimes(`${out}/results.csv`),
    await csvWithoutTimes(`${ref}/results.csv`),
  );
  const bestGot = JSON.parse(await Deno.readTextFile(`${out}/best/config.json`));
  const bestWant = JSON.parse(await Deno.readTextFile(`${ref}/best/config.json`));
  assert.equal(bestGot.runId, bestWant.runId);
  assert.deepEqual([...Deno.readDirSync(`${out}/claims`)], [], "claims left behind");
  await Deno.remove(ref, { recursive: true });
  await Deno.remove(out, { recursive: true });
});

// The results log: every record lands on its own line whatever the state of
// the file's tail, a torn last line is moved aside (never glued to), a
// hand-edited bad line is an error naming file:line, readers keep one record
// per run id and say when they drop duplicates; atomic writes leave no
// temporaries; concurrent appends never interleave.

import assert from "node:assert/strict";
import type { RunRecord } from "../lib/report/record.ts";
import { mergeShards } from "../lib/study/runner.ts";
import { appendRecord, dedupeRecords, readResults } from "../lib/study/results_log.ts";
import { atomicWriteFile, createExclusive } from "../lib/util/fs.ts";

function record(id: string, extra: Partial<RunRecord> = {}): RunRecord {
  return {
    id,
    configId: id.replace(/-s\d+$/, ""),
    axes: { augment: "none", schedule: "constant", backbone: "resnet18" },
    config: {},
    seed: Number(id.match(/-s(\d+)$/)?.[1] ?? 0),
    status: "ok",
    backend: "cpu",
    imageSize: 28,
    epochsRun: 1,
    bestEpoch: 1,
    history: [],
    test: { loss: 0.5, accuracy: 0.8, auc: 0.9 } as RunRecord["test"],
    seconds: 1,
    finishedAt: new Date().toISOString(),
    ...extra,
  };
}

function logger(): { lines: string[]; log: (line: string) => void } {
  const lines: string[] = [];
  return { lines, log: (line) => lines.push(line) };
}

Deno.test("a complete last record without a final newline gets one before the next append", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/results.jsonl`;
  // As an editor that adds no newline leaves it.
  await Deno.writeTextFile(path, JSON.stringify(record("a-s0")));
  const { lines, log } = logger();
  await appendRecord(path, record("b-s0"), { log });
  const text = await Deno.readTextFile(path);
  assert.equal(text.split("\n").length, 3, text);
  assert.ok(text.endsWith("\n"));
  assert.deepEqual((await readResults(path)).map((r) => r.id), ["a-s0", "b-s0"]);
  assert.deepEqual(lines, []);
  const entries = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  assert.deepEqual(entries, ["results.jsonl"], "no torn file, lock or temporary left");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a torn last line is moved aside with a warning, never glued to", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/results.jsonl`;
  const full = JSON.stringify(record("a-s0")) + "\n";
  const torn = JSON.stringify(record("b-s0")).slice(0, 57);
  await Deno.writeTextFile(path, full + torn);

  // Reading tolerates it, with a warning.
  const read = logger();
  assert.deepEqual((await readResults(path, { log: read.log })).map((r) => r.id), ["a-s0"]);
  assert.match(read.lines.join("\n"), /unfinished last line \(57 bytes/);

  const { lines, log } = logger();
  await appendRecord(path, record("c-s0"), { log });
  assert.match(lines.join("\n"), /last line was unfinished \(57 bytes.*moved it to .*torn-/);
  assert.deepEqual((await readResults(path)).map((r) => r.id), ["a-s0", "c-s0"]);
  const tornFiles = [...Deno.readDirSync(dir)].filter((e) => e.name.includes(".torn-"));
  assert.equal(tornFiles.length, 1);
  assert.equal(await Deno.readTextFile(`${dir}/${tornFiles[0].name}`), torn);
  // Every line of the results file is a complete record.
  for (const line of (await Deno.readTextFile(path)).trim().split("\n")) JSON.parse(line);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a hand-edited bad line is an error naming file:line and the fix", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/results.jsonl`;
  await Deno.writeTextFile(
    path,
    [JSON.stringify(record("a-s0")), "{ oops", JSON.stringify(record("b-s0")), ""].join("\n"),
  );
  await assert.rejects(
    () => readResults(path),
    (err: Error) => {
      assert.match(err.message, new RegExp(`${path}:2: not a JSON run record`));
      assert.match(err.message, /fix that line or delete it/);
      return true;
    },
  );
  // Valid JSON that is not a run record, and a bad last line that does end in a newline.
  await Deno.writeTextFile(path, JSON.stringify(record("a-s0")) + '\n{"x":1}\n');
  await assert.rejects(() => readResults(path), /results\.jsonl:2: .*without an id and status/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("duplicates: readers keep one record per run id (ok over failed, else the latest) and say so", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/results.jsonl`;
  const failed = record("a-s0", {
    status: "failed",
    error: "x",
    finishedAt: "2026-01-01T00:00:02Z",
  });
  const ok = record("a-s0", { finishedAt: "2026-01-01T00:00:01Z" });
  const b1 = record("b-s0", { finishedAt: "2026-01-01T00:00:01Z", seconds: 1 });
  const b2 = record("b-s0", { finishedAt: "2026-01-01T00:00:03Z", seconds: 2 });
  const c = record("c-s1");
  await Deno.writeTextFile(
    path,
    [ok, b1, failed, b2, c, b1].map((r) => JSON.stringify(r) + "\n").join(""),
  );
  const { lines, log } = logger();
  const records = await readResults(path, { log });
  assert.deepEqual(records.map((r) => r.id), ["a-s0", "b-s0", "c-s1"]);
  assert.equal(records[0].status, "ok");
  assert.equal(records[1].seconds, 2);
  assert.match(lines.join("\n"), /dropped 3 duplicate record\(s\) of 2 run\(s\)/);
  assert.equal((await readResults(path, { keepDuplicates: true })).length, 6);
  assert.equal(dedupeRecords([c, c]).length, 1);

  // Merge: shards overlapping with each other and with results.jsonl.
  await Deno.writeTextFile(
    `${dir}/results.shard-1-of-2.jsonl`,
    JSON.stringify(b2) + "\n" + JSON.stringify(failed) + "\n",
  );
  await Deno.writeTextFile(
    `${dir}/results.shard-2-of-2.jsonl`,
    JSON.stringify(c) + "\n" + JSON.stringify(c) + "\n",
  );
  const merged = logger();
  const all = await mergeShards(dir, { log: merged.log });
  assert.deepEqual(all.map((r) => r.id).sort(), ["a-s0", "b-s0", "c-s1"]);
  assert.equal(all.find((r) => r.id === "a-s0")!.status, "ok");
  assert.match(merged.lines.join("\n"), /dropped \d+ duplicate record/);
  assert.equal((await readResults(path, { keepDuplicates: true })).length, 3);
  // Merging again finds the same lines in results.jsonl and the shards: those are no
  // duplicates; only a-s0's failed record in shard 1 still is.
  const again = logger();
  await mergeShards(dir, { log: again.log });
  assert.match(again.lines.join("\n"), /dropped 1 duplicate record\(s\) of 1 run\(s\)/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("concurrent appends (many writers, one file) never interleave or lose a record", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/results.jsonl`;
  const big = Array.from({ length: 20000 }, (_, i) => i / 7);
  await Promise.all(
    Array.from(
      { length: 24 },
      (_, i) => appendRecord(path, record(`r${i}-s0`, { testScores: big })),
    ),
  );
  const records = await readResults(path, { keepDuplicates: true });
  assert.equal(records.length, 24);
  assert.equal(new Set(records.map((r) => r.id)).size, 24);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("atomic writes replace whole files and leave no temporaries; exclusive create refuses a second", async () => {
  const dir = await Deno.makeTempDir();
  await atomicWriteFile(`${dir}/sub/a.json`, "one");
  await atomicWriteFile(`${dir}/sub/a.json`, new TextEncoder().encode("two"));
  assert.equal(await Deno.readTextFile(`${dir}/sub/a.json`), "two");
  assert.deepEqual([...Deno.readDirSync(`${dir}/sub`)].map((e) => e.name), ["a.json"]);
  assert.equal(await createExclusive(`${dir}/c`, "x"), true);
  assert.equal(await createExclusive(`${dir}/c`, "y"), false);
  assert.equal(await Deno.readTextFile(`${dir}/c`), "x");
  await Deno.remove(dir, { recursive: true });
});

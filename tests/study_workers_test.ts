// Many workers, one folder: claims (exclusive create, heartbeat, takeover of
// a dead or silent worker, loss detected), two CLI processes on the same
// --out training each run exactly once, and a killed worker's run taken over
// and resumed from its checkpoint.

import assert from "node:assert/strict";
import {
  ClaimLostError,
  claimPath,
  claimRun,
  readClaim,
  thisHost,
  withFileLock,
} from "../lib/study/claims.ts";
import { readResults } from "../lib/study/results_log.ts";
import {
  measurementShares,
  parseThroughputLine,
  runWorkerProcesses,
  throughputLine,
  WORKER_READY_LINE,
  type WorkerJob,
} from "../lib/study/workers.ts";
import { createBackend } from "../lib/runtime/select.ts";
import { executeRun, runStudy, type StudyProgress } from "../lib/study/runner.ts";
import { loadMedMNISTSplits } from "../lib/data/medmnist.ts";
import {
  type AugmentLevel,
  defaultStudy,
  type FixedSettings,
  type PlannedRun,
  planRuns,
  type ScheduleLevel,
  type StudySpec,
} from "../lib/study/spec.ts";
import { DATA_DIR } from "./data_fixtures.ts";
import { cli, fileExists, outcomeOf, spawnCli, tinyArgs, waitFor } from "./_study_cli.ts";

function logger(): { lines: string[]; log: (line: string) => void } {
  const lines: string[] = [];
  return { lines, log: (line) => lines.push(line) };
}

/**
 * A one-seed ResNet-18 study of the given augment levels (the first is the
 * baseline) and one schedule, at 28 px and batch 8 unless `fixed` says otherwise.
 */
function resnetStudy(
  augment: AugmentLevel[],
  schedule: ScheduleLevel,
  fixed: Partial<FixedSettings>,
): StudySpec {
  return defaultStudy({
    axes: { augment, schedule: [schedule], backbone: ["resnet18"] },
    baseline: { augment: augment[0], schedule, backbone: "resnet18" },
    seeds: [0],
    fixed: { imageSize: 28, batchSize: 8, ...fixed },
  });
}

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

/** Write a claim file as another worker would (synchronous: also from a progress callback). */
function writeClaim(path: string, owner: Record<string, unknown>, mtime?: Date): void {
  Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  Deno.writeTextFileSync(path, JSON.stringify({ token: crypto.randomUUID(), ...owner }));
  if (mtime) Deno.utimeSync(path, mtime, mtime);
}

Deno.test("claims: a live claim is refused; released, it can be claimed again", async () => {
  const out = await Deno.makeTempDir();
  const a = await claimRun(out, "run-s0");
  assert.ok(a);
  const info = await readClaim(claimPath(out, "run-s0"));
  assert.equal(info?.owner.pid, Deno.pid);
  assert.equal(info?.owner.host, thisHost());
  assert.equal(info?.owner.runId, "run-s0");
  assert.ok(info?.owner.startedAt);
  assert.equal(await claimRun(out, "run-s0"), undefined, "claimed twice");
  // Another host's claim with a recent heartbeat is live too.
  writeClaim(claimPath(out, "other-s0"), { host: "elsewhere", pid: 1 });
  assert.equal(await claimRun(out, "other-s0"), undefined);
  await a.release();
  assert.equal(await fileExists(claimPath(out, "run-s0")), false);
  const b = await claimRun(out, "run-s0");
  assert.ok(b);
  await b.release();
  await Deno.remove(out, { recursive: true });
});

Deno.test("claims: a dead worker's claim (dead pid on this host) is taken over", async () => {
  const out = await Deno.makeTempDir();
  const pid = await deadPid();
  writeClaim(claimPath(out, "run-s0"), { host: thisHost(), pid, startedAt: "x" });
  const { lines, log } = logger();
  const claim = await claimRun(out, "run-s0", { log });
  assert.ok(claim, "the dead worker's claim was not taken over");
  assert.match(
    lines.join("\n"),
    new RegExp(`taking over .*run-s0\\.json: process .*:${pid} is no longer running`),
  );
  assert.equal((await readClaim(claimPath(out, "run-s0")))?.owner.token, claim.owner.token);
  assert.deepEqual([...Deno.readDirSync(`${out}/claims`)].map((e) => e.name), ["run-s0.json"]);
  await claim.release();
  await Deno.remove(out, { recursive: true });
});

Deno.test("claims: no heartbeat for staleSeconds is taken over; the heartbeat keeps a claim alive", async () => {
  const out = await Deno.makeTempDir();
  const path = claimPath(out, "run-s0");
  const old = new Date(Date.now() - 3600_000);
  writeClaim(path, { host: "elsewhere", pid: 12345 }, old);
  const { lines, log } = logger();
  assert.equal(await claimRun(out, "run-s0", { staleSeconds: 7200 }), undefined);
  const claim = await claimRun(out, "run-s0", { staleSeconds: 60, log });
  assert.ok(claim);
  assert.match(
    lines.join("\n"),
    /no heartbeat from elsewhere:12345 for 3600 s \(stale after 60 s\)/,
  );
  // The heartbeat touches the file.
  await Deno.utime(path, old, old);
  await claim.beat();
  const age = Date.now() - (await readClaim(path))!.heartbeatAt.getTime();
  assert.ok(age < 60_000, `heartbeat ${age} ms old`);
  assert.equal(await claimRun(out, "run-s0", { staleSeconds: 60 }), undefined);
  // An unreadable claim (writer died between create and write) goes stale after seconds.
  await Deno.writeTextFile(claimPath(out, "torn-s0"), "");
  assert.equal(await claimRun(out, "torn-s0"), undefined);
  await Deno.utime(claimPath(out, "torn-s0"), old, old);
  assert.ok(await claimRun(out, "torn-s0"));
  await claim.release();
  await Deno.remove(out, { recursive: true });
});

Deno.test("claims: a worker whose claim was taken over notices and stops", async () => {
  const out = await Deno.makeTempDir();
  const { lines, log } = logger();
  const claim = await claimRun(out, "run-s0", { log });
  assert.ok(claim);
  assert.equal(await claim.verify(), true);
  claim.throwIfLost();
  // Another worker judged it stale and replaced it.
  writeClaim(claimPath(out, "run-s0"), { host: "elsewhere", pid: 7 });
  assert.equal(await claim.verify(), false);
  assert.throws(() => claim.throwIfLost(), ClaimLostError);
  assert.match(lines.join("\n"), /lost the claim on run run-s0: .* now belongs to elsewhere:7/);
  await claim.release();
  assert.equal(
    (await readClaim(claimPath(out, "run-s0")))?.owner.host,
    "elsewhere",
    "released another's claim",
  );
  await Deno.remove(out, { recursive: true });
});

Deno.test("file lock: concurrent sections never overlap", async () => {
  const dir = await Deno.makeTempDir();
  let inside = 0;
  let maxInside = 0;
  await Promise.all(Array.from({ length: 12 }, () =>
    withFileLock(`${dir}/x.lock`, async () => {
      inside++;
      maxInside = Math.max(maxInside, inside);
      await new Promise((r) => setTimeout(r, 5));
      inside--;
    })));
  assert.equal(maxInside, 1);
  assert.equal(await fileExists(`${dir}/x.lock`), false);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("two workers on one --out train each run exactly once", async () => {
  const out = await Deno.makeTempDir();
  const args = [...tinyArgs(out, { augment: "none,basic,heavy" }), "--threads", "1"];
  const a = spawnCli(args);
  const b = spawnCli(args);
  const [ra, rb] = await Promise.all([a.done, b.done]);
  assert.equal(ra.code, 0, ra.all);
  assert.equal(rb.code, 0, rb.all);
  const lines = await readResults(`${out}/results.jsonl`, { keepDuplicates: true });
  const ids = lines.map((r) => r.id);
  assert.equal(ids.length, 3, `results.jsonl lines: ${ids.join(", ")}`);
  assert.equal(new Set(ids).size, 3, `a run was trained twice: ${ids.join(", ")}`);
  const ran = [ra, rb].map((r) => Number(r.stdout.match(/ran (\d+) run\(s\)/)?.[1]));
  assert.equal(ran[0] + ran[1], 3, `ran ${ran.join(" + ")}`);
  assert.ok(lines.every((r) => r.status === "ok"));
  assert.ok(await fileExists(`${out}/best/model.safetensors`));
  assert.deepEqual([...Deno.readDirSync(`${out}/claims`)], [], "claims left behind");
  await Deno.remove(out, { recursive: true });
});

Deno.test("a killed worker's claim is taken over and its run resumes from the checkpoint", async () => {
  const out = await Deno.makeTempDir();
  const args = tinyArgs(out, { epochs: 2 });
  const first = spawnCli(args);
  // Kill it (-9) once the first epoch's checkpoint is written.
  const runs = `${out}/runs`;
  let last = "";
  await waitFor(
    async () => {
      if (!(await fileExists(runs))) return false;
      for await (const e of Deno.readDir(runs)) {
        if (await fileExists(`${runs}/${e.name}/last.safetensors`)) last = `${runs}/${e.name}`;
      }
      return last !== "";
    },
    300,
    "the first epoch checkpoint",
  );
  first.child.kill("SIGKILL");
  await first.done;
  const id = last.slice(last.lastIndexOf("/") + 1);
  const claim = await readClaim(claimPath(out, id));
  assert.equal(claim?.owner.pid, first.child.pid, "the killed worker's claim is still there");

  const r = await cli(args);
  assert.equal(r.code, 0, r.all);
  assert.match(r.all, new RegExp(`taking over .*${id}\\.json: process .* is no longer running`));
  assert.match(r.all, /resumed from .*last\.safetensors after epoch 1/);
  const records = await readResults(`${out}/results.jsonl`, { keepDuplicates: true });
  assert.deepEqual(records.map((rec) => rec.id), [id]);
  assert.equal(records[0].status, "ok");
  assert.equal(records[0].history.length, 2);
  await Deno.remove(out, { recursive: true });
});

Deno.test("runStudy waits for a run another worker holds, and takes it over when its heartbeat stops", async () => {
  const out = await Deno.makeTempDir();
  const spec = resnetStudy(["none"], "constant", {
    epochs: 1,
    maxStepsPerEpoch: 1,
    minEpochs: 0,
  });
  const [run] = planRuns(spec);
  // A worker on another machine claimed it, then stopped beating.
  writeClaim(claimPath(out, run.id), { host: "elsewhere", pid: 1 });
  const backend = await createBackend("cpu");
  const { lines, log } = logger();
  try {
    const outcome = await runStudy(spec, {
      outDir: out,
      backend,
      dataDir: DATA_DIR,
      claimStaleSeconds: 2,
      pollSeconds: 0.5,
      log,
    });
    assert.equal(outcome.ran, 1);
    const text = lines.join("\n");
    assert.match(text, /waiting for 1 run\(s\) claimed by other workers \(elsewhere:1\)/);
    assert.match(
      text,
      /taking over .*: no heartbeat from elsewhere:1 for \d+ s \(stale after 2 s\)/,
    );
    assert.deepEqual(outcome.records.map((r) => r.id), [run.id]);
  } finally {
    await backend.destroy();
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("a run moved to more threads mid-run (cores freed) resumes from its epoch and ends with the same record", async () => {
  const spec = resnetStudy(["basic"], "cosine", {
    epochs: 4,
    maxStepsPerEpoch: 2,
    minEpochs: 4,
  });
  const one = await createBackend("cpu", { threads: 1 });
  const two = await createBackend("cpu", { threads: 2 });
  const [plain, moved] = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  const { lines, log } = logger();
  try {
    const a = await runStudy(spec, { outDir: plain, backend: one, dataDir: DATA_DIR });
    let asked = 0;
    const b = await runStudy(spec, {
      outDir: moved,
      backend: one,
      dataDir: DATA_DIR,
      log,
      // Cores are freed after the first epoch; asked again after the second, nothing more.
      moreThreads: () => Promise.resolve(asked++ === 0 ? two : undefined),
    });
    // Asked after epochs 1 and 2 (two or more to go), not after 3.
    assert.equal(asked, 2);
    const text = lines.join("\n");
    assert.match(text, /: continuing from epoch 1 on cpu \(onnxruntime-node [^,]+, 2 threads/);
    assert.match(text, /resumed from .*last\.safetensors after epoch 1/);
    const [ra, rb] = [a.records[0], b.records[0]];
    assert.equal(rb.status, "ok");
    assert.match(rb.backend, /2 threads/);
    assert.equal(rb.history.length, 4);
    // One thread or two, resumed or not: the same numbers.
    assert.deepEqual(outcomeOf(rb), outcomeOf(ra));
  } finally {
    await one.destroy();
    await two.destroy();
    await Deno.remove(plain, { recursive: true });
    await Deno.remove(moved, { recursive: true });
  }
});

Deno.test("a more-threads offer that fails leaves the run where it is; the run is recorded ok", async () => {
  const spec = resnetStudy(["none"], "constant", {
    epochs: 3,
    maxStepsPerEpoch: 1,
    minEpochs: 3,
  });
  const out = await Deno.makeTempDir();
  const backend = await createBackend("cpu", { threads: 1 });
  const { lines, log } = logger();
  try {
    const outcome = await runStudy(spec, {
      outDir: out,
      backend,
      dataDir: DATA_DIR,
      log,
      moreThreads: () => Promise.reject(new Error("no threads today")),
    });
    assert.equal(outcome.records[0].status, "ok");
    assert.equal(outcome.records[0].history.length, 3);
    assert.match(lines.join("\n"), /: staying on cpu \(.*1 threads.*\) \(no threads today\)/);
  } finally {
    await backend.destroy();
    await Deno.remove(out, { recursive: true });
  }
});

/**
 * Two stand-in workers with `shareFreedCores`: 1 ends at once; 2 says it is
 * ready after `readyDelayMs`, then waits up to `waitMs` for SIGUSR1 and says
 * how many it got. Returns the exits and every relayed line.
 */
async function standInWorkers(readyDelayMs: number, waitMs: number) {
  const script = `
    let got = 0;
    if (Deno.env.get("MEDTUNE_WORKER") === "2") await new Promise((r) => setTimeout(r, ${readyDelayMs}));
    Deno.addSignalListener("SIGUSR1", () => got++);
    console.log("${WORKER_READY_LINE}");
    await new Response(Deno.stdin.readable).text();
    if (Deno.env.get("MEDTUNE_WORKER") === "1") {
      console.log("trained 0 run(s); nothing left to claim");
      Deno.exit(0);
    }
    const end = Date.now() + ${waitMs};
    while (!got && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    console.log("signals " + got);
    Deno.exit(0);
  `;
  const out: string[] = [];
  const exits = await runWorkerProcesses({ threads: 1 } as unknown as WorkerJob, {
    workers: 2,
    out: (line) => out.push(line),
    err: (line) => out.push(line),
    command: [Deno.execPath(), "eval", script],
    shareFreedCores: true,
  });
  return { exits, out };
}

Deno.test("runWorkerProcesses passes a finished worker's cores on to one still training (SIGUSR1)", async () => {
  const { exits, out } = await standInWorkers(0, 60_000);
  assert.deepEqual(exits.map((e) => e.code), [0, 0], out.join("\n"));
  assert.ok(out.includes("[worker 1] done: its cores go to worker 2"), out.join("\n"));
  assert.ok(out.includes("[worker 2] signals 1"), out.join("\n"));
  assert.ok(!out.some((l) => l.includes(WORKER_READY_LINE)), "the ready line is not relayed");
});

Deno.test("runWorkerProcesses: cores freed before another worker is ready go to it once it is", async () => {
  // Worker 2 says it is ready only 1.5 s after worker 1 could end (a slow start).
  const { exits, out } = await standInWorkers(1500, 20_000);
  assert.deepEqual(exits.map((e) => e.code), [0, 0], out.join("\n"));
  const ended = out.indexOf("[worker 1] trained 0 run(s); nothing left to claim");
  const passed = out.indexOf("[worker 1] done: its cores go to worker 2");
  assert.ok(ended >= 0 && passed > ended, out.join("\n"));
  assert.ok(out.includes("[worker 2] signals 1"), out.join("\n"));
});

/**
 * The three-run ResNet-18 study of `epochs` epochs (one step each) in a fresh
 * folder, on one cpu backend, leaving runs other workers claim to them, with
 * the progress callbacks `progressFor` makes for that folder and its runs.
 */
async function studyWithProgress(
  epochs: number,
  progressFor: (out: string, runs: PlannedRun[]) => StudyProgress,
): Promise<{ ran: number; runs: PlannedRun[] }> {
  const out = await Deno.makeTempDir();
  const spec = resnetStudy(["none", "basic", "heavy"], "constant", {
    epochs,
    maxStepsPerEpoch: 1,
    minEpochs: 0,
  });
  const runs = planRuns(spec);
  assert.equal(runs.length, 3);
  const backend = await createBackend("cpu");
  try {
    const progress = progressFor(out, runs);
    const outcome = await runStudy(spec, {
      outDir: out,
      backend,
      dataDir: DATA_DIR,
      leaveClaimedRuns: true,
      progress,
    });
    return { ran: outcome.ran, runs };
  } finally {
    await backend.destroy();
    await Deno.remove(out, { recursive: true });
  }
}

Deno.test("runStart's next leaves out runs another live worker holds (the ETA counts only what this worker may train)", async () => {
  const starts: { run: string; next: string[] }[] = [];
  const { ran, runs } = await studyWithProgress(1, (out, runs) => {
    // Another machine's worker holds the second run, beating recently.
    writeClaim(claimPath(out, runs[1].id), { host: "elsewhere", pid: 1, runId: runs[1].id });
    return {
      runStart: ({ run, next }) => void starts.push({ run: run.id, next: next.map((r) => r.id) }),
    };
  });
  assert.equal(ran, 2);
  assert.deepEqual(starts, [
    { run: runs[0].id, next: [runs[2].id] },
    { run: runs[2].id, next: [] },
  ]);
});

Deno.test("each epoch's next is looked up again: a run another worker claims meanwhile leaves the ETA", async () => {
  const seen: string[] = [];
  const claimedAt = Date.parse("2026-01-02T03:04:05.000Z");
  const startedAt = new Set<number>();
  const { ran } = await studyWithProgress(2, (out, runs) => {
    const at = (run: { id: string }) => runs.findIndex((p) => p.id === run.id);
    const ids = (list: { id: string }[] | undefined) =>
      list === undefined ? "-" : list.map(at).join(",");
    return {
      runStart: ({ run, next }) => {
        seen.push(`start ${at(run)} next ${ids(next)}`);
        if (at(run) === 0) {
          // Another machine's worker claims the second run while the first trains.
          writeClaim(claimPath(out, runs[1].id), {
            host: "elsewhere",
            pid: 1,
            runId: runs[1].id,
            startedAt: new Date(claimedAt).toISOString(),
          });
        }
      },
      epochEnd: ({ run, record, next, others }) => {
        for (const o of others ?? []) startedAt.add(o.startedAt);
        seen.push(
          `epoch ${at(run)}.${record.epoch} next ${ids(next)} others ${
            ids(others?.map((o) => o.run))
          }`,
        );
      },
    };
  });
  assert.equal(ran, 2, seen.join("; "));
  assert.deepEqual(seen, [
    "start 0 next 1,2",
    "epoch 0.1 next 2 others 1",
    "epoch 0.2 next 2 others 1",
    "start 2 next ",
    "epoch 2.1 next  others 1",
    "epoch 2.2 next  others 1",
  ]);
  // When the other worker took its run, as its claim says.
  assert.deepEqual([...startedAt], [claimedAt]);
});

Deno.test("a failing lookup of the runs still to train leaves the run alone: its epochs report no list", async () => {
  const out = await Deno.makeTempDir();
  const spec = resnetStudy(["basic"], "constant", { epochs: 2, maxStepsPerEpoch: 1, minEpochs: 0 });
  const [run] = planRuns(spec);
  const data = await loadMedMNISTSplits("breastmnist", { root: DATA_DIR });
  const backend = await createBackend("cpu");
  const seen: string[] = [];
  try {
    const record = await executeRun(run, {
      outDir: out,
      backend,
      data,
      outlook: () => Promise.reject(new Error("results.jsonl:3: invalid JSON")),
      progress: {
        epochEnd: ({ record, next }) => void seen.push(`${record.epoch} ${next ?? "no list"}`),
      },
    });
    assert.equal(record.status, "ok", record.error);
    assert.deepEqual(seen, ["1 no list", "2 no list"]);
  } finally {
    await backend.destroy();
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("cli: --workers auto is 2 on the cpu backend with 2+ cores (one per run at most), else 1", async () => {
  const { workerCount } = await import("../lib/study/cli.ts");
  assert.equal(workerCount({ workers: "auto" }, "cpu", 7, 2), 2);
  assert.equal(workerCount({ workers: "auto" }, "cpu", 7, 16), 2);
  assert.equal(workerCount({ workers: "auto" }, "cpu", 1, 2), 1);
  assert.equal(workerCount({ workers: "auto" }, "cpu", 0, 2), 1);
  assert.equal(workerCount({ workers: "auto" }, "cpu", 7, 1), 1);
  assert.equal(workerCount({ workers: "auto" }, "webgpu", 7, 16), 1);
  assert.equal(workerCount({ workers: 4 }, "cpu", 3, 2), 3);
  assert.throws(
    () => workerCount({ workers: 2 }, "webgpu", 7, 2),
    /--workers 2 runs worker processes on the cpu backend only, and the backend chosen is webgpu/,
  );
});

Deno.test("--workers 2: each run trained once, the same records as one process on one thread", async () => {
  const many = await Deno.makeTempDir();
  const one = await Deno.makeTempDir();
  const study = { augment: "none,basic,heavy" };
  const [rm, r1] = [
    await cli([...tinyArgs(many, study), "--workers", "2"]),
    await cli([...tinyArgs(one, study), "--workers", "1", "--threads", "1"]),
  ];
  assert.equal(rm.code, 0, rm.all);
  assert.equal(r1.code, 0, r1.all);
  assert.match(rm.stdout, /workers +2 processes side by side, 1 thread\(s\) each/);
  // The workers timed the backbone for the plan, which comes before any worker's line.
  assert.match(rm.stdout, /^timing resnet18 in the 2 workers \(1 thread\(s\) each\)/m);
  assert.match(rm.stdout, /measured on this backend: resnet18 train [\d.]+ \/ eval [\d.]+ img\/s/);
  assert.match(rm.stdout, /backend +cpu \(onnxruntime-node [^,]+, 1 threads/);
  assert.ok(rm.stdout.indexOf("estimate") < rm.stdout.indexOf("[worker"), rm.stdout);
  assert.doesNotMatch(rm.all, /medtune-throughput/);
  assert.match(rm.stdout, /^\[worker 1\] \[1\/3\] resnet18-/m);
  assert.match(rm.stdout, /^\[worker 2\] \[1\/3\] resnet18-/m);
  assert.match(rm.stdout, /ran 3 run\(s\) in 2 workers, 0 already recorded/);
  assert.doesNotMatch(r1.stdout, /\[worker/);
  const lines = await readResults(`${many}/results.jsonl`, { keepDuplicates: true });
  assert.equal(new Set(lines.map((r) => r.id)).size, 3, lines.map((r) => r.id).join(", "));
  assert.equal(lines.length, 3);
  // Same seed, same thread count: the workers' records equal one process's.
  const byId = new Map((await readResults(`${one}/results.jsonl`)).map((r) => [r.id, r]));
  for (const r of lines) assert.deepEqual(outcomeOf(r), outcomeOf(byId.get(r.id)!), r.id);
  assert.ok(await fileExists(`${many}/best/model.safetensors`));
  assert.ok(await fileExists(`${many}/report.html`));
  assert.deepEqual([...Deno.readDirSync(`${many}/claims`)], [], "claims left behind");
  await Deno.remove(many, { recursive: true });
  await Deno.remove(one, { recursive: true });
});

Deno.test("--workers 2: workers that die leave their runs unrecorded; the command says so and a rerun finishes each run once", async () => {
  const out = await Deno.makeTempDir();
  const args = [...tinyArgs(out, { augment: "none,basic" }), "--workers", "2"];
  // Each worker kills itself (SIGKILL) 40 bytes into its first results record.
  const crashed = await cli(args, { MEDTUNE_FAULT: "append:after-bytes=40" });
  assert.equal(crashed.code, 1, crashed.all);
  assert.match(
    crashed.stderr,
    /medtune: \d run\(s\) not recorded \(resnet18-.*\); worker \d exited with \d+.*; run the same command again to resume them/,
  );
  const again = await cli(args);
  assert.equal(again.code, 0, again.all);
  const records = await readResults(`${out}/results.jsonl`, { keepDuplicates: true });
  assert.equal(records.length, 2, records.map((r) => r.id).join(", "));
  assert.equal(new Set(records.map((r) => r.id)).size, 2);
  assert.ok(records.every((r) => r.status === "ok"));
  await Deno.remove(out, { recursive: true });
});

Deno.test("--workers 2: a backbone the workers cannot time is guessed, and the study trains on", async () => {
  const out = await Deno.makeTempDir();
  const args = [...tinyArgs(out, { augment: "none,basic" }), "--workers", "2"];
  const r = await cli(args, { MEDTUNE_FAULT: "measure:fail" });
  assert.equal(r.code, 0, r.all);
  assert.match(
    r.stdout,
    /resnet18 could not be timed \(MEDTUNE_FAULT: measure:fail\): its estimate is guessed/,
  );
  assert.match(r.stdout, /not measured: guessed from a 2-core CPU table/);
  assert.match(r.stdout, /ran 2 run\(s\) in 2 workers/);
  await Deno.remove(out, { recursive: true });
});

Deno.test("--workers 2: a worker that dies while timing leaves the plan guessed; the other trains every run", async () => {
  const out = await Deno.makeTempDir();
  const args = [...tinyArgs(out, { augment: "none,basic" }), "--workers", "2"];
  // Worker 1 times resnet18 (the only backbone) and is killed before it does.
  const r = await cli(args, { MEDTUNE_FAULT: "measure:crash-worker=1" });
  assert.match(r.stdout, /resnet18 could not be timed \(worker 1 ended before timing it\)/);
  assert.equal(r.code, 0, r.all);
  const records = await readResults(`${out}/results.jsonl`, { keepDuplicates: true });
  assert.equal(records.length, 2, records.map((x) => x.id).join(", "));
  assert.ok(records.every((x) => x.status === "ok"));
  assert.ok(await fileExists(`${out}/report.html`));
  await Deno.remove(out, { recursive: true });
});

Deno.test("measurementShares deals each backbone's first run out to the workers in turn", () => {
  const runs = planRuns(defaultStudy());
  const shares = measurementShares(runs, 2);
  const backbone = (id: string) => runs.find((r) => r.id === id)!.axes.backbone;
  assert.deepEqual(shares.map((ids) => ids.map(backbone)), [
    ["resnet18", "vit_tiny_patch16_224"],
    ["efficientnet_b0"],
  ]);
  assert.deepEqual(measurementShares(runs, 4).map((ids) => ids.length), [1, 1, 1, 0]);
  assert.deepEqual(measurementShares([], 2), [[], []]);
  const line = throughputLine("resnet18", { train: 27.5, eval: 98, measured: true });
  assert.deepEqual(parseThroughputLine(line), {
    backbone: "resnet18",
    throughput: { train: 27.5, eval: 98, measured: true },
  });
  assert.deepEqual(parseThroughputLine(throughputLine("vit_tiny_patch16_224", { error: "x" })), {
    backbone: "vit_tiny_patch16_224",
    throughput: null,
    error: "x",
  });
  assert.equal(parseThroughputLine("[1/7] resnet18-none-cosine"), undefined);
});

Deno.test("--workers 2: killing the study process (SIGKILL) stops its workers", async () => {
  const out = await Deno.makeTempDir();
  const args = [
    ...tinyArgs(out, { augment: "none,basic", epochs: 30, maxSteps: 4 }),
    "--workers",
    "2",
  ];
  const parent = spawnCli(args);
  const claims = `${out}/claims`;
  const pids: number[] = [];
  await waitFor(
    async () => {
      if (!(await fileExists(claims))) return false;
      pids.length = 0;
      for await (const e of Deno.readDir(claims)) {
        const claim = await readClaim(`${claims}/${e.name}`);
        if (claim) pids.push(claim.owner.pid);
      }
      return pids.length === 2;
    },
    300,
    "both workers' claims",
  );
  assert.ok(!pids.includes(parent.child.pid), "the runs are claimed by the workers");
  parent.child.kill("SIGKILL");
  await parent.done;
  const { pidAlive } = await import("../lib/study/claims.ts");
  await waitFor(
    async () => !(await pidAlive(pids[0])) && !(await pidAlive(pids[1])),
    30,
    "the orphaned workers to stop",
  );
  // Their runs resume in the next command (dead pids' claims are taken over).
  await Deno.remove(out, { recursive: true });
});

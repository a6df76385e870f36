import assert from "node:assert/strict";
import { aucRoc, delongTest } from "../lib/metrics/mod.ts";
import { summarizeRuns } from "../lib/report/summary.ts";
import { makeFixtureRuns } from "./_fixtures_runs.ts";

const close = (a: number | null | undefined, b: number, tol = 1e-12) =>
  assert.ok(typeof a === "number" && Math.abs(a - b) <= tol, `${a} ≉ ${b}`);

Deno.test("summary: mean, std and t-interval of one config match a hand computation", () => {
  const records = makeFixtureRuns();
  const s = summarizeRuns(records);
  const b = s.configs.find((c) => c.configId === "cfg-b")!;
  const aucs = records.filter((r) => r.configId === "cfg-b").map((r) => r.test!.auc!);
  assert.equal(aucs.length, 3);
  const mean = (aucs[0] + aucs[1] + aucs[2]) / 3;
  const std = Math.sqrt(aucs.reduce((s, a) => s + (a - mean) ** 2, 0) / 2);
  const t = 4.302652729911275; // t_{0.975, 2}
  close(b.testAuc!.mean, mean);
  close(b.testAuc!.std!, std);
  close(b.testAuc!.lower!, mean - t * std / Math.sqrt(3), 1e-9);
  close(b.testAuc!.upper!, mean + t * std / Math.sqrt(3), 1e-9);
  assert.equal(b.testAuc!.n, 3);
  const runs = records.filter((r) => r.configId === "cfg-b");
  close(b.testBrier!.mean, runs.reduce((s, r) => s + r.test!.brier, 0) / 3);
  close(b.testBalancedAccuracy!.mean, runs.reduce((s, r) => s + r.test!.balancedAccuracy, 0) / 3);
  close(b.valAucMean!, runs.reduce((s, r) => s + r.val!.auc!, 0) / 3);
  close(b.bestEpochMean!, runs.reduce((s, r) => s + r.bestEpoch, 0) / 3);
  close(b.gapAucMean!, runs.reduce((s, r) => s + r.gapAuc!, 0) / 3);
  close(b.gapLossMean!, runs.reduce((s, r) => s + r.gapLoss!, 0) / 3);
  close(b.secondsMean!, runs.reduce((s, r) => s + r.seconds, 0) / 3);
  assert.deepEqual(b.seeds, [0, 1, 2]);
  assert.equal(b.label, "basic / cosine / resnet18");

  // 90 % interval: narrower, with t_{0.95, 2} = 2.919985580353725.
  const s90 = summarizeRuns(records, { confidence: 0.9 });
  const b90 = s90.configs.find((c) => c.configId === "cfg-b")!;
  close(b90.testAuc!.upper!, mean + 2.919985580353725 * std / Math.sqrt(3), 1e-9);
});

Deno.test("summary: sorted by mean test AUC, best marked, ranks 1..n", () => {
  const s = summarizeRuns(makeFixtureRuns());
  assert.deepEqual(s.configs.map((c) => c.configId), ["cfg-b", "cfg-c", "cfg-a"]);
  assert.deepEqual(s.configs.map((c) => c.rank), [1, 2, 3]);
  assert.deepEqual(s.configs.map((c) => c.best), [true, false, false]);
  assert.equal(s.best?.configId, "cfg-b");
  for (let i = 1; i < s.configs.length; i++) {
    assert.ok(s.configs[i - 1].testAuc!.mean >= s.configs[i].testAuc!.mean);
  }
  // Order of the input does not matter.
  const shuffled = makeFixtureRuns().reverse();
  assert.deepEqual(summarizeRuns(shuffled).configs.map((c) => c.configId), [
    "cfg-b",
    "cfg-c",
    "cfg-a",
  ]);
});

Deno.test("summary: a failed run is counted and excluded from every mean", () => {
  const records = makeFixtureRuns();
  const s = summarizeRuns(records);
  assert.equal(s.nRuns, 10);
  assert.equal(s.nOk, 9);
  assert.equal(s.nFailed, 1);
  const c = s.configs.find((x) => x.configId === "cfg-c")!;
  assert.equal(c.nOk, 3);
  assert.equal(c.nFailed, 1);
  assert.deepEqual(c.failedSeeds, [3]);
  assert.deepEqual(c.seeds, [0, 1, 2]);
  assert.equal(c.testAuc!.n, 3);
  // Give the failed record test metrics: still excluded (status decides, not presence).
  const poisoned = records.map((r) =>
    r.status === "failed"
      ? { ...r, test: { ...records[0].test!, auc: 0.01 }, gapAuc: 9, bestEpoch: 99 }
      : r
  );
  const c2 = summarizeRuns(poisoned).configs.find((x) => x.configId === "cfg-c")!;
  assert.equal(c2.testAuc!.mean, c.testAuc!.mean);
  assert.equal(c2.gapAucMean, c.gapAucMean);
  assert.equal(c2.bestEpochMean, c.bestEpochMean);
  // Wall time total includes the failed run.
  const okSeconds = records.filter((r) => r.configId === "cfg-c" && r.status === "ok")
    .reduce((sum, r) => sum + r.seconds, 0);
  close(c.secondsTotal, okSeconds + 5.5, 1e-9);
});

Deno.test("summary: DeLong vs best on seed-ensemble scores over shared seeds", () => {
  const records = makeFixtureRuns();
  const s = summarizeRuns(records);
  const labels = records[0].testLabels!;
  const ensemble = (id: string, seeds: number[]) => {
    const runs = records.filter((r) =>
      r.configId === id && r.status === "ok" && seeds.includes(r.seed)
    );
    return labels.map((_, i) => runs.reduce((sum, r) => sum + r.testScores![i], 0) / runs.length);
  };
  assert.equal(s.best!.delongVsBest, null);
  for (const id of ["cfg-a", "cfg-c"]) {
    const c = s.configs.find((x) => x.configId === id)!;
    const expected = delongTest([ensemble("cfg-b", [0, 1, 2]), ensemble(id, [0, 1, 2])], labels);
    assert.deepEqual(c.delongVsBest!.seeds, [0, 1, 2]);
    close(c.delongVsBest!.pValue, expected.pValue);
    close(c.delongVsBest!.z, expected.z);
    assert.ok(c.delongVsBest!.pValue > 0 && c.delongVsBest!.pValue < 1);
  }
  // Drop seed 0 of cfg-a: only seeds 1 and 2 pair up.
  const fewer = records.filter((r) => r.id !== "cfg-a-s0");
  const a = summarizeRuns(fewer).configs.find((x) => x.configId === "cfg-a")!;
  assert.deepEqual(a.delongVsBest!.seeds, [1, 2]);
  const expected = delongTest([ensemble("cfg-b", [1, 2]), ensemble("cfg-a", [1, 2])], labels);
  close(a.delongVsBest!.pValue, expected.pValue);
  // Seed-ensemble ROC of the best config: its AUC is the ensemble's.
  close(s.rocs["cfg-b"].auc!, aucRoc(ensemble("cfg-b", [0, 1, 2]), labels));
  assert.match(s.rocs["cfg-b"].source, /seed ensemble/);
  assert.equal(s.warnings.length, 0);
});

Deno.test("summary: per-axis-level aggregates pool all runs with the level", () => {
  const records = makeFixtureRuns();
  const s = summarizeRuns(records);
  assert.deepEqual(
    s.levels.map((l) => `${l.axis}:${l.level}`),
    [
      "augment:none",
      "augment:basic",
      "augment:heavy",
      "schedule:constant",
      "schedule:cosine",
      "schedule:warmup_cosine",
      "backbone:resnet18",
      "backbone:vit_tiny_patch16_224",
    ],
  );
  const resnet = s.levels.find((l) => l.axis === "backbone" && l.level === "resnet18")!;
  const aucs = records.filter((r) => r.status === "ok" && r.axes.backbone === "resnet18")
    .map((r) => r.test!.auc!);
  assert.equal(resnet.nRuns, 6);
  assert.equal(resnet.nConfigs, 2);
  const mean = aucs.reduce((a, b) => a + b, 0) / 6;
  close(resnet.testAuc!.mean, mean);
  close(resnet.testAuc!.std!, Math.sqrt(aucs.reduce((a, v) => a + (v - mean) ** 2, 0) / 5));
  assert.equal(resnet.bestConfigId, "cfg-b");
});

Deno.test("summary: learning curves average the seeds that reached each epoch", () => {
  const records = makeFixtureRuns();
  const b = summarizeRuns(records).configs.find((c) => c.configId === "cfg-b")!;
  assert.deepEqual(b.curves.epoch, [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(b.curves.n, [3, 3, 3, 3, 3, 3, 2, 2]); // seed 1 stopped after 6 epochs
  const runs = records.filter((r) => r.configId === "cfg-b");
  close(b.curves.valLoss[0]!, runs.reduce((s, r) => s + r.history[0].valLoss, 0) / 3);
  const long = runs.filter((r) => r.history.length === 8);
  close(b.curves.trainLoss[7]!, long.reduce((s, r) => s + r.history[7].trainLoss, 0) / 2);
});

Deno.test("summary: edge cases — all-failed config last, single seed, mismatched labels", () => {
  const records = makeFixtureRuns({ seeds: [0], failedConfigId: null });
  const extra = makeFixtureRuns({
    configs: [{
      configId: "cfg-x",
      axes: { augment: "heavy", schedule: "cosine", backbone: "efficientnet_b0" },
      separation: 3,
      overfit: 0,
    }],
    seeds: [],
    failedConfigId: "cfg-x",
  });
  const s = summarizeRuns([...records, ...extra]);
  const last = s.configs[s.configs.length - 1];
  assert.equal(last.configId, "cfg-x");
  assert.equal(last.testAuc, null);
  assert.equal(last.nFailed, 1);
  assert.equal(last.delongVsBest, null);
  assert.equal(s.best!.configId, "cfg-b");
  assert.equal(s.best!.testAuc!.std, null, "a single seed has no spread");
  assert.equal(s.best!.testAuc!.lower, null);
  const eff = s.levels.find((l) => l.level === "efficientnet_b0")!;
  assert.equal(eff.testAuc, null);
  assert.equal(eff.bestConfigId, null);

  const bad = makeFixtureRuns();
  bad[4] = {
    ...bad[4],
    testLabels: bad[4].testLabels!.slice(1),
    testScores: bad[4].testScores!.slice(1),
  };
  const sb = summarizeRuns(bad);
  assert.equal(sb.warnings.length, 1);
  assert.match(sb.warnings[0], /run cfg-b-s1: test labels\/scores differ/);
  assert.deepEqual(sb.configs.find((c) => c.configId === "cfg-a")!.delongVsBest!.seeds, [0, 2]);

  assert.throws(
    () => summarizeRuns(makeFixtureRuns(), { confidence: 95 }),
    /confidence must be in \(0, 1\)/,
  );
  assert.throws(() => summarizeRuns([{} as never]), /record 0 has no configId/);
  const empty = summarizeRuns([]);
  assert.equal(empty.best, null);
  assert.deepEqual(empty.configs, []);
});

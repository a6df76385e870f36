import assert from "node:assert/strict";
import { aucRoc, binaryBrierScore, delongTest, meanCi } from "../lib/metrics/mod.ts";
import { holmAdjust } from "../lib/report/holm.ts";
import { macroDelongTest } from "../lib/report/macro_delong.ts";
import { compareLevels } from "../lib/report/effects.ts";
import { summarizeRuns } from "../lib/report/summary.ts";
import { formatStudyParagraph } from "../lib/report/tables.ts";
import type { RunRecord } from "../lib/report/record.ts";
import {
  FIXTURE_LEVELS,
  gridFixtureConfigs,
  makeFixtureRuns,
  makeMultiClassRuns,
  OAT_BASELINE,
  oatFixtureConfigs,
} from "./_fixtures_runs.ts";

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
  // Records without brierKind hold the two-class sum: the report shows sklearn's binary Brier.
  close(b.testBrier!.mean, runs.reduce((s, r) => s + r.test!.brier / 2, 0) / 3);
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

Deno.test("summary: configurations that form no design are pooled per level, and say so", () => {
  const records = makeFixtureRuns();
  const s = summarizeRuns(records);
  assert.equal(s.design, "unplanned");
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
  const backbone = s.axisEffects.find((e) => e.axis === "backbone")!;
  assert.equal(backbone.comparison, "pooled");
  assert.match(backbone.title, /not a controlled comparison/);
  // resnet18: the mean of its two configurations' mean AUCs (n = configurations).
  const resnet = backbone.levels.find((l) => l.level === "resnet18")!;
  const cfgMean = (id: string) => {
    const a = records.filter((r) => r.configId === id && r.status === "ok").map((r) =>
      aucRoc(r.testScores!, r.testLabels!)
    );
    return a.reduce((x, y) => x + y, 0) / a.length;
  };
  assert.equal(resnet.nRuns, 6);
  assert.equal(resnet.nConfigs, 2);
  close(resnet.testAuc!.mean, (cfgMean("cfg-a") + cfgMean("cfg-b")) / 2, 1e-12);
  assert.equal(resnet.testAuc!.n, 2);
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
  assert.throws(() => summarizeRuns([{} as never]), /record 0 has no id\/configId\/axes/);
  const empty = summarizeRuns([]);
  assert.equal(empty.best, null);
  assert.deepEqual(empty.configs, []);
});

/** Test AUC of a run, computed here from its stored scores (not read from the record). */
const runAuc = (r: RunRecord) => aucRoc(r.testScores!, r.testLabels!);
const avg = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

Deno.test("pipeline: a config's AUC is the mean of aucRoc(testScores, testLabels) over its runs", () => {
  const records = makeFixtureRuns({ configs: oatFixtureConfigs() });
  const s = summarizeRuns(records);
  assert.equal(s.configs.length, 5);
  for (const c of s.configs) {
    const runs = records.filter((r) => r.configId === c.configId && r.status === "ok");
    const aucs = runs.map(runAuc);
    close(c.testAuc!.mean, avg(aucs), 1e-12);
    const ci = meanCi(aucs, { confidence: 0.95 });
    close(c.testAuc!.lower!, ci.lower!, 1e-12);
    close(c.testAuc!.upper!, ci.upper!, 1e-12);
    // sklearn's binary Brier, from the scores.
    close(c.testBrier!.mean, avg(runs.map((r) => binaryBrierScore(r.testScores!, r.testLabels!))));
  }
});

Deno.test("axis effects (oat): each level is one configuration with the others at the baseline", () => {
  const records = makeFixtureRuns({ configs: oatFixtureConfigs(), failedConfigId: null });
  for (
    const s of [
      summarizeRuns(records),
      summarizeRuns(records, { design: "oat", baseline: OAT_BASELINE }),
    ]
  ) {
    assert.equal(s.design, "oat");
    assert.deepEqual(s.baseline, OAT_BASELINE);
    const aug = s.axisEffects.find((e) => e.axis === "augment")!;
    assert.equal(aug.comparison, "baseline");
    assert.equal(
      aug.title,
      "levels of augment with schedule=cosine, backbone=resnet18 held at the baseline",
    );
    assert.deepEqual(aug.held, { schedule: "cosine", backbone: "resnet18" });
    assert.deepEqual(aug.levels.map((l) => l.level), ["none", "basic", "heavy"]);
    for (const l of aug.levels) {
      // Hand computation: the runs of exactly this configuration, nothing else.
      const id = `${l.level}.cosine.resnet18`;
      assert.deepEqual(l.configIds, [id]);
      const aucs = records.filter((r) => r.configId === id).map(runAuc);
      assert.equal(l.nRuns, 3);
      assert.equal(l.nConfigs, 1);
      close(l.testAuc!.mean, avg(aucs), 1e-12);
      close(l.testAuc!.upper!, meanCi(aucs).upper!, 1e-12);
    }
    // Each level minus the baseline, paired by seed, with its t-interval.
    const base = [0, 1, 2].map((sd) =>
      runAuc(records.find((r) => r.id === `basic.cosine.resnet18-s${sd}`)!)
    );
    const none = [0, 1, 2].map((sd) =>
      runAuc(records.find((r) => r.id === `none.cosine.resnet18-s${sd}`)!)
    );
    const diffs = none.map((v, i) => v - base[i]);
    const vs = aug.levels.find((l) => l.level === "none")!.vsBaseline!;
    close(vs.mean, avg(diffs), 1e-12);
    close(vs.lower!, meanCi(diffs).lower!, 1e-12);
    assert.equal(aug.levels.find((l) => l.level === "basic")!.vsBaseline, null);
    // "basic" is the baseline alone (3 runs), not a mix of 4 configurations (12 runs).
    const basic = aug.levels.find((l) => l.level === "basic")!;
    assert.equal(basic.nRuns, 3);
    const bb = s.axisEffects.find((e) => e.axis === "backbone")!;
    assert.match(
      bb.title,
      /levels of backbone with augment=basic, schedule=cosine held at the baseline/,
    );
    assert.deepEqual(bb.levels.map((l) => l.configIds[0]), [
      "basic.cosine.resnet18",
      "basic.cosine.vit_tiny_patch16_224",
    ]);
    assert.deepEqual(aug.missing, []);
    assert.equal(s.interactions.length, 0);
  }
  // A level whose configuration is missing is named, not silently left out.
  const without = records.filter((r) => r.configId !== "heavy.cosine.resnet18");
  const s2 = summarizeRuns(without, {
    design: "oat",
    baseline: OAT_BASELINE,
    axisLevels: FIXTURE_LEVELS,
  });
  const aug2 = s2.axisEffects.find((e) => e.axis === "augment")!;
  assert.deepEqual(aug2.missing, ["augment=heavy, schedule=cosine, backbone=resnet18"]);
  assert.equal(aug2.levels.find((l) => l.level === "heavy")!.testAuc, null);
  // A configuration off the lines through the baseline is kept out, with a note.
  const extra = makeFixtureRuns({
    configs: gridFixtureConfigs().filter((c) =>
      c.configId === "none.constant.vit_tiny_patch16_224"
    ),
    failedConfigId: null,
  });
  const s3 = summarizeRuns([...records, ...extra], { design: "oat", baseline: OAT_BASELINE });
  const aug3 = s3.axisEffects.find((e) => e.axis === "augment")!;
  assert.equal(aug3.levels.find((l) => l.level === "none")!.nRuns, 3);
  assert.match(aug3.notes[0], /1 configuration is off the one-at-a-time lines/);
});

Deno.test("axis effects (grid): main effects over per-seed marginal means, interactions", () => {
  const records = makeFixtureRuns({ configs: gridFixtureConfigs(), failedConfigId: null });
  const s = summarizeRuns(records);
  assert.equal(s.design, "grid");
  const auc = (a: string, sc: string, b: string, seed: number) =>
    runAuc(records.find((r) => r.id === `${a}.${sc}.${b}-s${seed}`)!);
  // augment=heavy: per seed the mean over 2 schedules × 2 backbones, then over seeds.
  const perSeed = [0, 1, 2].map((seed) =>
    avg(
      ["constant", "cosine"].flatMap((sc) =>
        ["resnet18", "vit_tiny_patch16_224"].map((b) => auc("heavy", sc, b, seed))
      ),
    )
  );
  const aug = s.axisEffects.find((e) => e.axis === "augment")!;
  assert.equal(aug.comparison, "main-effect");
  assert.equal(
    aug.title,
    "main effect of augment, marginalized over schedule (2 levels) × backbone (2 levels) and 3 seeds",
  );
  const heavy = aug.levels.find((l) => l.level === "heavy")!;
  close(heavy.testAuc!.mean, avg(perSeed), 1e-12);
  const ci = meanCi(perSeed);
  close(heavy.testAuc!.std!, ci.std!, 1e-12);
  close(heavy.testAuc!.lower!, ci.lower!, 1e-12);
  assert.equal(heavy.testAuc!.n, 3, "n = seeds");
  assert.equal(heavy.nRuns, 12);
  assert.equal(heavy.nConfigs, 4);
  assert.equal(aug.held, null);

  // Interactions: each pair of axes, averaged over the third.
  assert.deepEqual(s.interactions.map((i) => i.title), [
    "augment × schedule, averaged over backbone",
    "augment × backbone, averaged over schedule",
    "schedule × backbone, averaged over augment",
  ]);
  const ab = s.interactions[1];
  const m = (a: string, b: string, seed: number) =>
    avg(["constant", "cosine"].map((sc) => auc(a, sc, b, seed)));
  const A = FIXTURE_LEVELS.augment;
  const B = FIXTURE_LEVELS.backbone;
  const gamma = (seed: number, a: string, b: string) => {
    const rowMean = avg(B.map((bb) => m(a, bb, seed)));
    const colMean = avg(A.map((aa) => m(aa, b, seed)));
    const grand = avg(A.flatMap((aa) => B.map((bb) => m(aa, bb, seed))));
    return m(a, b, seed) - rowMean - colMean + grand;
  };
  const r = A.indexOf("heavy");
  const c = B.indexOf("vit_tiny_patch16_224");
  close(
    ab.cells[r][c].mean,
    avg([0, 1, 2].map((sd) => m("heavy", "vit_tiny_patch16_224", sd))),
    1e-12,
  );
  const g = [0, 1, 2].map((sd) => gamma(sd, "heavy", "vit_tiny_patch16_224"));
  close(ab.contrasts[r][c].mean, avg(g), 1e-12);
  close(ab.contrasts[r][c].upper!, meanCi(g).upper!, 1e-12);
  // Contrasts sum to zero over each row.
  for (const row of ab.contrasts) close(avg(row.map((x) => x.mean)), 0, 1e-12);
});

Deno.test("axis effects (grid): missing cells are named; seeds not finished everywhere are left out", () => {
  const records = makeFixtureRuns({ configs: gridFixtureConfigs(), failedConfigId: null });
  const gone = "heavy.cosine.vit_tiny_patch16_224";
  const s = summarizeRuns(records.filter((r) => r.configId !== gone), {
    design: "grid",
    axisLevels: FIXTURE_LEVELS,
  });
  const aug = s.axisEffects.find((e) => e.axis === "augment")!;
  assert.equal(aug.comparison, "pooled");
  assert.match(aug.title, /incomplete grid, 1 cell missing; not a main effect/);
  assert.deepEqual(aug.missing, ["augment=heavy, schedule=cosine, backbone=vit_tiny_patch16_224"]);
  assert.equal(s.interactions.length, 0);
  assert.equal(aug.levels.find((l) => l.level === "heavy")!.nConfigs, 3);

  // Seed 2 missing in one cell: main effects over seeds 0 and 1 only, said in a note.
  const s2 = summarizeRuns(records.filter((r) => r.id !== `${gone}-s2`));
  const aug2 = s2.axisEffects.find((e) => e.axis === "augment")!;
  assert.equal(aug2.comparison, "main-effect");
  assert.match(aug2.notes.join(" "), /seed 2 left out: not finished in every cell/);
  const none = aug2.levels.find((l) => l.level === "none")!;
  const perSeed = [0, 1].map((seed) =>
    avg(records.filter((r) => r.axes.augment === "none" && r.seed === seed).map(runAuc))
  );
  close(none.testAuc!.mean, avg(perSeed), 1e-12);
  assert.equal(none.testAuc!.n, 2);
  assert.equal(s2.interactions[0].seeds.length, 2);
});

Deno.test("holm: step-down adjustment equals a hand-worked example", () => {
  // p = (0.01, 0.04, 0.03, 0.005), m = 4. Sorted: 0.005·4 = 0.02, 0.01·3 = 0.03,
  // 0.03·2 = 0.06, 0.04·1 = 0.04 → max(0.06, 0.04) = 0.06 (monotone). R's p.adjust agrees.
  const adj = holmAdjust([0.01, 0.04, 0.03, 0.005]);
  [0.03, 0.06, 0.06, 0.02].forEach((v, i) => close(adj[i], v, 1e-15));
  assert.deepEqual(holmAdjust([0.5, 0.6]), [1, 1], "capped at 1");
  assert.deepEqual(
    holmAdjust([0.02, null, NaN, 0.04]),
    [0.04, null, null, 0.04],
    "m counts finite p only",
  );
  assert.deepEqual(holmAdjust([]), []);
  assert.throws(() => holmAdjust([1.5]), /p-value 0 is 1.5/);
});

Deno.test("summary: DeLong p-values vs the best are Holm-adjusted across the comparisons", () => {
  const records = makeFixtureRuns({ configs: oatFixtureConfigs(), failedConfigId: null });
  const s = summarizeRuns(records);
  const others = s.configs.filter((c) => !c.best);
  const labels = records[0].testLabels!;
  const ens = (id: string) => {
    const runs = records.filter((r) => r.configId === id);
    return labels.map((_, i) => avg(runs.map((r) => r.testScores![i])));
  };
  const raw = others.map((c) =>
    delongTest([ens(s.best!.configId), ens(c.configId)], labels).pValue
  );
  const expected = holmAdjust(raw);
  others.forEach((c, i) => {
    close(c.delongVsBest!.pValue, raw[i], 1e-12);
    close(c.delongVsBest!.pHolm, expected[i]!, 1e-12);
    assert.ok(c.delongVsBest!.pHolm >= c.delongVsBest!.pValue);
  });
});

Deno.test("summary: duplicate records of a run id are dropped and counted", () => {
  const records = makeFixtureRuns();
  const clean = summarizeRuns(records);
  // Two processes recorded every run twice; one run failed first and succeeded on retry.
  const retried = { ...records[0], status: "failed" as const, test: undefined, error: "x" };
  const doubled = [retried, ...records, ...records.map((r) => ({ ...r }))];
  const s = summarizeRuns(doubled);
  assert.equal(s.nDuplicates, records.length + 1);
  assert.equal(s.nRuns, clean.nRuns);
  assert.equal(s.nOk, clean.nOk);
  assert.match(s.warnings[0], /dropped 11 duplicate records of 10 run ids/);
  const b = s.configs.find((c) => c.configId === "cfg-b")!;
  assert.deepEqual(b.seeds, [0, 1, 2], "seeds counted by distinct run");
  assert.equal(b.testAuc!.n, 3);
  assert.equal(b.testAuc!.lower, clean.configs.find((c) => c.configId === "cfg-b")!.testAuc!.lower);
  const a = s.configs.find((c) => c.configId === "cfg-a")!;
  assert.equal(a.nFailed, 0, "the successful retry wins over the earlier failure");
  assert.equal(a.nOk, 3);
});

Deno.test("task: Brier form follows brierKind; dataset, class names and title from the records", () => {
  const legacy = makeFixtureRuns({ dataset: "pneumoniamnist" });
  const s = summarizeRuns(legacy);
  assert.equal(s.task.task, "binary");
  assert.equal(s.task.datasetTitle, "PneumoniaMNIST");
  assert.deepEqual(s.task.classNames, ["normal", "pneumonia"]);
  assert.equal(s.task.brierLabel, "Brier (binary, sklearn)");
  // Records that say their Brier is already sklearn's binary one are taken as they are.
  const tagged = legacy.map((r) =>
    r.test ? { ...r, test: { ...r.test, brier: r.test.brier / 2, brierKind: "binary" } } : r
  ) as RunRecord[];
  const st = summarizeRuns(tagged);
  const b = st.configs.find((c) => c.configId === "cfg-b")!;
  const runs = legacy.filter((r) => r.configId === "cfg-b");
  close(b.testBrier!.mean, avg(runs.map((r) => binaryBrierScore(r.testScores!, r.testLabels!))));
  close(s.configs.find((c) => c.configId === "cfg-b")!.testBrier!.mean, b.testBrier!.mean, 1e-15);
  // Options win over the records.
  assert.equal(summarizeRuns(legacy, { dataset: "breastmnist" }).task.datasetTitle, "BreastMNIST");
});

Deno.test("task: multi-class (RetinaMNIST) — per-class AUCs and ROCs with class names, macro DeLong", () => {
  const records = makeMultiClassRuns({ brierKind: "multiclass" });
  const s = summarizeRuns(records);
  assert.equal(s.task.task, "multi-class");
  assert.equal(s.task.datasetTask, "ordinal-regression");
  assert.match(
    s.task.note!,
    /RetinaMNIST is an ordinal-regression task \(5 ordered grades\); it is treated as multi-class/,
  );
  assert.equal(s.task.brierLabel, "Brier (multi-class)");
  assert.equal(s.design, "oat");
  const best = s.best!;
  const runs = records.filter((r) => r.configId === best.configId);
  const labels = runs[0].testTargets!;
  assert.equal(runs[0].testProbs!.length, 5 * labels.length, "probabilities stored row-major");
  for (let k = 0; k < 5; k++) {
    const aucs = runs.map((r) =>
      aucRoc(
        r.testProbs!.filter((_, i) => i % 5 === k),
        labels.map((y) => (y === k ? 1 : 0)),
      )
    );
    close(best.perClassAuc![k]!.mean, avg(aucs), 1e-12);
  }
  // Stored per-class AUCs (as the runner writes them) give the same numbers.
  const stored = summarizeRuns(
    makeMultiClassRuns({ brierKind: "multiclass", storePerClassAuc: true }),
  );
  stored.best!.perClassAuc!.forEach((st, k) => close(st!.mean, best.perClassAuc![k]!.mean, 1e-12));
  // The ensemble ROC of class 2 is that of the seed-averaged probabilities.
  const ens2 = labels.map((_, i) => avg(runs.map((r) => r.testProbs![i * 5 + 2])));
  close(s.bestClassRocs[2].auc!, aucRoc(ens2, labels.map((y) => (y === 2 ? 1 : 0))), 1e-12);
  close(best.testBrier!.mean, avg(runs.map((r) => r.test!.brier)));
  // DeLong vs best on the macro AUC of seed-ensemble probabilities, Holm-adjusted.
  assert.match(s.delongMethod, /DeLong's test extended to the macro one-vs-rest AUC/);
  const ensOf = (id: string) => {
    const rs = records.filter((r) => r.configId === id);
    return labels.map((_, i) =>
      [0, 1, 2, 3, 4].map((c) => avg(rs.map((r) => r.testProbs![i * 5 + c])))
    );
  };
  const others = s.configs.filter((c) => !c.best);
  const raw = others.map((c) =>
    macroDelongTest([ensOf(best.configId), ensOf(c.configId)], labels).pValue
  );
  const adj = holmAdjust(raw);
  others.forEach((c, i) => {
    close(c.delongVsBest!.pValue, raw[i], 1e-12);
    close(c.delongVsBest!.pHolm, adj[i]!, 1e-12);
  });
  assert.deepEqual(s.bestClassRocs.map((r) => r.className), ["0", "1", "2", "3", "4"]);
  assert.deepEqual(s.rocs, {});
  // Class names recorded with the runs win over the info table's.
  const named = summarizeRuns(makeMultiClassRuns({ classNames: ["a", "b", "c", "d", "e"] }));
  assert.deepEqual(named.bestClassRocs.map((r) => r.className), ["a", "b", "c", "d", "e"]);
  // Old records (no brierKind) of a multi-class task hold the multi-class form already.
  const old = summarizeRuns(makeMultiClassRuns());
  close(old.best!.testBrier!.mean, best.testBrier!.mean, 1e-15);
});

Deno.test("task: multi-label — per-label AUCs from label rows, per-label Brier", () => {
  const names = ["atelectasis", "cardiomegaly", "effusion"];
  const records = makeMultiClassRuns({
    multiLabel: true,
    numClasses: 3,
    task: "multi-label",
    classNames: names,
    brierKind: "multilabel",
  });
  const s = summarizeRuns(records);
  assert.equal(s.task.task, "multi-label");
  assert.equal(s.task.brierLabel, "Brier (per-label mean)");
  const best = s.best!;
  const runs = records.filter((r) => r.configId === best.configId);
  const y = runs[0].testTargets!;
  const perLabel = [0, 1, 2].map((k) =>
    avg(
      runs.map((r) =>
        aucRoc(r.testProbs!.filter((_, i) => i % 3 === k), y.filter((_, i) => i % 3 === k))
      ),
    )
  );
  perLabel.forEach((v, k) => close(best.perClassAuc![k]!.mean, v, 1e-12));
  close(best.testAuc!.mean, avg(runs.map((r) => r.test!.auc!)));
  assert.deepEqual(s.bestClassRocs.map((r) => r.className), names);
});

Deno.test("axis effects: an axis run at one level is not compared, and is named as fixed", () => {
  const configs = oatFixtureConfigs().filter((c) =>
    c.axes.schedule === "cosine" && c.axes.backbone === "resnet18"
  );
  const s = summarizeRuns(makeFixtureRuns({ configs, failedConfigId: null }));
  assert.deepEqual(s.axisEffects.map((e) => e.axis), ["augment"]);
  assert.deepEqual(s.fixedAxes, { schedule: "cosine", backbone: "resnet18" });
  assert.deepEqual(s.levels.map((l) => l.level), ["none", "basic", "heavy"]);
  assert.match(
    formatStudyParagraph(s),
    /Not compared \(one level each\): schedule=cosine, backbone=resnet18\./,
  );
});

Deno.test("axis levels: study order, backbones in registry order, an old alias after its model", () => {
  const sorted = (axis: "augment" | "schedule" | "backbone", levels: string[]) =>
    [...levels].sort((a, b) => compareLevels(axis, a, b));
  assert.deepEqual(sorted("augment", ["zoom", "heavy", "none", "basic"]), [
    "none",
    "basic",
    "heavy",
    "zoom",
  ]);
  assert.deepEqual(sorted("schedule", ["warmup_cosine", "constant", "cosine"]), [
    "constant",
    "cosine",
    "warmup_cosine",
  ]);
  // Records written before the study used canonical names only may say `vit_tiny`.
  assert.deepEqual(
    sorted("backbone", ["zeta_net", "vit_tiny", "vit_tiny_patch16_224", "alpha_net", "resnet18"]),
    ["resnet18", "vit_tiny_patch16_224", "vit_tiny", "alpha_net", "zeta_net"],
  );
  assert.deepEqual(sorted("backbone", ["vit_tiny", "efficientnet_b0", "resnet18"]), [
    "resnet18",
    "efficientnet_b0",
    "vit_tiny",
  ]);
});

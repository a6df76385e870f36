/**
 * The report's figures checked against an independent computation: from the
 * fixture records' stored test scores, this file recomputes each
 * configuration's mean / std / 95 % t-interval of test AUC, balanced accuracy
 * and Brier, the seed-ensemble ROC curves and DeLong's test against the best
 * configuration with Holm's correction — with its own code (brute-force
 * pairwise AUC, DeLong from its structural components, the t quantile and the
 * normal tail by numerical integration), not lib/metrics — and compares them
 * with `summarizeRuns`, the CSV and Markdown rows parsed back, and the
 * charts' data.
 */

import assert from "node:assert/strict";
import { levelAucChart, perClassAucChart, rocChart } from "../lib/report/charts.ts";
import type { RunRecord } from "../lib/report/record.ts";
import { summarizeRuns } from "../lib/report/summary.ts";
import { formatResultsCsv, formatResultsMarkdown } from "../lib/report/tables.ts";
import { makeFixtureRuns, makeMultiClassRuns, oatFixtureConfigs } from "./_fixtures_runs.ts";

// ---------------------------------------------------------------------------
// Independent reference code (nothing from lib/).

const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
const mean = (v: number[]) => sum(v) / v.length;
const sampleStd = (v: number[]) => {
  const m = mean(v);
  return Math.sqrt(sum(v.map((x) => (x - m) ** 2)) / (v.length - 1));
};

/** ψ(x, y) of the Mann–Whitney statistic: 1 if the positive scores higher, ½ on a tie. */
const psi = (pos: number, neg: number) => (pos > neg ? 1 : pos === neg ? 0.5 : 0);

/** AUC as the fraction of (positive, negative) pairs ranked correctly, ties counting ½. */
function bruteAuc(scores: number[], labels: number[]): number {
  let s = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j] !== 0) continue;
      s += psi(scores[i], scores[j]);
      pairs++;
    }
  }
  return s / pairs;
}

/** ROC points (0, 0), then (FPR, TPR) at each distinct score, highest first, by counting. */
function bruteRoc(scores: number[], labels: number[]): { x: number; y: number }[] {
  const nPos = labels.filter((y) => y === 1).length;
  const nNeg = labels.length - nPos;
  const thresholds = [...new Set(scores)].sort((a, b) => b - a);
  const points = [{ x: 0, y: 0 }];
  for (const t of thresholds) {
    const above = labels.filter((_, i) => scores[i] >= t);
    points.push({
      x: above.filter((y) => y === 0).length / nNeg,
      y: above.filter((y) => y === 1).length / nPos,
    });
  }
  return points;
}

/** Composite Simpson integral of `f` over [a, b] with `n` (even) intervals. */
function simpson(f: (x: number) => number, a: number, b: number, n = 20000): number {
  const h = (b - a) / n;
  let s = f(a) + f(b);
  for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * f(a + i * h);
  return (s * h) / 3;
}

/** Γ(x) for x a positive integer or half-integer. */
function gammaHalf(x: number): number {
  if (x === 0.5) return Math.sqrt(Math.PI);
  if (x === 1) return 1;
  return (x - 1) * gammaHalf(x - 1);
}

const quantiles = new Map<string, number>();

/** The (1 + confidence) / 2 quantile of Student's t with `df` degrees of freedom, by bisection. */
function tQuantile(confidence: number, df: number): number {
  const memo = quantiles.get(`${confidence}/${df}`);
  if (memo !== undefined) return memo;
  const c = gammaHalf((df + 1) / 2) / (Math.sqrt(df * Math.PI) * gammaHalf(df / 2));
  const pdf = (t: number) => c * (1 + (t * t) / df) ** (-(df + 1) / 2);
  const target = confidence / 2; // ∫_0^q pdf = confidence / 2
  let lo = 0;
  let hi = 100;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (simpson(pdf, 0, mid) < target) lo = mid;
    else hi = mid;
  }
  quantiles.set(`${confidence}/${df}`, (lo + hi) / 2);
  return (lo + hi) / 2;
}

/** Two-sided normal p-value of z, as twice the upper-tail integral of the normal density. */
function twoSidedP(z: number): number {
  const pdf = (x: number) => Math.exp(-x * x / 2) / Math.sqrt(2 * Math.PI);
  const a = Math.abs(z);
  return 2 * simpson(pdf, a, a + 40, 200000);
}

/** Sample covariance (n − 1) of two equally long vectors. */
function cov(a: number[], b: number[]): number {
  const ma = mean(a);
  const mb = mean(b);
  return sum(a.map((x, i) => (x - ma) * (b[i] - mb))) / (a.length - 1);
}

/**
 * DeLong's test of two correlated AUCs from its definition: the structural
 * components V10 (per positive) and V01 (per negative) of each predictor,
 * their sample covariances S10 and S01, Var(A1 − A2) =
 * (S10₁₁ + S10₂₂ − 2 S10₁₂) / m + (S01₁₁ + S01₂₂ − 2 S01₁₂) / n.
 */
function delongByDefinition(x1: number[], x2: number[], labels: number[]) {
  const pos = labels.flatMap((y, i) => (y === 1 ? [i] : []));
  const neg = labels.flatMap((y, i) => (y === 0 ? [i] : []));
  const v10 = (x: number[]) => pos.map((i) => mean(neg.map((j) => psi(x[i], x[j]))));
  const v01 = (x: number[]) => neg.map((j) => mean(pos.map((i) => psi(x[i], x[j]))));
  const [a10, b10, a01, b01] = [v10(x1), v10(x2), v01(x1), v01(x2)];
  const auc1 = mean(a10);
  const auc2 = mean(b10);
  const variance = (cov(a10, a10) + cov(b10, b10) - 2 * cov(a10, b10)) / pos.length +
    (cov(a01, a01) + cov(b01, b01) - 2 * cov(a01, b01)) / neg.length;
  const z = (auc1 - auc2) / Math.sqrt(variance);
  return { auc1, auc2, z, pValue: twoSidedP(z) };
}

/** Holm's step-down adjustment: sorted ascending, (m − i) p₍ᵢ₎ capped at 1, made monotone. */
function holm(p: number[]): number[] {
  const order = p.map((_, i) => i).sort((a, b) => p[a] - p[b]);
  const out = new Array<number>(p.length);
  let running = 0;
  order.forEach((idx, rank) => {
    running = Math.max(running, Math.min(1, (p.length - rank) * p[idx]));
    out[idx] = running;
  });
  return out;
}

/** Balanced accuracy of binary scores thresholded at 0.5 (positive when p > 0.5). */
function balancedAccuracyOf(scores: number[], labels: number[]): number {
  const pred = scores.map((p) => (p > 0.5 ? 1 : 0));
  const rate = (cls: number) => {
    const idx = labels.flatMap((y, i) => (y === cls ? [i] : []));
    return idx.filter((i) => pred[i] === cls).length / idx.length;
  };
  return (rate(0) + rate(1)) / 2;
}

/** sklearn's binary Brier: mean (p − y)². */
const brierOf = (scores: number[], labels: number[]) =>
  mean(scores.map((p, i) => (p - labels[i]) ** 2));

/** Mean, std and t-interval of `values`, computed here. */
function stats(values: number[], confidence = 0.95) {
  const m = mean(values);
  const sd = sampleStd(values);
  const half = tQuantile(confidence, values.length - 1) * sd / Math.sqrt(values.length);
  return { n: values.length, mean: m, std: sd, lower: m - half, upper: m + half };
}

/** Image-by-image mean of the runs' test scores. */
const ensemble = (runs: RunRecord[]) =>
  runs[0].testScores!.map((_, i) => mean(runs.map((r) => r.testScores![i])));

const close = (actual: unknown, expected: number, tol: number, what: string) =>
  assert.ok(
    typeof actual === "number" && Math.abs(actual - expected) <= tol,
    `${what}: ${actual} ≉ ${expected} (tolerance ${tol})`,
  );

// ---------------------------------------------------------------------------
// Fixture: a one-at-a-time study, 3 seeds; one config lost seed 2, one run failed.

const FAILED = "basic.cosine.vit_tiny_patch16_224";
const RECORDS = makeFixtureRuns({ configs: oatFixtureConfigs(), failedConfigId: FAILED })
  .filter((r) => r.id !== "none.cosine.resnet18-s2");
const SUMMARY = summarizeRuns(RECORDS);
const LABELS = RECORDS[0].testLabels!;

/** Everything this file recomputes for one configuration. */
interface Expected {
  configId: string;
  auc: ReturnType<typeof stats>;
  balancedAccuracy: ReturnType<typeof stats>;
  brier: ReturnType<typeof stats>;
  runs: RunRecord[];
}

const okRuns = (id: string) =>
  RECORDS.filter((r) => r.configId === id && r.status === "ok").sort((a, b) => a.seed - b.seed);

const EXPECTED: Map<string, Expected> = new Map(
  [...new Set(RECORDS.map((r) => r.configId))].map((id) => {
    const runs = okRuns(id);
    const of = (f: (s: number[], y: number[]) => number) =>
      stats(runs.map((r) => f(r.testScores!, r.testLabels!)));
    return [id, {
      configId: id,
      auc: of(bruteAuc),
      balancedAccuracy: of(balancedAccuracyOf),
      brier: of(brierOf),
      runs,
    }];
  }),
);

/** The best configuration by recomputed mean AUC, and DeLong + Holm against it, recomputed. */
function expectedDelong() {
  const ranked = [...EXPECTED.values()].sort((a, b) => b.auc.mean - a.auc.mean);
  const best = ranked[0];
  const raw = ranked.slice(1).map((c) => {
    const seeds = c.runs.map((r) => r.seed).filter((s) => best.runs.some((b) => b.seed === s));
    const pick = (runs: RunRecord[]) => ensemble(runs.filter((r) => seeds.includes(r.seed)));
    return { id: c.configId, seeds, ...delongByDefinition(pick(best.runs), pick(c.runs), LABELS) };
  });
  const adjusted = holm(raw.map((t) => t.pValue));
  return { best, ranked, tests: raw.map((t, i) => ({ ...t, pHolm: adjusted[i] })) };
}
const DELONG = expectedDelong();

// ---------------------------------------------------------------------------

Deno.test("pipeline: the reference code reproduces textbook values", () => {
  close(tQuantile(0.95, 2), 4.302652729911275, 1e-9, "t(0.975, 2)");
  close(tQuantile(0.95, 1), 12.706204736174707, 1e-8, "t(0.975, 1)");
  close(twoSidedP(1.959963984540054), 0.05, 1e-12, "p(1.96)");
  assert.equal(bruteAuc([0.9, 0.5, 0.5, 0.1], [1, 1, 0, 0]), 0.875);
  const adjusted = holm([0.01, 0.04, 0.03]);
  [0.03, 0.06, 0.06].forEach((p, i) => close(adjusted[i], p, 1e-15, `Holm ${i}`));
});

Deno.test("pipeline: each record's test AUC, balanced accuracy and Brier equal the recomputed ones", () => {
  for (const r of RECORDS.filter((x) => x.status === "ok")) {
    close(r.test!.auc, bruteAuc(r.testScores!, r.testLabels!), 1e-12, `${r.id} AUC`);
    close(
      r.test!.balancedAccuracy,
      balancedAccuracyOf(r.testScores!, r.testLabels!),
      1e-12,
      `${r.id} balanced accuracy`,
    );
    // Records without brierKind store the two-class sum, twice sklearn's binary Brier.
    close(r.test!.brier, 2 * brierOf(r.testScores!, r.testLabels!), 1e-12, `${r.id} Brier`);
  }
});

Deno.test("pipeline: summarizeRuns' per-config stats equal the recomputed mean, std and 95% CI", () => {
  assert.equal(SUMMARY.configs.length, EXPECTED.size);
  assert.deepEqual(SUMMARY.configs.map((c) => c.configId), DELONG.ranked.map((c) => c.configId));
  for (const c of SUMMARY.configs) {
    const e = EXPECTED.get(c.configId)!;
    assert.equal(c.nOk, e.runs.length, `${c.configId} seeds`);
    for (
      const [name, got, want] of [
        ["AUC", c.testAuc, e.auc],
        ["balanced accuracy", c.testBalancedAccuracy, e.balancedAccuracy],
        ["Brier", c.testBrier, e.brier],
      ] as const
    ) {
      assert.equal(got!.n, want.n, `${c.configId} ${name} n`);
      close(got!.mean, want.mean, 1e-12, `${c.configId} ${name} mean`);
      close(got!.std, want.std, 1e-12, `${c.configId} ${name} std`);
      close(got!.lower, want.lower, 1e-9, `${c.configId} ${name} CI lower`);
      close(got!.upper, want.upper, 1e-9, `${c.configId} ${name} CI upper`);
    }
  }
  assert.equal(SUMMARY.nFailed, 1);
  assert.equal(EXPECTED.get("none.cosine.resnet18")!.runs.length, 2, "the dropped seed is gone");
});

Deno.test("pipeline: DeLong p vs the best and its Holm adjustment equal DeLong from its definition", () => {
  assert.equal(SUMMARY.best!.configId, DELONG.best.configId);
  assert.equal(SUMMARY.best!.delongVsBest, null);
  for (const t of DELONG.tests) {
    const got = SUMMARY.configs.find((c) => c.configId === t.id)!.delongVsBest!;
    assert.deepEqual(got.seeds, t.seeds, `${t.id} shared seeds`);
    close(got.bestAuc, t.auc1, 1e-12, `${t.id} best ensemble AUC`);
    close(got.auc, t.auc2, 1e-12, `${t.id} ensemble AUC`);
    close(got.z, t.z, 1e-9, `${t.id} z`);
    close(got.pValue, t.pValue, 1e-9 * Math.max(t.pValue, 1e-6), `${t.id} p`);
    close(got.pHolm, t.pHolm, 1e-9 * Math.max(t.pHolm, 1e-6), `${t.id} Holm p`);
  }
  // The config that lost seed 2 is paired over seeds 0 and 1 only.
  assert.deepEqual(DELONG.tests.find((t) => t.id === "none.cosine.resnet18")!.seeds, [0, 1]);
  // Holm matters here: every adjusted p exceeds its raw p, and the running maximum ties some.
  assert.equal(DELONG.tests.length, 4);
  assert.ok(DELONG.tests.every((t) => t.pHolm > t.pValue));
  assert.ok(new Set(DELONG.tests.map((t) => t.pHolm)).size < DELONG.tests.length);
});

/** RFC 4180 rows of a CSV text without quoted fields (asserted). */
function parseSimpleCsv(text: string): Record<string, string>[] {
  assert.ok(!text.includes('"'), "no quoted fields in this fixture");
  const [header, ...rows] = text.trimEnd().split("\n").map((l) => l.split(","));
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
}

Deno.test("pipeline: results.csv rows parse back to the recomputed figures", () => {
  const rows = parseSimpleCsv(formatResultsCsv(SUMMARY));
  assert.deepEqual(rows.map((r) => r.config_id), DELONG.ranked.map((c) => c.configId));
  for (const row of rows) {
    const e = EXPECTED.get(row.config_id)!;
    const num = (col: string) => Number(row[col]);
    for (
      const [stem, want] of [
        ["test_auc", e.auc],
        ["test_balanced_accuracy", e.balancedAccuracy],
        ["test_brier", e.brier],
      ] as const
    ) {
      close(num(`${stem}_mean`), want.mean, 1e-12, `${row.config_id} ${stem}_mean`);
      close(num(`${stem}_std`), want.std, 1e-12, `${row.config_id} ${stem}_std`);
      close(num(`${stem}_ci_lower`), want.lower, 1e-9, `${row.config_id} ${stem}_ci_lower`);
      close(num(`${stem}_ci_upper`), want.upper, 1e-9, `${row.config_id} ${stem}_ci_upper`);
    }
    assert.equal(num("n_ok"), e.runs.length);
    const t = DELONG.tests.find((x) => x.id === row.config_id);
    if (!t) {
      assert.equal(row.config_id, DELONG.best.configId);
      assert.equal(row.best, "1");
      assert.equal(row.delong_p_vs_best, "");
    } else {
      close(num("delong_p_vs_best"), t.pValue, 1e-9 * Math.max(t.pValue, 1e-6), "csv p");
      close(num("delong_p_vs_best_holm"), t.pHolm, 1e-9 * Math.max(t.pHolm, 1e-6), "csv Holm");
    }
  }
});

/** The body rows of the Markdown table under `## <heading>`, cells unbolded. */
function markdownTable(md: string, heading: string): string[][] {
  const lines = md.split("\n");
  const start = lines.indexOf(`## ${heading}`);
  assert.ok(start >= 0, `no section ${heading}`);
  const table: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith("|")) break;
    table.push(line.slice(2, -2).split(" | ").map((c) => c.replace(/^\*\*(.*)\*\*$/, "$1")));
  }
  return table.slice(2); // header and separator
}

Deno.test("pipeline: results.md rows show the recomputed figures, rounded", () => {
  const rows = markdownTable(formatResultsMarkdown(SUMMARY), "Results by configuration");
  assert.equal(rows.length, EXPECTED.size);
  const f = (x: number) => x.toFixed(3);
  const statText = (s: ReturnType<typeof stats>) =>
    `${f(s.mean)} ± ${f(s.std)} [${f(s.lower)}, ${f(s.upper)}]`;
  rows.forEach((row, i) => {
    const e = DELONG.ranked[i];
    assert.equal(row[0], i === 0 ? "★ 1" : String(i + 1));
    assert.equal(`${row[1]}.${row[2]}.${row[3]}`, e.configId, "augment / schedule / backbone");
    assert.equal(row[4], `${e.runs.length}/${e.configId === FAILED ? 1 : 0}`);
    assert.equal(row[5], statText(e.auc), `${e.configId} AUC cell`);
    assert.equal(row[6], statText(e.balancedAccuracy), `${e.configId} balanced accuracy cell`);
    assert.equal(row[7], statText(e.brier), `${e.configId} Brier cell`);
    const t = DELONG.tests.find((x) => x.id === e.configId);
    const p = t ? (t.pHolm < 0.001 ? "< 0.001" : t.pHolm.toFixed(3)) : "(best)";
    assert.equal(row[13], p, `${e.configId} DeLong cell`);
  });
});

Deno.test("pipeline: the AUC-by-level bars and the ROC curves in the charts equal the recomputed ones", () => {
  // One-at-a-time: each level's bar is its one configuration's mean AUC, error bars its 95% CI.
  const chart = levelAucChart(SUMMARY)!;
  const ds = chart.config.data.datasets[0] as { data: number[]; errorBars: number[][] };
  const labels = chart.config.data.labels as string[];
  assert.equal(labels.length, 7);
  labels.forEach((label, i) => {
    const [axis, level] = label.split(": ") as ["augment" | "schedule" | "backbone", string];
    const axes = { augment: "basic", schedule: "cosine", backbone: "resnet18", [axis]: level };
    const e = EXPECTED.get(`${axes.augment}.${axes.schedule}.${axes.backbone}`)!;
    close(ds.data[i], e.auc.mean, 1e-12, `${label} bar`);
    close(ds.errorBars[i][0], e.auc.lower, 1e-9, `${label} lower`);
    close(ds.errorBars[i][1], e.auc.upper, 1e-9, `${label} upper`);
  });

  // ROC per augment level: the seed ensemble's curve, point by point, and its AUC in the legend.
  const roc = rocChart(SUMMARY, "augment")!;
  for (const level of ["none", "basic", "heavy"]) {
    const e = EXPECTED.get(`${level}.cosine.resnet18`)!;
    const scores = ensemble(e.runs);
    const set = roc.config.data.datasets.find((d) => String(d.label).startsWith(`${level}:`))!;
    const points = set.data as { x: number; y: number }[];
    const want = bruteRoc(scores, LABELS);
    assert.equal(points.length, want.length, `${level} ROC points`);
    points.forEach((p, k) => {
      close(p.x, want[k].x, 1e-15, `${level} fpr ${k}`);
      close(p.y, want[k].y, 1e-15, `${level} tpr ${k}`);
    });
    assert.match(
      String(set.label),
      new RegExp(`\\(AUC ${bruteAuc(scores, LABELS).toFixed(3)}\\)$`),
    );
  }
});

Deno.test("pipeline: multi-class — macro and per-class AUCs and their chart equal brute-force OvR AUCs", () => {
  const records = makeMultiClassRuns({ seeds: [0, 1, 2] });
  const s = summarizeRuns(records);
  const k = 5;
  /** Per-class one-vs-rest AUCs of one run, from its stored N×K probabilities. */
  const perClass = (r: RunRecord) => {
    const probs = r.testProbs!;
    const y = r.testTargets!;
    return Array.from({ length: k }, (_, c) =>
      bruteAuc(
        y.map((_, i) => probs[i * k + c]),
        y.map((v) => (v === c ? 1 : 0)),
      ));
  };
  for (const c of s.configs) {
    const runs = records.filter((r) => r.configId === c.configId);
    const per = runs.map(perClass);
    const macro = stats(per.map(mean));
    close(c.testAuc!.mean, macro.mean, 1e-12, `${c.configId} macro AUC`);
    close(c.testAuc!.upper, macro.upper, 1e-9, `${c.configId} macro AUC CI`);
    for (let cls = 0; cls < k; cls++) {
      const want = stats(per.map((p) => p[cls]));
      close(c.perClassAuc![cls]!.mean, want.mean, 1e-12, `${c.configId} class ${cls}`);
      close(c.perClassAuc![cls]!.lower, want.lower, 1e-9, `${c.configId} class ${cls} CI`);
    }
  }
  const best = records.filter((r) => r.configId === s.best!.configId);
  const bars = perClassAucChart(s)!.config.data.datasets[0] as {
    data: number[];
    errorBars: number[][];
  };
  for (let cls = 0; cls < k; cls++) {
    const want = stats(best.map((r) => perClass(r)[cls]));
    close(bars.data[cls], want.mean, 1e-12, `bar of class ${cls}`);
    close(bars.errorBars[cls][1], want.upper, 1e-9, `error bar of class ${cls}`);
  }
});

import assert from "node:assert/strict";
import {
  buildReportCharts,
  type ChartSpec,
  gapChart,
  learningCurveChart,
  levelAucChart,
  PALETTE,
  renderChartPng,
  rocChart,
} from "../lib/report/charts.ts";
import { summarizeRuns } from "../lib/report/summary.ts";
import { makeFixtureRuns, pixelStats, pngSize } from "./_fixtures_runs.ts";

const summary = summarizeRuns(makeFixtureRuns());

Deno.test("charts: the report's charts, in order, as plain JSON", () => {
  const charts = buildReportCharts(summary);
  assert.deepEqual(charts.map((c) => c.name), [
    "auc_by_level",
    "gap_by_config",
    "roc_augment",
    "roc_schedule",
    "roc_backbone",
    "curves_cfg-b",
    "curves_cfg-c",
    "curves_cfg-a",
  ]);
  // Serializable without loss: no functions, no typed arrays, no undefined.
  assert.deepEqual(JSON.parse(JSON.stringify(charts)), charts);
  for (const c of charts) {
    assert.equal(c.config.options.animation, false);
    assert.equal(c.config.options.responsive, false);
    assert.equal(c.config.options.devicePixelRatio, 1);
  }
});

Deno.test("charts: config ids that map to the same file name still get distinct names", () => {
  const runs = makeFixtureRuns({ seeds: [0], failedConfigId: null }).map((r) => ({
    ...r,
    configId: r.configId === "cfg-a" ? "x/y" : r.configId === "cfg-b" ? "x:y" : r.configId,
  }));
  const names = buildReportCharts(summarizeRuns(runs)).map((c) => c.name);
  assert.deepEqual(names.filter((n) => n.startsWith("curves_x")).sort(), [
    "curves_x_y",
    "curves_x_y_2",
  ]);
  assert.equal(new Set(names).size, names.length);
});

Deno.test("charts: data of each chart follows the summary", () => {
  const levels = levelAucChart(summary)!;
  assert.equal(levels.config.type, "bar");
  assert.equal(levels.config.data.labels!.length, summary.levels.length);
  const ds = levels.config.data.datasets[0] as { data: number[]; errorBars: number[][] };
  const resnet = summary.levels.findIndex((l) => l.level === "resnet18");
  const l = summary.levels[resnet].testAuc!;
  assert.equal(ds.data[resnet], l.mean);
  assert.deepEqual(ds.errorBars[resnet], [l.mean - l.std!, l.mean + l.std!]);

  const roc = rocChart(summary, "augment")!;
  assert.equal(roc.config.data.datasets.length, 4, "three levels + chance diagonal");
  assert.match(
    String(roc.config.data.datasets[1].label),
    /^basic: basic \/ cosine \/ resnet18 \(AUC 0\.\d{3}\)$/,
  );
  assert.deepEqual(roc.config.data.datasets[3].data, [{ x: 0, y: 0 }, { x: 1, y: 1 }]);
  const pts = roc.config.data.datasets[1].data as { x: number; y: number }[];
  assert.deepEqual(pts[0], { x: 0, y: 0 });
  assert.deepEqual(pts[pts.length - 1], { x: 1, y: 1 });

  const gap = gapChart(summary)!;
  assert.equal(gap.config.options.indexAxis, "y");
  assert.deepEqual(
    gap.config.data.labels,
    summary.configs.map((c) => `${c.best ? "★ " : ""}${c.label}`),
  );
  assert.deepEqual(gap.config.data.datasets[0].data, summary.configs.map((c) => c.gapAucMean));

  const curves = learningCurveChart(summary.configs[0]);
  assert.deepEqual(
    curves.config.data.datasets.map((d) => d.label),
    ["train loss", "val loss", "val AUC", "train AUC (augmented)"],
  );
  assert.deepEqual(curves.config.data.labels!.slice(5), ["6 (n=3)", "7 (n=2)", "8 (n=2)"]);
  assert.deepEqual(curves.config.data.datasets[1].data, summary.configs[0].curves.valLoss);
  assert.match(
    String((curves.config.options.plugins as { title: { text: string } }).title.text),
    /mean over 3 seeds/,
  );
});

Deno.test("charts: every chart renders a PNG of its size, opaque, with drawn content", async () => {
  for (const spec of buildReportCharts(summary)) {
    const png = await renderChartPng(spec);
    assert.deepEqual(pngSize(png), { width: spec.width, height: spec.height }, spec.name);
    const st = await pixelStats(png, [PALETTE[0], PALETTE[1]]);
    assert.equal(st.opaque, 1, `${spec.name}: white background, no transparency`);
    assert.ok(st.nonBackground > 0.02, `${spec.name}: only ${st.nonBackground} drawn`);
    assert.ok(st.colorCounts[PALETTE[0]] > 100, `${spec.name}: first series missing`);
    assert.ok(st.colorCounts[PALETTE[1]] > 100, `${spec.name}: second series missing`);
  }
});

Deno.test("charts: the error-bar plugin draws bars only where a dataset has errorBars", async () => {
  const spec = levelAucChart(summary)!;
  const without: ChartSpec = structuredClone(spec);
  delete without.config.data.datasets[0].errorBars;
  const ink = "#222222"; // the error bars' colour; chart.js draws nothing else this dark
  const withBars = await pixelStats(await renderChartPng(spec), [ink]);
  const noBars = await pixelStats(await renderChartPng(without), [ink]);
  assert.ok(withBars.colorCounts[ink] > 200, `error bars: ${withBars.colorCounts[ink]} px`);
  assert.ok(noBars.colorCounts[ink] < 20, `no error bars: ${noBars.colorCounts[ink]} px`);
});

Deno.test("charts: bad sizes are rejected with the chart's name", async () => {
  const spec = { ...levelAucChart(summary)!, width: 0 };
  await assert.rejects(() => renderChartPng(spec), /chart "auc_by_level" has size 0×400/);
});

import assert from "node:assert/strict";
import {
  buildReportCharts,
  type ChartSpec,
  classRocChart,
  gapChart,
  learningCurveChart,
  levelAucChart,
  PALETTE,
  perClassAucChart,
  renderChartPng,
  rocChart,
  wrapTitle,
} from "../lib/report/charts.ts";
import { summarizeRuns } from "../lib/report/summary.ts";
import {
  gridFixtureConfigs,
  makeFixtureRuns,
  makeMultiClassRuns,
  oatFixtureConfigs,
  pixelStats,
  pngSize,
} from "./_fixtures_runs.ts";

/** A one-at-a-time study (baseline basic / cosine / resnet18), 3 seeds. */
const summary = summarizeRuns(makeFixtureRuns({ configs: oatFixtureConfigs() }));
/** A chart's title, its wrapped lines joined with spaces. */
const title = (c: ChartSpec) =>
  (c.config.options.plugins as { title: { text: string[] } }).title.text.join(" ");

Deno.test("charts: the report's charts, in order, as plain JSON", () => {
  const charts = buildReportCharts(summary);
  assert.deepEqual(charts.map((c) => c.name), [
    "auc_by_level",
    "gap_by_config",
    "roc_augment",
    "roc_schedule",
    "roc_backbone",
    ...summary.configs.map((c) => `curves_${c.configId.replaceAll(".", "_")}`),
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
  assert.equal(summary.levels.length, 7, "3 augment + 2 schedule + 2 backbone levels");
  assert.match(
    title(levels),
    /each axis varied with the other two held at the baseline \(augment=basic, schedule=cosine, backbone=resnet18\); mean and 95% CI over seeds/,
  );
  const ds = levels.config.data.datasets[0] as { data: number[]; errorBars: number[][] };
  const vit = summary.levels.findIndex((l) => l.level === "vit_tiny_patch16_224");
  const l = summary.levels[vit].testAuc!;
  const vitConfig = summary.configs.find((c) =>
    c.configId === "basic.cosine.vit_tiny_patch16_224"
  )!;
  assert.equal(ds.data[vit], vitConfig.testAuc!.mean, "the level is its one configuration");
  assert.deepEqual(ds.errorBars[vit], [l.lower, l.upper], "error bars: the t-interval");

  const roc = rocChart(summary, "augment")!;
  assert.match(
    title(roc),
    /^Test ROC — levels of augment with schedule=cosine, backbone=resnet18 held at the baseline/,
  );
  assert.equal(roc.config.data.datasets.length, 4, "three levels + chance diagonal");
  assert.match(
    String(roc.config.data.datasets[1].label),
    /^basic: basic \/ cosine \/ resnet18 \(AUC [01]\.\d{3}\)$/,
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
  assert.match(title(curves), /mean over 3 seeds/);

  // A grid: the level chart says it shows main effects, marginalized over the other axes.
  const grid = summarizeRuns(makeFixtureRuns({ configs: gridFixtureConfigs() }));
  assert.match(title(levelAucChart(grid)!), /^Test AUC main effects — each level marginalized/);
  assert.match(
    title(rocChart(grid, "backbone")!),
    /best configuration per backbone level \(grid\)/,
  );
});

Deno.test("charts: multi-class — per-class ROC and AUC charts named by class", async () => {
  const names = ["no DR", "mild", "moderate", "severe", "proliferative"];
  const s = summarizeRuns(makeMultiClassRuns({ classNames: names }));
  assert.deepEqual(buildReportCharts(s).map((c) => c.name).slice(0, 4), [
    "auc_by_level",
    "gap_by_config",
    "roc_per_class",
    "auc_per_class",
  ]);
  const roc = classRocChart(s)!;
  assert.deepEqual(
    roc.config.data.datasets.map((d) => String(d.label).replace(/ \(AUC .*\)$/, "")),
    [...names, "chance"],
  );
  assert.match(title(roc), /Test ROC per class \(one-vs-rest\) — best configuration/);
  const bars = perClassAucChart(s)!;
  assert.deepEqual(bars.config.data.labels, names);
  assert.deepEqual(bars.config.data.datasets[0].data, s.best!.perClassAuc!.map((x) => x!.mean));
  for (const spec of [roc, bars]) {
    const png = await renderChartPng(spec);
    assert.deepEqual(pngSize(png), { width: spec.width, height: spec.height });
    const st = await pixelStats(png, [PALETTE[0]]);
    assert.ok(st.colorCounts[PALETTE[0]] > 100, `${spec.name}: first series missing`);
  }
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

Deno.test("charts: long titles are wrapped to the canvas width, words intact", () => {
  assert.deepEqual(wrapTitle("aaa bbb ccc dddd", 8), ["aaa bbb", "ccc dddd"]);
  assert.deepEqual(wrapTitle("averyveryverylongword x", 5), ["averyveryverylongword", "x"]);
  for (const c of buildReportCharts(summary)) {
    const lines = (c.config.options.plugins as { title: { text: string[] } }).title.text;
    for (const l of lines) {
      assert.ok(l.length <= c.width / 9, `${c.name}: title line "${l}" wider than the chart`);
    }
  }
  assert.ok(
    (levelAucChart(summary)!.config.options.plugins as { title: { text: string[] } }).title.text
      .length >= 2,
  );
});

Deno.test("charts: bad sizes are rejected with the chart's name", async () => {
  const spec = { ...levelAucChart(summary)!, width: 0 };
  await assert.rejects(() => renderChartPng(spec), /chart "auc_by_level" has size 0×420/);
});

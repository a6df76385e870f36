import assert from "node:assert/strict";
import { holmAdjust } from "../lib/report/holm.ts";
import { summarizeRuns } from "../lib/report/summary.ts";
import {
  CSV_COLUMNS,
  csvColumns,
  formatBestParagraph,
  formatResultsCsv,
  formatResultsMarkdown,
  resultTableRows,
  writeResultsCsv,
  writeResultsMarkdown,
} from "../lib/report/tables.ts";
import {
  gridFixtureConfigs,
  makeFixtureRuns,
  makeMultiClassRuns,
  oatFixtureConfigs,
} from "./_fixtures_runs.ts";

/** RFC 4180 parser (quoted fields, doubled quotes, commas and newlines in quotes). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += ch;
  }
  if (field !== "" || row.length > 0) rows.push([...row, field]);
  return rows;
}

Deno.test("csv: header and one row per config parse back to the summary's numbers", () => {
  const s = summarizeRuns(makeFixtureRuns());
  const rows = parseCsv(formatResultsCsv(s));
  assert.deepEqual(rows[0], [...CSV_COLUMNS]);
  assert.equal(rows.length, 1 + s.configs.length);
  const records = rows.slice(1).map((r) => {
    assert.equal(r.length, CSV_COLUMNS.length);
    return Object.fromEntries(CSV_COLUMNS.map((c, i) => [c, r[i]]));
  });
  s.configs.forEach((c, i) => {
    const r = records[i];
    assert.equal(r.config_id, c.configId);
    assert.equal(Number(r.rank), c.rank);
    assert.equal(r.best, c.best ? "1" : "0");
    assert.equal(r.augment, c.axes.augment);
    assert.equal(r.backbone, c.axes.backbone);
    assert.equal(Number(r.n_ok), c.nOk);
    assert.equal(Number(r.n_failed), c.nFailed);
    assert.equal(Number(r.test_auc_mean), c.testAuc!.mean, "full precision round trip");
    assert.equal(Number(r.test_auc_std), c.testAuc!.std);
    assert.equal(Number(r.test_auc_ci_lower), c.testAuc!.lower);
    assert.equal(Number(r.test_brier_mean), c.testBrier!.mean);
    assert.equal(Number(r.gap_loss_mean), c.gapLossMean);
    assert.equal(Number(r.best_epoch_mean), c.bestEpochMean);
    assert.equal(r.test_brier_kind, "binary");
    if (c.best) assert.equal(r.delong_p_vs_best, "");
    else {
      assert.equal(Number(r.delong_p_vs_best), c.delongVsBest!.pValue);
      assert.equal(Number(r.delong_p_vs_best_holm), c.delongVsBest!.pHolm);
    }
  });
  assert.equal(records[0].config_id, "cfg-b");
  assert.equal(records.find((r) => r.config_id === "cfg-c")!.n_failed, "1");
});

Deno.test("csv: fields with commas, quotes and newlines are quoted; missing values empty", () => {
  const runs = makeFixtureRuns({ seeds: [0], failedConfigId: null }).map((r) =>
    r.configId === "cfg-a"
      ? {
        ...r,
        configId: 'odd,"id"\nx',
        axes: { ...r.axes, backbone: "res,net" },
        gapLoss: undefined,
      }
      : r
  );
  const s = summarizeRuns(runs);
  const rows = parseCsv(formatResultsCsv(s));
  const odd = rows.find((r) => r[2] === 'odd,"id"\nx')!;
  assert.ok(odd, "the odd id parses back intact");
  assert.equal(odd[5], "res,net");
  assert.equal(odd[CSV_COLUMNS.indexOf("test_auc_std")], "", "single seed: no std");
  assert.equal(odd[CSV_COLUMNS.indexOf("gap_loss_mean")], "");
});

Deno.test("markdown: title, fixed settings, table with the best row marked, best paragraph", () => {
  const s = summarizeRuns(makeFixtureRuns());
  const md = formatResultsMarkdown(s, {
    title: "BreastMNIST ablation",
    fixedSettings: { dataset: "breastmnist", epochs: 30, optimizer: { name: "adamw" } },
    figures: [{ path: "charts/auc_by_level.png", caption: "AUC by level" }],
  });
  assert.match(md, /^# BreastMNIST ablation\n/);
  assert.match(md, /10 runs: 9 succeeded, 1 failed; 3 configurations\./);
  assert.match(md, /## Fixed settings\n\n- \*\*dataset\*\*: breastmnist\n- \*\*epochs\*\*: 30\n/);
  assert.match(md, /- \*\*optimizer\*\*: \{"name":"adamw"\}/);
  const lines = md.split("\n");
  const header = lines.findIndex((l) => l.startsWith("| Rank |"));
  assert.ok(header > 0, "results table present");
  assert.match(lines[header + 1], /^\|( --- \|)+$/);
  const cells = (l: string) => l.slice(2, -2).split(" | ");
  const headerCells = cells(lines[header]);
  assert.equal(headerCells.length, 14);
  const body = lines.slice(header + 2, header + 2 + s.configs.length).map(cells);
  body.forEach((r) => assert.equal(r.length, headerCells.length));
  assert.equal(body[0][0], "**★ 1**");
  assert.equal(body[0][1], "**basic**");
  assert.equal(body[0][13], "**(best)**");
  assert.ok(body.slice(1).every((r) => !r[0].includes("★") && !r[1].startsWith("**")));
  assert.equal(body[1][4], "3/1", "cfg-c: 3 ok, 1 failed");
  const b = s.best!;
  assert.equal(
    body[0][5],
    `**${b.testAuc!.mean.toFixed(3)} ± ${b.testAuc!.std!.toFixed(3)} [${
      b.testAuc!.lower!.toFixed(3)
    }, ${b.testAuc!.upper!.toFixed(3)}]**`,
  );
  assert.match(
    md,
    /## Axis effects\n\n### Test AUC — levels of augment: mean over the configurations that have the level \(they differ in the other axes too; not a controlled comparison\)/,
  );
  assert.match(md, /\| augment \| Configs \| Runs \| Test AUC \(mean ± std over configs\) \|/);
  assert.match(md, /Test Brier \(binary, sklearn\)/);
  assert.match(md, /DeLong p vs best \(Holm-adjusted\)/);
  assert.match(
    md,
    /## Best configuration\n\nThe best configuration is \*\*basic \/ cosine \/ resnet18\*\*/,
  );
  assert.match(md, /!\[AUC by level\]\(charts\/auc_by_level\.png\)/);
  assert.match(md, /DeLong p-values compare seed ensembles/);
  // No settings: no section.
  assert.doesNotMatch(formatResultsMarkdown(s), /Fixed settings/);
  assert.match(formatResultsMarkdown(s), /^# Ablation study results/);
});

Deno.test("best paragraph: names the config, AUC with interval, DeLong count; no success", () => {
  const s = summarizeRuns(makeFixtureRuns());
  const p = formatBestParagraph(s);
  assert.match(p, /`cfg-b`/);
  assert.match(p, /augmentation `basic`, LR schedule `cosine`, backbone `resnet18`/);
  assert.match(p, new RegExp(`mean test AUC ${s.best!.testAuc!.mean.toFixed(3)}`));
  assert.match(p, /95% t-interval over seeds/);
  assert.match(
    p,
    /with Holm's step-down correction for the 2 comparisons with the best, 2 of the other 2 configurations differ from it at adjusted p < 0\.05\./,
  );
  // Corrected and uncorrected counts differ: the sentence counts adjusted p and says both.
  const oat = summarizeRuns(makeFixtureRuns({ configs: oatFixtureConfigs() }));
  const raw = [0.01, 0.02, 0.03, 0.2];
  const adj = holmAdjust(raw); // [0.04, 0.06, 0.06, 0.2]
  oat.configs.filter((c) => !c.best).forEach((c, i) => {
    c.delongVsBest = { ...c.delongVsBest!, pValue: raw[i], pHolm: adj[i]! };
  });
  assert.match(
    formatBestParagraph(oat),
    /for the 4 comparisons with the best, 1 of the other 4 configurations differs from it at adjusted p < 0\.05 \(3 before correction\)\./,
  );
  assert.deepEqual(
    resultTableRows(oat).slice(2).map((r) => r[13]),
    ["0.040", "0.060", "0.060", "0.200"],
    "the table shows adjusted p",
  );
  const failedOnly = makeFixtureRuns({ seeds: [] });
  assert.match(
    formatBestParagraph(summarizeRuns(failedOnly)),
    /No configuration finished successfully \(1 of 1 runs failed\)/,
  );
});

Deno.test("writers: results.csv and results.md written atomically", async () => {
  const s = summarizeRuns(makeFixtureRuns());
  const dir = await Deno.makeTempDir({ prefix: "medtune_tables_" });
  try {
    await writeResultsCsv(`${dir}/sub/results.csv`, s);
    await writeResultsMarkdown(`${dir}/sub/results.md`, s, { title: "T" });
    assert.equal(await Deno.readTextFile(`${dir}/sub/results.csv`), formatResultsCsv(s));
    assert.equal(
      await Deno.readTextFile(`${dir}/sub/results.md`),
      formatResultsMarkdown(s, { title: "T" }),
    );
    const names = [...Deno.readDirSync(`${dir}/sub`)].map((e) => e.name).sort();
    assert.deepEqual(names, ["results.csv", "results.md"], "no temporary files left");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("csv: rows equal the summary for a multi-class task, with per-class columns by name", () => {
  const s = summarizeRuns(
    makeMultiClassRuns({ classNames: ["no DR", "mild", "moderate", "severe", "proliferative"] }),
  );
  const rows = parseCsv(formatResultsCsv(s));
  const cols = csvColumns(s);
  assert.deepEqual(rows[0], cols);
  assert.deepEqual(cols.slice(CSV_COLUMNS.length, CSV_COLUMNS.length + 4), [
    "test_auc_0_no_dr_mean",
    "test_auc_0_no_dr_std",
    "test_auc_1_mild_mean",
    "test_auc_1_mild_std",
  ]);
  s.configs.forEach((c, i) => {
    const r = Object.fromEntries(cols.map((k, j) => [k, rows[i + 1][j]]));
    assert.equal(r.config_id, c.configId);
    assert.equal(Number(r.test_auc_mean), c.testAuc!.mean);
    assert.equal(Number(r.test_brier_mean), c.testBrier!.mean);
    assert.equal(r.test_brier_kind, "multiclass");
    if (c.best) assert.equal(r.delong_p_vs_best, "");
    else assert.equal(Number(r.delong_p_vs_best_holm), c.delongVsBest!.pHolm);
    assert.equal(Number(r.test_auc_4_proliferative_mean), c.perClassAuc![4]!.mean);
  });
});

Deno.test("markdown: one-at-a-time tables say the other axes are held at the baseline", () => {
  const s = summarizeRuns(
    makeFixtureRuns({ configs: oatFixtureConfigs(), dataset: "breastmnist" }),
  );
  const md = formatResultsMarkdown(s);
  assert.match(md, /^# BreastMNIST ablation study\n/, "title follows the dataset");
  assert.match(
    md,
    /Dataset: \*\*BreastMNIST\*\*, binary task; classes: 0 “malignant”, 1 “normal, benign”\./,
  );
  assert.match(
    md,
    /Design: one axis at a time around the baseline augment=basic, schedule=cosine, backbone=resnet18/,
  );
  assert.match(
    md,
    /### Test AUC — levels of augment with schedule=cosine, backbone=resnet18 held at the baseline \(mean and t-interval over the seeds of each configuration\)/,
  );
  assert.match(
    md,
    /\| basic \(baseline\) \| 1 \| 3 \| [^|]+ \| 0 \(reference\) \| basic \/ cosine \/ resnet18 \|/,
  );
  assert.match(
    md,
    /\| augment \| Configs \| Runs \| Test AUC \(mean ± std \[95% CI\]\) \| Δ vs baseline \(paired by seed, \[95% CI\]\) \| Configuration \|/,
  );
  const aug = s.axisEffects.find((e) => e.axis === "augment")!;
  const heavy = aug.levels.find((l) => l.level === "heavy")!.testAuc!;
  assert.ok(md.includes(`| heavy | 1 | 3 | ${heavy.mean.toFixed(3)} ± ${heavy.std!.toFixed(3)} [`));
  const d = aug.levels.find((l) => l.level === "none")!.vsBaseline!;
  assert.ok(
    md.includes(`| −${Math.abs(d.mean).toFixed(3)} [`),
    "the paired difference is shown signed",
  );
  assert.doesNotMatch(md, /## Interactions/);
});

Deno.test("markdown: a grid shows main effects and interaction tables", () => {
  const s = summarizeRuns(makeFixtureRuns({ configs: gridFixtureConfigs(), failedConfigId: null }));
  const md = formatResultsMarkdown(s);
  assert.match(
    md,
    /### Test AUC — main effect of augment, marginalized over schedule \(2 levels\) × backbone \(2 levels\) and 3 seeds/,
  );
  assert.match(md, /## Interactions/);
  assert.match(
    md,
    /### augment × backbone, averaged over schedule\n\n\| augment ↓ backbone → \| resnet18 \| vit_tiny_patch16_224 \|/,
  );
  const i = s.interactions[1];
  const cell = i.cells[2][1];
  assert.ok(
    md.includes(`| heavy | `) &&
      md.includes(
        `${cell.mean.toFixed(3)} [${cell.lower!.toFixed(3)}, ${cell.upper!.toFixed(3)}]; γ `,
      ),
  );
});

Deno.test("markdown: RetinaMNIST is said to be treated as multi-class; class names and Brier form", () => {
  const s = summarizeRuns(makeMultiClassRuns());
  const md = formatResultsMarkdown(s, { fixedSettings: { dataset: "retinamnist" } });
  assert.match(md, /^# RetinaMNIST ablation study/);
  assert.match(md, /it is treated as multi-class classification/);
  assert.match(md, /multi-class task; 5 classes, named by their index 0–4\./);
  const header = resultTableRows(s)[0];
  assert.equal(header[13], "DeLong p vs best (macro AUC, Holm-adjusted)");
  assert.ok(header.includes("Test Brier (multi-class)"));
  assert.ok(header.includes("Test macro one-vs-rest AUC (mean ± std [95% CI])"));
  assert.match(
    md,
    /## Test AUC per class \(one-vs-rest\)\n\n\| Rank \| Configuration \| 0 \| 1 \| 2 \| 3 \| 4 \|/,
  );
  assert.match(
    md,
    /By DeLong's test extended to the macro one-vs-rest AUC, on seed-ensemble probabilities, with Holm's step-down correction for the 4 comparisons with the best/,
  );
  assert.match(md, /the multi-class form, mean over images of Σ_k/);
});

Deno.test("best paragraph: a single comparison is worded as one", () => {
  const runs = makeFixtureRuns({ failedConfigId: null }).filter((r) => r.configId !== "cfg-a");
  const s = summarizeRuns(runs);
  const p = s.configs[1].delongVsBest!.pValue;
  assert.match(
    formatBestParagraph(s),
    new RegExp(
      `the other configuration (differs|does not differ) from it at p < 0\\.05 \\(p ${
        p < 0.001 ? "< 0\\.001" : `= ${p.toFixed(3)}`
      }; one comparison`,
    ),
  );
});

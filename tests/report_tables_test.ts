import assert from "node:assert/strict";
import { summarizeRuns } from "../lib/report/summary.ts";
import {
  CSV_COLUMNS,
  formatBestParagraph,
  formatResultsCsv,
  formatResultsMarkdown,
  writeResultsCsv,
  writeResultsMarkdown,
} from "../lib/report/tables.ts";
import { makeFixtureRuns } from "./_fixtures_runs.ts";

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
    if (c.best) assert.equal(r.delong_p_vs_best, "");
    else assert.equal(Number(r.delong_p_vs_best), c.delongVsBest!.pValue);
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
  assert.match(md, /## Test AUC by axis level\n\n\| Axis \| Level \|/);
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
  assert.match(p, /2 of the other 2 configurations differ from it at p < 0\.05/);
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

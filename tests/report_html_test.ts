import assert from "node:assert/strict";
import { createCanvas } from "@napi-rs/canvas";
import { PALETTE } from "../lib/report/charts.ts";
import { renderReportHtml } from "../lib/report/html.ts";
import { writeStudyReport } from "../lib/report/mod.ts";
import { summarizeRuns } from "../lib/report/summary.ts";
import {
  makeFixtureRuns,
  makeMultiClassRuns,
  oatFixtureConfigs,
  pixelStats,
  pngSize,
} from "./_fixtures_runs.ts";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
  .find((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
if (!CHROMIUM) {
  console.warn(
    "report_html_test: no Chromium at /usr/bin/chromium — skipping the headless-browser checks " +
      "(install it with `apt-get install -y chromium`).",
  );
}

const SETTINGS = { dataset: "breastmnist", epochs: 8, imageSize: 28 };

function gridPng(): Uint8Array {
  const canvas = createCanvas(120, 60);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#808080";
  ctx.fillRect(0, 0, 120, 60);
  return new Uint8Array(canvas.toBuffer("image/png"));
}

/** Run headless Chromium on a file; returns stdout and stderr. */
async function chromium(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const profile = await Deno.makeTempDir({ prefix: "medtune_chromium_" });
  try {
    const out = await new Deno.Command(CHROMIUM!, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        `--user-data-dir=${profile}`,
        "--enable-logging=stderr",
        "--v=0",
        ...args,
      ],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(90_000),
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `chromium exited with ${out.code}:\n${stderr.slice(-2000)}`);
    return { stdout, stderr };
  } finally {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}

/** The page's status element, as `--dump-dom` shows it. */
function pageStatus(
  dom: string,
): { status: string; charts: number; expected: number; text: string } {
  const m = dom.match(/<output id="medtune-status"([^>]*)>([^<]*)<\/output>/);
  assert.ok(m, "status element missing from the dumped DOM");
  const attr = (name: string) => m[1].match(new RegExp(`${name}="([^"]*)"`))?.[1] ?? "";
  return {
    status: attr("data-status"),
    charts: Number(attr("data-charts")),
    expected: Number(attr("data-expected")),
    text: m[2],
  };
}

/** Browser console lines (Chromium logs them as `CONSOLE` on stderr) that report errors. */
function consoleErrors(stderr: string): string[] {
  return stderr.split("\n").filter((l) => /:CONSOLE[:(]/.test(l) && /Uncaught|error/i.test(l));
}

Deno.test("report: writeStudyReport writes csv, md, chart PNGs and a self-contained html", async () => {
  const dir = await Deno.makeTempDir({ prefix: "medtune_report_" });
  try {
    await Deno.writeFile(`${dir}/augment_grid.png`, gridPng());
    const files = await writeStudyReport(`${dir}/`, makeFixtureRuns(), {
      title: "Fixture <study>",
      fixedSettings: SETTINGS,
    });
    assert.deepEqual(files, [
      `${dir}/results.csv`,
      `${dir}/charts/auc_by_level.png`,
      `${dir}/charts/gap_by_config.png`,
      `${dir}/charts/roc_augment.png`,
      `${dir}/charts/roc_schedule.png`,
      `${dir}/charts/roc_backbone.png`,
      `${dir}/charts/curves_cfg-b.png`,
      `${dir}/charts/curves_cfg-c.png`,
      `${dir}/charts/curves_cfg-a.png`,
      `${dir}/results.md`,
      `${dir}/report.html`,
    ]);
    for (const f of files.filter((f) => f.endsWith(".png"))) pngSize(await Deno.readFile(f));
    const all = [...Deno.readDirSync(dir), ...Deno.readDirSync(`${dir}/charts`)].map((e) => e.name);
    assert.ok(all.every((n) => !n.includes(".tmp-")), "no temporary files left");

    const md = await Deno.readTextFile(`${dir}/results.md`);
    assert.match(md, /^# Fixture <study>/);
    assert.match(md, /!\[Augmentation presets applied to the same images\]\(augment_grid\.png\)/);
    assert.match(md, /\(charts\/roc_backbone\.png\)/);

    const html = await Deno.readTextFile(`${dir}/report.html`);
    assert.match(html, /<title>Fixture &lt;study&gt;<\/title>/);
    assert.match(html, /Chart\.js v4\.6\.1/, "chart.js UMD inlined");
    assert.doesNotMatch(html, /<script[^>]+src=/i, "no external scripts");
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//i, "no network references");
    assert.match(
      html,
      /<img class="grid" id="augment-grid"[^>]+src="data:image\/png;base64,iVBORw0KGgo/,
    );
    assert.match(html, /<tr class="best"><td>★ 1<\/td><td>basic<\/td>/);
    assert.match(
      html,
      /<p id="best-config">The best configuration is <strong>basic \/ cosine \/ resnet18<\/strong>/,
    );
    assert.match(html, /<th>dataset<\/th><td>breastmnist<\/td>/);
    assert.equal((html.match(/<canvas id="chart-/g) ?? []).length, 8);
    assert.match(html, /medtuneErrorBars/, "error-bar plugin inlined");
    assert.match(html, /<th>DeLong p vs best \(Holm-adjusted\)<\/th>/);
    assert.match(html, /<th>Test Brier \(binary, sklearn\)<\/th>/);
    assert.match(
      html,
      /<h3>Test AUC — levels of augment: mean over the configurations that have the level/,
    );
    assert.match(html, /<table id="effect-backbone">/);

    // Without a grid in the folder: no image, no reference.
    const dir2 = `${dir}/nogrid`;
    await writeStudyReport(dir2, makeFixtureRuns({ seeds: [0] }));
    assert.doesNotMatch(await Deno.readTextFile(`${dir2}/report.html`), /augment-grid/);
    assert.doesNotMatch(await Deno.readTextFile(`${dir2}/results.md`), /augment_grid\.png/);
    await assert.rejects(() => writeStudyReport(dir2, []), /no run records/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("report: html follows the design and the dataset (one-at-a-time, RetinaMNIST)", async () => {
  const oat = summarizeRuns(
    makeFixtureRuns({ configs: oatFixtureConfigs(), dataset: "breastmnist" }),
  );
  const html = await renderReportHtml(oat, { chartJsSource: "" });
  assert.match(html, /<title>BreastMNIST ablation study<\/title>/);
  assert.match(html, /<p id="study-design">Dataset: <strong>BreastMNIST<\/strong>, binary task/);
  assert.match(
    html,
    /<h3>Test AUC — levels of schedule with augment=basic, backbone=resnet18 held at the baseline/,
  );
  assert.match(html, /<td>cosine \(baseline\)<\/td><td>1<\/td><td>3<\/td>/);
  assert.match(html, /Holm&#39;s step-down correction for the 4 comparisons with the best/);

  const retina = summarizeRuns(makeMultiClassRuns());
  const page = await renderReportHtml(retina, { chartJsSource: "" });
  assert.match(page, /<title>RetinaMNIST ablation study<\/title>/);
  assert.match(page, /it is treated as multi-class classification/);
  assert.match(page, /<h2>Test AUC per class \(one-vs-rest\)<\/h2>/);
  assert.match(page, /<th>Test Brier \(multi-class\)<\/th>/);
  assert.match(page, /<th>DeLong p vs best \(macro AUC, Holm-adjusted\)<\/th>/);
  assert.match(page, /<canvas id="chart-roc_per_class"/);
});

Deno.test({
  name: "report: report.html draws every chart in headless Chromium without console errors",
  ignore: !CHROMIUM,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "medtune_report_browser_" });
    try {
      await Deno.writeFile(`${dir}/augment_grid.png`, gridPng());
      await writeStudyReport(dir, makeFixtureRuns(), { title: "Fixture", fixedSettings: SETTINGS });
      const url = `file://${dir}/report.html`;

      // One browser run: the DOM after load on stdout, and a screenshot.
      const shot = `${dir}/screenshot.png`;
      const run = await chromium([
        "--dump-dom",
        `--screenshot=${shot}`,
        "--window-size=1200,3000",
        url,
      ]);
      const st = pageStatus(run.stdout);
      assert.equal(st.status, "ok", `page reported: ${st.text}`);
      assert.equal(st.expected, 8);
      assert.equal(st.charts, 8, "every chart drawn");
      assert.deepEqual(consoleErrors(run.stderr), [], "browser console errors");
      const png = await Deno.readFile(shot);
      assert.deepEqual(pngSize(png), { width: 1200, height: 3000 });
      const px = await pixelStats(png, [PALETTE[0], PALETTE[1], PALETTE[4]]);
      assert.ok(px.nonBackground > 0.05, `screenshot nearly blank: ${px.nonBackground}`);
      // The bars and curves of the charts (canvas content) are in the screenshot.
      for (const [color, count] of Object.entries(px.colorCounts)) {
        assert.ok(count > 1000, `chart colour ${color}: only ${count} px in the screenshot`);
      }

      // A multi-class study's page (per-class ROC and AUC charts) draws too.
      const mc = `${dir}/multiclass`;
      await writeStudyReport(mc, makeMultiClassRuns(), {
        fixedSettings: { dataset: "retinamnist" },
      });
      const st2 = pageStatus((await chromium(["--dump-dom", `file://${mc}/report.html`])).stdout);
      assert.equal(st2.status, "ok", `multi-class page reported: ${st2.text}`);
      assert.ok(st2.expected >= 4);
      assert.equal(st2.charts, st2.expected, "every chart drawn");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "report: the page reports a chart that fails to draw (status error in the DOM)",
  ignore: !CHROMIUM,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "medtune_report_broken_" });
    try {
      const summary = summarizeRuns(makeFixtureRuns({ seeds: [0] }));
      const broken = {
        name: "broken",
        caption: "a chart type chart.js does not know",
        width: 200,
        height: 100,
        config: {
          type: "nonexistent" as "bar",
          data: { datasets: [{ data: [1, 2] }] },
          options: {},
        },
      };
      await Deno.writeTextFile(
        `${dir}/report.html`,
        await renderReportHtml(summary, { charts: [broken] }),
      );
      const st = pageStatus((await chromium(["--dump-dom", `file://${dir}/report.html`])).stdout);
      assert.equal(st.status, "error");
      assert.equal(st.charts, 0);
      assert.match(st.text, /chart broken: "nonexistent" is not a registered controller/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/**
 * After the runs: the augmentation grid, the report (tables, charts, HTML)
 * and the best configuration's checkpoint — its run with the highest
 * validation AUC, as safetensors (timm names), its config, and an exported
 * inference `.onnx`.
 *
 * @module
 */

import { writeAugmentGrid } from "../augment/grid.ts";
import type { Dataset } from "../data/dataset.ts";
import { summarizeRuns, writeStudyReport } from "../report/mod.ts";
import type { Backend } from "../runtime/backend.ts";
import { Trainer } from "../train/trainer.ts";
import { atomicWriteFile, exists } from "../util/fs.ts";
import { crashPoint } from "./fault.ts";
import type { RunRecord } from "../report/record.ts";
import { dedupeRecords } from "./results_log.ts";
import { modelForRun, runDir } from "./runner.ts";
import { type PlannedRun, planRuns, type StudySpec } from "./spec.ts";

/** Options of {@linkcode finalizeStudy}. */
export interface FinalizeOptions {
  /** Backend used to export the best checkpoint. */
  backend: Backend;
  /** Training split: the augmentation grid shows it; its class count builds the model. */
  train: Dataset;
  /** Log lines. */
  log?: (line: string) => void;
}

/** What {@linkcode finalizeStudy} wrote. */
export interface FinalizeResult {
  /** Every file written (and only those). */
  files: string[];
  /** Whether `best/` (weights, ONNX, config) was written. */
  bestWritten: boolean;
  /** The best configuration's id and the run whose weights were exported (when written). */
  best?: { configId: string; runId: string };
}

/**
 * Write the grid, the report and the best checkpoint for the records of
 * `spec`'s runs. Records are deduplicated by run id first. `best/` is written
 * from the best configuration's run with the highest validation AUC whose
 * weights are still in `runs/<id>/best.safetensors` (the next seed when they
 * are missing); when none has them, or no run succeeded, `bestWritten` is
 * false and the log says why.
 */
export async function finalizeStudy(
  spec: StudySpec,
  outDir: string,
  records: readonly RunRecord[],
  options: FinalizeOptions,
): Promise<FinalizeResult> {
  const planned = new Map(planRuns(spec).map((r) => [r.id, r]));
  const mine = dedupeRecords(records.filter((r) => planned.has(r.id)), {
    log: options.log,
    source: "finalize",
  });
  if (mine.length === 0) throw new Error(`finalize: no records of this study's runs in ${outDir}`);
  const files = await writeReportFiles(spec, outDir, mine, options);
  crashPoint("finalize:after-report");
  const best = summarizeRuns(mine).best;
  if (!best) {
    options.log?.("no run succeeded: best/ not written");
    return { files, bestWritten: false };
  }
  const candidates = mine.filter((r) => r.configId === best.configId && r.status === "ok");
  candidates.sort((a, b) => (b.val?.auc ?? -1) - (a.val?.auc ?? -1));
  const chosen = await firstWithWeights(outDir, candidates, planned);
  if (!chosen) {
    const sources = candidates.map((r) => `${runDir(outDir, planned.get(r.id)!)}/best.safetensors`);
    options.log?.(
      `best/ not written: the weights of the best configuration's runs are missing ` +
        `(${sources.join(", ")}); to recreate them, delete those runs' lines from the results ` +
        `file and rerun the study`,
    );
    return { files, bestWritten: false };
  }
  const run = planned.get(chosen.id) as PlannedRun;
  files.push(
    ...await writeBest(outDir, run, chosen, {
      ...options,
      testAucMeanOverSeeds: best.testAuc?.mean ?? null,
    }),
  );
  options.log?.(`best configuration ${best.label}: weights of ${chosen.id} in ${outDir}/best/`);
  return { files, bestWritten: true, best: { configId: best.configId, runId: chosen.id } };
}

/** The augmentation grid and the report (tables, charts, HTML); returns the files written. */
async function writeReportFiles(
  spec: StudySpec,
  outDir: string,
  records: readonly RunRecord[],
  options: FinalizeOptions,
): Promise<string[]> {
  const grid = `${outDir}/augment_grid.png`;
  await writeAugmentGrid(grid, options.train, { rows: ["none", "basic", "heavy"], count: 8 });
  const report = await writeStudyReport(outDir, records, {
    title: spec.name,
    // Through JSON: unset optional settings (undefined) are left out of the table.
    fixedSettings: JSON.parse(JSON.stringify(spec.fixed)),
    // The design decides how axis levels are compared; the dataset words the report.
    design: spec.design,
    baseline: spec.baseline,
    axisLevels: spec.axes,
    dataset: spec.fixed.dataset,
    task: options.train.task,
    classNames: options.train.labelNames,
  });
  return [grid, ...report];
}

/** What {@linkcode writeBest} needs besides the run. */
interface WriteBestOptions extends FinalizeOptions {
  /** The best configuration's mean test AUC over its seeds (`config.json`). */
  testAucMeanOverSeeds: number | null;
}

/**
 * `best/`: the chosen run's best weights re-saved, exported to ONNX, and a
 * `config.json` naming the run, its configuration and its metrics.
 */
async function writeBest(
  outDir: string,
  run: PlannedRun,
  chosen: RunRecord,
  options: WriteBestOptions,
): Promise<string[]> {
  const bestDir = `${outDir}/best`;
  const files: string[] = [];
  const trainer = new Trainer(modelForRun(run, options.train.numClasses), {
    backend: options.backend,
  });
  try {
    await trainer.load(`${runDir(outDir, run)}/best.safetensors`);
    await trainer.save(`${bestDir}/model.safetensors`);
    files.push(`${bestDir}/model.safetensors`);
    await trainer.exportOnnx(`${bestDir}/model.onnx`);
    files.push(`${bestDir}/model.onnx`);
  } finally {
    await trainer.dispose();
  }
  const config = {
    configId: chosen.configId,
    runId: chosen.id,
    seed: chosen.seed,
    axes: chosen.axes,
    config: chosen.config,
    model: trainer.model.name,
    modelConfig: trainer.model.config,
    bestEpoch: chosen.bestEpoch,
    val: chosen.val,
    test: chosen.test,
    testAucMeanOverSeeds: options.testAucMeanOverSeeds,
  };
  await atomicWriteFile(`${bestDir}/config.json`, JSON.stringify(config, null, 2) + "\n");
  files.push(`${bestDir}/config.json`);
  return files;
}

/** The first of `candidates` whose best weights are still in its run folder. */
async function firstWithWeights(
  outDir: string,
  candidates: readonly RunRecord[],
  planned: ReadonlyMap<string, PlannedRun>,
): Promise<RunRecord | undefined> {
  for (const r of candidates) {
    if (await exists(`${runDir(outDir, planned.get(r.id)!)}/best.safetensors`)) return r;
  }
  return undefined;
}

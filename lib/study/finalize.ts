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
import { atomicWriteFile } from "../util/fs.ts";
import type { RunRecord } from "./record.ts";
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
  /** Every file written. */
  files: string[];
  /** The best configuration's id and the run whose weights were exported. */
  best?: { configId: string; runId: string };
}

/** Write the grid, the report and the best checkpoint for the records of `spec`'s runs. */
export async function finalizeStudy(
  spec: StudySpec,
  outDir: string,
  records: readonly RunRecord[],
  options: FinalizeOptions,
): Promise<FinalizeResult> {
  const planned = new Map(planRuns(spec).map((r) => [r.id, r]));
  const mine = records.filter((r) => planned.has(r.id));
  if (mine.length === 0) throw new Error(`finalize: no records of this study's runs in ${outDir}`);
  const files: string[] = [];
  const grid = `${outDir}/augment_grid.png`;
  await writeAugmentGrid(grid, options.train, { rows: ["none", "basic", "heavy"], count: 8 });
  files.push(grid);
  files.push(
    ...await writeStudyReport(outDir, mine, {
      title: spec.name,
      // Through JSON: unset optional settings (undefined) are left out of the table.
      fixedSettings: JSON.parse(JSON.stringify(spec.fixed)),
    }),
  );
  const best = summarizeRuns(mine).best;
  if (!best) {
    options.log?.("no run succeeded: no best checkpoint to export");
    return { files };
  }
  const candidates = mine.filter((r) => r.configId === best.configId && r.status === "ok");
  candidates.sort((a, b) => (b.val?.auc ?? -1) - (a.val?.auc ?? -1));
  const chosen = candidates[0];
  const run = planned.get(chosen.id) as PlannedRun;
  const source = `${runDir(outDir, run)}/best.safetensors`;
  const bestDir = `${outDir}/best`;
  const trainer = new Trainer(modelForRun(run, options.train.numClasses), {
    backend: options.backend,
  });
  try {
    await trainer.load(source);
    await trainer.save(`${bestDir}/model.safetensors`);
    await trainer.exportOnnx(`${bestDir}/model.onnx`);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(`finalize: the best run's weights ${source} are missing; rerun that run`);
    }
    throw err;
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
    testAucMeanOverSeeds: best.testAuc?.mean ?? null,
  };
  await atomicWriteFile(`${bestDir}/config.json`, JSON.stringify(config, null, 2) + "\n");
  files.push(`${bestDir}/model.safetensors`, `${bestDir}/model.onnx`, `${bestDir}/config.json`);
  options.log?.(`best configuration ${best.label}: weights of ${chosen.id} in ${bestDir}/`);
  return { files, best: { configId: best.configId, runId: chosen.id } };
}

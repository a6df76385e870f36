/**
 * The ablation study: its design (augmentation × LR schedule × backbone,
 * one-at-a-time or full grid), planning with measured throughput, the
 * resumable and deduplicated runner (claims for concurrent workers, shards
 * and merging), finalization into the report, and the `deno task ablate`
 * command line.
 *
 * @example
 * ```ts ignore
 * import { defaultStudy, runStudy } from "@medtune/medtune/study";
 *
 * const spec = defaultStudy({ seeds: [0, 1, 2] });
 * const outcome = await runStudy(spec, { outDir: "runs/breast", backend: "cpu" });
 * console.log(outcome);
 * ```
 *
 * @module
 */

export {
  AUGMENT_LEVELS,
  BACKBONE_LEVELS,
  DEFAULT_BASELINE,
  DEFAULT_FIXED,
  defaultStudy,
  type FixedSettings,
  parseShard,
  planConfigs,
  type PlannedRun,
  planRuns,
  type RunConfig,
  SCHEDULE_LEVELS,
  type Shard,
  shardRuns,
  type StudySpec,
  validateStudy,
} from "./spec.ts";
export {
  type PlanMeasuredOptions,
  planStudy,
  planStudyMeasured,
  type PlanStudyOptions,
  type StudyPlan,
  type Throughput,
} from "./plan.ts";
export {
  mergeShards,
  type MergeShardsOptions,
  readResults,
  runStudy,
  type RunStudyOptions,
  type StudyOutcome,
  type StudyProgress,
} from "./runner.ts";
export { type FinalizeOptions, type FinalizeResult, finalizeStudy } from "./finalize.ts";
export type { LogFn, ReadResultsOptions } from "./results_log.ts";
export type { SplitSizes } from "./subset.ts";
export { createProgressPrinter, type ProgressPrinterOptions } from "./progress.ts";
export { CliError, cliHelp, type CliIo, type CliOptions, parseCliArgs, runCli } from "./cli.ts";
export type { RunAxes, RunRecord } from "../report/record.ts";

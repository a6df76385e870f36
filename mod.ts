/**
 * medtune: fine-tune medical image classifiers and run rigorous ablation
 * studies, training on ONNX Runtime (WebGPU, native CPU or WebAssembly).
 *
 * medtune builds its own training programs — forward pass, loss, backward
 * pass (reverse-mode autodiff in plain ONNX ops) and optimizer update — as
 * ONNX graphs, and runs them as inference sessions with parameters kept on
 * the device between steps.
 *
 * @example
 * ```ts
 * import { createModel, loadMedMNISTSplits, Trainer, warmupCosine } from "@medtune/medtune";
 *
 * const { train, val, test } = await loadMedMNISTSplits("breastmnist");
 * const model = createModel("resnet18", { numClasses: 2, imageSize: 28, dropRate: 0.3 });
 * const trainer = new Trainer(model, {
 *   optimizer: { name: "adamw", lr: 1e-3, weightDecay: 1e-2 },
 *   schedule: warmupCosine({ warmupEpochs: 5 }),
 *   labelSmoothing: 0.1,
 *   clipGradNorm: 1,
 * });
 * await trainer.fit(train, val, { epochs: 60, batchSize: 32, augment: "heavy", earlyStopping: { patience: 8 } });
 * const { metrics } = await trainer.evaluate(test);
 * console.log(metrics.auc, metrics.balancedAccuracy, metrics.brier);
 * ```
 *
 * The root is the user's API: datasets, augmentation, models and pretrained
 * weights, the trainer and its schedules, metrics, the ablation study and its
 * report. Each layer has its own entry point with everything it offers:
 * `@medtune/medtune/data`, `/augment`, `/models`, `/weights`, `/train`,
 * `/metrics`, `/study`, `/report`, and `/engine` (the ONNX graph builder,
 * autodiff, layers and backends).
 *
 * @module
 */

export {
  type Batch,
  type ChannelStats,
  ChecksumError,
  classCounts,
  computeChannelStats,
  createLoader,
  DataError,
  type Dataset,
  datasetFromNpz,
  type DatasetFromNpzOptions,
  DownloadError,
  type Loader,
  type LoaderOptions,
  loadMedMNIST,
  type LoadMedMNISTOptions,
  loadMedMNISTSplits,
  MEDMNIST_INFO,
  MEDMNIST_NAMES,
  type MedMNISTFile,
  type MedMNISTInfo,
  medmnistInfo,
  type MedMNISTName,
  type MedMNISTSize,
  type MixResult,
  type NormalizeOption,
  type NpzArchive,
  type Split,
  type TaskType,
} from "./lib/data/mod.ts";
export {
  type ApplyOptions,
  type AugmentConfig,
  type Augmenter,
  type AugmenterOptions,
  createAugmenter,
  getPreset,
  type GridImages,
  type GridOptions,
  type GridRow,
  IMAGENET_MEAN,
  IMAGENET_STD,
  type MixConfig,
  type Normalization,
  type PresetName,
  presets,
  type Range,
  renderAugmentGrid,
  Rng,
  writeAugmentGrid,
} from "./lib/augment/mod.ts";
export {
  type ArchitectureInfo,
  architectureInfo,
  type BackboneOptions,
  createModel,
  efficientnetB0,
  type EfficientNetOptions,
  exportOnnx,
  type ExportOnnxOptions,
  forwardMacs,
  listModels,
  type MacCount,
  type Model,
  type ModelName,
  type ModelOptionsByName,
  resnet18,
  type ResNetOptions,
  trainStepFlops,
  type VitOptions,
  vitTiny,
} from "./lib/models/mod.ts";
export {
  loadPretrained,
  loadSafetensors,
  type PretrainedOptions,
  type PretrainedReport,
  type PretrainedSource,
  SafetensorsError,
  saveSafetensors,
  saveWeights,
} from "./lib/weights/mod.ts";
export {
  type AdamWConfig,
  constant,
  cosine,
  type EpochEvent,
  type EpochRecord,
  type Evaluation,
  type FitOptions,
  type FitResult,
  lrAt,
  lrCurve,
  type LrSchedule,
  multiStep,
  NonFinitePredictionsError,
  type OptimizerConfig,
  type SgdConfig,
  type SplitMetrics,
  stepDecay,
  Trainer,
  type TrainerOptions,
  TrainingDivergedError,
  warmupCosine,
} from "./lib/train/mod.ts";
export {
  accuracy,
  aucOvr,
  aucRoc,
  balancedAccuracy,
  binaryBrierScore,
  bootstrapCi,
  brierScore,
  type ClassificationReport,
  confusionMatrix,
  delongAucCi,
  delongTest,
  evaluateMultiLabel,
  evaluateScores,
  expectedCalibrationError,
  meanCi,
  type RocCurve,
  rocCurve,
  sensitivitySpecificity,
} from "./lib/metrics/mod.ts";
export {
  type Backend,
  type BackendChoice,
  type BackendName,
  createBackend,
  type CreateBackendOptions,
} from "./lib/runtime/mod.ts";
export {
  defaultStudy,
  planRuns,
  runCli,
  runStudy,
  type RunStudyOptions,
  type StudyOutcome,
  type StudySpec,
} from "./lib/study/mod.ts";
export {
  type RunRecord,
  type StudyReportOptions,
  type StudySummary,
  summarizeRuns,
  writeStudyReport,
} from "./lib/report/mod.ts";

// Types the API above refers to (for documentation and annotations).
export type { Box } from "./lib/augment/transforms.ts";
export type { ConvWeightGrad } from "./lib/autodiff/vjp.ts";
export type { NpyArray, NpyData, NpyDtype } from "./lib/data/npy.ts";
export type { NpzEntry } from "./lib/data/npz.ts";
export type { Labels, ScoreMatrix, Scores } from "./lib/metrics/_validate.ts";
export type { AucOvrOptions, PositiveClassOptions, RocCurveOptions } from "./lib/metrics/auc.ts";
export type {
  BootstrapData,
  BootstrapOptions,
  BootstrapResult,
  MeanCi,
  MeanCiOptions,
  ResampledMatrix,
} from "./lib/metrics/bootstrap.ts";
export type { CalibrationOptions } from "./lib/metrics/calibration.ts";
export type {
  ClassStats,
  NumClassesOptions,
  SensitivitySpecificity,
} from "./lib/metrics/classification.ts";
export type { AucCi, DelongOptions, DelongTestResult } from "./lib/metrics/delong.ts";
export type { MultiLabelOptions, MultiLabelReport } from "./lib/metrics/multilabel.ts";
export type { BinaryReport, EvaluateOptions } from "./lib/metrics/report.ts";
export type { BrierKind, MetricTask } from "./lib/metrics/task.ts";
export type { MODEL_NAMES } from "./lib/models/registry.ts";
export type {
  BufferInfo,
  Mode,
  ModelContext,
  NoiseInfo,
  ParamInfo,
  ParamOptions,
} from "./lib/nn/context.ts";
export type { Init } from "./lib/nn/init.ts";
export type * from "./lib/onnx/api_types.ts";
export type {
  AxisEffect,
  AxisLevels,
  AxisLevelSummary,
  Comparison,
  DesignKind,
  InteractionSummary,
  MetricStats,
} from "./lib/report/effects.ts";
export type { ClassRoc, DelongVsBest, RocPoints } from "./lib/report/ensembles.ts";
export type { RunAxes } from "./lib/report/record.ts";
export type { ConfigSummary, MeanCurves, SummarizeOptions } from "./lib/report/summary.ts";
export type { ReportFigure, ReportTextOptions } from "./lib/report/tables.ts";
export type { ReportBrierKind, ScoredTask, TaskInfo, TaskOptions } from "./lib/report/task.ts";
export type { BackendSession, DeviceTensor, SessionOptions } from "./lib/runtime/backend.ts";
export type { StateStore } from "./lib/runtime/program.ts";
export type { CliIo } from "./lib/study/cli.ts";
export type {
  EpochEndInfo,
  InFlightRun,
  RunEndInfo,
  RunStartInfo,
  StudyOutlook,
  StudyProgress,
} from "./lib/study/runner.ts";
export type {
  AUGMENT_LEVELS,
  AugmentLevel,
  FixedSettings,
  PlannedRun,
  RunConfig,
  RunLevels,
  SCHEDULE_LEVELS,
  ScheduleLevel,
  Shard,
  StudyAxes,
  StudyOverrides,
} from "./lib/study/spec.ts";
export type { DivergenceDetails } from "./lib/train/errors.ts";
export type { ScoredPredictions } from "./lib/train/evaluate.ts";
export type { FrozenEvalPolicy } from "./lib/train/frozen_eval.ts";
export type { EarlyStopping, FitSettings, StepInfo } from "./lib/train/options.ts";
export type { TrainGraphOptions } from "./lib/train/programs.ts";
export type {
  ConstantSchedule,
  CosineOptions,
  CosineSchedule,
  LrContext,
  MultiStepOptions,
  MultiStepSchedule,
  StepDecayOptions,
  StepSchedule,
  WarmupCosineOptions,
  WarmupCosineSchedule,
} from "./lib/train/schedules.ts";
export type {
  BufferShape,
  ParameterShape,
  StepResult,
  TrainBatch,
  TrainingSession,
  TrainingSessionOptions,
  WeightsOptions,
} from "./lib/train/session.ts";
export type { TrainerEvaluateOptions } from "./lib/train/trainer.ts";
export type {
  KernelMismatch,
  SaveWeightsOptions,
  WeightsTarget,
} from "./lib/weights/pretrained.ts";
export type {
  DecodedSafetensors,
  DecodeOptions,
  SafeTensor,
  SafetensorsData,
  SafetensorsDtype,
  SaveOptions,
  TensorInput,
} from "./lib/weights/safetensors.ts";

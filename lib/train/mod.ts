/**
 * Training: losses, optimizers, LR schedules, compiled train/eval sessions,
 * the `Trainer` (fit, evaluate, early stopping, EMA, checkpoints).
 *
 * @module
 */

export {
  type BinaryCrossEntropyOptions,
  type CrossEntropyOptions,
  type CrossEntropyResult,
  sigmoidBinaryCrossEntropy,
  softmaxCrossEntropy,
} from "./loss.ts";
export {
  type AdamWConfig,
  adamWUpdate,
  type AdamWUpdateOptions,
  clipByGlobalNorm,
  type ClippedGradients,
  type NamedShape,
  type OptimizerConfig,
  optimizerScalars,
  type OptimizerStateInput,
  optimizerStateKeys,
  type OptimizerUpdate,
  type ParamWithGrad,
  type SgdConfig,
  sgdUpdate,
  validateOptimizer,
} from "./optim.ts";
export * from "./schedules.ts";
export {
  type BufferShape,
  type ParameterShape,
  type StepResult,
  type TrainBatch,
  TrainingSession,
  type TrainingSessionOptions,
  type WeightsOptions,
} from "./session.ts";
export type { TrainGraphOptions } from "./programs.ts";
export {
  type ArenaParam,
  WasmAdamW,
  type WasmAdamWOptions,
  type WasmAdamWScalars,
} from "./wasm_adamw.ts";
export {
  FROZEN_EVAL_MIN_IMAGES,
  FrozenEval,
  type FrozenEvalOptions,
  type FrozenEvalPolicy,
} from "./frozen_eval.ts";
export type { EpochRecord, SplitMetrics } from "../metrics/history.ts";
export {
  crossEntropyOfProbs,
  type RocCurvePoints,
  rocCurvesPerClass,
  type ScoredPredictions,
  type ScoreOptions,
  scoreProbabilities,
} from "./evaluate.ts";
export {
  checkCheckpointTensors,
  type Checkpoint,
  CHECKPOINT_FORMAT,
  type CheckpointInfo,
  type CheckpointShapes,
  type ExpectedTensors,
  loadCheckpoint,
  saveCheckpoint,
  type SaveCheckpointOptions,
} from "./checkpoint.ts";
export {
  type EpochEvent,
  type Evaluation,
  type FitOptions,
  type FitResult,
  Trainer,
  type TrainerEvaluateOptions,
} from "./trainer.ts";
export type { EarlyStopping, FitSettings, StepInfo, TrainerOptions } from "./options.ts";
export {
  type DivergenceDetails,
  NonFinitePredictionsError,
  TrainingDivergedError,
} from "./errors.ts";

// Types the API above refers to (for documentation and annotations).
export type { Normalization, NormalizeOption } from "../augment/pipeline.ts";
export type { AugmentConfig, PresetName, Range } from "../augment/presets.ts";
export type { ConvWeightGrad } from "../autodiff/vjp.ts";
export type { Dataset, Split, TaskType } from "../data/dataset.ts";
export type { ClassStats } from "../metrics/classification.ts";
export type { MultiLabelReport } from "../metrics/multilabel.ts";
export type { BinaryReport, ClassificationReport } from "../metrics/report.ts";
export type { BrierKind, MetricTask } from "../metrics/task.ts";
export type {
  BufferInfo,
  Mode,
  ModelContext,
  NoiseInfo,
  ParamInfo,
  ParamOptions,
} from "../nn/context.ts";
export type { Init } from "../nn/init.ts";
export type { Model } from "../nn/model.ts";
export type * from "../onnx/api_types.ts";
export type {
  Backend,
  BackendChoice,
  BackendName,
  BackendSession,
  DeviceTensor,
  SessionOptions,
} from "../runtime/backend.ts";
export type { StateStore } from "../runtime/program.ts";
export type { KernelMismatch, PretrainedOptions, PretrainedReport } from "../weights/pretrained.ts";

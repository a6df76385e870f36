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
  clipByGlobalNorm,
  type ClippedGradients,
  type NamedShape,
  type OptimizerConfig,
  optimizerScalars,
  type OptimizerStateInput,
  optimizerStateKeys,
  type OptimizerUpdate,
  type ParamWithGrad,
  SCALARS,
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

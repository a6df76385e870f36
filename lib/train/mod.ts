/**
 * Training: losses, optimizers, LR schedules, compiled train/eval sessions,
 * the `Trainer` (fit, evaluate, early stopping, EMA, checkpoints).
 *
 * @module
 */

export { type CrossEntropyOptions, type CrossEntropyResult, softmaxCrossEntropy } from "./loss.ts";
export {
  type AdamWConfig,
  adamWUpdate,
  clipByGlobalNorm,
  type OptimizerConfig,
  optimizerScalars,
  type OptimizerUpdate,
  type ParamWithGrad,
  SCALARS,
  type SgdConfig,
  sgdUpdate,
  validateOptimizer,
} from "./optim.ts";
export * from "./schedules.ts";
export {
  type StepResult,
  type TrainBatch,
  TrainingSession,
  type TrainingSessionOptions,
} from "./session.ts";
export type { EpochRecord, SplitMetrics } from "./history.ts";
export { crossEntropyOfProbs, type ScoredPredictions, scoreProbabilities } from "./evaluate.ts";
export {
  type Checkpoint,
  CHECKPOINT_FORMAT,
  checkCheckpointTensors,
  type CheckpointInfo,
  type ExpectedTensors,
  loadCheckpoint,
  saveCheckpoint,
  type SaveCheckpointOptions,
} from "./checkpoint.ts";
export {
  type DivergenceDetails,
  type EarlyStopping,
  type EpochEvent,
  type Evaluation,
  type FitOptions,
  type FitResult,
  NonFinitePredictionsError,
  Trainer,
  type TrainerOptions,
  TrainingDivergedError,
} from "./trainer.ts";

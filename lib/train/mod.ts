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
export { FROZEN_EVAL_MIN_IMAGES, FrozenEval, type FrozenEvalPolicy } from "./frozen_eval.ts";
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

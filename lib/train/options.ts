/**
 * The options of a `Trainer` and of its `fit`, as plain data: declared once
 * here, checked by `validate.ts`, used by `trainer.ts` (which re-exports
 * them), so neither of those two imports the other's types.
 *
 * @module
 */

import type { AugmentConfig, PresetName } from "../augment/presets.ts";
import type { NormalizeOption } from "../augment/pipeline.ts";
import type { ConvWeightGrad } from "../autodiff/vjp.ts";
import type { Backend, BackendChoice } from "../runtime/backend.ts";
import type { OptimizerConfig } from "./optim.ts";
import type { LrSchedule } from "./schedules.ts";

/** Options of a `Trainer`. */
export interface TrainerOptions {
  /** Backend, or a choice resolved on first use (default `auto`). */
  backend?: BackendChoice | Backend;
  /** Optimizer (default AdamW, lr 1e-3, weight decay 1e-2). */
  optimizer?: OptimizerConfig;
  /** Learning-rate schedule over the whole run (default constant). */
  schedule?: LrSchedule;
  /** Label smoothing of the loss (0.1 in the study). */
  labelSmoothing?: number;
  /** Per-class loss weights. */
  classWeights?: number[];
  /** Clip gradients to this global norm (1.0 in the study). */
  clipGradNorm?: number;
  /** Keep an EMA of the weights with this decay; validation and the final weights use it. */
  emaDecay?: number;
  /** Seed of initialization, data order, augmentation and noise (default 0). */
  seed?: number;
  /** Eval batch size (default 64). */
  evalBatchSize?: number;
  /** Conv weight-gradient formulation (default by backend). */
  convWeightGrad?: ConvWeightGrad;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** Include one line per epoch in `log` (default true; resume notices always go there). */
  logEpochs?: boolean;
}

/** The optimizer a `Trainer` uses when its options name none: AdamW, lr 1e-3, weight decay 1e-2. */
export function defaultOptimizer(): OptimizerConfig {
  return { name: "adamw", lr: 1e-3, weightDecay: 1e-2 };
}

/** Early stopping on validation AUC. */
export interface EarlyStopping {
  /** Epochs without improvement before stopping (8 in the study). */
  patience: number;
  /** Smallest increase that counts as an improvement (default 0). */
  minDelta?: number;
  /**
   * Never stop before this many epochs (default 0), as Lightning's
   * `min_epochs`: validation AUC on a small split is noisy while the learning
   * rate is high, and a run stopped in its first epochs never reaches the
   * low-LR phase where it improves.
   */
  minEpochs?: number;
}

/** The data options of `Trainer.fit` (its callbacks are added by `FitOptions` in `trainer.ts`). */
export interface FitSettings {
  /** Epoch budget. */
  epochs: number;
  /** Train batch size (the program is built for it; the last partial batch is dropped). */
  batchSize: number;
  /** Augmentation preset or config (default `none`). */
  augment?: PresetName | AugmentConfig;
  /** Input normalization (default `imagenet`). */
  normalize?: NormalizeOption | "dataset";
  /** Class-balanced sampling. */
  balanced?: boolean;
  /** Early stopping (default: none). */
  earlyStopping?: EarlyStopping;
  /** Stop each epoch after this many steps (quick runs and tests). */
  maxStepsPerEpoch?: number;
  /**
   * Folder for `last.safetensors` (weights, optimizer, history; written
   * after every epoch) and `best.safetensors` (best weights so far).
   */
  checkpointDir?: string;
  /** Continue from `checkpointDir/last.safetensors` when it exists (default true). */
  resume?: boolean;
}

/** What `FitOptions.onStep` sees after each optimizer step. */
export interface StepInfo {
  /** 1-based epoch. */
  epoch: number;
  /** 1-based optimizer step, counted over the whole run. */
  step: number;
  /** The batch's mean loss (before the update). */
  loss: number;
  /** Learning rate of the step. */
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
}

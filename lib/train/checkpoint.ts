/**
 * Checkpoints as safetensors, written atomically.
 *
 * - A **model checkpoint** holds the weights under timm's state-dict names
 *   (plus `num_batches_tracked` for every batch norm, as PyTorch writes
 *   them), so timm and `safetensors.torch.load_file` read it as they read
 *   timm's own files; the metadata records the model and run.
 * - A **training checkpoint** adds the optimizer state (`optimizer/<key>`),
 *   the step count and the history, so that training resumes exactly.
 *
 * @module
 */

import { loadSafetensors, saveSafetensors, type TensorInput } from "../weights/safetensors.ts";
import type { EpochRecord } from "./history.ts";

/** Format tag written to every medtune checkpoint's metadata. */
export const CHECKPOINT_FORMAT = "medtune-checkpoint/1";

const OPTIMIZER = "optimizer/";

/** What a checkpoint holds besides tensors. */
export interface CheckpointInfo {
  /** Model architecture name. */
  model: string;
  /** Options the model was created with. */
  modelConfig: Record<string, unknown>;
  /** Trainer options (plain data). */
  trainer?: Record<string, unknown>;
  /** Optimizer steps taken. */
  step: number;
  /** Epochs completed. */
  epoch: number;
  /** Epoch of the best validation score. */
  bestEpoch?: number;
  /** Best validation score. */
  bestScore?: number;
  /** History so far. */
  history?: EpochRecord[];
  /** Free-form extra fields. */
  extra?: Record<string, unknown>;
}

/** A checkpoint read back. */
export interface Checkpoint {
  /** Weights by timm name (`num_batches_tracked` dropped). */
  weights: Map<string, Float32Array>;
  /** Optimizer state by key (empty for model checkpoints). */
  optimizer: Map<string, Float32Array>;
  /** Metadata. */
  info: CheckpointInfo;
}

/** Options of {@linkcode saveCheckpoint}. */
export interface SaveCheckpointOptions {
  /** Shapes of every tensor by name (weights and optimizer keys). */
  shapes: ReadonlyMap<string, readonly number[]>;
  /** Optimizer state to include (a training checkpoint). */
  optimizer?: ReadonlyMap<string, Float32Array>;
}

/** Write a checkpoint atomically. */
export async function saveCheckpoint(
  path: string,
  weights: ReadonlyMap<string, Float32Array>,
  info: CheckpointInfo,
  options: SaveCheckpointOptions,
): Promise<void> {
  const tensors: Record<string, TensorInput> = {};
  const shapeOf = (name: string) => {
    const shape = options.shapes.get(name);
    if (!shape) throw new Error(`saveCheckpoint ${path}: no shape known for "${name}"`);
    return shape;
  };
  for (const [name, data] of weights) {
    tensors[name] = { dtype: "F32", shape: shapeOf(name), data };
    if (name.endsWith(".running_mean")) {
      const bn = name.slice(0, -".running_mean".length);
      tensors[`${bn}.num_batches_tracked`] = {
        dtype: "I64",
        shape: [],
        data: BigInt64Array.of(BigInt(info.step)),
      };
    }
  }
  for (const [key, data] of options.optimizer ?? []) {
    tensors[OPTIMIZER + key] = { dtype: "F32", shape: shapeOf(key), data };
  }
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    model: info.model,
    model_config: JSON.stringify(info.modelConfig),
    step: String(info.step),
    epoch: String(info.epoch),
  };
  if (info.trainer) metadata.trainer = JSON.stringify(info.trainer);
  if (info.bestEpoch !== undefined) metadata.best_epoch = String(info.bestEpoch);
  if (info.bestScore !== undefined) metadata.best_score = String(info.bestScore);
  if (info.history) metadata.history = JSON.stringify(info.history);
  if (info.extra) metadata.extra = JSON.stringify(info.extra);
  await saveSafetensors(path, tensors, { metadata });
}

/** Read a checkpoint written by {@linkcode saveCheckpoint}. */
export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  const { tensors, metadata } = await loadSafetensors(path);
  if (!metadata || metadata.format !== CHECKPOINT_FORMAT) {
    throw new Error(
      `${path}: not a medtune checkpoint (metadata.format is ${
        JSON.stringify(metadata?.format)
      }, expected "${CHECKPOINT_FORMAT}"); for timm weights use loadPretrained`,
    );
  }
  const parse = <T>(key: string, fallback: T): T => {
    const text = metadata[key];
    if (text === undefined) return fallback;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new Error(`${path}: metadata "${key}" is not valid JSON`);
    }
  };
  const weights = new Map<string, Float32Array>();
  const optimizer = new Map<string, Float32Array>();
  for (const [name, t] of tensors) {
    if (name.endsWith(".num_batches_tracked")) continue;
    if (!(t.data instanceof Float32Array)) {
      throw new Error(`${path}: tensor "${name}" is ${t.dtype}, expected F32`);
    }
    if (name.startsWith(OPTIMIZER)) optimizer.set(name.slice(OPTIMIZER.length), t.data);
    else weights.set(name, t.data);
  }
  const num = (key: string) => (metadata[key] === undefined ? undefined : Number(metadata[key]));
  return {
    weights,
    optimizer,
    info: {
      model: metadata.model,
      modelConfig: parse("model_config", {}),
      trainer: parse("trainer", undefined),
      step: num("step") ?? 0,
      epoch: num("epoch") ?? 0,
      bestEpoch: num("best_epoch"),
      bestScore: num("best_score"),
      history: parse("history", undefined),
      extra: parse("extra", undefined),
    },
  };
}

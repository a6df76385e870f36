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
import type { EpochRecord } from "../metrics/history.ts";

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

/** Shapes of a checkpoint's tensors as stored. */
export interface CheckpointShapes {
  /** Weight shapes by timm name. */
  weights: Map<string, number[]>;
  /** Optimizer state shapes by state key. */
  optimizer: Map<string, number[]>;
}

/** A checkpoint read back. */
export interface Checkpoint {
  /** Weights by timm name (`num_batches_tracked` dropped). */
  weights: Map<string, Float32Array>;
  /** Optimizer state by key (empty for model checkpoints). */
  optimizer: Map<string, Float32Array>;
  /** Shape of every weight and optimizer tensor as stored, by the same keys. */
  shapes: CheckpointShapes;
  /** The file it was read from. */
  path: string;
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
  const { tensors, metadata } = await readCheckpointFile(path);
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
  const shapes: CheckpointShapes = { weights: new Map(), optimizer: new Map() };
  for (const [name, t] of tensors) {
    if (name.endsWith(".num_batches_tracked")) continue;
    if (!(t.data instanceof Float32Array)) {
      throw new Error(`${path}: tensor "${name}" is ${t.dtype}, expected F32`);
    }
    if (name.startsWith(OPTIMIZER)) {
      optimizer.set(name.slice(OPTIMIZER.length), t.data);
      shapes.optimizer.set(name.slice(OPTIMIZER.length), [...t.shape]);
    } else {
      weights.set(name, t.data);
      shapes.weights.set(name, [...t.shape]);
    }
  }
  const num = (key: string) => (metadata[key] === undefined ? undefined : Number(metadata[key]));
  return {
    weights,
    optimizer,
    shapes,
    path,
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

async function readCheckpointFile(path: string): ReturnType<typeof loadSafetensors> {
  try {
    return await loadSafetensors(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(`${path}: no such checkpoint file; check the path`, { cause: err });
    }
    if (err instanceof Deno.errors.IsADirectory) {
      throw new Error(
        `${path}: is a folder, not a checkpoint file; give the path of a .safetensors file`,
        { cause: err },
      );
    }
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new Error(`${path}: cannot read the checkpoint (permission denied)`, { cause: err });
    }
    throw err;
  }
}

/** What a checkpoint must hold: every tensor's shape by name. */
export interface ExpectedTensors {
  /** Model weights (parameters and buffers) by timm name. */
  weights: ReadonlyMap<string, readonly number[]>;
  /**
   * Optimizer state by key (e.g. `adam_m:fc.weight`); checked only when
   * given (resuming), since a model checkpoint holds none.
   */
  optimizer?: ReadonlyMap<string, readonly number[]>;
}

/**
 * Check that `checkpoint` holds exactly the tensors of `expected`, by name
 * and shape (`num_batches_tracked` is not a weight and is ignored). Throws
 * one error naming the checkpoint's file and listing every missing,
 * unexpected and mis-shaped tensor; `what` names the model (e.g.
 * `"resnet18"`).
 */
export function checkCheckpointTensors(
  checkpoint: Checkpoint,
  expected: ExpectedTensors,
  what: string,
): void {
  const problems: string[] = [];
  const compare = (
    kind: string,
    got: ReadonlyMap<string, readonly number[]>,
    want: ReadonlyMap<string, readonly number[]>,
  ) => {
    const missing = [...want.keys()].filter((k) => !got.has(k));
    const unexpected = [...got.keys()].filter((k) => !want.has(k));
    const misshaped = [...want].filter(([k, shape]) => got.has(k) && !sameShape(got.get(k)!, shape))
      .map(([k, shape]) => `${k}: file ${fmt(got.get(k)!)}, model ${fmt(shape)}`);
    if (missing.length) problems.push(`missing ${kind} (${missing.length}): ${list(missing)}`);
    if (unexpected.length) {
      problems.push(`unexpected ${kind} (${unexpected.length}): ${list(unexpected)}`);
    }
    if (misshaped.length) {
      problems.push(`wrong shape (${misshaped.length}): ${list(misshaped, "; ")}`);
    }
  };
  compare("tensors", checkpoint.shapes.weights, expected.weights);
  if (expected.optimizer) {
    compare("optimizer state", checkpoint.shapes.optimizer, expected.optimizer);
  }
  if (problems.length === 0) return;
  throw new Error(
    `${checkpoint.path}: the checkpoint does not fit ${what}.\n  ${problems.join("\n  ")}\n` +
      `Fix: load a checkpoint saved from a model created with the same options ` +
      `(numClasses, inChannels, imageSize, ...) and optimizer, or start from published timm ` +
      `weights with loadPretrained.`,
  );
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

function list(items: readonly string[], sep = ", "): string {
  return items.length > 20
    ? `${items.slice(0, 20).join(sep)}${sep}... (${items.length - 20} more)`
    : items.join(sep);
}

/**
 * Export a model with its weights as a standalone inference `.onnx` file:
 * built from the same definition as the train and eval programs (export
 * mode: running batch-norm statistics, no dropout), weights stored as
 * initializers, batch dimension dynamic. Any ONNX runtime can run it.
 *
 * @module
 */

import { ModelContext } from "../nn/context.ts";
import type { Model } from "../nn/model.ts";
import type { Graph } from "../onnx/graph.ts";
import { sigmoid, softmax } from "../onnx/ops.ts";
import { modelSpec } from "./spec.ts";

/** Options of {@linkcode exportOnnx}. */
export interface ExportOnnxOptions {
  /** Outputs to write, in order (default both: `logits` `[N, K]` and `probs` `[N, K]`). */
  outputs?: readonly ("logits" | "probs")[];
  /**
   * How `probs` is computed from the logits: `softmax` over classes (default,
   * single-label tasks) or `sigmoid` per label (multi-label tasks).
   */
  probs?: "softmax" | "sigmoid";
  /** Name of the image input `[N, C, H, W]` (default `input`). */
  inputName?: string;
  /** Extra `metadata_props` (the model name and config are always written). */
  metadata?: Record<string, string>;
}

/**
 * Batch size the export graph is traced with. Shapes stay static while the
 * graph is built; `reshape` marks the leading dimension as "copy" or "infer"
 * by comparing it with the input's, so the placeholder must not be 1 (a
 * size-1 non-batch dimension would then be mistaken for the batch).
 */
const TRACE_BATCH = 2;

/**
 * The inference ONNX model of `model` with `weights` (parameters and buffers
 * by timm name, e.g. from `TrainingSession.getWeights()`): input
 * `[batch, C, H, W]` float32, outputs `logits` and/or `probs` `[batch, K]`.
 * Throws listing any tensor the model needs that `weights` lacks, or any
 * name in `weights` the model does not have.
 */
export function exportOnnx(
  model: Model,
  weights: ReadonlyMap<string, Float32Array>,
  options: ExportOnnxOptions = {},
): Uint8Array {
  return exportGraph(model, weights, options).toModel({
    metadata: exportMetadata(model, options),
  });
}

/**
 * The graph {@linkcode exportOnnx} encodes (weights as constants, dynamic
 * batch), for programs that rewrite it before compiling (e.g. the frozen
 * eval program). Same checks and errors as `exportOnnx`.
 */
export function exportGraph(
  model: Model,
  weights: ReadonlyMap<string, Float32Array>,
  options: ExportOnnxOptions = {},
): Graph {
  const outputs = options.outputs ?? ["logits", "probs"];
  if (outputs.length === 0) {
    throw new Error("exportOnnx: outputs is empty; ask for logits and/or probs");
  }
  const ctx = new ModelContext("export", { values: weights, name: `${model.name}_inference` });
  const x = ctx.graph.input(options.inputName ?? "input", "float32", [
    TRACE_BATCH,
    model.inChannels,
    model.imageSize,
    model.imageSize,
  ]);
  let logits;
  try {
    logits = model.build(ctx, x);
  } catch (err) {
    const missing = missingNames(model, weights);
    if (missing.length) {
      throw new Error(
        `exportOnnx(${model.name}): the weights lack ${missing.length} tensor(s): ` +
          `${preview(missing)}; pass the full map from getWeights() or loadPretrained()`,
      );
    }
    throw err;
  }
  const used = new Set([...ctx.params.keys(), ...ctx.buffers.keys()]);
  const unexpected = [...weights.keys()].filter(
    (k) => !used.has(k) && !k.endsWith("num_batches_tracked"),
  );
  if (unexpected.length) {
    throw new Error(
      `exportOnnx(${model.name}): ${unexpected.length} weight(s) do not belong to this model: ` +
        `${
          preview(unexpected)
        }; check the model's options (numClasses, inChannels, imageSize, ...)`,
    );
  }
  if (logits.rank !== 2 || logits.shape[1] !== model.numClasses) {
    throw new Error(
      `exportOnnx(${model.name}): build() returned ${logits}, expected [N, K] logits`,
    );
  }
  for (const name of outputs) {
    if (name === "logits") ctx.graph.output("logits", logits);
    else if (name === "probs") {
      ctx.graph.output(
        "probs",
        options.probs === "sigmoid" ? sigmoid(logits) : softmax(logits, -1),
      );
    } else throw new Error(`exportOnnx: unknown output "${name}"; choose logits and/or probs`);
  }
  return ctx.graph;
}

/** The `metadata_props` of an export: the caller's, then the model's name and config. */
function exportMetadata(
  model: Model,
  options: Pick<ExportOnnxOptions, "metadata" | "probs"> = {},
): Record<string, string> {
  return {
    ...options.metadata,
    ...(options.probs === "sigmoid" ? { "medtune.probs": "sigmoid" } : {}),
    "medtune.model": model.name,
    "medtune.config": JSON.stringify(model.config),
  };
}

function missingNames(model: Model, weights: ReadonlyMap<string, Float32Array>): string[] {
  const spec = modelSpec(model);
  return [...spec.params, ...spec.buffers].map((t) => t.name).filter((k) => !weights.has(k));
}

function preview(names: readonly string[]): string {
  return names.length > 8
    ? `${names.slice(0, 8).join(", ")}, ... (${names.length - 8} more)`
    : names.join(", ");
}

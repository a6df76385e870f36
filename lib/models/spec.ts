/**
 * A model's tensors without compiling anything: names, shapes and
 * initializers of its parameters and buffers (by building its graph once),
 * and fresh initial values from a seed.
 *
 * @module
 */

import type { BufferInfo, ParamInfo } from "../nn/context.ts";
import { initValues } from "../nn/init.ts";
import type { Model } from "../nn/model.ts";
import { Rng } from "../util/rng.ts";
import { sizeOf } from "../util/shape.ts";
import { traceEvalGraph } from "./_trace.ts";

/** The tensors of a model, in declaration order (timm's state-dict order). */
export interface ModelSpec {
  /** Trainable parameters. */
  params: ParamInfo[];
  /** Buffers (batch-norm running statistics). */
  buffers: BufferInfo[];
  /** Number of trainable parameter elements. */
  parameterCount: number;
}

/** Names, shapes and initializers of `model`'s parameters and buffers (builds its eval graph once). */
export function modelSpec(model: Model): ModelSpec {
  const { ctx } = traceEvalGraph(model, `${model.name}_spec`);
  return {
    params: [...ctx.params.values()].map((p) => p.info),
    buffers: [...ctx.buffers.values()].map((b) => b.info),
    parameterCount: ctx.parameterCount,
  };
}

/** Options of {@linkcode initWeights}. */
export interface InitWeightsOptions {
  /** Seed (default 0). */
  seed?: number;
  /** A spec from {@linkcode modelSpec}, when already at hand. */
  spec?: ModelSpec;
}

/**
 * Fresh parameters and buffers of `model`, by name. With the same seed the
 * values equal those a `TrainingSession` starts from (same generator, same
 * order: parameters, then buffers).
 */
export function initWeights(
  model: Model,
  options: InitWeightsOptions = {},
): Map<string, Float32Array> {
  const spec = options.spec ?? modelSpec(model);
  const rng = new Rng(options.seed ?? 0);
  const out = new Map<string, Float32Array>();
  for (const info of [...spec.params, ...spec.buffers]) {
    out.set(info.name, initValues(info.init, sizeOf(info.shape), rng));
  }
  return out;
}

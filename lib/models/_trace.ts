/**
 * One image traced through a model's eval graph, for the facts read off it
 * without running it (parameter specs, multiply-add counts).
 *
 * @module
 */

import { ModelContext } from "../nn/context.ts";
import type { Model } from "../nn/model.ts";
import type { Tensor } from "../onnx/graph.ts";

/** `model` built in eval mode on a `[1, C, H, W]` input: its context and that input. */
export function traceEvalGraph(model: Model, name: string): { ctx: ModelContext; x: Tensor } {
  const ctx = new ModelContext("eval", { name });
  const x = ctx.graph.input("x", "float32", [
    1,
    model.inChannels,
    model.imageSize,
    model.imageSize,
  ]);
  model.build(ctx, x);
  return { ctx, x };
}

/**
 * What a model is to the rest of medtune: a name, its input geometry, and a
 * `build` function written once against {@linkcode ModelContext}, from which
 * the train, eval and export programs are all derived.
 *
 * @module
 */

import type { Tensor } from "../onnx/graph.ts";
import type { ModelContext } from "./context.ts";

/** A model definition. */
export interface Model {
  /** Architecture name, e.g. `resnet18`. */
  readonly name: string;
  /** Input channels. */
  readonly inChannels: number;
  /** Input height and width. */
  readonly imageSize: number;
  /** Number of output classes. */
  readonly numClasses: number;
  /** Options the model was created with (recorded in checkpoints). */
  readonly config: Readonly<Record<string, unknown>>;
  /** Add the network to `ctx`'s graph: images `[N, C, H, W]` → logits `[N, K]`. */
  build(ctx: ModelContext, x: Tensor): Tensor;
}

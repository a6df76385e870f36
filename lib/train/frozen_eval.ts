/**
 * Fast evaluation with the current weights baked into the program.
 *
 * The eval program takes parameters as graph inputs (they change every
 * step), so ONNX Runtime cannot apply its constant-weight optimizations:
 * batch-norm folding, conv + activation fusion and the blocked (NCHWc) conv
 * kernels with pre-packed weights. Measured on ResNet-18 (7×7 stem, 28 px,
 * cpu backend) that is 566 img/s against 3,327 with the same network's
 * weights as initializers. A frozen program is the exported inference model
 * (weights as initializers, dynamic batch) compiled once per weight version:
 * worth its compile time (a few hundred ms) when many images are predicted
 * with the same weights, not for a 78-image validation pass.
 *
 * @module
 */

import { exportGraph } from "../models/export.ts";
import type { Model } from "../nn/model.ts";
import type { Backend, BackendSession, DeviceTensor } from "../runtime/backend.ts";
import { denseTinyMapConvs } from "../runtime/tiny_map_convs.ts";

/** When {@linkcode TrainingSession.predict} uses a frozen program. */
export type FrozenEvalPolicy = "auto" | "always" | "never";

/**
 * Under `auto`, the images predicted with one weight version after which a
 * frozen program is compiled for it (several times its compile cost at the
 * generic program's speed on the slowest backbone measured).
 */
export const FROZEN_EVAL_MIN_IMAGES = 512;

/** Options of {@linkcode FrozenEval.compile}. */
export interface FrozenEvalOptions {
  /** The weight version compiled in (the session's counter; a stale program is replaced). */
  version: number;
  /** Name of the program in errors and logs (default `frozen eval program of <model>`). */
  label?: string;
  /** Probabilities: softmax over classes (default) or sigmoid per label. */
  probs?: "softmax" | "sigmoid";
}

/** An eval program with one version of the weights compiled in. */
export class FrozenEval {
  /** Compile `model` with `weights` (parameters and buffers by timm name) on `backend`. */
  static async compile(
    backend: Backend,
    model: Model,
    weights: ReadonlyMap<string, Float32Array>,
    options: FrozenEvalOptions,
  ): Promise<FrozenEval> {
    const graph = exportGraph(model, weights, { outputs: ["probs"], probs: options.probs });
    const bytes = denseTinyMapConvs(graph).graph.toModel();
    const session = await backend.createSession(bytes, {
      label: options.label ?? `frozen eval program of ${model.name}`,
    });
    return new FrozenEval(backend, model, session, options.version);
  }

  private constructor(
    private readonly backend: Backend,
    private readonly model: Model,
    private readonly session: BackendSession,
    /** The weight version compiled in. */
    readonly version: number,
  ) {}

  /** Class probabilities `[n, K]` of `n` images, `batch` at a time (the last batch is not padded). */
  async predict(x: Float32Array, n: number, batch: number): Promise<Float32Array> {
    const m = this.model;
    const per = m.inChannels * m.imageSize * m.imageSize;
    const k = m.numClasses;
    const out = new Float32Array(n * k);
    for (let start = 0; start < n; start += batch) {
      const count = Math.min(batch, n - start);
      const input = this.backend.hostTensor(
        x.subarray(start * per, (start + count) * per),
        [count, m.inChannels, m.imageSize, m.imageSize],
      );
      const res: Record<string, DeviceTensor> = await this.session.run({ input });
      const probs = res.probs;
      out.set(
        (await this.backend.download(probs) as Float32Array).subarray(0, count * k),
        start * k,
      );
      probs.dispose();
    }
    return out;
  }

  /** Free the session. */
  async release(): Promise<void> {
    await this.session.release();
  }
}

/**
 * The weights of the best epoch so far, kept on the host so that `fit` can
 * put them back at the end (Lightning's `ModelCheckpoint(save_top_k=1)`
 * followed by loading the best path, without the round trip through a file).
 *
 * @module
 */

import type { TrainingSession } from "./session.ts";

/** A weights map by timm name. */
export type WeightsMap = Map<string, Float32Array>;

/** Options of {@linkcode BestWeights}. */
export interface BestWeightsOptions {
  /** Capture the session's EMA weights instead of the raw ones. */
  ema: boolean;
}

/**
 * The best epoch's weights (its EMA weights when the run keeps an EMA).
 *
 * @example
 * ```ts ignore
 * const best = new BestWeights({ ema: false });
 * if (stopper.update(epoch, score)) await best.capture(session, epoch);
 * best.restore(session); // at the end of fit
 * ```
 */
export class BestWeights {
  #weights?: WeightsMap;
  #epoch = 0;
  readonly #ema: boolean;

  /**
   * Nothing captured yet.
   *
   * @param options `ema`: capture the session's EMA weights instead of the raw ones.
   */
  constructor(options: BestWeightsOptions) {
    this.#ema = options.ema;
  }

  /** The captured weights, or undefined before the first capture. */
  get weights(): WeightsMap | undefined {
    return this.#weights;
  }

  /** Epoch of the captured weights (0 before the first capture). */
  get epoch(): number {
    return this.#epoch;
  }

  /**
   * Copy the session's current (or EMA) weights as the best.
   *
   * @param session The session being trained.
   * @param epoch The epoch they belong to.
   * @returns The captured weights.
   */
  async capture(session: TrainingSession, epoch: number): Promise<WeightsMap> {
    this.#weights = await session.getWeights({ ema: this.#ema });
    this.#epoch = epoch;
    return this.#weights;
  }

  /**
   * Take weights read back from a checkpoint as the best (resume).
   *
   * @param weights The best epoch's weights.
   * @param epoch That epoch.
   */
  set(weights: WeightsMap, epoch: number): void {
    this.#weights = weights;
    this.#epoch = epoch;
  }

  /**
   * Put the best weights into `session` (its EMA restarts from them); a
   * no-op when none were captured.
   *
   * @param session The session to restore.
   */
  restore(session: TrainingSession): void {
    if (this.#weights) session.setWeights(this.#weights);
  }
}

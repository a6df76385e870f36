/**
 * Optimizers inside the train program: global-norm gradient clipping, AdamW
 * (decoupled weight decay) and SGD with momentum/Nesterov. Each builds the
 * update nodes for every parameter; hyperparameters that change per step
 * (learning rate, bias corrections) are scalar inputs fed by the host, so a
 * schedule never forces a rebuild.
 *
 * @module
 */

import type { Graph, Tensor } from "../onnx/graph.ts";
import { add, allAxes, div, minimum, mul, reduceSumSquare, sqrt, sub } from "../onnx/ops.ts";

/** AdamW settings (PyTorch defaults except weight decay, which is 1e-2 in the study). */
export interface AdamWConfig {
  /** Optimizer kind. */
  name: "adamw";
  /** Base learning rate. */
  lr: number;
  /** Decoupled weight decay (default 1e-2). */
  weightDecay?: number;
  /** β1, β2 (default 0.9, 0.999). */
  betas?: [number, number];
  /** ε (default 1e-8). */
  eps?: number;
}

/** SGD settings. */
export interface SgdConfig {
  /** Optimizer kind. */
  name: "sgd";
  /** Base learning rate. */
  lr: number;
  /** Momentum (default 0.9). */
  momentum?: number;
  /** Nesterov momentum (default false). */
  nesterov?: boolean;
  /** L2 weight decay added to the gradient, as `torch.optim.SGD` (default 0). */
  weightDecay?: number;
}

/** An optimizer configuration (plain data; goes into checkpoints and study configs). */
export type OptimizerConfig = AdamWConfig | SgdConfig;

/** A parameter with its gradient, as the update builders see it. */
export interface ParamWithGrad {
  /** Parameter name. */
  name: string;
  /** The parameter's current value (a graph input). */
  value: Tensor;
  /** Its gradient. */
  grad: Tensor;
  /** Whether weight decay applies. */
  decay: boolean;
}

/** An optimizer state tensor's graph input and its state key (see {@linkcode optimizerStateKeys}). */
export interface OptimizerStateInput {
  /** The graph input. */
  input: Tensor;
  /** Its state key, e.g. `adam_m:fc.weight`. */
  key: string;
}

/** What an optimizer's update builder returns. */
export interface OptimizerUpdate {
  /** Per-state inputs. */
  stateInputs: OptimizerStateInput[];
  /** New parameter values by parameter name. */
  newParams: Map<string, Tensor>;
  /** New optimizer state values by state key. */
  newState: Map<string, Tensor>;
  /** Scalar inputs the host must feed each step. */
  scalars: readonly string[];
}

/** Names of the per-step scalars (fed by the host). */
export const SCALARS = {
  lr: "hp:lr",
  stepSize: "hp:step_size",
  epsHat: "hp:eps_hat",
  decayFactor: "hp:decay_factor",
} as const;

/** Prefixes of the optimizer state keys: `adam_m:<param>`, `adam_v:<param>`, `sgd_buf:<param>`. */
const STATE_PREFIX = { adamM: "adam_m:", adamV: "adam_v:", sgdBuf: "sgd_buf:" } as const;

/**
 * Keys of the state `config` keeps for parameter `param`: AdamW's first and
 * second moments, or SGD's momentum buffer (none at momentum 0). Sessions
 * and training checkpoints store the state under these keys; nothing else
 * should spell them.
 *
 * @param config The optimizer.
 * @param param The parameter's timm name.
 * @returns The keys, in the order the update builders create them.
 *
 * @example
 * ```ts
 * import { optimizerStateKeys } from "./optim.ts";
 * optimizerStateKeys({ name: "adamw", lr: 1e-3 }, "fc.weight"); // ["adam_m:fc.weight", "adam_v:fc.weight"]
 * optimizerStateKeys({ name: "sgd", lr: 0.1, momentum: 0 }, "fc.weight"); // []
 * ```
 */
export function optimizerStateKeys(config: OptimizerConfig, param: string): string[] {
  if (config.name === "adamw") return [STATE_PREFIX.adamM + param, STATE_PREFIX.adamV + param];
  return (config.momentum ?? 0.9) !== 0 ? [STATE_PREFIX.sgdBuf + param] : [];
}

/** A tensor's name and shape. */
export interface NamedShape {
  /** Its name (a timm state-dict name for parameters). */
  name: string;
  /** Its shape. */
  shape: readonly number[];
}

/**
 * Shapes of every optimizer state tensor `config` keeps for `params`, by
 * state key (what a training checkpoint must hold to resume).
 *
 * @param config The optimizer.
 * @param params Each parameter's timm name and shape.
 * @returns State key → shape (the parameter's shape).
 *
 * @example
 * ```ts
 * import { optimizerStateShapes } from "./optim.ts";
 * optimizerStateShapes({ name: "sgd", lr: 0.1 }, [{ name: "fc.bias", shape: [2] }]);
 * // Map { "sgd_buf:fc.bias" => [2] }
 * ```
 */
export function optimizerStateShapes(
  config: OptimizerConfig,
  params: readonly NamedShape[],
): Map<string, readonly number[]> {
  const shapes = new Map<string, readonly number[]>();
  for (const p of params) {
    for (const key of optimizerStateKeys(config, p.name)) shapes.set(key, p.shape);
  }
  return shapes;
}

/** What {@linkcode clipByGlobalNorm} returns. */
export interface ClippedGradients {
  /** The gradients after clipping, in input order. */
  grads: Tensor[];
  /** Their global L2 norm before clipping (a scalar). */
  norm: Tensor;
  /**
   * The factor the clipped gradients are the raw ones times (a scalar;
   * absent without clipping): an optimizer can fold it into its own
   * coefficients instead of reading `grads` (one pass over every gradient less).
   */
  scale?: Tensor;
}

/** Options of {@linkcode adamWUpdate}. */
export interface AdamWUpdateOptions {
  /**
   * A scalar every gradient is multiplied by first (the clipping factor of
   * {@linkcode clipByGlobalNorm}), folded into the moment updates'
   * coefficients instead of a pass over each gradient.
   */
  gradScale?: Tensor;
}

/**
 * Scale every gradient by `min(1, maxNorm / (‖g‖ + 1e-6))`, where `‖g‖` is
 * the global L2 norm over all gradients (PyTorch's `clip_grad_norm_`).
 * Returns the clipped gradients and the norm before clipping.
 */
export function clipByGlobalNorm(grads: readonly Tensor[], maxNorm: number): ClippedGradients {
  let sumSq: Tensor | null = null;
  for (const g of grads) {
    const s = reduceSumSquare(g, allAxes(g), { keepdims: false });
    sumSq = sumSq ? add(sumSq, s) : s;
  }
  if (!sumSq) throw new Error("clipByGlobalNorm: no gradients");
  const norm = sqrt(sumSq);
  if (!Number.isFinite(maxNorm)) return { grads: [...grads], norm };
  const scale = minimum(div(sumSq.graph.scalar(maxNorm), add(norm, 1e-6)), 1);
  return { grads: grads.map((g) => mul(g, scale)), norm, scale };
}

/**
 * Build the AdamW update (PyTorch's `AdamW`: decoupled weight decay, bias
 * corrections), in 13 elementwise passes per parameter: with `s` the
 * gradient scale, `c₁ = s(1−β₁)`, `c₂ = s²(1−β₂)` (scalars computed once),
 * `m ← β₁m + c₁g`, `v ← β₂v + g·(c₂g)`,
 * `p ← p·(1−lr·λ) − α̂·m / (√v + ε̂)` with `α̂ = lr·√bc₂/bc₁` and
 * `ε̂ = ε·√bc₂` fed per step: PyTorch's `α·m / (√v/√bc₂ + ε)` with `√bc₂`
 * moved out of the denominator, one pass less. (Dividing the denominator by
 * α̂ instead would save another but gives NaN at lr 0, the first step of a
 * warmup, wherever v = 0.)
 */
export function adamWUpdate(
  graph: Graph,
  params: readonly ParamWithGrad[],
  config: AdamWConfig,
  options: AdamWUpdateOptions = {},
): OptimizerUpdate {
  const [b1, b2] = config.betas ?? [0.9, 0.999];
  const stepSize = graph.input(SCALARS.stepSize, "float32", []);
  const epsHat = graph.input(SCALARS.epsHat, "float32", []);
  const decayFactor = graph.input(SCALARS.decayFactor, "float32", []);
  const update: OptimizerUpdate = {
    stateInputs: [],
    newParams: new Map(),
    newState: new Map(),
    scalars: [SCALARS.stepSize, SCALARS.epsHat, SCALARS.decayFactor],
  };
  const s = options.gradScale;
  const c1 = s ? mul(s, 1 - b1) : graph.scalar(1 - b1);
  const c2 = s ? mul(mul(s, s), 1 - b2) : graph.scalar(1 - b2);
  for (const p of params) {
    const [mKey, vKey] = optimizerStateKeys(config, p.name);
    const m = graph.input(mKey, "float32", p.value.shape);
    const v = graph.input(vKey, "float32", p.value.shape);
    update.stateInputs.push({ input: m, key: mKey });
    update.stateInputs.push({ input: v, key: vKey });
    const m2 = add(mul(m, b1), mul(p.grad, c1));
    const v2 = add(mul(v, b2), mul(p.grad, mul(p.grad, c2)));
    const base = p.decay ? mul(p.value, decayFactor) : p.value;
    const denom = add(sqrt(v2), epsHat);
    update.newParams.set(p.name, sub(base, mul(div(m2, denom), stepSize)));
    update.newState.set(mKey, m2);
    update.newState.set(vKey, v2);
  }
  return update;
}

/** Build the SGD (momentum, optional Nesterov, coupled weight decay) update. */
export function sgdUpdate(
  graph: Graph,
  params: readonly ParamWithGrad[],
  config: SgdConfig,
): OptimizerUpdate {
  const mu = config.momentum ?? 0.9;
  const wd = config.weightDecay ?? 0;
  const lr = graph.input(SCALARS.lr, "float32", []);
  const update: OptimizerUpdate = {
    stateInputs: [],
    newParams: new Map(),
    newState: new Map(),
    scalars: [SCALARS.lr],
  };
  for (const p of params) {
    const g = wd > 0 && p.decay ? add(p.grad, mul(p.value, wd)) : p.grad;
    const [bufKey] = optimizerStateKeys(config, p.name);
    if (bufKey === undefined) {
      update.newParams.set(p.name, sub(p.value, mul(g, lr)));
      continue;
    }
    const buf = graph.input(bufKey, "float32", p.value.shape);
    update.stateInputs.push({ input: buf, key: bufKey });
    const buf2 = add(mul(buf, mu), g);
    const step = config.nesterov ? add(g, mul(buf2, mu)) : buf2;
    update.newParams.set(p.name, sub(p.value, mul(step, lr)));
    update.newState.set(bufKey, buf2);
  }
  return update;
}

/** The per-step scalar feeds of `config` at 1-based step `t` with learning rate `lr`. */
export function optimizerScalars(
  config: OptimizerConfig,
  t: number,
  lr: number,
): Record<string, Float32Array> {
  if (config.name === "sgd") return { [SCALARS.lr]: Float32Array.of(lr) };
  const [b1, b2] = config.betas ?? [0.9, 0.999];
  const bc1 = 1 - Math.pow(b1, t);
  const sqrtBc2 = Math.sqrt(1 - Math.pow(b2, t));
  return {
    [SCALARS.stepSize]: Float32Array.of((lr / bc1) * sqrtBc2),
    [SCALARS.epsHat]: Float32Array.of((config.eps ?? 1e-8) * sqrtBc2),
    [SCALARS.decayFactor]: Float32Array.of(1 - lr * (config.weightDecay ?? 1e-2)),
  };
}

/** Validate an optimizer configuration, with errors naming the bad field. */
export function validateOptimizer(config: OptimizerConfig): void {
  if (!config || (config.name !== "adamw" && config.name !== "sgd")) {
    throw new Error(`optimizer.name must be "adamw" or "sgd"`);
  }
  if (!(config.lr > 0) || !Number.isFinite(config.lr)) {
    throw new Error(`optimizer.lr must be a positive number, got ${config.lr}`);
  }
  if (config.weightDecay !== undefined && !(config.weightDecay >= 0)) {
    throw new Error(`optimizer.weightDecay must be >= 0, got ${config.weightDecay}`);
  }
}

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

/** What an optimizer's update builder returns. */
export interface OptimizerUpdate {
  /** Per-state input: graph input name → state key prefix, e.g. `adam_m:`. */
  stateInputs: { input: Tensor; key: string }[];
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
  invSqrtBc2: "hp:inv_sqrt_bc2",
  decayFactor: "hp:decay_factor",
} as const;

/**
 * Scale every gradient by `min(1, maxNorm / (‖g‖ + 1e-6))`, where `‖g‖` is
 * the global L2 norm over all gradients (PyTorch's `clip_grad_norm_`).
 * Returns the clipped gradients and the norm before clipping.
 */
export function clipByGlobalNorm(
  grads: readonly Tensor[],
  maxNorm: number,
): { grads: Tensor[]; norm: Tensor } {
  let sumSq: Tensor | null = null;
  for (const g of grads) {
    const s = reduceSumSquare(g, allAxes(g), { keepdims: false });
    sumSq = sumSq ? add(sumSq, s) : s;
  }
  if (!sumSq) throw new Error("clipByGlobalNorm: no gradients");
  const norm = sqrt(sumSq);
  if (!Number.isFinite(maxNorm)) return { grads: [...grads], norm };
  const scale = minimum(div(sumSq.graph.scalar(maxNorm), add(norm, 1e-6)), 1);
  return { grads: grads.map((g) => mul(g, scale)), norm };
}

/** Build the AdamW update. */
export function adamWUpdate(
  graph: Graph,
  params: readonly ParamWithGrad[],
  config: AdamWConfig,
): OptimizerUpdate {
  const [b1, b2] = config.betas ?? [0.9, 0.999];
  const eps = config.eps ?? 1e-8;
  const stepSize = graph.input(SCALARS.stepSize, "float32", []);
  const invSqrtBc2 = graph.input(SCALARS.invSqrtBc2, "float32", []);
  const decayFactor = graph.input(SCALARS.decayFactor, "float32", []);
  const update: OptimizerUpdate = {
    stateInputs: [],
    newParams: new Map(),
    newState: new Map(),
    scalars: [SCALARS.stepSize, SCALARS.invSqrtBc2, SCALARS.decayFactor],
  };
  for (const p of params) {
    const m = graph.input(`adam_m:${p.name}`, "float32", p.value.shape);
    const v = graph.input(`adam_v:${p.name}`, "float32", p.value.shape);
    update.stateInputs.push({ input: m, key: `adam_m:${p.name}` });
    update.stateInputs.push({ input: v, key: `adam_v:${p.name}` });
    const m2 = add(mul(m, b1), mul(p.grad, 1 - b1));
    const v2 = add(mul(v, b2), mul(mul(p.grad, p.grad), 1 - b2));
    const denom = add(mul(sqrt(v2), invSqrtBc2), eps);
    const base = p.decay ? mul(p.value, decayFactor) : p.value;
    update.newParams.set(p.name, sub(base, mul(div(m2, denom), stepSize)));
    update.newState.set(`adam_m:${p.name}`, m2);
    update.newState.set(`adam_v:${p.name}`, v2);
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
    if (mu === 0) {
      update.newParams.set(p.name, sub(p.value, mul(g, lr)));
      continue;
    }
    const buf = graph.input(`sgd_buf:${p.name}`, "float32", p.value.shape);
    update.stateInputs.push({ input: buf, key: `sgd_buf:${p.name}` });
    const buf2 = add(mul(buf, mu), g);
    const step = config.nesterov ? add(g, mul(buf2, mu)) : buf2;
    update.newParams.set(p.name, sub(p.value, mul(step, lr)));
    update.newState.set(`sgd_buf:${p.name}`, buf2);
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
  const bc2 = 1 - Math.pow(b2, t);
  return {
    [SCALARS.stepSize]: Float32Array.of(lr / bc1),
    [SCALARS.invSqrtBc2]: Float32Array.of(1 / Math.sqrt(bc2)),
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

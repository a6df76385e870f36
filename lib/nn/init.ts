/**
 * Parameter initializers as plain data (so a model's definition says how
 * each tensor starts, and the host fills it from a seeded generator), with
 * the schemes timm and torchvision use.
 *
 * @module
 */

import type { Rng } from "../util/rng.ts";
import { sizeOf } from "../util/shape.ts";

/** How a parameter or buffer is initialized. */
export type Init =
  | { kind: "constant"; value: number }
  | { kind: "normal"; std: number; mean?: number }
  | { kind: "truncNormal"; std: number; bound?: number }
  | { kind: "uniform"; bound: number };

/** A weight's fans (see {@linkcode fans}). */
export interface Fans {
  /** Inputs per output unit: `in_channels · kernel area`. */
  fanIn: number;
  /** Outputs per input unit: `out_channels · kernel area`. */
  fanOut: number;
}

/** `fan_in` and `fan_out` of a weight shape as PyTorch computes them. */
export function fans(shape: readonly number[]): Fans {
  if (shape.length < 2) return { fanIn: shape[0] ?? 1, fanOut: shape[0] ?? 1 };
  const receptive = sizeOf(shape.slice(2));
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

/** Kaiming-normal for ReLU (`nn.init.kaiming_normal_(w, mode, nonlinearity="relu")`). */
export function kaimingNormal(shape: readonly number[], mode: "fanIn" | "fanOut" = "fanOut"): Init {
  return { kind: "normal", std: Math.sqrt(2 / fans(shape)[mode]) };
}

/** PyTorch's default for `nn.Linear`/`nn.Conv2d` (`kaiming_uniform_(a=√5)`: U(±1/√fan_in)). */
export function torchDefault(shape: readonly number[]): Init {
  return { kind: "uniform", bound: 1 / Math.sqrt(fans(shape).fanIn) };
}

/** Fill a Float32Array of `size` values according to `init`. */
export function initValues(init: Init, size: number, rng: Rng): Float32Array {
  const out = new Float32Array(size);
  switch (init.kind) {
    case "constant":
      out.fill(init.value);
      break;
    case "normal": {
      const mean = init.mean ?? 0;
      for (let i = 0; i < size; i++) out[i] = mean + init.std * rng.normal();
      break;
    }
    case "truncNormal": {
      // timm's trunc_normal_(std, a=-2, b=2): bounds are absolute, not in stds.
      const bound = init.bound ?? 2;
      for (let i = 0; i < size; i++) {
        let v: number;
        do v = init.std * rng.normal(); while (Math.abs(v) > bound);
        out[i] = v;
      }
      break;
    }
    case "uniform":
      for (let i = 0; i < size; i++) out[i] = (rng.float() * 2 - 1) * init.bound;
      break;
  }
  return out;
}

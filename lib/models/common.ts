/**
 * Options every backbone accepts, their validation, and small helpers the
 * model definitions share (stochastic-depth schedules, init overrides).
 *
 * @module
 */

/** Options common to every backbone (defaults as timm's). */
export interface BackboneOptions {
  /** Number of output classes (default 1000, as timm's ImageNet heads). */
  numClasses?: number;
  /** Input channels (default 3). */
  inChannels?: number;
  /** Input height and width in pixels (default 224). */
  imageSize?: number;
  /** Dropout probability on the pooled features, before the head (default 0; the study uses 0.3). */
  dropRate?: number;
  /** Stochastic-depth rate of the last block, scaled linearly over blocks as timm does (default 0). */
  dropPathRate?: number;
}

/** {@linkcode BackboneOptions} with every default filled in. */
export interface ResolvedBackboneOptions {
  /** Number of output classes. */
  numClasses: number;
  /** Input channels. */
  inChannels: number;
  /** Input height and width. */
  imageSize: number;
  /** Dropout before the head. */
  dropRate: number;
  /** Stochastic-depth rate. */
  dropPathRate: number;
}

const COMMON_KEYS = ["numClasses", "inChannels", "imageSize", "dropRate", "dropPathRate"] as const;

/**
 * Check `options` for `model`: unknown keys (typos) and out-of-range values
 * throw an error that names the model, the option and the valid choices.
 * `extraKeys` lists the model's own options.
 */
export function resolveBackboneOptions(
  model: string,
  options: BackboneOptions & Record<string, unknown>,
  extraKeys: readonly string[] = [],
): ResolvedBackboneOptions {
  const known = new Set<string>([...COMMON_KEYS, ...extraKeys]);
  const unknown = Object.keys(options).filter((k) => !known.has(k) && options[k] !== undefined);
  if (unknown.length) {
    throw new Error(
      `${model}: unknown option${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}; ` +
        `valid options are ${[...known].join(", ")}`,
    );
  }
  const resolved: ResolvedBackboneOptions = {
    numClasses: options.numClasses ?? 1000,
    inChannels: options.inChannels ?? 3,
    imageSize: options.imageSize ?? 224,
    dropRate: options.dropRate ?? 0,
    dropPathRate: options.dropPathRate ?? 0,
  };
  positiveInt(model, "numClasses", resolved.numClasses);
  positiveInt(model, "inChannels", resolved.inChannels);
  positiveInt(model, "imageSize", resolved.imageSize);
  rate(model, "dropRate", resolved.dropRate);
  rate(model, "dropPathRate", resolved.dropPathRate);
  return resolved;
}

/** Throw unless `value` is an integer ≥ `min`. */
export function positiveInt(model: string, option: string, value: unknown, min = 1): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new Error(`${model}: ${option} must be an integer >= ${min}, got ${value}`);
  }
}

function rate(model: string, option: string, value: unknown): void {
  if (typeof value !== "number" || !(value >= 0 && value < 1)) {
    throw new Error(`${model}: ${option} must be in [0, 1), got ${value}`);
  }
}

/**
 * timm's `make_divisible`: round `v` to a multiple of `divisor`, not going
 * below 90% of `v`.
 */
export function makeDivisible(v: number, divisor = 8, minValue?: number): number {
  const min = minValue ?? divisor;
  let out = Math.max(min, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (out < 0.9 * v) out += divisor;
  return out;
}

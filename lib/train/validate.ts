/**
 * Checks of the `Trainer`'s and `fit`'s options where they enter, so that a
 * bad value fails at once with an error naming the option, the value and the
 * valid range, instead of surfacing epochs later as a NaN loss or a silently
 * ascending one (a negative clip norm flips every gradient).
 *
 * @module
 */

import type { FitSettings, TrainerOptions } from "./options.ts";
import type { OptimizerConfig } from "./optim.ts";
import { parseSchedule } from "./schedules.ts";

/** The valid range of a numeric option (bounds inclusive unless marked open). */
export interface NumberRange {
  /** Lower bound. */
  min?: number;
  /** Exclude `min` itself. */
  minOpen?: boolean;
  /** Upper bound. */
  max?: number;
  /** Exclude `max` itself. */
  maxOpen?: boolean;
  /** Require an integer. */
  integer?: boolean;
}

/** How a range reads in an error message, e.g. `"a number in [0, 1)"`, `"an integer >= 1"`. */
export function describeRange(range: NumberRange): string {
  const kind = range.integer ? "an integer" : "a finite number";
  const { min, max } = range;
  if (min !== undefined && max !== undefined) {
    return `${kind} in ${range.minOpen ? "(" : "["}${min}, ${max}${range.maxOpen ? ")" : "]"}`;
  }
  if (min !== undefined) return `${kind} ${range.minOpen ? ">" : ">="} ${min}`;
  if (max !== undefined) return `${kind} ${range.maxOpen ? "<" : "<="} ${max}`;
  return kind;
}

/** Whether `value` is a number within `range`. */
export function inRange(value: unknown, range: NumberRange): value is number {
  if (typeof value !== "number" || !Number.isFinite(value)) return false;
  if (range.integer && !Number.isSafeInteger(value)) return false;
  if (range.min !== undefined && (range.minOpen ? value <= range.min : value < range.min)) {
    return false;
  }
  if (range.max !== undefined && (range.maxOpen ? value >= range.max : value > range.max)) {
    return false;
  }
  return true;
}

/**
 * Throw a `RangeError` unless `value` is a number within `range`:
 * `"<where>: <option> must be <range>, got <value>[; <hint>]"`.
 */
export function checkNumber(
  where: string,
  option: string,
  value: unknown,
  range: NumberRange,
  hint?: string,
): void {
  if (inRange(value, range)) return;
  throw new RangeError(
    `${where}: ${option} must be ${describeRange(range)}, got ${show(value)}` +
      (hint ? `; ${hint}` : ""),
  );
}

/** `value` as it reads in an error message (strings quoted). */
export function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(show).join(", ")}]`;
  return String(value);
}

/** Check an optimizer configuration; `where` prefixes the messages (e.g. `"Trainer"`). */
export function checkOptimizerConfig(where: string, config: OptimizerConfig): void {
  if (!config || typeof config !== "object") {
    throw new TypeError(`${where}: optimizer must be { name: "adamw" | "sgd", lr, ... }`);
  }
  const name = (config as { name: unknown }).name;
  if (name !== "adamw" && name !== "sgd") {
    throw new RangeError(`${where}: optimizer.name must be "adamw" or "sgd", got ${show(name)}`);
  }
  checkNumber(where, "optimizer.lr", config.lr, { min: 0, minOpen: true });
  if (config.weightDecay !== undefined) {
    checkNumber(where, "optimizer.weightDecay", config.weightDecay, { min: 0 });
  }
  if (config.name === "adamw") {
    if (config.betas !== undefined) {
      if (!Array.isArray(config.betas) || config.betas.length !== 2) {
        throw new RangeError(
          `${where}: optimizer.betas must be two numbers [beta1, beta2], got ${show(config.betas)}`,
        );
      }
      checkNumber(where, "optimizer.betas[0]", config.betas[0], { min: 0, max: 1, maxOpen: true });
      checkNumber(where, "optimizer.betas[1]", config.betas[1], { min: 0, max: 1, maxOpen: true });
    }
    if (config.eps !== undefined) {
      checkNumber(where, "optimizer.eps", config.eps, { min: 0, minOpen: true });
    }
  } else if (config.momentum !== undefined) {
    checkNumber(where, "optimizer.momentum", config.momentum, { min: 0, max: 1, maxOpen: true });
  }
}

/** Check a `Trainer`'s options for a model with `numClasses` outputs; errors start with `Trainer:`. */
export function checkTrainerOptions(options: TrainerOptions, numClasses: number): void {
  const where = "Trainer";
  if (options.optimizer !== undefined) checkOptimizerConfig(where, options.optimizer);
  if (options.schedule !== undefined) {
    parseSchedule(options.schedule, { path: `${where}: schedule` });
  }
  if (options.labelSmoothing !== undefined) {
    checkNumber(where, "labelSmoothing", options.labelSmoothing, { min: 0, max: 1, maxOpen: true });
  }
  if (options.clipGradNorm !== undefined) {
    checkNumber(
      where,
      "clipGradNorm",
      options.clipGradNorm,
      { min: 0, minOpen: true },
      "omit it to train without clipping",
    );
  }
  if (options.emaDecay !== undefined) {
    checkNumber(where, "emaDecay", options.emaDecay, {
      min: 0,
      minOpen: true,
      max: 1,
      maxOpen: true,
    }, "e.g. 0.999; omit it to keep no EMA");
  }
  if (options.seed !== undefined) checkNumber(where, "seed", options.seed, { integer: true });
  if (options.evalBatchSize !== undefined) {
    checkNumber(where, "evalBatchSize", options.evalBatchSize, { integer: true, min: 1 });
  }
  const w = options.classWeights;
  if (w !== undefined) {
    if (!Array.isArray(w) || w.length !== numClasses) {
      throw new RangeError(
        `${where}: classWeights must have one weight per class (${numClasses}), got ${show(w)}`,
      );
    }
    w.forEach((v, i) => checkNumber(where, `classWeights[${i}]`, v, { min: 0 }));
    if (!w.some((v) => v > 0)) {
      throw new RangeError(`${where}: classWeights must not all be 0, got ${show(w)}`);
    }
  }
}

/** Check `fit`'s options; errors start with `fit:`. */
export function checkFitOptions(options: FitSettings): void {
  const where = "fit";
  if (!options || typeof options !== "object") {
    throw new TypeError(`${where}: options { epochs, batchSize, ... } are required`);
  }
  checkNumber(where, "epochs", options.epochs, { integer: true, min: 1 });
  checkNumber(where, "batchSize", options.batchSize, { integer: true, min: 1 });
  if (options.maxStepsPerEpoch !== undefined) {
    checkNumber(
      where,
      "maxStepsPerEpoch",
      options.maxStepsPerEpoch,
      { integer: true, min: 1 },
      "omit it to run every batch of each epoch",
    );
  }
  const es = options.earlyStopping;
  if (es !== undefined) {
    checkNumber(
      where,
      "earlyStopping.patience",
      es.patience,
      { integer: true, min: 1 },
      "omit earlyStopping to run every epoch",
    );
    if (es.minDelta !== undefined) {
      checkNumber(where, "earlyStopping.minDelta", es.minDelta, { min: 0 });
    }
    if (es.minEpochs !== undefined) {
      checkNumber(where, "earlyStopping.minEpochs", es.minEpochs, { integer: true, min: 0 });
    }
  }
}

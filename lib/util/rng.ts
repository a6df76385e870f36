/**
 * The seeded generator shared by every layer (parameter init, dropout noise,
 * gradient checks, augmentation).
 *
 * @module
 */

export { hashSeed, Rng } from "../augment/rng.ts";

/**
 * A small seeded pseudo-random generator (sfc32) with the samplers that
 * every layer needs (parameter init, dropout noise, augmentation, shuffling,
 * gradient checks): uniform, integer, normal, gamma, beta, permutations.
 *
 * The same seed gives the same stream on every platform, bit for bit.
 * {@linkcode hashSeed} derives independent seeds from a base seed and keys
 * (epoch, batch index, ...), so each epoch and batch has its own stream.
 *
 * @module
 */

/**
 * Mix a seed and any number of integer keys into one 32-bit seed
 * (murmur3-style finalizer on each step): `hashSeed(seed, [epoch, batch])`
 * gives unrelated streams for neighbouring keys.
 */
export function hashSeed(seed: number, keys: readonly number[] = []): number {
  let h = 0x9e3779b9;
  for (const p of [seed, ...keys]) {
    // fold in both 32-bit halves so that large integers still differ
    const lo = p | 0;
    const hi = Math.floor(p / 0x100000000) | 0;
    h = fmix32(h ^ Math.imul(lo, 0xcc9e2d51));
    h = fmix32((h + Math.imul(hi, 0x1b873593)) | 0);
  }
  return h >>> 0;
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/**
 * Seeded generator: sfc32 (Small Fast Chaotic, 128-bit state), seeded through
 * splitmix32. Not for cryptography.
 */
export class Rng {
  #a = 0;
  #b = 0;
  #c = 0;
  #d = 0;

  /** Create a generator; the same `seed` (any number, folded to 32 bits) gives the same stream. */
  constructor(seed: number = 0) {
    this.#seed(hashSeed(seed), null);
  }

  /**
   * A generator seeded with `seed` itself rather than its {@linkcode hashSeed}
   * (truncated to 32 bits), with the counter word starting at 1, as sfc32's
   * reference seeding does. The metrics' bootstrap draws its resamples from
   * this stream, so a seed gives the same interval it always has; elsewhere
   * use `new Rng(seed)`.
   *
   * @param seed Any finite number.
   * @returns A fresh generator.
   * @throws {RangeError} When `seed` is not finite.
   *
   * @example
   * ```ts
   * import { Rng } from "./rng.ts";
   * const rng = Rng.rawSeeded(42);
   * rng.int(10); // an integer in 0..9, the same for every run
   * ```
   */
  static rawSeeded(seed: number): Rng {
    if (!Number.isFinite(seed)) {
      throw new RangeError(`Rng.rawSeeded: seed must be a finite number, got ${seed}`);
    }
    const rng = new Rng();
    rng.#seed(Math.trunc(seed) >>> 0, 1);
    return rng;
  }

  /**
   * Fill the state from splitmix32 started at `state`: three words, and the
   * counter from a fourth (or `counter` when given), then discard 12 outputs.
   */
  #seed(state: number, counter: number | null): void {
    let s = state | 0;
    const next = () => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      return (z ^ (z >>> 15)) | 0;
    };
    this.#a = next();
    this.#b = next();
    this.#c = next();
    this.#d = counter ?? next();
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** Next raw 32-bit unsigned integer. */
  nextUint32(): number {
    const a = this.#a, b = this.#b, c = this.#c, d = this.#d;
    const t = (((a + b) | 0) + d) | 0;
    this.#d = (d + 1) | 0;
    this.#a = b ^ (b >>> 9);
    this.#b = (c + (c << 3)) | 0;
    const r = (c << 21) | (c >>> 11);
    this.#c = (r + t) | 0;
    return t >>> 0;
  }

  /** Uniform float in [0, 1) with 32 bits of resolution. */
  float(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** Uniform integer in [0, n) (n ≥ 1). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** `true` with probability `p`. */
  bool(p: number = 0.5): boolean {
    return this.float() < p;
  }

  /** Standard normal sample (Box–Muller, one value per call). */
  normal(): number {
    let u = this.float();
    while (u === 0) u = this.float();
    const v = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Gamma(shape, 1) sample (Marsaglia–Tsang; shape < 1 boosted). */
  gamma(shape: number): number {
    if (!(shape > 0)) throw new RangeError(`Rng.gamma: shape must be > 0, got ${shape}.`);
    if (shape < 1) {
      let u = this.float();
      while (u === 0) u = this.float();
      return this.gamma(shape + 1) * Math.pow(u, 1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number, v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.float();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (u > 0 && Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /** Beta(a, b) sample, as `numpy.random.beta` (used for Mixup/CutMix λ). */
  beta(a: number, b: number): number {
    const x = this.gamma(a);
    const y = this.gamma(b);
    return x + y > 0 ? x / (x + y) : (this.float() < a / (a + b) ? 1 : 0);
  }

  /** Shuffle an array in place (Fisher–Yates) and return it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = array[i];
      array[i] = array[j];
      array[j] = t;
    }
    return array;
  }

  /** A random permutation of `0..n-1`. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }

  /** A new generator seeded from this one's next output and `key` (advances this one once). */
  fork(key: number = 0): Rng {
    return new Rng(hashSeed(this.nextUint32(), [key]));
  }
}

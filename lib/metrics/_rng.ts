/**
 * Tiny seeded PRNG for reproducible resampling (internal): sfc32 (Chris
 * Doty-Humphrey's Small Fast Counting generator, 128-bit state), seeded from
 * a 32-bit integer through splitmix32 so that nearby seeds give unrelated
 * streams.
 *
 * @module
 */

/** A deterministic stream of uniform numbers. */
export interface Rng {
  /** Next uniform float in [0, 1), with 32 bits of randomness. */
  next(): number;
  /** Next uniform integer in [0, n) for 0 < n <= 2^32. */
  nextInt(n: number): number;
}

/** Create an sfc32 generator from a seed (any finite number; truncated to 32 bits). */
export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed)) {
    throw new RangeError(`createRng: seed must be a finite number, got ${seed}`);
  }
  let x = Math.trunc(seed) >>> 0;
  const splitmix32 = (): number => {
    x = (x + 0x9e3779b9) | 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return (z ^ (z >>> 15)) >>> 0;
  };
  let a = splitmix32();
  let b = splitmix32();
  let c = splitmix32();
  let d = 1;
  const nextU32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  // Discard the first outputs, as the sfc32 reference does, to mix the state.
  for (let i = 0; i < 12; i++) nextU32();
  return {
    next: () => nextU32() / 4294967296,
    nextInt: (n: number) => Math.floor((nextU32() / 4294967296) * n),
  };
}

import assert from "node:assert/strict";
import { hashSeed, Rng } from "../lib/util/rng.ts";

Deno.test("rng: same seed gives the same stream, different seeds differ", () => {
  const a = new Rng(42), b = new Rng(42), c = new Rng(43);
  const sa = Array.from({ length: 100 }, () => a.nextUint32());
  const sb = Array.from({ length: 100 }, () => b.nextUint32());
  const sc = Array.from({ length: 100 }, () => c.nextUint32());
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
  // pinned values: the stream must not change between releases (reproducible runs)
  assert.deepEqual(sa.slice(0, 3), [227128385, 3437026369, 152984214]);
  assert.equal(hashSeed(1, [2, 3]), 54509772);
  assert.notEqual(hashSeed(1, [2, 3]), hashSeed(1, [2, 4]));
  assert.notEqual(hashSeed(1, [0]), hashSeed(0, [1]));
  assert.notEqual(hashSeed(2 ** 32), hashSeed(0));
});

Deno.test("rng: uniform, normal and beta have the right moments", () => {
  const rng = new Rng(7);
  const n = 20000;
  let s = 0, s2 = 0, ns = 0, ns2 = 0, bs = 0;
  for (let i = 0; i < n; i++) {
    const u = rng.float();
    assert.ok(u >= 0 && u < 1);
    s += u;
    s2 += u * u;
    const z = rng.normal();
    ns += z;
    ns2 += z * z;
    bs += rng.beta(0.2, 0.2);
  }
  assert.ok(Math.abs(s / n - 0.5) < 0.01);
  assert.ok(Math.abs(s2 / n - s * s / n / n - 1 / 12) < 0.005);
  assert.ok(Math.abs(ns / n) < 0.03);
  assert.ok(Math.abs(ns2 / n - 1) < 0.04);
  assert.ok(Math.abs(bs / n - 0.5) < 0.02);
  // Beta(2, 5) mean = 2/7
  let m = 0;
  for (let i = 0; i < n; i++) m += rng.beta(2, 5);
  assert.ok(Math.abs(m / n - 2 / 7) < 0.01);
  // int covers its range uniformly
  const counts = new Array(5).fill(0);
  for (let i = 0; i < 5000; i++) counts[rng.int(5)]++;
  assert.ok(counts.every((c) => c > 900 && c < 1100), String(counts));
});

Deno.test("rng: permutation is a permutation; fork is deterministic", () => {
  const p = new Rng(1).permutation(50);
  assert.deepEqual(
    Array.from(p).toSorted((a, b) => a - b),
    Array.from({ length: 50 }, (_, i) => i),
  );
  assert.deepEqual(new Rng(1).permutation(50), p);
  assert.equal(new Rng(9).fork(3).nextUint32(), new Rng(9).fork(3).nextUint32());
  assert.notEqual(new Rng(9).fork(3).nextUint32(), new Rng(9).fork(4).nextUint32());
  assert.throws(() => new Rng(1).gamma(0), /shape must be > 0/);
});

Deno.test("rng: rawSeeded is the bootstrap's stream, deterministic and uniform", () => {
  const a = Rng.rawSeeded(42), b = Rng.rawSeeded(42), c = Rng.rawSeeded(43);
  const sa = Array.from({ length: 5 }, () => a.nextUint32());
  assert.deepEqual(sa, Array.from({ length: 5 }, () => b.nextUint32()));
  assert.notDeepEqual(sa, Array.from({ length: 5 }, () => c.nextUint32()));
  // Pinned: the outputs of the generator the metrics used before it moved here
  // (sfc32 with a, b, c from splitmix32 of the raw seed and the counter at 1), so
  // bootstrap intervals keep their values for a given seed.
  assert.deepEqual(sa.slice(0, 3), [1959603763, 2423114712, 2466933512]);
  const zero = Rng.rawSeeded(0);
  assert.deepEqual([zero.nextUint32(), zero.nextUint32()], [2899526011, 769844623]);
  // A different stream from new Rng(seed), which hashes the seed first.
  assert.notEqual(Rng.rawSeeded(42).nextUint32(), new Rng(42).nextUint32());
  // Fractional seeds truncate; seeds wrap modulo 2^32.
  assert.equal(Rng.rawSeeded(42.9).nextUint32(), Rng.rawSeeded(42).nextUint32());
  assert.equal(Rng.rawSeeded(2 ** 32 + 42).nextUint32(), Rng.rawSeeded(42).nextUint32());
  assert.throws(() => Rng.rawSeeded(NaN), /Rng\.rawSeeded: seed must be a finite number, got NaN/);
  const counts = new Array(10).fill(0);
  const r = Rng.rawSeeded(1);
  for (let i = 0; i < 20000; i++) counts[r.int(10)]++;
  // Each bucket expects 2000 (sd ≈ 42); ±250 is a > 5-sigma band.
  for (const n of counts) assert.ok(Math.abs(n - 2000) < 250, `bucket count ${n}`);
});

// Tests for lib/metrics distribution functions, the seeded PRNG, the bootstrap and meanCi.
// Reference values were computed with mpmath at 40 digits (erfc, Φ⁻¹ via erfinv, Student t
// quantiles by root-finding on the regularized incomplete beta) and numpy (meanCi inputs).

import assert from "node:assert/strict";
import {
  aucOvr,
  aucRoc,
  bootstrapCi,
  bootstrapIndices,
  DegenerateSampleError,
  erfc,
  meanCi,
  normalCdf,
  normalQuantile,
  studentTCdf,
  studentTQuantile,
} from "../lib/metrics/mod.ts";
import { Rng } from "../lib/util/rng.ts";

function assertRel(actual: number | null, expected: number, rel: number, what = ""): void {
  assert.ok(
    actual !== null && Math.abs(actual - expected) <= rel * Math.abs(expected),
    `${what} expected ${expected} (rel ${rel}), got ${actual}`,
  );
}

Deno.test("erfc matches mpmath to ~1e-14 relative, including the far tail", () => {
  const ref: [number, number][] = [
    [0.1, 0.8875370839817151078],
    [0.5, 0.47950012218695346232],
    [1, 0.15729920705028513066],
    [2, 0.0046777349810472658379],
    [3, 0.000022090496998585441373],
    [5, 1.5374597944280348502e-12],
    [10, 2.088487583762544757e-45],
    [20, 5.3958656116079009289e-176],
  ];
  for (const [x, want] of ref) {
    assertRel(erfc(x), want, 1e-14, `erfc(${x})`);
    assertRel(erfc(-x), 2 - want, 1e-15, `erfc(${-x})`);
  }
  assert.equal(erfc(0), 1);
  assert.ok(Number.isNaN(erfc(NaN)));
});

Deno.test("normalCdf and normalQuantile are accurate inverses", () => {
  const ref: [number, number][] = [
    [0.975, 1.9599639845400542355],
    [0.995, 2.575829303548900761],
    [0.9, 1.281551565544600467],
    [0.999, 3.0902323061678135415],
    [1e-10, -6.3613409024040562047],
    [0.01, -2.3263478740408411009],
  ];
  for (const [p, z] of ref) assertRel(normalQuantile(p), z, 1e-14, `Φ⁻¹(${p})`);
  assert.equal(normalQuantile(0.5), 0);
  for (const z of [-8, -3, -1, 0.3, 2, 5]) {
    assertRel(normalQuantile(normalCdf(z)), z, 1e-9, `round trip at ${z}`);
  }
  assertRel(normalCdf(-1.959963984540054), 0.025, 1e-14);
  assert.throws(() => normalQuantile(1.5), /p must be in \[0, 1\]/);
});

Deno.test("studentTQuantile matches mpmath for small df (two-sided 95% and 99%)", () => {
  const ref: [number, number, number][] = [
    // df, t_{0.975}, t_{0.995}
    [1, 12.706204736174704646, 63.656741162871580995],
    [2, 4.3026527297494638523, 9.9248432009182931147],
    [3, 3.1824463052837095927, 5.8409093097333572607],
    [4, 2.7764451051977943578, 4.6040948713499932254],
    [5, 2.5705818356363155147, 4.0321429835552280784],
    [9, 2.2621571627982055426, 3.2498355415921262756],
    [19, 2.0930240544083097692, 2.8609346064649791921],
    [29, 2.0452296421327042982, 2.7563859036706054886],
    [100, 1.9839715185235522866, 2.6258905214380179306],
  ];
  for (const [df, t975, t995] of ref) {
    assertRel(studentTQuantile(0.975, df), t975, 1e-13, `t(0.975, ${df})`);
    assertRel(studentTQuantile(0.995, df), t995, 1e-13, `t(0.995, ${df})`);
    assertRel(studentTQuantile(0.025, df), -t975, 1e-13, `t(0.025, ${df})`);
    assertRel(studentTCdf(t975, df), 0.975, 1e-13, `F(t975; ${df})`);
  }
  assertRel(studentTQuantile(0.975, 1e6), 1.96, 1e-3);
  assert.throws(() => studentTQuantile(0.975, 0), /degrees of freedom/);
});

Deno.test("meanCi: mean ± std and the t-interval over per-seed values", () => {
  const v = [0.80, 0.82, 0.85, 0.79, 0.84];
  const r = meanCi(v);
  // numpy: mean 0.82, std(ddof=1) 0.025495097567963892, sem 0.011401754250991365.
  assertRel(r.mean, 0.82, 1e-14);
  assertRel(r.std, 0.025495097567963892, 1e-13);
  assertRel(r.sem, 0.011401754250991365, 1e-13);
  assert.equal(r.df, 4);
  assertRel(r.tCritical, 2.7764451051977943578, 1e-13);
  assertRel(r.lower, 0.82 - 2.7764451051977943578 * 0.011401754250991365, 1e-13);
  assertRel(r.upper, 0.82 + 2.7764451051977943578 * 0.011401754250991365, 1e-13);
  const one = meanCi([0.9]);
  assert.equal(one.mean, 0.9);
  assert.equal(one.std, null);
  assert.equal(one.lower, null);
  assert.throws(() => meanCi([]), DegenerateSampleError);
  assert.throws(() => meanCi(v, { confidence: 95 }), /confidence must be in \(0, 1\)/);
});

function makeBinary(n: number, seed: number): { scores: Float64Array; labels: Int32Array } {
  const rng = Rng.rawSeeded(seed);
  const labels = new Int32Array(n);
  const scores = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 3 === 0 ? 1 : 0;
    scores[i] = rng.float() + 0.6 * labels[i];
  }
  return { scores, labels };
}

Deno.test("bootstrapCi: seeded, reproducible percentile interval around the estimate", () => {
  const data = makeBinary(120, 3);
  const r1 = bootstrapCi(data, aucRoc, { nResamples: 400, seed: 5, keepSamples: true });
  const r2 = bootstrapCi(data, aucRoc, { nResamples: 400, seed: 5 });
  const r3 = bootstrapCi(data, aucRoc, { nResamples: 400, seed: 6 });
  assert.equal(r1.estimate, aucRoc(data.scores, data.labels));
  assert.equal(r1.lower, r2.lower);
  assert.equal(r1.upper, r2.upper);
  assert.notEqual(r1.lower, r3.lower);
  assert.ok(r1.lower < r1.estimate && r1.estimate < r1.upper);
  assert.equal(r1.nUsed + r1.nSkipped, 400);
  // Percentiles by numpy's linear rule on the kept samples: position (n − 1)·q.
  const s = r1.samples!;
  const q = (p: number) => {
    const pos = (s.length - 1) * p;
    const lo = Math.floor(pos);
    return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (pos - lo);
  };
  assert.equal(r1.lower, q(0.025));
  assert.equal(r1.upper, q(0.975));
  for (let i = 1; i < s.length; i++) assert.ok(s[i] >= s[i - 1]);
});

Deno.test("bootstrapCi: standard error of a mean matches theory", () => {
  const rng = Rng.rawSeeded(9);
  const x = Float64Array.from({ length: 200 }, () => rng.float());
  const labels = new Int32Array(200);
  const mean = (v: Float64Array) => v.reduce((a, b) => a + b, 0) / v.length;
  const r = bootstrapCi({ scores: x, labels }, mean, { nResamples: 2000, seed: 1 });
  const m = mean(x);
  const sd = Math.sqrt(x.reduce((a, b) => a + (b - m) ** 2, 0) / x.length);
  // Bootstrap SE of the mean → population sd / √n; 2000 resamples estimate it to ~±3%.
  assertRel(r.std, sd / Math.sqrt(200), 0.08, "bootstrap SE");
});

Deno.test("bootstrapCi: stratified resampling keeps class counts; matrix metrics work", () => {
  const data = makeBinary(30, 4);
  let seen = 0;
  bootstrapIndices(data.labels, (idx) => {
    let pos = 0;
    for (const i of idx) pos += data.labels[i];
    assert.equal(pos, 10);
    seen++;
    return pos;
  }, { nResamples: 50, stratified: true });
  assert.equal(seen, 51); // the full-sample estimate plus 50 resamples
  const probs = Array.from(data.scores, (s) => [1 - s / 2, s / 2]);
  const r = bootstrapCi({ scores: probs, labels: data.labels }, aucOvr, {
    nResamples: 100,
    stratified: true,
  });
  assert.equal(r.nSkipped, 0);
  assert.equal(r.estimate, aucOvr(probs, data.labels));
});

Deno.test("bootstrapCi: single-class resamples are skipped and counted, other errors thrown", () => {
  // One positive in 10: about (9/10)^10 ≈ 35% of plain resamples have no positive.
  const scores = [0.9, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.05];
  const labels = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  const r = bootstrapCi({ scores, labels }, aucRoc, { nResamples: 300, seed: 2 });
  assert.ok(r.nSkipped > 50 && r.nSkipped < 160, `skipped ${r.nSkipped}`);
  assert.equal(r.nUsed + r.nSkipped, 300);
  const strat = bootstrapCi({ scores, labels }, aucRoc, { nResamples: 300, stratified: true });
  assert.equal(strat.nSkipped, 0);
  assert.throws(
    () =>
      bootstrapCi({ scores, labels }, () => {
        throw new TypeError("bug in metric");
      }),
    /bug in metric/,
  );
  assert.throws(() => bootstrapCi({ scores, labels }, () => NaN), /metric returned NaN/);
  assert.throws(() => bootstrapCi({ scores: [1, 2], labels: [0] }, aucRoc), /different lengths/);
  assert.throws(() => bootstrapCi({ scores, labels }, aucRoc, { nResamples: 1 }), /nResamples/);
});

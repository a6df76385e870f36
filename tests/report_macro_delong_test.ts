import assert from "node:assert/strict";
import { aucRoc, delongTest } from "../lib/metrics/mod.ts";
import { macroDelongTest } from "../lib/report/macro_delong.ts";

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const gauss = (r: () => number) =>
  Math.sqrt(-2 * Math.log(Math.max(r(), 1e-12))) * Math.cos(2 * Math.PI * r());

function softmaxRows(labels: number[], k: number, shift: number, r: () => number): number[][] {
  return labels.map((y) => {
    const z = Array.from({ length: k }, (_, c) => (c === y ? shift : 0) + gauss(r));
    const mx = Math.max(...z);
    const e = z.map((v) => Math.exp(v - mx));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  });
}

Deno.test("macro DeLong: two classes (p0 = 1 − p1) give exactly the binary DeLong test", () => {
  const r = rng(1);
  const labels = Array.from({ length: 60 }, (_, i) => (i % 3 === 0 ? 1 : 0));
  const a = softmaxRows(labels, 2, 1.2, r);
  const b = softmaxRows(labels, 2, 0.6, r);
  const macro = macroDelongTest([a, b], labels);
  const bin = delongTest([a.map((x) => x[1]), b.map((x) => x[1])], labels);
  assert.ok(Math.abs(macro.z - bin.z) < 1e-9, `${macro.z} vs ${bin.z}`);
  assert.ok(Math.abs(macro.pValue - bin.pValue) < 1e-12);
  assert.ok(Math.abs(macro.auc1 - bin.auc1) < 1e-12);
  // One label (multi-label rows of width 1): DeLong's test as well.
  const one = macroDelongTest(
    [a.map((x) => [x[1]]), b.map((x) => [x[1]])],
    labels.map((y) => [y]),
  );
  assert.ok(Math.abs(one.z - bin.z) < 1e-9);
});

Deno.test("macro DeLong: the variance equals a direct O(N²) computation with between-class covariance", () => {
  const r = rng(7);
  const k = 3;
  const labels = Array.from({ length: 45 }, (_, i) => i % k);
  const a = softmaxRows(labels, k, 1.0, r);
  const b = softmaxRows(labels, k, 0.7, r);
  // Direct: per class, placement values by counting pairs; influence summed over classes.
  const psi = new Array<number>(labels.length).fill(0);
  let diff = 0;
  for (let c = 0; c < k; c++) {
    const pos = labels.map((y, i) => (y === c ? i : -1)).filter((i) => i >= 0);
    const neg = labels.map((y, i) => (y !== c ? i : -1)).filter((i) => i >= 0);
    const kern = (x: number, y: number) => (x > y ? 1 : x === y ? 0.5 : 0);
    const place = (s: number[][], i: number, others: number[], isPos: boolean) =>
      others.reduce((t, j) => t + (isPos ? kern(s[i][c], s[j][c]) : kern(s[j][c], s[i][c])), 0) /
      others.length;
    const dk = aucRoc(a.map((x) => x[c]), labels.map((y) => (y === c ? 1 : 0))) -
      aucRoc(b.map((x) => x[c]), labels.map((y) => (y === c ? 1 : 0)));
    diff += dk / k;
    const m = pos.length;
    const n = neg.length;
    for (const i of pos) {
      psi[i] += (place(a, i, neg, true) - place(b, i, neg, true) - dk) / Math.sqrt(m * (m - 1)) / k;
    }
    for (const j of neg) {
      psi[j] += (place(a, j, pos, false) - place(b, j, pos, false) - dk) / Math.sqrt(n * (n - 1)) /
        k;
    }
  }
  const se = Math.sqrt(psi.reduce((s, v) => s + v * v, 0));
  const t = macroDelongTest([a, b], labels);
  assert.ok(Math.abs(t.difference - diff) < 1e-12);
  assert.ok(Math.abs(t.se - se) < 1e-12, `${t.se} vs ${se}`);
  // Identical models: no difference, p = 1.
  const same = macroDelongTest([a, a], labels);
  assert.equal(same.z, 0);
  assert.equal(same.pValue, 1);
});

Deno.test("macro DeLong: under the null, p < 0.05 in about 5 % of simulated studies", () => {
  const r = rng(2024);
  const k = 4;
  let rejections = 0;
  const sims = 300;
  for (let s = 0; s < sims; s++) {
    const labels = Array.from({ length: 120 }, (_, i) => i % k);
    // Two models of equal skill, correlated through a shared image effect.
    const shared = labels.map(() => Array.from({ length: k }, () => gauss(r)));
    const model = () =>
      labels.map((y, i) => {
        const z = shared[i].map((v, c) => v + 0.7 * gauss(r) + (c === y ? 1 : 0));
        const mx = Math.max(...z);
        const e = z.map((v) => Math.exp(v - mx));
        const sum = e.reduce((x, w) => x + w, 0);
        return e.map((v) => v / sum);
      });
    if (macroDelongTest([model(), model()], labels).pValue < 0.05) rejections++;
  }
  const rate = rejections / sims;
  assert.ok(rate > 0.02 && rate < 0.09, `rejection rate ${rate} under the null`);
});

Deno.test("macro DeLong: mismatched shapes and degenerate classes are errors", () => {
  assert.throws(() => macroDelongTest([[[0.5, 0.5]], []], [0]), /score rows for 1 labels/);
  assert.throws(
    () => macroDelongTest([[[0.2, 0.8], [0.6, 0.4]], [[0.3, 0.7], [0.5, 0.5]]], [1, 1]),
    /at least 2 positive and 2 negative/,
  );
});

// Tests for lib/train/schedules.ts: every schedule against its closed form at the first
// step, the warmup end, the midpoint and the last step (and at every step in between),
// monotonicity, JSON round trips, and the validation messages.

import assert from "node:assert/strict";
import {
  constant,
  cosine,
  lrAt,
  lrCurve,
  type LrSchedule,
  multiStep,
  parseSchedule,
  stepDecay,
  warmupCosine,
} from "../lib/train/schedules.ts";

function assertClose(actual: number, expected: number, what: string, tol = 1e-15): void {
  assert.ok(
    Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)),
    `${what}: expected ${expected}, got ${actual}`,
  );
}

Deno.test("constant: baseLr at every step, no context needed beyond step and baseLr", () => {
  for (const step of [0, 1, 999]) assert.equal(lrAt(constant(), { step, baseLr: 3e-4 }), 3e-4);
  assert.deepEqual(constant(), { kind: "constant" });
});

Deno.test("cosine: closed form 0.5·(1 + cos(π t/T)) between baseLr and minLr", () => {
  const s = cosine({ minLrRatio: 0.01 });
  const base = 0.1;
  const min = 0.001;
  const T = 100;
  const at = (step: number) => lrAt(s, { step, baseLr: base, totalSteps: T });
  assert.equal(at(0), base);
  assertClose(at(50), (base + min) / 2, "midpoint");
  assertClose(at(25), min + (base - min) * 0.5 * (1 + Math.SQRT1_2), "quarter");
  assertClose(at(T), min, "end");
  assertClose(at(T + 10), min, "past the end stays at minLr");
  for (let t = 0; t <= T; t++) {
    assertClose(at(t), min + (base - min) * 0.5 * (1 + Math.cos((Math.PI * t) / T)), `step ${t}`);
    if (t > 0) assert.ok(at(t) <= at(t - 1), `non-increasing at ${t}`);
  }
  assert.equal(lrAt(cosine(), { step: T, baseLr: base, totalSteps: T }), 0);
});

Deno.test("warmupCosine: linear warmup (epochs → steps) then cosine, against the closed form", () => {
  const s = warmupCosine({ warmupEpochs: 5, warmupStartRatio: 0.1, minLrRatio: 0.02 });
  const base = 2e-3;
  const spe = 10;
  const W = 50; // 5 epochs × 10 steps
  const T = 500;
  const start = base * 0.1;
  const min = base * 0.02;
  const ctx = { baseLr: base, stepsPerEpoch: spe, totalSteps: T };
  const at = (step: number) => lrAt(s, { ...ctx, step });
  const closed = (t: number) =>
    t < W
      ? start + ((base - start) * t) / W
      : min + (base - min) * 0.5 * (1 + Math.cos((Math.PI * (t - W)) / (T - W)));
  assertClose(at(0), start, "first step");
  assertClose(at(25), (start + base) / 2, "half-way through warmup");
  assertClose(at(W - 1), start + ((base - start) * 49) / 50, "last warmup step");
  assertClose(at(W), base, "warmup end reaches baseLr");
  assertClose(at(W + (T - W) / 2), (base + min) / 2, "cosine midpoint");
  assertClose(at(T - 1), closed(T - 1), "last step");
  assert.ok(at(T - 1) > min && at(T - 1) - min < 1e-7, "last step is just above minLr");
  const curve = lrCurve(s, ctx);
  assert.equal(curve.length, T);
  for (let t = 0; t < T; t++) {
    assertClose(curve[t], closed(t), `step ${t}`);
    if (t > 0 && t <= W) assert.ok(curve[t] > curve[t - 1], `increasing in warmup at ${t}`);
    if (t > W) assert.ok(curve[t] <= curve[t - 1], `non-increasing after warmup at ${t}`);
  }
});

Deno.test("warmupCosine: step units, fractional epochs, zero warmup equals cosine", () => {
  const base = 1;
  const bySteps = warmupCosine({ warmupSteps: 25 });
  const byEpochs = warmupCosine({ warmupEpochs: 2.5 }); // 2.5 × 10 = 25 steps
  for (const step of [0, 10, 24, 25, 60, 99]) {
    assert.equal(
      lrAt(bySteps, { step, baseLr: base, totalSteps: 100 }),
      lrAt(byEpochs, { step, baseLr: base, totalSteps: 100, stepsPerEpoch: 10 }),
    );
  }
  assert.equal(lrAt(bySteps, { step: 0, baseLr: base, totalSteps: 100 }), 0);
  const noWarm = warmupCosine({ warmupSteps: 0, minLrRatio: 0.1 });
  for (const step of [0, 33, 99]) {
    assert.equal(
      lrAt(noWarm, { step, baseLr: base, totalSteps: 100 }),
      lrAt(cosine({ minLrRatio: 0.1 }), { step, baseLr: base, totalSteps: 100 }),
    );
  }
});

Deno.test("stepDecay and multiStep: gamma applied at each boundary", () => {
  const s = stepDecay({ stepSizeEpochs: 30, gamma: 0.1 });
  const ctx = { baseLr: 0.1, stepsPerEpoch: 10 };
  const at = (step: number) => lrAt(s, { ...ctx, step });
  assert.equal(at(0), 0.1);
  assert.equal(at(299), 0.1);
  assertClose(at(300), 0.01, "first decay");
  assertClose(at(599), 0.01, "before second decay");
  assertClose(at(600), 0.001, "second decay");
  for (let t = 0; t < 1000; t++) {
    assertClose(at(t), 0.1 * 0.1 ** Math.floor(t / 300), `step ${t}`, 1e-14);
  }
  assertClose(
    lrAt(stepDecay({ stepSizeSteps: 7, gamma: 0.5 }), { step: 14, baseLr: 1 }),
    0.25,
    "steps",
  );

  const m = multiStep({ milestonesSteps: [10, 20], gamma: 0.5 });
  const atM = (step: number) => lrAt(m, { step, baseLr: 1 });
  assert.deepEqual([0, 9, 10, 19, 20, 1000].map(atM), [1, 1, 0.5, 0.5, 0.25, 0.25]);
  const me = multiStep({ milestonesEpochs: [1, 2.5] });
  const atE = (step: number) => lrAt(me, { step, baseLr: 1, stepsPerEpoch: 4 });
  assertClose(atE(3), 1, "before epoch 1");
  assertClose(atE(4), 0.1, "epoch 1 = step 4");
  assertClose(atE(10), 0.01, "epoch 2.5 = step 10", 1e-14);
});

Deno.test("schedules are plain JSON: round trip through parseSchedule gives the same LRs", () => {
  const all: LrSchedule[] = [
    constant(),
    cosine({ minLrRatio: 0.05 }),
    warmupCosine({ warmupEpochs: 1, warmupStartRatio: 0.01 }),
    stepDecay({ stepSizeSteps: 40 }),
    multiStep({ milestonesEpochs: [3, 6] }),
  ];
  for (const s of all) {
    const back = parseSchedule(JSON.parse(JSON.stringify(s)));
    assert.deepEqual(back, s);
    const ctx = { baseLr: 0.01, stepsPerEpoch: 10, totalSteps: 100 };
    for (const step of [0, 17, 99]) {
      assert.equal(lrAt(back, { ...ctx, step }), lrAt(s, { ...ctx, step }));
    }
  }
  assert.deepEqual(warmupCosine({ warmupEpochs: 5 }), {
    kind: "warmup_cosine",
    warmupEpochs: 5,
    warmupStartRatio: 0,
    minLrRatio: 0,
  });
});

Deno.test("schedule validation errors say what is wrong and how to fix it", () => {
  assert.throws(() => warmupCosine({}), /warmupEpochs or warmupSteps is required/);
  assert.throws(() => warmupCosine({ warmupEpochs: 1, warmupSteps: 5 }), /not both/);
  assert.throws(() => warmupCosine({ warmupSteps: 2.5 }), /warmupSteps must be a finite integer/);
  assert.throws(
    () => cosine({ minLrRatio: 1.5 }),
    /cosine: minLrRatio must be a number in \[0, 1\]/,
  );
  assert.throws(() => stepDecay({ stepSizeEpochs: 0 }), /step size must be > 0/);
  assert.throws(
    () => stepDecay({ stepSizeSteps: 10, gamma: 0 }),
    /gamma must be a number in \(0, 1\]/,
  );
  assert.throws(() => multiStep({ milestonesSteps: [5, 5] }), /strictly increasing/);
  assert.throws(() => parseSchedule({ kind: "linear" }), /kind must be one of "constant"/);
  assert.throws(
    () => parseSchedule({ kind: "cosine", minLrRatio: 0, warmup_epochs: 5 }, { path: "study.lr" }),
    /study\.lr: unknown key "warmup_epochs" for kind "cosine"/,
  );
  assert.throws(() => parseSchedule(null), /must be an object/);

  const wc = warmupCosine({ warmupEpochs: 5 });
  assert.throws(
    () => lrAt(wc, { step: 0, baseLr: 1, totalSteps: 100 }),
    /ctx\.stepsPerEpoch is required/,
  );
  assert.throws(() => lrAt(wc, { step: 0, baseLr: 1, stepsPerEpoch: 10 }), /needs ctx\.totalSteps/);
  assert.throws(
    () => lrAt(wc, { step: 0, baseLr: 1, stepsPerEpoch: 10, totalSteps: 50 }),
    /warmup of 50 steps is not shorter than totalSteps 50/,
  );
  assert.throws(
    () => lrAt(constant(), { step: -1, baseLr: 1 }),
    /ctx\.step must be an integer >= 0/,
  );
  assert.throws(() => lrAt(constant(), { step: 1.5, baseLr: 1 }), /ctx\.step/);
  assert.throws(
    () => lrAt(constant(), { step: 0, baseLr: 0 }),
    /ctx\.baseLr must be a finite number > 0/,
  );
  assert.throws(
    () => lrAt(constant(), { step: 0, baseLr: 1, stepsPerEpoch: 0 }),
    /stepsPerEpoch must be a positive integer/,
  );
  assert.throws(
    () => lrAt({ kind: "bogus" } as unknown as LrSchedule, { step: 0, baseLr: 1 }),
    /unknown schedule kind "bogus"/,
  );
});

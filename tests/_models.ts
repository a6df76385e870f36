// Shared helpers of the backbone tests (tests/models_test.ts): backends,
// random but well-conditioned weights, eval-mode logits on any backend, a
// finite-difference check of a model's parameter gradients, and the checks
// every backbone must pass (cross-backend forward, learning, save/load,
// ONNX export).

import assert from "node:assert/strict";
import { gradients } from "../lib/autodiff/gradients.ts";
import { exportOnnx } from "../lib/models/export.ts";
import { initWeights, modelSpec } from "../lib/models/spec.ts";
import { ModelContext } from "../lib/nn/context.ts";
import type { Model } from "../lib/nn/model.ts";
import { allAxes, mul, reduceSum } from "../lib/onnx/ops.ts";
import type { Backend, BackendName } from "../lib/runtime/backend.ts";
import { Program, StateStore } from "../lib/runtime/program.ts";
import { createBackend } from "../lib/runtime/select.ts";
import { TrainingSession } from "../lib/train/session.ts";
import { Rng } from "../lib/util/rng.ts";
import { loadPretrained, saveWeights } from "../lib/weights/pretrained.ts";

const backends = new Map<BackendName, Promise<Backend>>();

/** One backend of each kind per test process. */
export function backend(name: BackendName): Promise<Backend> {
  let b = backends.get(name);
  if (!b) {
    b = createBackend(name);
    backends.set(name, b);
  }
  return b;
}

/** Images `[n, c, size, size]` from N(0, 1). */
export function images(n: number, c: number, size: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n * c * size * size }, () => rng.normal());
}

/** One-hot targets for alternating labels. */
export function oneHot(n: number, k: number): Float32Array {
  const t = new Float32Array(n * k);
  for (let i = 0; i < n; i++) t[i * k + (i % k)] = 1;
  return t;
}

/**
 * The model's init, with batch-norm affine parameters and running
 * statistics randomized (so residual branches are not zero-initialized and
 * eval mode differs from identity), and every other tensor scaled by 1.
 */
export function randomWeights(model: Model, seed: number): Map<string, Float32Array> {
  const w = initWeights(model, { seed });
  const rng = new Rng(seed + 1);
  const spec = modelSpec(model);
  const bn = new Set(spec.buffers.map((b) => b.name.replace(/\.running_(mean|var)$/, "")));
  for (const [name, data] of w) {
    const prefix = name.replace(/\.[a-z_]+$/, "");
    if (!bn.has(prefix)) continue;
    const kind = name.slice(prefix.length + 1);
    for (let i = 0; i < data.length; i++) {
      if (kind === "weight" || kind === "running_var") data[i] = rng.uniform(0.5, 1.5);
      else data[i] = rng.normal() * 0.1;
    }
  }
  return w;
}

/** Eval-mode logits `[n, K]` of `x` on `backend` with `weights` fed from the host. */
export async function evalLogits(
  b: Backend,
  model: Model,
  weights: ReadonlyMap<string, Float32Array>,
  x: Float32Array,
  n: number,
): Promise<Float32Array> {
  const ctx = new ModelContext("eval", { name: `${model.name}_test_eval` });
  const xin = ctx.graph.input("x", "float32", [
    n,
    model.inChannels,
    model.imageSize,
    model.imageSize,
  ]);
  ctx.graph.output("logits", model.build(ctx, xin));
  const store = new StateStore(b);
  const state: Record<string, string> = {};
  for (const name of [...ctx.params.keys(), ...ctx.buffers.keys()]) {
    state[name] = name;
    const info = ctx.params.get(name)?.info ?? ctx.buffers.get(name)!.info;
    store.set(name, weights.get(name)!, info.shape);
  }
  const program = await Program.compile(b, ctx.graph, { state, label: `${model.name} test eval` });
  try {
    const out = await program.run(store, { x });
    return out.logits as Float32Array;
  } finally {
    store.dispose();
    await program.release();
  }
}

/** Largest absolute difference. */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, "lengths differ");
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Options of {@linkcode checkModelGradients}. */
export interface ModelGradOptions {
  /** Parameters to probe. */
  params: readonly string[];
  /** Elements probed per parameter: the largest gradients and one random (default 3). */
  probes?: number;
  /** Batch size (default 2). */
  batch?: number;
  /** Tolerance floor as a fraction of the tensor's largest gradient (default 1e-2). */
  atol?: number;
  /** Relative tolerance (default 5e-2). */
  rtol?: number;
  /** Seed. */
  seed?: number;
}

/**
 * Finite-difference check of a model's parameter gradients in train mode
 * (batch statistics, no noise) on the cpu backend: `L = Σ logits ⊙ r` for a
 * fixed random `r`, summed in float64 on the host. Returns the failures.
 */
export async function checkModelGradients(model: Model, o: ModelGradOptions) {
  const b = await backend("cpu");
  const n = o.batch ?? 2;
  const seed = o.seed ?? 0;
  const weights = randomWeights(model, seed);
  const ctx = new ModelContext("train", { name: `${model.name}_gradcheck` });
  const g = ctx.graph;
  const x = g.input("x", "float32", [n, model.inChannels, model.imageSize, model.imageSize]);
  const logits = model.build(ctx, x);
  assert.equal(ctx.noise.size, 0, "gradcheck needs a model without dropout or drop-path");
  const r = g.input("r", "float32", logits.shape);
  const loss = reduceSum(mul(logits, r), allAxes(logits), { keepdims: false });
  const wrt = o.params.map((name) => {
    const p = ctx.params.get(name);
    if (!p) throw new Error(`gradcheck: ${model.name} has no parameter ${name}`);
    return p.tensor;
  });
  const grads = gradients(loss, wrt);
  g.output("logits", logits);
  grads.forEach((gr, i) => g.output(`grad_${i}`, gr!));
  const program = await Program.compile(b, g, { label: "model gradcheck" });
  const store = new StateStore(b);
  const rng = new Rng(seed + 7);
  const rData = Float32Array.from({ length: logits.size }, () => rng.normal());
  const feeds: Record<string, Float32Array> = {
    x: images(n, model.inChannels, model.imageSize, seed + 3),
    r: rData,
  };
  for (const name of [...ctx.params.keys(), ...ctx.buffers.keys()]) {
    feeds[name] = weights.get(name)!;
  }
  const lossAt = async (f: Record<string, Float32Array>) => {
    const y = (await program.run(store, f)).logits as Float32Array;
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i] * rData[i];
    return s;
  };
  const rtol = o.rtol ?? 5e-2;
  const failures: string[] = [];
  const checked: { name: string; index: number; analytic: number; numeric: number }[] = [];
  try {
    const analytic = await program.run(store, feeds);
    for (let k = 0; k < o.params.length; k++) {
      const name = o.params[k];
      const base = feeds[name];
      const grad = analytic[`grad_${k}`] as Float32Array;
      let rms = 0;
      let gmax = 0;
      for (let i = 0; i < base.length; i++) {
        rms += base[i] * base[i];
        gmax = Math.max(gmax, Math.abs(grad[i]));
      }
      rms = Math.sqrt(rms / base.length);
      const order = [...grad.keys()].sort((i, j) => Math.abs(grad[j]) - Math.abs(grad[i]));
      const picks = [...order.slice(0, (o.probes ?? 3) - 1), rng.int(grad.length)];
      for (const index of picks) {
        const { numeric, spread } = await numericGradient(
          (values) => lossAt({ ...feeds, [name]: values }),
          { base, index, scale: Math.max(rms, 0.05) },
        );
        const a = grad[index];
        checked.push({ name, index, analytic: a, numeric });
        // Tolerance: relative, plus the estimate's spread, plus a floor at 1% of
        // the tensor's largest gradient.
        const tol = rtol * Math.max(Math.abs(a), Math.abs(numeric)) + spread +
          (o.atol ?? 1e-2) * gmax;
        if (!(Math.abs(a - numeric) <= tol)) {
          failures.push(`${name}[${index}]: analytic ${a}, numeric ${numeric}`);
        }
      }
    }
  } finally {
    store.dispose();
    await program.release();
  }
  return { failures, checked };
}

/** Options of {@linkcode checkCrossBackend}. */
export interface CrossBackendOptions {
  /** Batch size. */
  batch: number;
  /** Backends compared with cpu. */
  backends: readonly BackendName[];
  /** Largest allowed absolute difference (default 1e-4). */
  tol?: number;
  /** Seed of the random weights (default 1). */
  seed?: number;
}

/**
 * Central differences of `loss` in element `index` of `base` at three steps
 * (0.01%, 0.1%, 1% of `scale`): small steps drown in float32 noise, large ones
 * cross ReLU kinks. The two adjacent steps that agree best give the estimate,
 * and their disagreement (`spread`) widens the tolerance.
 */
async function numericGradient(
  loss: (values: Float32Array) => Promise<number>,
  o: { base: Float32Array; index: number; scale: number },
): Promise<{ numeric: number; spread: number }> {
  const { base, index } = o;
  const estimates: number[] = [];
  for (const rel of [1e-4, 1e-3, 1e-2]) {
    const plus = base.slice();
    const minus = base.slice();
    plus[index] += o.scale * rel;
    minus[index] -= o.scale * rel;
    const step = (plus[index] - minus[index]) / 2; // the step float32 really took
    estimates.push(((await loss(plus)) - (await loss(minus))) / (2 * step));
  }
  const pair = Math.abs(estimates[0] - estimates[1]) <= Math.abs(estimates[1] - estimates[2])
    ? [estimates[0], estimates[1]]
    : [estimates[1], estimates[2]];
  return { numeric: (pair[0] + pair[1]) / 2, spread: Math.abs(pair[0] - pair[1]) };
}

/** Forward logits of the same weights and images agree on cpu, wasm and webgpu within `tol`. */
export async function checkCrossBackend(model: Model, options: CrossBackendOptions) {
  const weights = randomWeights(model, options.seed ?? 1);
  const x = images(options.batch, model.inChannels, model.imageSize, 5);
  const ref = await evalLogits(await backend("cpu"), model, weights, x, options.batch);
  assert.ok(ref.every(Number.isFinite), "cpu logits are not finite");
  const spread = Math.max(...ref) - Math.min(...ref);
  assert.ok(spread > 1e-3, `logits are nearly constant (${spread}); the test would prove little`);
  const diffs: Record<string, number> = {};
  for (const name of options.backends) {
    if (name === "cpu") continue;
    const other = await evalLogits(await backend(name), model, weights, x, options.batch);
    diffs[name] = maxDiff(ref, other);
    assert.ok(
      diffs[name] <= (options.tol ?? 1e-4),
      `${model.name}: ${name} logits differ from cpu by ${diffs[name]}`,
    );
  }
  return diffs;
}

/** Options of {@linkcode checkLearns}. */
export interface LearnOptions {
  /** Batch size. */
  batch: number;
  /** AdamW steps. */
  steps: number;
  /** Learning rate. */
  lr: number;
}

/** A few AdamW steps on one fixed batch lower its loss (mean of the second half below the first). */
export async function checkLearns(model: Model, options: LearnOptions) {
  const session = await TrainingSession.create(await backend("cpu"), model, {
    batchSize: options.batch,
    optimizer: { name: "adamw", lr: options.lr, weightDecay: 0.01 },
    labelSmoothing: 0.1,
    clipGradNorm: 1,
    seed: 4,
  });
  try {
    const batch = {
      x: images(options.batch, model.inChannels, model.imageSize, 9),
      targets: oneHot(options.batch, model.numClasses),
    };
    const losses: number[] = [];
    for (let i = 0; i < options.steps; i++) {
      losses.push((await session.trainStep(batch, options.lr)).loss);
    }
    assert.ok(losses.every(Number.isFinite), `non-finite loss: ${losses}`);
    // Dropout and drop-path masks change every step, so judge the second half's mean.
    const late = losses.slice(Math.floor(losses.length / 2));
    const lateMean = late.reduce((a, b) => a + b, 0) / late.length;
    assert.ok(
      lateMean < losses[0] - 0.05,
      `${model.name}: loss did not fall: ${losses.map((l) => l.toFixed(4)).join(" ")}`,
    );
    return { losses, session };
  } catch (err) {
    await session.dispose();
    throw err;
  }
}

/**
 * Train a couple of steps (so batch-norm statistics move), save the
 * weights as safetensors, load them into a fresh session with another
 * seed: identical probabilities. Then export ONNX and run it standalone on
 * onnxruntime-node at batch 1 and 3: the same probabilities and logits as
 * the eval program within 1e-4.
 */
export async function checkSaveLoadExport(session: TrainingSession, dir: string) {
  const model = session.model;
  const x = images(3, model.inChannels, model.imageSize, 21);
  const probs = await session.predict(x, 3);
  const weights = await session.getWeights();
  const path = `${dir}/${model.name}.safetensors`;
  await saveWeights(path, weights, { model });
  const fresh = await TrainingSession.create(await backend("cpu"), model, {
    batchSize: session.options.batchSize,
    evalBatchSize: session.evalBatchSize,
    optimizer: { name: "adamw", lr: 1e-3 },
    seed: 99,
  });
  try {
    assert.ok(maxDiff(await fresh.predict(x, 3), probs) > 0, "a fresh session should differ");
    const report = await loadPretrained(fresh, path);
    assert.equal(report.kept.length, 0);
    assert.equal(report.adapted.length, 0);
    assert.deepEqual(await fresh.predict(x, 3), probs, "probabilities changed after save/load");
  } finally {
    await fresh.dispose();
  }

  const onnx = exportOnnx(model, weights);
  const ort = (await import("onnxruntime-node")).default;
  const inference = await ort.InferenceSession.create(onnx);
  try {
    const logitsRef = await evalLogits(await backend("cpu"), model, weights, x, 3);
    const per = model.inChannels * model.imageSize * model.imageSize;
    const k = model.numClasses;
    for (const n of [1, 3]) {
      const input = new ort.Tensor("float32", x.slice(0, n * per), [
        n,
        model.inChannels,
        model.imageSize,
        model.imageSize,
      ]);
      const out = await inference.run({ input });
      assert.deepEqual(out.logits.dims, [n, k]);
      const p = out.probs.data as Float32Array;
      const l = out.logits.data as Float32Array;
      assert.ok(maxDiff(p, probs.subarray(0, n * k)) < 1e-4, `export probs differ at batch ${n}`);
      assert.ok(
        maxDiff(l, logitsRef.subarray(0, n * k)) < 1e-4,
        `export logits differ at batch ${n}`,
      );
    }
  } finally {
    await inference.release();
  }
}

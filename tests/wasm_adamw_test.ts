// The cpu backend's host optimizer: AdamW as one wasm SIMD pass over an arena
// that the state store and the train program's gradient outputs share. It must
// give the AdamW graph's bits, and everything that reads or writes state
// (checkpoints, setWeights, EMA, resets) must see the arena.

import assert from "node:assert/strict";
import { Graph } from "../lib/onnx/graph.ts";
import { add, mul } from "../lib/onnx/ops.ts";
import type { Backend } from "../lib/runtime/backend.ts";
import { Program, StateStore } from "../lib/runtime/program.ts";
import { createBackend } from "../lib/runtime/select.ts";
import { type AdamWConfig, adamWUpdate, optimizerScalars } from "../lib/train/optim.ts";
import { TrainingSession, type TrainingSessionOptions } from "../lib/train/session.ts";
import { WasmAdamW } from "../lib/train/wasm_adamw.ts";
import { Rng } from "../lib/util/rng.ts";
import { compileUpdateProgram } from "./_optim_program.ts";
import { syntheticBatch, tinyCnn } from "./_tiny_cnn.ts";

const backend = await createBackend("cpu", { verbose: false });

function randomArray(n: number, rng: Rng, scale: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}

/** Bit-exact equality of two float arrays, naming the first difference. */
function assertSameBits(got: Float32Array, want: Float32Array, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  const a = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const b = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) assert.fail(`${what}[${i}]: ${got[i]} vs ${want[i]} (graph)`);
  }
}

Deno.test("WasmAdamW gives the AdamW graph's bits: decay and no decay, with and without a gradient scale", async () => {
  const config: AdamWConfig = { name: "adamw", lr: 3e-2, weightDecay: 0.05 };
  // Sizes that are not multiples of the 4-float SIMD width or the 16-float slot.
  const params = [
    { name: "w", size: 37, decay: true },
    { name: "b", size: 5, decay: false },
    { name: "k", size: 64, decay: true },
  ];
  for (const gradScale of [undefined, 0.37]) {
    const rng = new Rng(7);
    const g = new Graph();
    const inputs = params.map((p) => ({
      name: p.name,
      value: g.input(p.name, "float32", [p.size]),
      grad: g.input(`g_${p.name}`, "float32", [p.size]),
      decay: p.decay,
    }));
    const scale = gradScale === undefined ? undefined : g.input("s", "float32", []);
    const update = adamWUpdate(g, inputs, config, { gradScale: scale });
    const names = params.map((p) => p.name);
    const program = await compileUpdateProgram(backend, g, update, names);
    const store = new StateStore(backend);
    const arena = new WasmAdamW({ params, config });
    for (const p of params) {
      const p0 = randomArray(p.size, rng, 0.5);
      store.set(p.name, p0, [p.size]);
      arena.param(p.name).set(p0);
      for (const s of update.stateInputs) {
        if (s.key.endsWith(`:${p.name}`)) store.set(s.key, new Float32Array(p.size), [p.size]);
      }
    }
    for (let t = 1; t <= 4; t++) {
      const lr = t === 1 ? 0 : config.lr / t; // a warmup's first step is lr 0
      const scalars = optimizerScalars(config, t, lr);
      const feeds: Record<string, Float32Array> = { ...scalars };
      if (gradScale !== undefined) feeds.s = Float32Array.of(gradScale);
      for (const p of params) {
        // Gradients over many magnitudes, and some exact zeros.
        const grad = randomArray(p.size, rng, 10 ** (t - 3)).map((v, i) => i % 7 === 3 ? 0 : v);
        feeds[`g_${p.name}`] = grad;
        arena.grad(p.name).set(grad);
      }
      await program.run(store, feeds);
      arena.step({
        stepSize: scalars["hp:step_size"][0],
        epsHat: scalars["hp:eps_hat"][0],
        decayFactor: scalars["hp:decay_factor"][0],
        gradScale,
      });
      for (const p of params) {
        const what = `step ${t}, scale ${gradScale}, ${p.name}`;
        assertSameBits(arena.param(p.name), (await store.read(p.name)) as Float32Array, what);
        const [m, v] = [`adam_m:${p.name}`, `adam_v:${p.name}`];
        assertSameBits(arena.moment1(p.name), (await store.read(m)) as Float32Array, `${what} m`);
        assertSameBits(arena.moment2(p.name), (await store.read(v)) as Float32Array, `${what} v`);
      }
    }
    store.dispose();
    await program.release();
  }
});

Deno.test("WasmAdamW's EMA pass gives the graph's d·ema + (1−d)·p bits", async () => {
  const n = 29;
  const decay = 0.999;
  const rng = new Rng(3);
  const arena = new WasmAdamW({
    params: [{ name: "w", size: n, decay: true }],
    config: { name: "adamw", lr: 1e-3 },
    ema: true,
  });
  const [ema0, p] = [randomArray(n, rng, 1), randomArray(n, rng, 1)];
  arena.ema("w").set(ema0);
  arena.param("w").set(p);
  arena.updateEma(decay);
  const g = new Graph();
  const e = g.input("e", "float32", [n]);
  const x = g.input("p", "float32", [n]);
  g.output("out", add(mul(e, decay), mul(x, 1 - decay)));
  const program = await Program.compile(backend, g);
  const out = await program.run(new StateStore(backend), { e: ema0, p });
  assertSameBits(arena.ema("w"), out.out as Float32Array, "ema");
  assert.throws(() => new WasmAdamW({ params: [], config: { name: "adamw", lr: 1 } }).ema("w"));
  await program.release();
});

const OPTIONS: TrainingSessionOptions = {
  batchSize: 8,
  optimizer: { name: "adamw", lr: 1e-2, weightDecay: 1e-2 },
  labelSmoothing: 0.1,
  clipGradNorm: 0.05,
  emaDecay: 0.9,
  seed: 5,
};

Deno.test("training with the host optimizer gives the in-graph AdamW's bits: weights, EMA, moments, losses", async () => {
  const host = await TrainingSession.create(backend, tinyCnn({ dropRate: 0.3 }), OPTIONS);
  const graph = await TrainingSession.create(backend, tinyCnn({ dropRate: 0.3 }), {
    ...OPTIONS,
    hostOptimizer: false,
  });
  assert.equal(host.hostOptimizer, true, "the cpu backend's default");
  assert.equal(graph.hostOptimizer, false);
  for (let t = 0; t < 4; t++) {
    const batch = syntheticBatch(8, 8, 20 + t);
    const [a, b] = [await host.trainStep(batch, 1e-2), await graph.trainStep(batch, 1e-2)];
    assert.equal(a.loss, b.loss, `step ${t} loss`);
    assert.equal(a.gradNorm, b.gradNorm, `step ${t} gradient norm`);
    assert.ok(a.gradNorm > OPTIONS.clipGradNorm!, "clipping is active");
  }
  for (const ema of [false, true]) {
    const [a, b] = [await host.getWeights({ ema }), await graph.getWeights({ ema })];
    for (const [name, w] of b) assertSameBits(a.get(name)!, w, `${name}${ema ? " (EMA)" : ""}`);
  }
  const [ma, mb] = [await host.getOptimizerState(), await graph.getOptimizerState()];
  assert.deepEqual([...ma.keys()], [...mb.keys()]);
  for (const [key, m] of mb) assertSameBits(ma.get(key)!, m, key);
  const x = syntheticBatch(8, 8, 99).x;
  assertSameBits(await host.predict(x, 8), await graph.predict(x, 8), "predict");
  assertSameBits(
    await host.predict(x, 8, { ema: true }),
    await graph.predict(x, 8, { ema: true }),
    "predict (EMA)",
  );
  await host.dispose();
  await graph.dispose();
});

Deno.test("the host optimizer's arena is the state: setWeights, optimizer state and resets write into it", async () => {
  const session = await TrainingSession.create(backend, tinyCnn(), OPTIONS);
  const batch = syntheticBatch(8, 8, 1);
  await session.trainStep(batch, 1e-2);
  // A checkpoint's round trip: save, train on, restore, and the next step
  // repeats exactly.
  const weights = await session.getWeights();
  const moments = await session.getOptimizerState();
  const emaWeights = await session.getWeights({ ema: true });
  const step = session.step;
  const first = await session.trainStep(batch, 1e-2);
  const after = await session.getWeights();
  session.setWeights(weights);
  session.setWeights(emaWeights, { ema: true });
  session.setOptimizerState(moments, step);
  assert.deepEqual(await session.getWeights(), weights, "setWeights wrote the arena");
  const again = await session.trainStep(batch, 1e-2);
  assert.equal(again.loss, first.loss);
  assert.deepEqual(await session.getWeights(), after, "the restored step repeats");
  // Resets zero the moments the arena holds.
  session.resetOptimizer();
  for (const m of (await session.getOptimizerState()).values()) assert.ok(m.every((v) => v === 0));
  // A second session's arena is its own.
  const other = await TrainingSession.create(backend, tinyCnn(), { ...OPTIONS, seed: 6 });
  assert.notDeepEqual(await other.getWeights(), await session.getWeights());
  await other.dispose();
  await session.dispose();
});

Deno.test("hostOptimizer: clear errors for SGD and for backends without host memory", async () => {
  await assert.rejects(
    () =>
      TrainingSession.create(backend, tinyCnn(), {
        ...OPTIONS,
        optimizer: { name: "sgd", lr: 0.1 },
        hostOptimizer: true,
      }),
    /hostOptimizer: only AdamW runs on the host, not sgd/,
  );
  const sgd = await TrainingSession.create(backend, tinyCnn(), {
    ...OPTIONS,
    optimizer: { name: "sgd", lr: 0.1 },
  });
  assert.equal(sgd.hostOptimizer, false, "SGD stays in the graph by default");
  await sgd.dispose();
  const wasm = await createBackend("wasm", { verbose: false });
  await assert.rejects(
    () => TrainingSession.create(wasm, tinyCnn(), { ...OPTIONS, hostOptimizer: true }),
    /hostOptimizer: only the cpu backend runs the optimizer on the host/,
  );
  const wasmSession = await TrainingSession.create(wasm, tinyCnn(), OPTIONS);
  assert.equal(wasmSession.hostOptimizer, false, "wasm keeps the graph's AdamW by default");
  await wasmSession.dispose();
});

Deno.test("StateStore.pin: state in caller memory, written by set, never replaced", () => {
  const store = new StateStore(backend);
  const memory = new Float32Array(4);
  store.pin("w", memory, [2, 2]);
  assert.equal(store.isPinned("w"), true);
  store.set("w", Float32Array.of(1, 2, 3, 4), [2, 2]);
  assert.deepEqual([...memory], [1, 2, 3, 4], "set copies into the pinned memory");
  assert.throws(
    () => store.set("w", Float32Array.of(1, 2), [2]),
    /state "w": 2 values for \[2\] do not fit its \[2, 2\]/,
  );
  assert.throws(
    () => store.replace("w", backend.upload(new Float32Array(4), [2, 2])),
    /state "w" is pinned to host memory; set its values instead/,
  );
  store.delete("w");
  assert.equal(store.isPinned("w"), false);
  const gpuLike = { ...backend, name: "webgpu" } as Backend;
  assert.throws(
    () => new StateStore(gpuLike).pin("w", memory, [4]),
    /only the cpu backend can keep state in host memory/,
  );
});

Deno.test("Program output bindings: written in place, and refused off the cpu backend", async () => {
  const g = new Graph();
  const x = g.input("x", "float32", [3]);
  g.output("y", mul(x, 2));
  g.output("z", add(x, 1));
  const y = new Float32Array(3);
  const program = await Program.compile(backend, g, { outputs: { y } });
  const out = await program.run(new StateStore(backend), { x: Float32Array.of(1, 2, 3) });
  assert.deepEqual([...y], [2, 4, 6]);
  assert.deepEqual(Object.keys(out), ["z"], "bound outputs are not returned");
  await program.release();
  await assert.rejects(
    () => Program.compile(backend, g, { outputs: { nope: y } }),
    /output binding "nope" is not an output/,
  );
  const wasm = await createBackend("wasm", { verbose: false });
  await assert.rejects(
    () => Program.compile(wasm, g, { outputs: { y } }),
    /only the cpu backend writes outputs into host memory/,
  );
});

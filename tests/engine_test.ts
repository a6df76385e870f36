// The engine's proofs: one train step's gradients agree across cpu, wasm and webgpu; a
// small CNN learns with its parameters kept on the device; memory does not
// grow over 1,000 steps; webgpu programs never fall back to the CPU.

import assert from "node:assert/strict";
import { Graph } from "../lib/onnx/graph.ts";
import * as op from "../lib/onnx/ops.ts";
import type { Backend, BackendName } from "../lib/runtime/backend.ts";
import { Program, StateStore } from "../lib/runtime/program.ts";
import { IDLE_TRANSFORMERS } from "../lib/runtime/cpu.ts";
import { createBackend } from "../lib/runtime/select.ts";
import { TrainingSession } from "../lib/train/session.ts";
import { createModel, type ModelName } from "../lib/models/registry.ts";
import { syntheticBatch, tinyCnn } from "./_tiny_cnn.ts";

const backends = new Map<BackendName, Promise<Backend>>();
function backend(name: BackendName): Promise<Backend> {
  let b = backends.get(name);
  if (!b) {
    b = createBackend(name);
    backends.set(name, b);
  }
  return b;
}

const OPTIONS = {
  batchSize: 8,
  optimizer: { name: "adamw" as const, lr: 1e-2, weightDecay: 1e-2 },
  labelSmoothing: 0.1,
  clipGradNorm: 1,
  seed: 3,
};

Deno.test("one train step gives the same loss and gradients on cpu, wasm and webgpu", async () => {
  // Plain SGD (no momentum, no weight decay) at lr 1 moves each parameter by
  // exactly its (clipped) gradient, so the weight change is the gradient
  // itself, magnitudes included; an AdamW step's first update is about
  // lr · sign(g) and would hide gradients that differ in size.
  const batch = syntheticBatch(8, 8, 11);
  const sgd = { ...OPTIONS, optimizer: { name: "sgd" as const, lr: 1, momentum: 0 } };
  const results = [];
  for (const name of ["cpu", "wasm", "webgpu"] as const) {
    const session = await TrainingSession.create(await backend(name), tinyCnn(), sgd);
    const before = await session.getWeights();
    const step = await session.trainStep(batch, 1);
    const after = await session.getWeights();
    const deltas = new Map<string, Float32Array>();
    for (const [key, w0] of before) {
      const w1 = after.get(key)!;
      deltas.set(key, w0.map((v, i) => v - w1[i]));
    }
    results.push({ name, step, deltas });
    await session.dispose();
  }
  const [ref, ...others] = results;
  assert.ok(Number.isFinite(ref.step.loss) && ref.step.loss > 0.3, `loss ${ref.step.loss}`);
  const fcGrad = ref.deltas.get("fc.weight")!;
  assert.ok(fcGrad.some((v) => Math.abs(v) > 1e-3), "the step moved fc.weight");
  for (const other of others) {
    assert.ok(Math.abs(other.step.loss - ref.step.loss) < 1e-4, `${other.name} loss differs`);
    assert.ok(Math.abs(other.step.gradNorm - ref.step.gradNorm) < 1e-4);
    for (const [key, d] of ref.deltas) {
      const o = other.deltas.get(key)!;
      const scale = d.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      let maxDiff = 0;
      for (let i = 0; i < d.length; i++) maxDiff = Math.max(maxDiff, Math.abs(d[i] - o[i]));
      assert.ok(
        maxDiff <= 1e-4 + 1e-3 * scale,
        `${other.name}: the gradient (update) of ${key} differs from cpu's by ${maxDiff} (max ${scale})`,
      );
    }
  }
});

async function trainToAccuracy(name: BackendName, steps: number) {
  const session = await TrainingSession.create(await backend(name), tinyCnn(), {
    ...OPTIONS,
    batchSize: 16,
    optimizer: { name: "adamw", lr: 1e-2 },
  });
  for (let i = 0; i < steps; i++) {
    await session.trainStep(syntheticBatch(16, 8, 1000 + i), 1e-2);
  }
  const test = syntheticBatch(64, 8, 7);
  const probs = await session.predict(test.x, 64);
  let correct = 0;
  for (let i = 0; i < 64; i++) {
    correct += Number((probs[2 * i + 1] > 0.5 ? 1 : 0) === test.labels[i]);
  }
  return { session, accuracy: correct / 64 };
}

Deno.test("a small CNN learns synthetic images to >= 95% accuracy on cpu", async () => {
  const { session, accuracy } = await trainToAccuracy("cpu", 200);
  assert.ok(accuracy >= 0.95, `accuracy ${accuracy}`);
  await session.dispose();
});

Deno.test("on webgpu the CNN learns with its parameters kept in GPU buffers", async () => {
  const { session, accuracy } = await trainToAccuracy("webgpu", 60);
  assert.ok(accuracy >= 0.95, `accuracy ${accuracy}`);
  for (const key of session.store.keys()) {
    assert.equal(session.store.get(key).location, "gpu-buffer", `${key} left the GPU`);
  }
  await session.dispose();
});

for (const name of ["cpu", "wasm", "webgpu"] as const) {
  Deno.test(`no memory growth over 1,000 steps on ${name}`, async () => {
    // In its own process: \`deno test --parallel\` runs other test files in this
    // one, so this process's RSS would count their allocations too.
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("./_leak_probe.ts", import.meta.url).pathname, name, "1000"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    // A leak of the replaced 1 MiB state would add about 500 MiB in the last 500 steps.
    const growth = Number(text);
    assert.ok(
      growth < 64 * 2 ** 20,
      `rss grew by ${(growth / 2 ** 20).toFixed(1)} MiB in 500 steps`,
    );
  });
}

Deno.test("the cpu backend trains and predicts the same bits on 1 and 2 threads (the study's backbones)", async () => {
  // What lets a study worker continue a run on a finished worker's cores.
  const [one, two] = [
    await createBackend("cpu", { threads: 1 }),
    await createBackend("cpu", { threads: 2 }),
  ];
  const x = Float32Array.from({ length: 32 * 3 * 28 * 28 }, (_, i) => Math.sin(i * 0.37));
  const targets = new Float32Array(64).map((_, i) => (i % 2 === Math.floor(i / 2) % 2 ? 1 : 0));
  const evalX = Float32Array.from({ length: 39 * 3 * 28 * 28 }, (_, i) => Math.cos(i * 0.11));
  const trace = async (backend: Backend, name: ModelName) => {
    const model = createModel(name, { numClasses: 2, inChannels: 3, imageSize: 28, dropRate: 0.3 });
    const s = await TrainingSession.create(backend, model, {
      ...OPTIONS,
      batchSize: 32,
      evalBatchSize: 39,
      frozenEval: "never",
    });
    try {
      const out: number[] = [];
      for (let i = 0; i < 2; i++) {
        const r = await s.trainStep({ x, targets }, 1e-3);
        out.push(r.loss, r.gradNorm);
      }
      out.push(...await s.predict(evalX, 39));
      for (const w of (await s.getWeights()).values()) out.push(...w.subarray(0, 64));
      return out;
    } finally {
      await s.dispose();
    }
  };
  for (const name of ["resnet18", "efficientnet_b0", "vit_tiny_patch16_224"] as const) {
    const [a, b] = [await trace(one, name), await trace(two, name)];
    const differ = a.findIndex((v, i) => !Object.is(v, b[i]));
    assert.equal(
      differ,
      -1,
      `${name}: value ${differ} is ${a[differ]} on 1 thread, ${b[differ]} on 2`,
    );
  }
});

Deno.test("the cpu backend skips onnxruntime transformers that cannot change its programs", async () => {
  // onnxruntime ignores unknown names: each skipped one must be one it runs by default.
  const log = async (mode: string) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("./_ort_transformers.ts", import.meta.url).pathname, mode],
      env: { MEDTUNE_ORT_LOG: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text);
    return new Set([...text.matchAll(/GraphTransformer (\w+) modified: (\d)/g)].map((m) => m[1]));
  };
  const [plain, medtune] = [await log("plain"), await log("medtune")];
  assert.ok(plain.has("ConstantFolding") && medtune.has("ConstantFolding"), [...medtune].join());
  for (const name of IDLE_TRANSFORMERS) {
    assert.ok(plain.has(name), `${name} is not a transformer onnxruntime runs`);
    assert.ok(!medtune.has(name), `${name} still runs on the cpu backend`);
  }
});

Deno.test("webgpu refuses a program with a node that would fall back to the CPU, naming it", async () => {
  const g = new Graph({ name: "sign_probe" });
  const x = g.input("x", "float32", [4]);
  const [s] = g.addNode("Sign", [x], [{ dtype: "float32", shape: [4] }]);
  g.output("y", op.relu(s));
  const gpu = await backend("webgpu");
  await assert.rejects(() => Program.compile(gpu, g), /Sign #0/);
  // The same program runs on cpu, where Sign exists.
  const cpu = await Program.compile(await backend("cpu"), g);
  const out = await cpu.run(new StateStore(await backend("cpu")), {
    x: Float32Array.of(-2, 0, 3, -1),
  });
  assert.deepEqual([...out.y], [0, 0, 1, 0]);
});

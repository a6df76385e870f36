// Every device tensor can be read back on webgpu: uploads (weights set from
// the host, a checkpoint, pretrained files) as well as program outputs. The
// whole life of a session — create, read, load timm weights, predict, train,
// set, save, load, export — gives the values of the reference backend (cpu;
// `MEDTUNE_REFERENCE_BACKEND=wasm` where onnxruntime-node is absent, as in the
// GPU check) within 1e-4, on the software adapter, CPU fallback refused.

import assert from "node:assert/strict";
import { createModel } from "../lib/models/mod.ts";
import type { Model } from "../lib/nn/model.ts";
import type { Backend, BackendName } from "../lib/runtime/backend.ts";
import { createBackend } from "../lib/runtime/select.ts";
import { Trainer } from "../lib/train/trainer.ts";
import { TrainingSession } from "../lib/train/session.ts";
import { torchResnet18File } from "./webgpu_fixtures.ts";

const TOL = 1e-4;

function referenceBackend(): Promise<Backend> {
  const name = (Deno.env.get("MEDTUNE_REFERENCE_BACKEND") ?? "cpu") as BackendName;
  return createBackend(name, { verbose: false });
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function assertWeightsClose(
  a: Map<string, Float32Array>,
  b: Map<string, Float32Array>,
  what: string,
  tol = TOL,
): void {
  assert.deepEqual([...a.keys()], [...b.keys()], what);
  for (const [name, x] of a) {
    const d = maxDiff(x, b.get(name)!);
    assert.ok(d <= tol, `${what}: ${name} differs by ${d}`);
  }
}

function batch(model: Model, n: number, seed: number) {
  const per = model.inChannels * model.imageSize * model.imageSize;
  const x = new Float32Array(n * per);
  let s = seed;
  for (let i = 0; i < x.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    x[i] = (s / 2 ** 32) * 2 - 1;
  }
  const targets = new Float32Array(n * model.numClasses);
  for (let i = 0; i < n; i++) targets[i * model.numClasses + (i % model.numClasses)] = 1;
  return { x, targets };
}

Deno.test("webgpu: upload -> download round-trips every dtype, repeatedly, and stays a GPU feed", async () => {
  const backend = await createBackend("webgpu", { verbose: false });
  try {
    const cases = [
      new Float32Array([1.5, -2.25, 3e-7, 1e30, -0, 7]),
      new Int32Array([0, -1, 2 ** 31 - 1, -(2 ** 31), 42]),
      new BigInt64Array([0n, -1n, 2n ** 40n, -(2n ** 62n)]),
      new Uint8Array([1, 0, 1]),
      new Float32Array(100_003).map((_, i) => Math.sin(i)),
    ];
    for (const data of cases) {
      const t = backend.upload(data, [data.length]);
      assert.equal(t.location, "gpu-buffer");
      const first = await backend.download(t);
      const second = await backend.download(t);
      assert.equal(first.constructor, data.constructor);
      assert.deepEqual(first, data);
      assert.deepEqual(second, data);
      assert.equal(t.location, "gpu-buffer", "reading does not turn the tensor into a host one");
      // onnxruntime's own getData works too (it has a downloader now).
      // deno-lint-ignore no-explicit-any
      assert.deepEqual(await (t as any).getData(), data);
      t.dispose();
    }
    // Concurrent reads of one tensor.
    const t = backend.upload(cases[4], [cases[4].length]);
    const reads = await Promise.all([1, 2, 3].map(() => backend.download(t)));
    for (const r of reads) assert.deepEqual(r, cases[4]);
    t.dispose();
  } finally {
    await backend.destroy();
  }
});

Deno.test("webgpu: a ResNet-18 session's whole life matches the reference backend within 1e-4", async () => {
  const gpu = await createBackend("webgpu", { verbose: false });
  const ref = await referenceBackend();
  const dir = await Deno.makeTempDir({ prefix: "medtune_webgpu_readback_" });
  try {
    const pretrained = `${dir}/resnet18_torch.safetensors`;
    await Deno.writeFile(pretrained, torchResnet18File());
    const model = createModel("resnet18", { numClasses: 2, inChannels: 1, imageSize: 28 });
    const make = async (backend: Backend) => {
      const session = await TrainingSession.create(backend, model, {
        batchSize: 2,
        evalBatchSize: 2,
        // SGD: the update is linear in the gradient, so backends agree after a step
        // (AdamW's m/sqrt(v) magnifies differences of near-zero gradients).
        optimizer: { name: "sgd", lr: 0.05, momentum: 0.9 },
        labelSmoothing: 0.1,
        clipGradNorm: 1,
        seed: 3,
      });
      const trainer = new Trainer(model, { backend });
      trainer.session = session;
      return { session, trainer };
    };
    const a = await make(gpu);
    const b = await make(ref);

    // Right after creation: uploaded, never replaced by a program output.
    const w0 = await a.session.getWeights();
    assertWeightsClose(w0, await b.session.getWeights(), "fresh weights", 0);

    // --pretrained: loadPretrained reads the current weights first (the head stays fresh).
    const ra = await a.trainer.loadPretrained(pretrained);
    await b.trainer.loadPretrained(pretrained);
    assert.deepEqual(ra.kept.map((k) => k.name).sort(), ["conv1.weight", "fc.bias", "fc.weight"]);
    const w1 = await a.session.getWeights();
    assertWeightsClose(w1, await b.session.getWeights(), "pretrained weights", 0);
    assert.notDeepEqual(w1.get("layer1.0.conv1.weight"), w0.get("layer1.0.conv1.weight"));

    const { x, targets } = batch(model, 2, 11);
    const pa = await a.session.predict(x, 2);
    const pb = await b.session.predict(x, 2);
    assert.ok(maxDiff(pa, pb) <= TOL, `predict differs by ${maxDiff(pa, pb)}`);

    for (let step = 0; step < 2; step++) {
      const sa = await a.session.trainStep({ x, targets }, 0.05);
      const sb = await b.session.trainStep({ x, targets }, 0.05);
      assert.ok(Math.abs(sa.loss - sb.loss) <= TOL, `loss ${sa.loss} vs ${sb.loss}`);
      assert.ok(maxDiff(sa.probs, sb.probs) <= TOL);
    }
    const w2 = await a.session.getWeights();
    assertWeightsClose(w2, await b.session.getWeights(), "weights after 2 SGD steps");
    const oa = await a.session.getOptimizerState();
    const ob = await b.session.getOptimizerState();
    for (const [k, v] of oa) assert.ok(maxDiff(v, ob.get(k)!) <= TOL, k);

    // setWeights -> every tensor is an upload again; save, load, export read them.
    a.session.setWeights(w1);
    b.session.setWeights(w1);
    assertWeightsClose(await a.session.getWeights(), w1, "after setWeights", 0);
    await a.trainer.save(`${dir}/a.safetensors`);
    await b.trainer.save(`${dir}/b.safetensors`);
    a.session.setWeights(w2);
    await a.trainer.load(`${dir}/a.safetensors`);
    assertWeightsClose(await a.session.getWeights(), w1, "after save -> load", 0);
    const pa2 = await a.session.predict(x, 2);
    assert.ok(maxDiff(pa2, pb) <= TOL, "predictions after load equal the pretrained ones");

    await a.trainer.exportOnnx(`${dir}/a.onnx`);
    await b.trainer.exportOnnx(`${dir}/b.onnx`);
    const ea = await Deno.readFile(`${dir}/a.onnx`);
    const eb = await Deno.readFile(`${dir}/b.onnx`);
    assert.ok(ea.length > 40e6, `export holds the weights (${ea.length} bytes)`);
    assert.deepEqual(ea, eb, "the exported models are byte-identical");

    await a.session.dispose();
    await b.session.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
    await gpu.destroy();
    await ref.destroy();
  }
});

// A subset of the VJP finite-difference checks on the webgpu backend (a
// software adapter here, so the cases stay small), with CPU fallback
// disabled: every node of these programs runs on the GPU.

import assert from "node:assert/strict";
import { Graph } from "../lib/onnx/graph.ts";
import { checkGradients } from "../lib/runtime/gradcheck.ts";
import { Program } from "../lib/runtime/program.ts";
import { createBackend } from "../lib/runtime/select.ts";
import { CASES, FUSED_CASES } from "./_gradcases.ts";

const SUBSET = [
  "Mul broadcast",
  "Softmax last axis",
  "MatMul batched broadcast",
  "Gemm transA=false transB=true alpha beta",
  "LayerNormalization",
  "Conv 3x3 stride 2 pad 1 (leftover row) (dilated, dX conv)",
  "Conv 3x3 same (dilated, dX conv)",
  "Conv depthwise 3x3 stride 2 (dilated, dX conv)",
  "MaxPool 3x3 stride 2 pad 1",
  "GlobalAveragePool",
  "Slice",
];

Deno.test("VJP rules match finite differences on webgpu (subset)", async (t) => {
  const backend = await createBackend("webgpu");
  for (const name of SUBSET) {
    const c = CASES.find((c) => c.name === name);
    assert.ok(c, `no case named ${name}`);
    await t.step(name, async () => {
      const report = await checkGradients(backend, c.build, { seed: 1, probes: 6, ...c.options });
      assert.ok(report.ok, `${name}: ${JSON.stringify(report.entries)}`);
    });
  }
});

Deno.test("fused gradients (GELU, training batch norm) match finite differences on webgpu", async (t) => {
  // Both run their per-channel affine maps as inference-form BatchNormalization
  // nodes (GELU on ViT's rank-3 [N, T, D]).
  const backend = await createBackend("webgpu");
  for (const c of FUSED_CASES.filter((c) => !c.name.endsWith("[5, 3]"))) {
    await t.step(c.name, async () => {
      const report = await checkGradients(backend, c.build, { seed: 1, probes: 6, ...c.options });
      assert.ok(report.ok, `${c.name}: ${JSON.stringify(report.entries)}`);
    });
  }
});

Deno.test("every backbone's train program compiles and steps on webgpu with CPU fallback refused", async () => {
  const { createModel, listModels } = await import("../lib/models/registry.ts");
  const { TrainingSession } = await import("../lib/train/session.ts");
  const backend = await createBackend("webgpu", { verbose: false });
  assert.equal(backend.name, "webgpu");
  // The guard the rest relies on: this backend refuses a node without a
  // WebGPU kernel instead of running it on the CPU.
  const probe = new Graph({ name: "sign_probe" });
  probe.output(
    "y",
    probe.addNode("Sign", [probe.input("x", "float32", [4])], [
      { dtype: "float32", shape: [4] },
    ])[0],
  );
  await assert.rejects(() => Program.compile(backend, probe), /Sign #0/);
  const batch = {
    x: Float32Array.from({ length: 2 * 28 * 28 }, (_, i) => Math.sin(i)),
    targets: Float32Array.of(1, 0, 0, 1),
  };
  for (const name of listModels()) {
    const model = createModel(name, {
      numClasses: 2,
      inChannels: 1,
      imageSize: 28,
      dropRate: 0.3,
      dropPathRate: 0.1,
    });
    // Compiles the train and eval programs as webgpu sessions.
    const session = await TrainingSession.create(backend, model, {
      batchSize: 2,
      optimizer: { name: "adamw", lr: 1e-3 },
      labelSmoothing: 0.1,
      clipGradNorm: 1,
    });
    const step = await session.trainStep(batch, 1e-3);
    assert.ok(Number.isFinite(step.loss) && step.loss > 0, `${name}: loss ${step.loss}`);
    assert.ok(Number.isFinite(step.gradNorm) && step.gradNorm > 0, `${name}: ${step.gradNorm}`);
    for (const key of session.store.keys()) {
      assert.equal(session.store.get(key).location, "gpu-buffer", `${name}: ${key} left the GPU`);
    }
    await session.dispose();
  }
});

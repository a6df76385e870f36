// A subset of the VJP finite-difference checks on the webgpu backend (a
// software adapter here, so the cases stay small), with CPU fallback
// disabled: every node of these programs runs on the GPU.

import assert from "node:assert/strict";
import { checkGradients } from "../lib/autodiff/gradcheck.ts";
import { createBackend } from "../lib/runtime/select.ts";
import { CASES } from "./_gradcases.ts";

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

Deno.test("every backbone's train program compiles on webgpu with CPU fallback disabled", async () => {
  // The webgpu backend creates sessions with `disable_cpu_ep_fallback`: a
  // single node without a WebGPU kernel would make the compilation throw.
  const { createModel } = await import("../lib/models/registry.ts");
  const { TrainingSession } = await import("../lib/train/session.ts");
  const backend = await createBackend("webgpu", { verbose: false });
  for (const name of ["resnet18", "efficientnet_b0", "vit_tiny"]) {
    const model = createModel(name, {
      numClasses: 2,
      imageSize: 32,
      dropRate: 0.3,
      dropPathRate: 0.1,
    });
    const session = await TrainingSession.create(backend, model, {
      batchSize: 2,
      optimizer: { name: "adamw", lr: 1e-3 },
      labelSmoothing: 0.1,
      clipGradNorm: 1,
    });
    assert.ok(session.parameterCount > 1e6, name);
    await session.dispose();
  }
});

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
  "Conv 3x3 stride 2 pad 1 (leftover row) (dilated)",
  "Conv depthwise 3x3 stride 2 (dilated)",
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

// Finite-difference check of every VJP rule on the cpu and wasm backends
// (a subset runs on webgpu in tests/webgpu_test.ts).

import assert from "node:assert/strict";
import { checkGradients } from "../lib/autodiff/gradcheck.ts";
import { createBackend } from "../lib/runtime/select.ts";
import type { Backend } from "../lib/runtime/backend.ts";
import { CASES } from "./_gradcases.ts";

for (const backendName of ["cpu", "wasm"] as const) {
  Deno.test(`VJP rules match finite differences on ${backendName}`, async (t) => {
    const backend: Backend = await createBackend(backendName);
    for (const c of CASES) {
      await t.step(c.name, async () => {
        const report = await checkGradients(backend, c.build, { seed: 1, ...c.options });
        assert.ok(report.ok, `${c.name}: ${JSON.stringify(report.entries)}`);
      });
    }
  });
}

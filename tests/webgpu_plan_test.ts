// Honest plans: the study's estimate comes from steps timed on the chosen
// backend at the study's image and batch size, says so, and on a software
// WebGPU adapter warns that it is a correctness device and suggests cpu.

import assert from "node:assert/strict";
import type { ModelName } from "../lib/models/registry.ts";
import { createBackend } from "../lib/runtime/select.ts";
import {
  estimateRunSeconds,
  planStudy,
  planStudyMeasured,
  type Throughput,
} from "../lib/study/plan.ts";
import { defaultStudy, planRuns } from "../lib/study/spec.ts";

const SIZES = { train: 546, val: 78, test: 156 };
const spec = defaultStudy({
  axes: { augment: ["basic"], schedule: ["cosine", "constant"], backbone: ["resnet18"] },
  seeds: [0],
  fixed: { imageSize: 28, epochs: 2, batchSize: 2, minEpochs: 0 },
});

Deno.test("estimateRunSeconds follows the throughput it is given", () => {
  const run = planRuns(spec)[0];
  const tp = new Map<ModelName, Throughput>([
    ["resnet18", { train: 10, eval: 20, startupSeconds: 3, measured: true }],
  ]);
  // 2 epochs × (273 steps × 2 images / 10 + 78 / 20) + (546 + 78 + 156) / 20 + 3
  const expected = 2 * ((273 * 2) / 10 + 78 / 20) + 780 / 20 + 3;
  assert.ok(Math.abs(estimateRunSeconds(run, SIZES, "cpu", tp) - expected) < 1e-9);
  const plan = planStudy(spec, { backend: "cpu", sizes: SIZES, throughput: tp });
  assert.ok(plan.measured);
  assert.equal(plan.runs.length, 2);
  assert.ok(Math.abs(plan.estimatedSeconds - 2 * expected) < 1e-9);
  const guessed = planStudy(spec, { backend: "cpu", sizes: SIZES });
  assert.equal(guessed.measured, false);
  assert.match(guessed.notes[0], /not measured/);
});

Deno.test("the plan is measured on the backend; a software adapter is flagged", async () => {
  const cpu = await createBackend("cpu", { verbose: false });
  const gpu = await createBackend("webgpu", { verbose: false });
  try {
    const lines: string[] = [];
    const onCpu = await planStudyMeasured(spec, cpu, { sizes: SIZES, log: (l) => lines.push(l) });
    assert.ok(onCpu.measured);
    assert.equal(lines.length, 1, "one warm-up per backbone, not per run");
    assert.match(onCpu.notes[0], /^measured on this backend: resnet18 train [\d.]+ \/ eval/);
    assert.ok(!onCpu.notes.some((n) => /software/.test(n)));
    const tp = onCpu.throughput!.get("resnet18")!;
    assert.ok(tp.train > 0 && tp.eval > tp.train / 2, JSON.stringify(tp));

    // Cached: planning again does not measure again.
    await planStudyMeasured(spec, cpu, { sizes: SIZES, log: (l) => lines.push(l) });
    assert.equal(lines.length, 1);

    // On the software adapter (measured there by the CLI test in webgpu_study_test.ts; the
    // warm-up takes minutes): the plan says it is not a training device and suggests cpu.
    assert.ok(gpu.software, `expected a software adapter here: ${gpu.description}`);
    const onGpu = await planStudyMeasured(spec, gpu, {
      sizes: SIZES,
      doneIds: new Set(planRuns(spec).map((r) => r.id)),
    });
    assert.equal(onGpu.runs.length, 0);
    assert.ok(
      onGpu.notes.some((n) => /software adapter.*correctness device.*--backend cpu/.test(n)),
      onGpu.notes.join("\n"),
    );
  } finally {
    await gpu.destroy();
    await cpu.destroy();
  }
});

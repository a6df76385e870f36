// Finite-difference check of every VJP rule on the cpu and wasm backends
// (a subset runs on webgpu in tests/webgpu_test.ts); every rule has a case,
// and every check probes the corners and edges of each input.

import assert from "node:assert/strict";
import { gradients } from "../lib/autodiff/gradients.ts";
import { RULES } from "../lib/autodiff/rules.ts";
import { Graph, type Tensor } from "../lib/onnx/graph.ts";
import * as op from "../lib/onnx/ops.ts";
import { checkGradients, probeIndices } from "../lib/runtime/gradcheck.ts";
import { createBackend } from "../lib/runtime/select.ts";
import type { Backend } from "../lib/runtime/backend.ts";
import { Rng } from "../lib/util/rng.ts";
import { CASES } from "./_gradcases.ts";

Deno.test("every op in RULES has a gradient-check case", () => {
  const covered = new Set<string>();
  for (const c of CASES) {
    const g = new Graph({ name: c.name });
    c.build(g);
    for (const node of g.nodes) covered.add(node.op);
  }
  const missing = Object.keys(RULES).filter((op) => !covered.has(op)).sort();
  assert.deepEqual(missing, [], `ops in RULES without a case in tests/_gradcases.ts: ${missing}`);
});

Deno.test("a gradient reaching an output that its rule ignores is an error, not a dropped term", () => {
  const g = new Graph();
  const x = g.input("x", "float32", [2, 4]);
  const [y, mean] = op.layerNormalization(x, g.input("s", "float32", [4]), null);
  const sum = (t: typeof y) => op.reduceSum(t, op.allAxes(t), { keepdims: false });
  assert.ok(gradients(sum(y), [x])[0], "the first output differentiates");
  assert.throws(
    () => gradients(op.add(sum(y), sum(mean)), [x]),
    /gradient reached output 1 of LayerNormalization node #0/,
  );
});

Deno.test("slice gradients that tile an axis are joined by one Concat; a gap keeps Pads and Adds", async () => {
  const backend = await createBackend("cpu", { threads: 1 });
  for (const ranges of [[[2, 4], [0, 2], [4, 6]], [[0, 2], [4, 6]]]) {
    const build = (g: Graph) => {
      const x = g.input("x", "float32", [2, 6, 3]);
      const w = g.input("w", "float32", [2, 2, 3]);
      let y: Tensor | null = null;
      ranges.forEach(([a, b], i) => {
        const piece = op.mul(op.slice(x, [a], [b], [1]), i === 0 ? w : op.mul(w, w));
        y = y ? op.add(y, piece) : piece;
      });
      return y!;
    };
    const g = new Graph();
    const y = build(g);
    const [dx] = gradients(op.reduceSum(y, op.allAxes(y), { keepdims: false }), [g.inputs[0]]);
    const producer = g.producer(dx!)!;
    const tiled = ranges.length === 3;
    assert.equal(producer.op, tiled ? "Concat" : "Add", `${JSON.stringify(ranges)}`);
    const report = await checkGradients(backend, build, { seed: 3, probes: 12 });
    assert.ok(report.ok, JSON.stringify(report.entries));
  }
});

Deno.test("blocked dW: one dilated Conv on large maps, per-tap GEMMs elsewhere", () => {
  // [x shape, kernel, stride, whether `blocked` takes the dilated form]
  const cases: [number[], number, number, boolean][] = [
    [[32, 64, 28, 28], 3, 1, true], // ResNet-18 layer 1 at 28 px
    [[32, 64, 28, 28], 3, 2, true], // layer 2's first conv: 196 positions
    [[32, 128, 14, 14], 3, 1, true],
    [[32, 256, 7, 7], 3, 1, false], // 49 positions
    [[32, 128, 32, 32], 3, 1, false], // dY of 4.2M values
    [[32, 64, 28, 28], 1, 1, false], // 1×1: a plain GEMM
    [[30, 64, 28, 28], 3, 1, false], // batch 30: not a multiple of 4
    [[6, 64, 28, 28], 3, 1, true], // batch below the block
  ];
  for (const [shape, k, stride, dilated] of cases) {
    for (const form of ["blocked", "im2col"] as const) {
      const g = new Graph();
      const x = g.input("x", "float32", shape);
      const w = g.input("w", "float32", [shape[1], shape[1], k, k]);
      const y = op.conv(x, w, null, { strides: [stride, stride], pads: Array(4).fill(k >> 1) });
      const [dw] = gradients(op.reduceSum(y, op.allAxes(y), { keepdims: false }), [w], {
        convWeightGrad: form,
      });
      assert.ok(dw);
      // the dilated form's Conv has dY (a whole output map) as its kernel
      const whole = g.nodes.filter((n) =>
        n.op === "Conv" && n.inputs[1]!.shape[2] === y.shape[2] &&
        n.inputs[1]!.shape[3] === y.shape[3] && y.shape[2] > 1
      );
      const expected = form === "blocked" && dilated ? 1 : 0;
      assert.equal(whole.length, expected, `${form} ${shape} ${k}x${k} s${stride}`);
      if (!expected) continue;
      assert.equal(g.producer(whole[0].inputs[0]!)!.op, "Transpose");
      // exactly the kernel's taps: no output window left over to compute and cut
      assert.deepEqual(whole[0].outputs[0].shape.slice(2), [k, k], `${shape} s${stride}`);
    }
  }
});

Deno.test("a pooled gradient spread over the map is added by broadcasting, not by an Expand", async () => {
  const backend = await createBackend("cpu", { threads: 1 });
  // Squeeze-excite's shape: x reaches the loss directly and through its global average.
  // `pooledFirst` orders the contributions the other way round (the Expand's comes first).
  for (const pooledFirst of [false, true]) {
    const forward = (g: Graph) => {
      const x = g.input("x", "float32", [2, 3, 4, 4]);
      const w = g.input("w", "float32", [2, 3, 4, 4]);
      const gate = op.sigmoid(op.globalAveragePool(x));
      const direct = op.mul(op.mul(x, w), gate);
      const pooled = op.mul(op.globalAveragePool(x), 0.5); // [2, 3, 1, 1], broadcast by the Add
      return pooledFirst ? op.add(pooled, direct) : op.add(direct, pooled);
    };
    const g = new Graph();
    const y = forward(g);
    const before = g.nodes.length;
    const seed = g.input("dy", "float32", y.shape);
    const [dx] = gradients(y, [g.inputs[0]], { outputGradient: seed });
    g.output("dx", dx!);
    const expands = g.liveNodes().filter((n) => n.op === "Expand" && n.index >= before);
    assert.equal(expands.length, 0, `pooledFirst=${pooledFirst}: ${expands.length} Expand nodes`);
    const report = await checkGradients(backend, (g) => {
      const out = forward(g);
      return op.reduceSum(op.mul(out, out), op.allAxes(out), { keepdims: false });
    }, { seed: 7, probes: 16 });
    assert.ok(report.ok, `pooledFirst=${pooledFirst}: ${JSON.stringify(report.entries)}`);
  }
});

Deno.test("probeIndices takes every corner and edge extreme, then distinct random elements", () => {
  // [3, 4, 5]: strides 20, 5, 1.
  const probes = probeIndices([3, 4, 5], 12, new Rng(4));
  const extremes = [0, 59, 40, 19, 15, 44, 4, 55];
  assert.deepEqual(probes.slice(0, 8).sort((a, b) => a - b), extremes.sort((a, b) => a - b));
  assert.equal(probes.length, 8 + 12);
  assert.equal(new Set(probes).size, probes.length);
  assert.ok(probes.every((i) => Number.isInteger(i) && i >= 0 && i < 60), `${probes}`);
  // Small tensors: every element, once.
  assert.deepEqual(probeIndices([2, 3], 12, new Rng(4)), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(probeIndices([], 12, new Rng(4)), [0]);
});

for (const backendName of ["cpu", "wasm"] as const) {
  Deno.test(`VJP rules match finite differences on ${backendName}`, async (t) => {
    const backend: Backend = await createBackend(backendName);
    for (const c of CASES) {
      await t.step(c.name, async () => {
        const report = await checkGradients(backend, c.build, { seed: 1, ...c.options });
        assert.ok(report.ok, `${c.name}: ${JSON.stringify(report.entries)}`);
        for (const e of report.entries) {
          const size = c.build(new Graph()).graph.inputs.find((i) => i.name === e.input)!.size;
          assert.ok(e.probed.includes(0) && e.probed.includes(size - 1), `${e.input}: ${e.probed}`);
        }
      });
    }
  });
}

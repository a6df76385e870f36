// Constant-weight convolutions whose kernel covers their whole (tiny) map run
// as one dense GEMM (lib/runtime/tiny_map_convs.ts): same outputs as Conv
// (with a following batch norm folded in), and every other conv left alone.

import assert, { equal } from "node:assert/strict";
import { createModel } from "../lib/models/registry.ts";
import { exportGraph } from "../lib/models/export.ts";
import { modelSpec } from "../lib/models/spec.ts";
import { Graph } from "../lib/onnx/graph.ts";
import * as op from "../lib/onnx/ops.ts";
import type { Backend } from "../lib/runtime/backend.ts";
import { createCpuBackend } from "../lib/runtime/cpu.ts";
import { denseTinyMapConvs } from "../lib/runtime/tiny_map_convs.ts";
import { Rng } from "../lib/util/rng.ts";

interface Case {
  name: string;
  x: number[];
  w: number[];
  o: op.ConvOptions;
  bias?: boolean;
  /** A batch norm reads the conv (its output is the graph's). */
  batchNorm?: boolean;
  /** The conv's output is also read by a second node (no folding). */
  twoReaders?: boolean;
  /** The weight is a graph input (changes per run), not a constant. */
  weightInput?: boolean;
  rewritten: number;
  folded: number;
}

const CASES: Case[] = [
  {
    name: "3x3 at 1x1",
    x: [3, 8, 1, 1],
    w: [16, 8, 3, 3],
    o: { pads: [1, 1, 1, 1] },
    bias: true,
    rewritten: 1,
    folded: 0,
  },
  {
    name: "3x3 at 2x2 + BN",
    x: [3, 8, 2, 2],
    w: [8, 8, 3, 3],
    o: { pads: [1, 1, 1, 1] },
    batchNorm: true,
    rewritten: 1,
    folded: 1,
  },
  {
    name: "3x3 stride 2, 2x2 -> 1x1 + BN",
    x: [3, 8, 2, 2],
    w: [16, 8, 3, 3],
    o: { strides: [2, 2], pads: [1, 1, 1, 1] },
    batchNorm: true,
    rewritten: 1,
    folded: 1,
  },
  {
    name: "1x1 at 1x1, bias",
    x: [3, 24, 1, 1],
    w: [6, 24, 1, 1],
    o: {},
    bias: true,
    rewritten: 1,
    folded: 0,
  },
  {
    name: "7x7 stride 2 pad 3, 3x3 -> 2x2",
    x: [2, 3, 3, 3],
    w: [8, 3, 7, 7],
    o: { strides: [2, 2], pads: [3, 3, 3, 3] },
    bias: true,
    rewritten: 1,
    folded: 0,
  },
  {
    name: "3x3 at 2x1, uneven pads",
    x: [2, 4, 2, 1],
    w: [4, 4, 3, 2],
    o: { pads: [1, 0, 1, 1] },
    rewritten: 1,
    folded: 0,
  },
  {
    name: "BN with a second reader stays",
    x: [3, 8, 2, 2],
    w: [8, 8, 3, 3],
    o: { pads: [1, 1, 1, 1] },
    batchNorm: true,
    twoReaders: true,
    rewritten: 1,
    folded: 0,
  },
  // Left alone: zero blocks (4x4 map; dilation skipping positions; stride 2 at 4x4), groups, and weights that are inputs.
  {
    name: "3x3 at 4x4",
    x: [2, 8, 4, 4],
    w: [8, 8, 3, 3],
    o: { pads: [1, 1, 1, 1] },
    rewritten: 0,
    folded: 0,
  },
  {
    name: "3x3 dilation 2 at 2x2",
    x: [2, 8, 2, 2],
    w: [8, 8, 3, 3],
    o: { pads: [2, 2, 2, 2], dilations: [2, 2] },
    rewritten: 0,
    folded: 0,
  },
  {
    name: "3x3 stride 2 at 4x4",
    x: [2, 8, 4, 4],
    w: [8, 8, 3, 3],
    o: { strides: [2, 2], pads: [1, 1, 1, 1] },
    rewritten: 0,
    folded: 0,
  },
  {
    name: "depthwise 3x3 at 1x1",
    x: [2, 8, 1, 1],
    w: [8, 1, 3, 3],
    o: { pads: [1, 1, 1, 1], group: 8 },
    rewritten: 0,
    folded: 0,
  },
  {
    name: "weight as input",
    x: [2, 8, 1, 1],
    w: [8, 8, 3, 3],
    o: { pads: [1, 1, 1, 1] },
    weightInput: true,
    rewritten: 0,
    folded: 0,
  },
];

function randoms(rng: Rng, n: number, scale = 1, offset = 0): Float32Array {
  return Float32Array.from({ length: n }, () => offset + scale * rng.normal());
}

function buildCase(c: Case, rng: Rng): { graph: Graph; feeds: Map<string, Float32Array> } {
  const g = new Graph({ name: c.name, dynamicBatch: true });
  const feeds = new Map<string, Float32Array>();
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const x = g.input("x", "float32", c.x);
  feeds.set("x", randoms(rng, size(c.x)));
  let w;
  if (c.weightInput) {
    w = g.input("w", "float32", c.w);
    feeds.set("w", randoms(rng, size(c.w), 0.2));
  } else w = g.constant(randoms(rng, size(c.w), 0.2), c.w);
  const m = c.w[0];
  const bias = c.bias ? g.constant(randoms(rng, m), [m]) : null;
  let y = op.conv(x, w, bias, c.o);
  const convOut = y;
  if (c.batchNorm) {
    y = op.batchNormalization(y, {
      scale: g.constant(randoms(rng, m, 0.5, 1), [m]),
      bias: g.constant(randoms(rng, m), [m]),
      mean: g.constant(randoms(rng, m), [m]),
      variance: g.constant(Float32Array.from({ length: m }, () => 0.001 * rng.float()), [m]),
    }, { epsilon: 1e-3 });
  }
  g.output("y", op.relu(y));
  if (c.twoReaders) g.output("z", op.mul(convOut, 2));
  return { graph: g, feeds };
}

async function run(
  backend: Backend,
  graph: Graph,
  feeds: Map<string, Float32Array>,
): Promise<Map<string, Float32Array>> {
  const session = await backend.createSession(graph.toModel());
  try {
    const inputs = Object.fromEntries(
      graph.inputs.map((t) => [t.name, backend.hostTensor(feeds.get(t.name)!, t.shape)]),
    );
    const out = await session.run(inputs);
    const result = new Map<string, Float32Array>();
    for (const name of graph.outputs.keys()) {
      result.set(name, await backend.download(out[name]) as Float32Array);
    }
    return result;
  } finally {
    await session.release();
  }
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  equal(a.length, b.length);
  let scale = 1e-3, d = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(a[i]));
    d = Math.max(d, Math.abs(a[i] - b[i]));
  }
  return d / scale;
}

Deno.test("denseTinyMapConvs: a conv whose kernel covers its map runs as one GEMM, equal to Conv; others are left alone", async () => {
  const backend = await createCpuBackend({ threads: 1 });
  const rng = new Rng(5);
  for (const c of CASES) {
    const { graph, feeds } = buildCase(c, rng);
    const rewrite = denseTinyMapConvs(graph);
    equal(rewrite.rewritten, c.rewritten, `${c.name}: rewritten`);
    equal(rewrite.foldedBatchNorms, c.folded, `${c.name}: folded batch norms`);
    const ops = rewrite.graph.liveNodes().map((n) => n.op);
    equal(ops.includes("Conv"), c.rewritten === 0, `${c.name}: ${ops.join(" ")}`);
    equal(
      ops.includes("BatchNormalization"),
      !!c.batchNorm && c.folded === 0,
      `${c.name}: ${ops.join(" ")}`,
    );
    if (c.rewritten === 0) {
      assert(rewrite.graph === graph, `${c.name}: an untouched graph is returned as is`);
      continue;
    }
    const want = await run(backend, graph, feeds);
    const got = await run(backend, rewrite.graph, feeds);
    for (const [name, y] of want) {
      const d = maxRelDiff(y, got.get(name)!);
      assert(d < 1e-5, `${c.name}, output ${name}: max relative difference ${d}`);
    }
  }
});

Deno.test("denseTinyMapConvs: over the size limit a conv stays a Conv", () => {
  const { graph } = buildCase(CASES[1], new Rng(1));
  // 8·2·2 × 8·2·2 floats = 4 KiB.
  equal(denseTinyMapConvs(graph, { maxMatrixBytes: 4096 }).rewritten, 1);
  equal(denseTinyMapConvs(graph, { maxMatrixBytes: 4095 }).rewritten, 0);
});

Deno.test("denseTinyMapConvs: exported backbones at 28 px give the same logits, batch sizes 1 and 5", async () => {
  const backend = await createCpuBackend({ threads: 1 });
  const rng = new Rng(11);
  const models = [
    // The 7x7 stem's layers 3 and 4 (2x2 and 1x1 maps) and EfficientNet-B0's 1x1 tail and SE convs.
    { model: createModel("resnet18", { numClasses: 2, imageSize: 28, smallInput: false }), min: 7 },
    { model: createModel("efficientnet_b0", { numClasses: 3, imageSize: 28 }), min: 30 },
  ];
  for (const { model, min } of models) {
    const spec = modelSpec(model);
    const weights = new Map<string, Float32Array>();
    for (const t of [...spec.params, ...spec.buffers]) {
      const n = t.shape.reduce((a, b) => a * b, 1);
      weights.set(
        t.name,
        t.name.endsWith("running_var")
          ? Float32Array.from({ length: n }, () => 0.5 + rng.float())
          : randoms(rng, n, t.shape.length === 4 ? 0.1 : 0.3),
      );
    }
    const graph = exportGraph(model, weights, { outputs: ["logits"] });
    const rewrite = denseTinyMapConvs(graph);
    assert(rewrite.rewritten >= min, `${model.name}: ${rewrite.rewritten} convs rewritten`);
    for (const batch of [1, 5]) {
      const feeds = new Map([["input", randoms(rng, batch * 3 * 28 * 28)]]);
      const want = await runBatch(backend, graph, feeds, batch);
      const got = await runBatch(backend, rewrite.graph, feeds, batch);
      const d = maxRelDiff(want, got);
      assert(d < 1e-4, `${model.name}, batch ${batch}: max relative logit difference ${d}`);
    }
  }
});

async function runBatch(
  backend: Backend,
  graph: Graph,
  feeds: Map<string, Float32Array>,
  batch: number,
): Promise<Float32Array> {
  const session = await backend.createSession(graph.toModel());
  try {
    const input = graph.inputs[0];
    const out = await session.run({
      [input.name]: backend.hostTensor(feeds.get(input.name)!, [batch, ...input.shape.slice(1)]),
    });
    return await backend.download(out.logits) as Float32Array;
  } finally {
    await session.release();
  }
}

// Convolutions lowered onto onnxruntime's blocked NCHWc kernels (cpu backend)
// compute what the plain ONNX Conv computes, forward and through every
// gradient rule, and the lowering reaches the backbones' convolutions.

import assert from "node:assert/strict";
import { checkGradients } from "../lib/runtime/gradcheck.ts";
import { gradients } from "../lib/autodiff/gradients.ts";
import { createModel } from "../lib/models/registry.ts";
import { ModelContext } from "../lib/nn/context.ts";
import { Graph } from "../lib/onnx/graph.ts";
import * as op from "../lib/onnx/ops.ts";
import { cpuNchwcBlockSize, createCpuBackend } from "../lib/runtime/cpu.ts";
import { GEMM_MAX_POSITIONS, lowerConvsToNchwc, NCHWC_DOMAIN } from "../lib/runtime/nchwc.ts";
import { Program, StateStore } from "../lib/runtime/program.ts";
import { Rng } from "../lib/util/rng.ts";

const onX86 = Deno.build.arch === "x86_64";

interface ConvCase {
  name: string;
  x: number[];
  w: number[];
  o: op.ConvOptions;
  bias?: boolean;
  /** Runs as `W · patchesᵀ` (fewer GEMM rows than columns, K > 128: same bits on any thread count). */
  transposedGemm?: boolean;
  /** Runs as Winograd F(2×2, 3×3): batched GEMMs, no row/column form to check. */
  winograd?: boolean;
}

// Channel counts that are multiples of 16 (the AVX-512 block; also of AVX2's
// 8), and some that are not (padded with zero filters and channels).
const CASES: ConvCase[] = [
  {
    name: "3x3 same, bias",
    x: [2, 16, 6, 6],
    w: [32, 16, 3, 3],
    o: { pads: [1, 1, 1, 1] },
    bias: true,
  },
  {
    name: "3x3 stride 2",
    x: [2, 32, 7, 7],
    w: [16, 32, 3, 3],
    o: { pads: [1, 1, 1, 1], strides: [2, 2] },
  },
  { name: "3x3 asymmetric pads", x: [1, 16, 5, 6], w: [16, 16, 3, 3], o: { pads: [0, 1, 2, 1] } },
  {
    name: "dilated 3x3",
    x: [1, 16, 9, 9],
    w: [16, 16, 3, 3],
    o: { pads: [2, 2, 2, 2], dilations: [2, 2] },
  },
  { name: "1x1 stride 2", x: [2, 32, 6, 6], w: [16, 32, 1, 1], o: { strides: [2, 2] } },
  { name: "NCHW input (3 channels)", x: [2, 3, 8, 8], w: [16, 3, 3, 3], o: { pads: [1, 1, 1, 1] } },
  {
    name: "depthwise 3x3",
    x: [2, 32, 6, 6],
    w: [32, 1, 3, 3],
    o: { pads: [1, 1, 1, 1], group: 32 },
  },
  {
    name: "padded channels 24 -> 40, bias",
    x: [2, 24, 6, 6],
    w: [40, 24, 3, 3],
    o: { pads: [1, 1, 1, 1] },
    bias: true,
  },
  { name: "padded 1x1 40 -> 24", x: [2, 40, 5, 5], w: [24, 40, 1, 1], o: {} },
  {
    name: "padded NCHW input 3 -> 24",
    x: [1, 3, 6, 6],
    w: [24, 3, 3, 3],
    o: { pads: [1, 1, 1, 1] },
  },
  {
    name: "padded depthwise 24, stride 2",
    x: [2, 24, 7, 7],
    w: [24, 1, 3, 3],
    o: { pads: [1, 1, 1, 1], strides: [2, 2], group: 24 },
  },
  {
    name: "small map as Winograd GEMMs: 3x3 on 4x4, bias",
    x: [2, 32, 4, 4],
    w: [16, 32, 3, 3],
    o: { pads: [1, 1, 1, 1] },
    bias: true,
    winograd: true,
  },
  {
    name: "small map as GEMM: 3x3 on 3x3 (odd: per tap), bias",
    x: [2, 16, 3, 3],
    w: [24, 16, 3, 3],
    o: { pads: [1, 1, 1, 1] },
    bias: true,
  },
  {
    name: "small map as GEMM: 3x3 stride 2 on 5x5 (transposed: 18 rows, 24 columns, K 144)",
    x: [2, 16, 5, 5],
    w: [24, 16, 3, 3],
    o: { pads: [1, 1, 1, 1], strides: [2, 2] },
    transposedGemm: true,
  },
  { name: "small map as GEMM: 1x1 on 2x2", x: [3, 40, 2, 2], w: [16, 40, 1, 1], o: {} },
  {
    name: "small map as GEMM: 1x3 on 2x4 (dX reverses one axis)",
    x: [2, 16, 2, 4],
    w: [24, 16, 1, 3],
    o: { pads: [0, 1, 0, 1] },
  },
  {
    name: "small map as GEMM: 3x3 on 1x1",
    x: [4, 32, 1, 1],
    w: [32, 32, 3, 3],
    o: { pads: [1, 1, 1, 1] },
  },
  {
    name: "small map as GEMM, fewer rows than columns: 1x1 on 1x1, 160 -> 48, bias (transposed)",
    x: [4, 160, 1, 1],
    w: [48, 160, 1, 1],
    o: {},
    bias: true,
    transposedGemm: true,
  },
  {
    name: "depthwise 5x5 stride 2",
    x: [1, 16, 9, 9],
    w: [16, 1, 5, 5],
    o: { pads: [2, 2, 2, 2], strides: [2, 2], group: 16 },
  },
];

function build(c: ConvCase) {
  return (g: Graph) =>
    op.conv(
      g.input("x", "float32", c.x),
      g.input("w", "float32", c.w),
      c.bias ? g.input("b", "float32", [c.w[0]]) : null,
      c.o,
    );
}

Deno.test({
  name: "NCHWc lowering: every conv form equals plain Conv on the cpu backend",
  ignore: !onX86,
  async fn() {
    const block = await cpuNchwcBlockSize();
    assert.ok(block === 8 || block === 16, `unexpected NCHWc block size ${block}`);
    const lowered = await createCpuBackend();
    const plain = await createCpuBackend({ nchwc: false });
    const rng = new Rng(5);
    for (const c of CASES) {
      const g = new Graph({ name: c.name });
      g.output("y", build(c)(g));
      const { lowered: count, graph } = lowerConvsToNchwc(g, { blockSize: block });
      assert.equal(count, 1, `${c.name}: not lowered`);
      // Small output maps run as one GEMM; the rest on the blocked kernels.
      const y = g.outputs.get("y")!;
      const small = y.shape[2] * y.shape[3] <= GEMM_MAX_POSITIONS && (c.o.group ?? 1) === 1;
      const lowering = small
        ? (n: { op: string }) => n.op === "MatMul"
        : (n: { op: string; domain?: string }) => n.domain === NCHWC_DOMAIN && n.op === "Conv";
      assert.ok(graph.nodes.some(lowering), `${c.name}: expected ${small ? "a GEMM" : "NCHWc"}`);
      // The transposed GEMM's output is [M, N·L]; the usual one's [N·L, M].
      const gemmOut = graph.nodes.find((n) => n.op === "MatMul")?.outputs[0].shape;
      if (small && !c.winograd) {
        assert.equal(gemmOut?.[0] === c.w[0], !!c.transposedGemm, c.name);
      }
      const feeds: Record<string, Float32Array> = {};
      for (const t of g.inputs) {
        feeds[t.name] = Float32Array.from({ length: t.size }, () => rng.normal());
      }
      const run = async (backend: typeof lowered) => {
        const program = await Program.compile(backend, g, { label: c.name });
        const out = (await program.run(new StateStore(backend), feeds)).y as Float32Array;
        await program.release();
        return out;
      };
      const [a, b] = [await run(lowered), await run(plain)];
      let d = 0;
      for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
      assert.ok(d < 1e-4, `${c.name}: lowered vs plain max |Δ| = ${d}`);
    }
  },
});

Deno.test({
  name: "NCHWc lowering: conv gradients (forward, dX as conv, dW) match finite differences",
  ignore: !onX86,
  async fn(t) {
    const backend = await createCpuBackend();
    for (const c of CASES) {
      await t.step(c.name, async () => {
        const report = await checkGradients(backend, build(c), { seed: 2, probes: 8 });
        assert.ok(report.ok, `${c.name}: ${JSON.stringify(report.entries)}`);
      });
    }
  },
});

Deno.test({
  name:
    "NCHWc lowering: a small map's conv and input gradient run per tap, on one slice per kernel tap",
  ignore: !onX86,
  async fn() {
    // A stride-1 3x3 conv on a 3x3 map and its input gradient run as one GEMM
    // per kernel tap (4x4 maps take Winograd: the next test): no patches, and the rule's flip of the weight (a
    // weight-sized Slice) is no longer computed: the input gradient takes the
    // forward's taps in reverse order.
    const block = await cpuNchwcBlockSize();
    const g = new Graph({ name: "small map dx" });
    const x = g.input("x", "float32", [2, 40, 3, 3]);
    const w = g.input("w", "float32", [48, 40, 3, 3]);
    const y = op.conv(x, w, null, { pads: [1, 1, 1, 1] });
    const loss = op.reduceSum(op.mul(y, y), [0, 1, 2, 3], { keepdims: false });
    const [dx, dw] = gradients(loss, [x, w]);
    g.output("dx", dx!);
    g.output("dw", dw!);
    // The rewrite recognizes exactly what reverse() writes.
    assert.equal(op.reversedFrom(op.reverse(w, [2, 3]), [2, 3]), w);
    assert.equal(op.reversedFrom(op.reverse(w, [3]), [2, 3]), undefined);
    assert.equal(op.reversedFrom(op.slice(w, [0], [2], [3]), [3]), undefined);
    const row = g.input("row", "float32", [4, 4, 1, 3]);
    assert.equal(op.reversedFrom(op.reverse(row, [2, 3]), [2, 3]), row, "1x3: one axis sliced");
    // Slices with steps are flips; the per-tap slices have none.
    const flips = (nodes: readonly { op: string; inputs: readonly unknown[] }[]) =>
      nodes.filter((n) => n.op === "Slice" && n.inputs.length === 5).length;
    assert.equal(flips(g.liveNodes()), 1, "the rule writes the flip as one Slice");
    const { graph } = lowerConvsToNchwc(g, { blockSize: block });
    const live = graph.liveNodes();
    assert.equal(flips(live), 0, "flip left in the program");
    const patchConvs = live.filter((n) => n.op === "Conv" && graph.constants.has(n.inputs[1]!));
    assert.equal(patchConvs.length, 0, "patches left in the program");
    const tapSlices = live.filter((n) =>
      n.op === "Slice" && n.inputs[0]!.shape.join() === `${48 * 40},9`
    );
    assert.equal(tapSlices.length, 9, "the forward and dX share the kernel's taps");
    // Forward ([·, 40] rows) and dX ([·, 48] rows of dY): 9 taps each, as a
    // 3x3 kernel with pad 1 reaches inside a 4x4 map from every tap.
    const gemmsOn = (c: number) =>
      live.filter((n) =>
        n.op === "MatMul" && n.inputs[0]!.rank === 2 && n.inputs[0]!.shape[1] === c
      )
        .length;
    assert.equal(gemmsOn(40), 9, "forward taps");
    assert.equal(gemmsOn(48), 9, "dX taps");
    // And the result is still the gradient (finite differences).
    const report = await checkGradients(
      await createCpuBackend(),
      (gg: Graph) =>
        op.conv(
          gg.input("x", "float32", [2, 40, 3, 3]),
          gg.input("w", "float32", [48, 40, 3, 3]),
          null,
          { pads: [1, 1, 1, 1] },
        ),
      { seed: 4, probes: 8 },
    );
    assert.ok(report.ok, JSON.stringify(report.entries));
  },
});

Deno.test({
  name: "NCHWc lowering: 3x3 same convs on 4x4 maps run as Winograd F(2x2, 3x3), with dX and dW",
  ignore: !onX86,
  async fn() {
    // ResNet-18's last stage at 28 px: the forward conv and its input
    // gradient (lowering) and the blocked weight gradient (gradient rule) are
    // 16 batched GEMMs each, sharing one weight transform: no per-tap slices
    // of the weight, no per-tap sums.
    const block = await cpuNchwcBlockSize();
    const [n, c, m] = [32, 64, 48];
    const build = (g: Graph) => {
      const x = g.input("x", "float32", [n, c, 4, 4]);
      const w = g.input("w", "float32", [m, c, 3, 3]);
      const dy = g.input("dy", "float32", [n, m, 4, 4]);
      const y = op.conv(x, w, null, { pads: [1, 1, 1, 1] });
      const loss = op.reduceSum(op.mul(y, dy), [0, 1, 2, 3], { keepdims: false });
      const [dx, dw] = gradients(loss, [x, w], { convWeightGrad: "blocked" });
      g.output("y", y);
      g.output("dx", dx!);
      g.output("dw", dw!);
    };
    const g = new Graph({ name: "winograd" });
    build(g);
    const live = lowerConvsToNchwc(g, { blockSize: block }).graph.liveNodes();
    const batched = live.filter((n) => n.op === "MatMul" && n.outputs[0].shape[0] === 16);
    // forward [16, N·T, M], dX [16, N·T, C], dW [16, M, C], weight transform [16, M·C]
    assert.deepEqual(
      batched.map((n) => n.outputs[0].shape.join()).sort(),
      [`16,${n * 4},${c}`, `16,${n * 4},${m}`, `16,${m * c}`, `16,${m},${c}`].sort(),
    );
    assert.equal(live.filter((n) => n.op === "Split" || n.op === "Sum").length, 0, "per-tap left");
    // The same numbers as the plain Conv and its im2col gradients.
    const rng = new Rng(8);
    const feeds: Record<string, Float32Array> = {};
    for (const t of g.inputs) {
      feeds[t.name] = Float32Array.from({ length: t.size }, () => rng.normal());
    }
    const run = async (backend: Awaited<ReturnType<typeof createCpuBackend>>, mode: string) => {
      const gg = new Graph({ name: mode });
      const x = gg.input("x", "float32", [n, c, 4, 4]);
      const w = gg.input("w", "float32", [m, c, 3, 3]);
      const dy = gg.input("dy", "float32", [n, m, 4, 4]);
      const y = op.conv(x, w, null, { pads: [1, 1, 1, 1] });
      const loss = op.reduceSum(op.mul(y, dy), [0, 1, 2, 3], { keepdims: false });
      const [dx, dw] = gradients(loss, [x, w], { convWeightGrad: mode as "blocked" });
      gg.output("y", y);
      gg.output("dx", dx!);
      gg.output("dw", dw!);
      const program = await Program.compile(backend, gg, { label: mode });
      const out = await program.run(new StateStore(backend), feeds);
      await program.release();
      return out as Record<string, Float32Array>;
    };
    const wino = await run(await createCpuBackend(), "blocked");
    const plain = await run(await createCpuBackend({ nchwc: false }), "im2col");
    for (const k of ["y", "dx", "dw"]) {
      let d = 0, scale = 0;
      for (let i = 0; i < plain[k].length; i++) {
        d = Math.max(d, Math.abs(wino[k][i] - plain[k][i]));
        scale = Math.max(scale, Math.abs(plain[k][i]));
      }
      assert.ok(d < 2e-6 * scale, `${k}: Winograd vs plain max |Δ| = ${d} of ${scale}`);
    }
  },
});

Deno.test({
  name:
    "NCHWc lowering: a blocked input gradient flips its kernel as rows of taps, in two fast transposes",
  ignore: !onX86,
  async fn() {
    // On an 8x8 map the dX conv runs on the blocked kernels. Its kernel
    // flip(W)ᵀ is reordered from W itself: runs of B·K² floats to block-pair
    // order, then each pair's [B·B, K²] transposed to [K², B·B] (rows
    // reversed for the flip). No 6-D transpose and no element-wise flip of
    // the 4-D kernel are left.
    const block = await cpuNchwcBlockSize();
    const build = (g: Graph) => {
      const x = g.input("x", "float32", [2, 32, 8, 8]);
      const w = g.input("w", "float32", [48, 32, 3, 3]);
      const y = op.conv(x, w, null, { pads: [1, 1, 1, 1] });
      const loss = op.reduceSum(op.mul(y, y), [0, 1, 2, 3], { keepdims: false });
      const [dx] = gradients(loss, [x]);
      g.output("dx", dx!);
      return g;
    };
    const g = build(new Graph({ name: "blocked dx" }));
    const { graph } = lowerConvsToNchwc(g, { blockSize: block });
    const live = graph.liveNodes();
    const flips = live.filter((n) => n.op === "Slice" && n.inputs.length === 5);
    const pairs = (48 / block) * (32 / block);
    assert.deepEqual(
      flips.map((n) => n.inputs[0]!.shape),
      [[pairs, 9, block * block]],
      "one flip, of tap rows",
    );
    assert.equal(live.filter((n) => n.op === "Transpose" && n.inputs[0]!.rank === 6).length, 0);
    assert.equal(live.filter((n) => n.op === "Conv" && n.domain === NCHWC_DOMAIN).length, 2);
    // Same numbers as the plain Conv's gradient.
    const rng = new Rng(9);
    const feeds: Record<string, Float32Array> = {};
    for (const t of g.inputs) {
      feeds[t.name] = Float32Array.from({ length: t.size }, () => rng.normal());
    }
    const run = async (backend: Awaited<ReturnType<typeof createCpuBackend>>) => {
      const program = await Program.compile(backend, g, { label: "blocked dx" });
      const out = (await program.run(new StateStore(backend), feeds)).dx as Float32Array;
      await program.release();
      return out;
    };
    const [a, b] = [
      await run(await createCpuBackend()),
      await run(await createCpuBackend({ nchwc: false })),
    ];
    let d = 0, scale = 0;
    for (let i = 0; i < a.length; i++) {
      d = Math.max(d, Math.abs(a[i] - b[i]));
      scale = Math.max(scale, Math.abs(b[i]));
    }
    assert.ok(d < 1e-5 * scale, `lowered vs plain dX max |Δ| = ${d} (max |dX| ${scale})`);
  },
});

Deno.test({
  name:
    "NCHWc lowering: a strided ConvTranspose on a small map runs as per-tap GEMMs and equals the plain one",
  ignore: !onX86,
  async fn() {
    // [dY, W, options]: ResNet's stride-2 3x3 and 1x1 input gradients (odd
    // and even outputs), a 1x1 map, a stride larger than the kernel (a
    // phase no tap reaches), asymmetric pads with a bias.
    const cases: [number[], number[], op.ConvTransposeOptions, boolean][] = [
      [[2, 24, 4, 4], [24, 16, 3, 3], { strides: [2, 2], pads: [1, 1, 1, 1] }, false],
      [[2, 24, 4, 4], [24, 16, 3, 3], {
        strides: [2, 2],
        pads: [1, 1, 1, 1],
        outputPadding: [1, 1],
      }, false],
      [[2, 24, 4, 4], [24, 16, 1, 1], { strides: [2, 2] }, false],
      [
        [3, 8, 1, 1],
        [8, 5, 3, 3],
        { strides: [2, 2], pads: [1, 1, 1, 1], outputPadding: [1, 1] },
        false,
      ],
      [[2, 8, 3, 2], [8, 6, 2, 2], { strides: [3, 3] }, false],
      [[2, 8, 3, 3], [8, 6, 3, 3], { strides: [2, 2], pads: [0, 1, 1, 0] }, true],
    ];
    const rng = new Rng(13);
    for (const [xs, ws, o, bias] of cases) {
      const label = `${xs} * ${ws} ${JSON.stringify(o)}${bias ? " + bias" : ""}`;
      const g = new Graph({ name: "convT" });
      const x = g.input("x", "float32", xs);
      const w = g.input("w", "float32", ws);
      const b = bias ? g.input("b", "float32", [ws[1]]) : null;
      g.output("y", op.convTranspose(x, w, b, o));
      const { graph, loweredTransposes } = lowerConvsToNchwc(g, { blockSize: 16 });
      assert.equal(loweredTransposes, 1, label);
      const live = graph.liveNodes();
      assert.equal(live.filter((n) => n.op === "ConvTranspose").length, 0, label);
      const feeds: Record<string, Float32Array> = {};
      for (const t of g.inputs) {
        feeds[t.name] = Float32Array.from({ length: t.size }, () => rng.normal());
      }
      const run = async (backend: Awaited<ReturnType<typeof createCpuBackend>>) => {
        const program = await Program.compile(backend, g, { label });
        const out = (await program.run(new StateStore(backend), feeds)).y as Float32Array;
        await program.release();
        return out;
      };
      const a = await run(await createCpuBackend());
      const ref = await run(await createCpuBackend({ nchwc: false }));
      assert.equal(a.length, ref.length, label);
      let d = 0;
      for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - ref[i]));
      assert.ok(d < 1e-4, `${label}: lowered vs plain max |Δ| = ${d}`);
    }
  },
});

for (const name of ["resnet18", "efficientnet_b0"] as const) {
  Deno.test({
    name:
      `NCHWc lowering reaches every ${name} forward and stride-1 input-gradient convolution, and its small strided ones`,
    ignore: !onX86,
    fn: () => checkReach(name),
  });
}

async function checkReach(name: "resnet18" | "efficientnet_b0") {
  {
    const block = await cpuNchwcBlockSize();
    const model = createModel(name, { numClasses: 2, imageSize: 28 });
    const ctx = new ModelContext("train", { name: "r18" });
    const x = ctx.graph.input("x", "float32", [2, 3, 28, 28]);
    const loss = op.reduceSum(model.build(ctx, x), [0, 1], { keepdims: false });
    const params = [...ctx.params.values()].map((p) => p.tensor);
    gradients(loss, params).forEach((gr, i) => ctx.graph.output(`g${i}`, gr!));
    ctx.graph.output("loss", loss);
    const convs = ctx.graph.nodes.filter((n) =>
      n.op === "Conv" && !ctx.graph.constants.has(n.inputs[1]!)
    );
    const { lowered, loweredTransposes } = lowerConvsToNchwc(ctx.graph, { blockSize: block });
    // Forward convs (stems with 3 input channels included) and the stride-1
    // dX convs: every non-constant-weight Conv qualifies (padded where needed).
    assert.equal(lowered, convs.length);
    // Strided dX on maps of ≤ 7×7: ResNet-18's last two stages (3x3 and 1x1
    // shortcut each); EfficientNet's strided convs are depthwise.
    assert.equal(loweredTransposes, name === "resnet18" ? 4 : 0);
    assert.ok(lowered >= 32, `only ${lowered} convs lowered`);
  }
}

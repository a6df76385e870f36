/**
 * Experiment (issue 10): a 3×3 stride-1 convolution as Winograd F(2×2, 3×3) in
 * plain ONNX ops — input transform as a fixed 4×4/stride-2 conv per channel,
 * 16 batched MatMuls, output transform as one MatMul over the 16 axis and a
 * transpose — against the engine's conv, for the forward pass and each
 * gradient (dX, dW), batch 32, on the cpu backend with its NCHWc lowering.
 * Prints the median of 7 alternating runs per form and the forward error.
 *
 * Result on the 2-core development machine (AVX-512, quiet): Winograd's 2.25×
 * fewer multiplies do not pay for the transforms' memory traffic when each
 * transform is a separate ONNX node (forward 1.2–1.9× slower, dX slower, dW
 * within ±13%), so the engine does not use it on those maps. On 4×4 maps,
 * where the engine's alternative is per-tap GEMMs (not the blocked kernels),
 * it does, with the transforms as small constant GEMMs:
 * `lib/autodiff/winograd.ts`. Run:
 * `deno run -A bench/winograd_experiment.ts`.
 *
 * @module
 */
import { Graph, type Tensor } from "../lib/onnx/graph.ts";
import { conv, matmul, mul, pad, reduceSum, reshape, slice, transpose } from "../lib/onnx/ops.ts";
import { gradients } from "../lib/autodiff/gradients.ts";
import { createCpuBackend } from "../lib/runtime/cpu.ts";
import { Program, StateStore } from "../lib/runtime/program.ts";

const BT = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]];
const G = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]];
const AT = [[1, 1, 1, 0], [0, 1, -1, -1]];

function winogradConv(x: Tensor, w: Tensor): Tensor {
  const g = x.graph;
  const [n, c, h, wd] = x.shape;
  const k = w.shape[0];
  const t = Math.ceil(h / 2), extra = 2 * t - h;
  const xp = pad(x, [0, 0, 1, 1, 0, 0, 1 + extra, 1 + extra]);
  // input transform: V[ij] = sum_ab BT[i][a] BT[j][b] d[a][b]
  const bk = new Float32Array(16 * 16);
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) {
      for (let a = 0; a < 4; a++) {
        for (let b = 0; b < 4; b++) bk[(i * 4 + j) * 16 + a * 4 + b] = BT[i][a] * BT[j][b];
      }
    }
  }
  const v = conv(
    reshape(xp, [n * c, 1, 2 * t + 2, 2 * t + 2]),
    g.constant(bk, [16, 1, 4, 4]),
    null,
    {
      strides: [2, 2],
    },
  ); // [n*c, 16, t, t]
  const vt = reshape(transpose(reshape(v, [n, c, 16, t * t]), [2, 1, 0, 3]), [16, c, n * t * t]);
  // weight transform: U[ij] = sum_ab G[i][a] G[j][b] g[a][b]  -> [16, k, c]
  const gk = new Float32Array(9 * 16);
  for (let a = 0; a < 3; a++) {
    for (let b = 0; b < 3; b++) {
      for (let i = 0; i < 4; i++) {
        for (let j = 0; j < 4; j++) gk[(a * 3 + b) * 16 + i * 4 + j] = G[i][a] * G[j][b];
      }
    }
  }
  const u = transpose(
    reshape(matmul(reshape(w, [k * c, 9]), g.constant(gk, [9, 16])), [k, c, 16]),
    [2, 0, 1],
  ); // [16, k, c]
  const m = matmul(u, vt); // [16, k, n*t*t]
  // output transform: Y[pq] = sum_ij AT[p][i] AT[q][j] M[ij]
  const ak = new Float32Array(4 * 16);
  for (let p = 0; p < 2; p++) {
    for (let q = 0; q < 2; q++) {
      for (let i = 0; i < 4; i++) {
        for (let j = 0; j < 4; j++) ak[(p * 2 + q) * 16 + i * 4 + j] = AT[p][i] * AT[q][j];
      }
    }
  }
  const y4 = matmul(g.constant(ak, [4, 16]), reshape(m, [16, k * n * t * t])); // [4, k*n*t*t]
  const y = reshape(
    transpose(reshape(y4, [2, 2, k, n, t, t]), [3, 2, 4, 0, 5, 1]),
    [n, k, 2 * t, 2 * t],
  );
  return extra ? slice(y, [0, 0], [h, wd], [2, 3]) : y;
}

const be = await createCpuBackend();
const st = new StateStore(be);
const rand = (len: number) => Float32Array.from({ length: len }, () => Math.random() - 0.5);
for (const [c, h] of [[64, 28], [128, 14], [256, 7]]) {
  const n = 32, xS = [n, c, h, h], wS = [c, c, 3, 3];
  const feeds = { x: rand(n * c * h * h), w: rand(c * c * 9), dy: rand(n * c * h * h) };
  const build = async (f: (x: Tensor, w: Tensor) => Tensor, backward: boolean | "dx" | "dw") => {
    const g = new Graph({ name: "p" });
    const x = g.input("x", "float32", xS), w = g.input("w", "float32", wS);
    const y = f(x, w);
    if (!backward) g.output("y", y);
    else {
      const dy = g.input("dy", "float32", xS);
      const [dx, dw] = gradients(reduceSum(mul(y, dy), [0, 1, 2, 3]), [x, w]);
      if (backward !== "dw") g.output("dx", dx!);
      if (backward !== "dx") g.output("dw", dw!);
    }
    return await Program.compile(be, g);
  };
  const direct = (x: Tensor, w: Tensor) => conv(x, w, null, { pads: [1, 1, 1, 1] });
  // correctness first
  const pd = await build(direct, false), pw = await build(winogradConv, false);
  const yd = (await pd.run(st, feeds)).y as Float32Array,
    yw = (await pw.run(st, feeds)).y as Float32Array;
  let err = 0, ref = 0;
  for (let i = 0; i < yd.length; i++) {
    err = Math.max(err, Math.abs(yd[i] - yw[i]));
    ref = Math.max(ref, Math.abs(yd[i]));
  }
  const progs = [
    pd,
    pw,
    await build(direct, "dx"),
    await build(winogradConv, "dx"),
    await build(direct, "dw"),
    await build(winogradConv, "dw"),
  ];
  const ts: number[][] = progs.map(() => []);
  for (let i = 0; i < 2; i++) for (const p of progs) await p.run(st, feeds);
  for (let i = 0; i < 7; i++) {
    for (let j = 0; j < progs.length; j++) {
      const t0 = performance.now();
      await progs[j].run(st, feeds);
      ts[j].push(performance.now() - t0);
    }
  }
  const med = ts.map((a) => a.sort((p, q) => p - q)[3].toFixed(1));
  console.log(
    `${c}ch ${h}x${h}: fwd direct ${med[0]} / winograd ${med[1]} ms | dX direct ${
      med[2]
    } / winograd ${med[3]} ms | dW direct ${med[4]} / winograd ${med[5]} ms | max |dy| ${
      err.toExponential(1)
    } of ${ref.toFixed(1)}`,
  );
}

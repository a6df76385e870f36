// The optimizers, clipping and the loss inside train programs, checked
// against closed-form host computations (PyTorch semantics).

import assert from "node:assert/strict";
import { checkGradients } from "../lib/runtime/gradcheck.ts";
import { Graph } from "../lib/onnx/graph.ts";
import { Program, StateStore } from "../lib/runtime/program.ts";
import { createBackend } from "../lib/runtime/select.ts";
import { softmaxCrossEntropy } from "../lib/train/loss.ts";
import { FUSED_CASES } from "./_gradcases.ts";
import { compileUpdateProgram } from "./_optim_program.ts";
import {
  adamWUpdate,
  clipByGlobalNorm,
  type OptimizerConfig,
  optimizerScalars,
  sgdUpdate,
} from "../lib/train/optim.ts";

const backend = await createBackend("cpu", { verbose: false });

/** Run `steps` updates of one parameter with fed gradients; return its values after each step. */
async function runOptimizer(
  config: OptimizerConfig,
  p0: number[],
  grads: number[][],
  decay = true,
  gradScale?: number,
): Promise<number[][]> {
  const n = p0.length;
  const g = new Graph();
  const p = g.input("p", "float32", [n]);
  const grad = g.input("grad", "float32", [n]);
  const scale = gradScale === undefined ? undefined : g.scalar(gradScale);
  const update = config.name === "adamw"
    ? adamWUpdate(g, [{ name: "p", value: p, grad, decay }], config, { gradScale: scale })
    : sgdUpdate(g, [{ name: "p", value: p, grad, decay }], config);
  const program = await compileUpdateProgram(backend, g, update, ["p"]);
  const store = new StateStore(backend);
  store.set("p", Float32Array.from(p0), [n]);
  for (const s of update.stateInputs) store.set(s.key, new Float32Array(n), [n]);
  const out: number[][] = [];
  for (let t = 1; t <= grads.length; t++) {
    await program.run(store, {
      grad: Float32Array.from(grads[t - 1]),
      ...optimizerScalars(config, t, config.lr),
    });
    out.push([...((await store.read("p")) as Float32Array)]);
  }
  return out;
}

function close(a: number[], b: number[], tol = 1e-5) {
  a.forEach((v, i) =>
    assert.ok(Math.abs(v - b[i]) <= tol * Math.max(1, Math.abs(b[i])), `${a} vs ${b}`)
  );
}

const GRADS = [[0.5, -1, 2], [0.1, 0.3, -0.2], [-0.4, 0.2, 0.9]];

Deno.test("AdamW matches torch.optim.AdamW's update rule, with a small and a large ε", async () => {
  // A large ε shows where it sits against the bias corrections: torch adds it
  // to √v/√bc₂, after the second moment's correction.
  for (const eps of [1e-8, 0.3]) {
    const config = {
      name: "adamw" as const,
      lr: 0.1,
      weightDecay: 0.05,
      betas: [0.9, 0.99] as [number, number],
      eps,
    };
    const got = await runOptimizer(config, [1, -2, 0.5], GRADS);
    let p = [1, -2, 0.5], m = [0, 0, 0], v = [0, 0, 0];
    for (let t = 1; t <= 3; t++) {
      const g = GRADS[t - 1];
      p = p.map((x) => x * (1 - config.lr * config.weightDecay));
      m = m.map((x, i) => 0.9 * x + 0.1 * g[i]);
      v = v.map((x, i) => 0.99 * x + 0.01 * g[i] * g[i]);
      const bc1 = 1 - 0.9 ** t, bc2 = 1 - 0.99 ** t;
      p = p.map((x, i) => x - (config.lr / bc1) * m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + eps));
      close(got[t - 1], p);
    }
  }
});

Deno.test("AdamW with a gradient scale (folded clipping) updates as AdamW on the scaled gradients", async () => {
  // Adam is invariant to the gradients' scale but for ε: a large ε makes the scale visible.
  const config = { name: "adamw" as const, lr: 0.1, weightDecay: 0.05, eps: 0.5 };
  const scale = 0.37;
  const folded = await runOptimizer(config, [1, -2, 0.5], GRADS, true, scale);
  const scaled = await runOptimizer(
    config,
    [1, -2, 0.5],
    GRADS.map((g) => g.map((x) => x * scale)),
  );
  for (let t = 0; t < GRADS.length; t++) close(folded[t], scaled[t]);
  const unscaled = await runOptimizer(config, [1, -2, 0.5], GRADS);
  assert.ok(Math.abs(folded[2][0] - unscaled[2][0]) > 1e-3, "the scale changed nothing");
});

Deno.test("AdamW at learning rate 0 (a warmup's first step) leaves parameters as they are, even without gradient", async () => {
  const got = await runOptimizer({ name: "adamw", lr: 0, weightDecay: 0.05 }, [1, -2, 0.5], [[
    0,
    0.3,
    0,
  ]]);
  assert.deepEqual(got[0], [1, -2, 0.5]);
});

Deno.test("AdamW skips weight decay for parameters marked decay: false", async () => {
  const withDecay = await runOptimizer({ name: "adamw", lr: 0.1, weightDecay: 0.5 }, [1, 1, 1], [[
    0,
    0,
    0,
  ]]);
  const without = await runOptimizer({ name: "adamw", lr: 0.1, weightDecay: 0.5 }, [1, 1, 1], [[
    0,
    0,
    0,
  ]], false);
  close(withDecay[0], [0.95, 0.95, 0.95]);
  close(without[0], [1, 1, 1]);
});

Deno.test("SGD with momentum and Nesterov matches torch.optim.SGD", async () => {
  for (const nesterov of [false, true]) {
    const config = { name: "sgd" as const, lr: 0.1, momentum: 0.9, nesterov, weightDecay: 0.01 };
    const got = await runOptimizer(config, [1, -2, 0.5], GRADS);
    let p = [1, -2, 0.5], buf = [0, 0, 0];
    for (let t = 1; t <= 3; t++) {
      const g = GRADS[t - 1].map((x, i) => x + 0.01 * p[i]);
      buf = t === 1 ? g : buf.map((b, i) => 0.9 * b + g[i]);
      const step = nesterov ? g.map((x, i) => x + 0.9 * buf[i]) : buf;
      p = p.map((x, i) => x - 0.1 * step[i]);
      close(got[t - 1], p);
    }
  }
});

Deno.test("clipping by global norm scales every gradient by min(1, max / norm)", async () => {
  for (const [values, maxNorm] of [[[3, 4, 0, 12], 1], [[0.1, 0.2, 0.2, 0], 1]] as const) {
    const g = new Graph();
    const a = g.input("a", "float32", [2]);
    const b = g.input("b", "float32", [2]);
    const { grads, norm } = clipByGlobalNorm([a, b], maxNorm);
    g.output("a2", grads[0]);
    g.output("b2", grads[1]);
    g.output("norm", norm);
    const program = await Program.compile(backend, g);
    const out = await program.run(new StateStore(backend), {
      a: Float32Array.of(values[0], values[1]),
      b: Float32Array.of(values[2], values[3]),
    });
    const n = Math.hypot(...values);
    const scale = Math.min(1, maxNorm / (n + 1e-6));
    close([out.norm[0] as number], [n]);
    close([...out.a2, ...out.b2] as number[], values.map((v) => v * scale));
  }
});

Deno.test("cross-entropy with label smoothing and class weights matches the closed form", async () => {
  const logits = [2, -1, 0.5, 0.3, -0.2, 1.5];
  const targets = [1, 0, 0, 1, 0.3, 0.7];
  const g = new Graph();
  const z = g.input("z", "float32", [3, 2]);
  const t = g.input("t", "float32", [3, 2]);
  const { loss, probs } = softmaxCrossEntropy(z, t, { labelSmoothing: 0.1, classWeights: [2, 1] });
  g.output("loss", loss);
  g.output("probs", probs);
  const out = await (await Program.compile(backend, g)).run(new StateStore(backend), {
    z: Float32Array.from(logits),
    t: Float32Array.from(targets),
  });
  let num = 0, den = 0;
  for (let i = 0; i < 3; i++) {
    const [a, b] = [logits[2 * i], logits[2 * i + 1]];
    const lse = Math.log(Math.exp(a) + Math.exp(b));
    const ts = [targets[2 * i] * 0.9 + 0.05, targets[2 * i + 1] * 0.9 + 0.05];
    const ce = -(ts[0] * (a - lse) + ts[1] * (b - lse));
    const w = targets[2 * i] * 2 + targets[2 * i + 1];
    num += w * ce;
    den += w;
  }
  close([out.loss[0] as number], [num / den]);
  close([out.probs[0] as number], [Math.exp(2) / (Math.exp(2) + Math.exp(-1))]);
});

Deno.test("cross-entropy's fused gradient matches finite differences", async () => {
  for (
    const options of [{}, { labelSmoothing: 0.1 }, {
      labelSmoothing: 0.1,
      classWeights: [0.5, 2, 1],
    }]
  ) {
    const report = await checkGradients(backend, (g) => {
      const z = g.input("z", "float32", [4, 3]);
      const t = g.constant(Float32Array.from([1, 0, 0, 0, 1, 0, 0.2, 0.8, 0, 0, 0, 1]), [4, 3]);
      return softmaxCrossEntropy(z, t, options).loss;
    }, { seed: 2 });
    assert.ok(report.ok, JSON.stringify(report.entries));
  }
});

Deno.test("training-mode batch norm's fused gradient matches finite differences", async () => {
  const c = FUSED_CASES.find((c) => c.name.startsWith("training batch norm"))!;
  const report = await checkGradients(backend, c.build, { seed: 5, ...c.options });
  assert.ok(report.ok, JSON.stringify(report.entries));
});

Deno.test("GELU is exact (0.5·x·(1 + erf(x/√2))) and its fused gradient matches finite differences", async () => {
  const { gelu } = await import("../lib/nn/layers.ts");
  const { Graph } = await import("../lib/onnx/graph.ts");
  const { Program, StateStore } = await import("../lib/runtime/program.ts");
  // Tails and the origin included; rank 3 (ViT's [N, T, D]) takes the fused form.
  const xs = Float32Array.of(-6, -3.1, -1.2, -0.4, 0, 1e-3, 0.3, 0.9, 1.7, 2.5, 4, 7);
  const g = new Graph();
  g.output("y", gelu(g.input("x", "float32", [2, 3, 2])));
  const program = await Program.compile(backend, g);
  const y = (await program.run(new StateStore(backend), { x: xs })).y as Float32Array;
  await program.release();
  // erf by its Maclaurin series (|x| ≤ 7/√2: 80 terms converge in float64).
  const erf = (z: number) => {
    let sum = 0, term = z;
    for (let n = 0; n < 80; n++) {
      sum += term / (2 * n + 1);
      term *= -z * z / (n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  };
  xs.forEach((x, i) => {
    const want = 0.5 * x * (1 + erf(x / Math.SQRT2));
    assert.ok(
      Math.abs(y[i] - want) <= 1e-6 * Math.max(1, Math.abs(want)),
      `gelu(${x}) = ${y[i]}, want ${want}`,
    );
  });
  for (const c of FUSED_CASES.filter((c) => c.name.startsWith("GELU"))) {
    const report = await checkGradients(backend, c.build, { seed: 6 });
    assert.ok(report.ok, `${c.name}: ${JSON.stringify(report.entries)}`);
  }
});

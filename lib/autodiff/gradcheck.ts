/**
 * Finite-difference checking of gradients: compares the backward pass that
 * {@linkcode gradients} builds with central differences of the forward pass,
 * both run on a real backend.
 *
 * The scalar checked is `L = Σ y ⊙ r` for a fixed random `r`, so every
 * element of the output contributes. `L` is summed on the host in float64
 * from the float32 outputs, which keeps the difference quotient accurate.
 *
 * @module
 */

import { Graph, type Tensor, type TensorData } from "../onnx/graph.ts";
import { allAxes, mul, reduceSum } from "../onnx/ops.ts";
import type { Backend } from "../runtime/backend.ts";
import { Program, StateStore } from "../runtime/program.ts";
import { Rng } from "../util/rng.ts";
import { type GradientOptions, gradients } from "./gradients.ts";

/** Options of {@linkcode checkGradients}. */
export interface GradCheckOptions {
  /** Formulation of conv weight gradients (see {@linkcode GradientOptions}). */
  convWeightGrad?: GradientOptions["convWeightGrad"];
  /** Formulation of conv input gradients (see {@linkcode GradientOptions}). */
  convInputGrad?: GradientOptions["convInputGrad"];
  /** Input values by name; float inputs not given are drawn from N(0, 1). */
  values?: Record<string, TensorData>;
  /** Inputs to differentiate (default: every float32 input). */
  wrt?: readonly string[];
  /** Elements probed per input (default 12; all when the input is smaller). */
  probes?: number;
  /** Step of the central difference (default 1e-2). */
  step?: number;
  /** Absolute tolerance (default 2e-3). */
  atol?: number;
  /** Relative tolerance (default 2e-2). */
  rtol?: number;
  /** Seed of the random values, probes and `r`. */
  seed?: number;
}

/** Result of checking one input. */
export interface GradCheckEntry {
  /** Input name. */
  input: string;
  /** Largest |analytic − numeric| over the probes. */
  maxAbsError: number;
  /** Largest error relative to max(|analytic|, |numeric|, atol / rtol). */
  maxRelError: number;
  /** Probes that failed `|a − n| <= atol + rtol·max(|a|, |n|)`. */
  failures: { index: number; analytic: number; numeric: number }[];
}

/** Result of {@linkcode checkGradients}. */
export interface GradCheckReport {
  /** True when every probe of every input passed. */
  ok: boolean;
  /** Per-input results. */
  entries: GradCheckEntry[];
}

/**
 * Check the gradients of the function that `build` adds to a graph: `build`
 * declares its inputs with `graph.input(...)` and returns the output.
 */
export async function checkGradients(
  backend: Backend,
  build: (graph: Graph) => Tensor,
  options: GradCheckOptions = {},
): Promise<GradCheckReport> {
  const rng = new Rng(options.seed ?? 0);
  const step = options.step ?? 1e-2;
  const atol = options.atol ?? 2e-3;
  const rtol = options.rtol ?? 2e-2;
  const probes = options.probes ?? 12;

  const fwd = new Graph({ name: "gradcheck_forward" });
  const yF = build(fwd);
  fwd.output("y", yF);

  const bwd = new Graph({ name: "gradcheck_backward" });
  const yB = build(bwd);
  const r = bwd.input("__r", "float32", yB.shape);
  const loss = reduceSum(mul(yB, r), allAxes(yB), { keepdims: false });
  const wrtNames = options.wrt ??
    bwd.inputs.filter((t) => t.dtype === "float32" && t !== r).map((t) => t.name);
  const wrt = wrtNames.map((name) => {
    const t = bwd.inputs.find((i) => i.name === name);
    if (!t) throw new Error(`checkGradients: no input named "${name}"`);
    return t;
  });
  const grads = gradients(loss, wrt, {
    convWeightGrad: options.convWeightGrad,
    convInputGrad: options.convInputGrad,
  });
  grads.forEach((gr, i) => {
    if (!gr) throw new Error(`checkGradients: output does not depend on "${wrtNames[i]}"`);
    bwd.output(`grad_${i}`, gr);
  });

  // Values.
  const values: Record<string, TensorData> = { ...options.values };
  for (const t of fwd.inputs) {
    if (values[t.name]) continue;
    if (t.dtype !== "float32") throw new Error(`checkGradients: give a value for "${t.name}"`);
    values[t.name] = Float32Array.from({ length: t.size }, () => rng.normal());
  }
  const rData = new Float64Array(yB.size).map(() => rng.normal());
  const rFeed = Float32Array.from(rData);

  const store = new StateStore(backend);
  const fwdProgram = await Program.compile(backend, fwd, { label: "gradcheck forward" });
  const bwdProgram = await Program.compile(backend, bwd, { label: "gradcheck backward" });
  try {
    const analytic = await bwdProgram.run(store, { ...values, __r: rFeed });
    const lossAt = async (feeds: Record<string, TensorData>) => {
      const y = (await fwdProgram.run(store, feeds)).y as Float32Array;
      let s = 0;
      for (let i = 0; i < y.length; i++) s += y[i] * Float32Array.of(rData[i])[0];
      return s;
    };
    const entries: GradCheckEntry[] = [];
    for (let k = 0; k < wrtNames.length; k++) {
      const name = wrtNames[k];
      const base = values[name] as Float32Array;
      const grad = analytic[`grad_${k}`] as Float32Array;
      const indices = base.length <= probes
        ? [...base.keys()]
        : Array.from({ length: probes }, () => rng.int(base.length));
      const entry: GradCheckEntry = { input: name, maxAbsError: 0, maxRelError: 0, failures: [] };
      for (const index of indices) {
        const plus = base.slice();
        const minus = base.slice();
        plus[index] += step;
        minus[index] -= step;
        const h = (plus[index] - minus[index]) / 2; // the step float32 really took
        const numeric = ((await lossAt({ ...values, [name]: plus })) -
          (await lossAt({ ...values, [name]: minus }))) / (2 * h);
        const a = grad[index];
        const err = Math.abs(a - numeric);
        entry.maxAbsError = Math.max(entry.maxAbsError, err);
        entry.maxRelError = Math.max(
          entry.maxRelError,
          err / Math.max(Math.abs(a), Math.abs(numeric), atol / rtol),
        );
        if (!(err <= atol + rtol * Math.max(Math.abs(a), Math.abs(numeric)))) {
          entry.failures.push({ index, analytic: a, numeric });
        }
      }
      entries.push(entry);
    }
    return { ok: entries.every((e) => e.failures.length === 0), entries };
  } finally {
    store.dispose();
    await fwdProgram.release();
    await bwdProgram.release();
  }
}

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
import { type GradientOptions, gradients } from "../autodiff/gradients.ts";
import { Rng } from "../util/rng.ts";
import { sizeOf } from "../util/shape.ts";
import type { Backend } from "./backend.ts";
import { Program, StateStore } from "./program.ts";

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
  /**
   * Random elements probed per input (default 12), besides the corners and
   * edges that are always probed (see {@linkcode probeIndices}); every
   * element when the input is that small.
   */
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

/** One probe that failed the tolerance. */
export interface GradCheckFailure {
  /** Flat index of the probed element. */
  index: number;
  /** The backward pass's value. */
  analytic: number;
  /** The central difference. */
  numeric: number;
}

/** Result of checking one input. */
export interface GradCheckEntry {
  /** Input name. */
  input: string;
  /** Largest |analytic − numeric| over the probes. */
  maxAbsError: number;
  /** Largest error relative to max(|analytic|, |numeric|, atol / rtol). */
  maxRelError: number;
  /** Flat indices of the probed elements. */
  probed: number[];
  /** Probes that failed `|a − n| <= atol + rtol·max(|a|, |n|)`. */
  failures: GradCheckFailure[];
}

/** Result of {@linkcode checkGradients}. */
export interface GradCheckReport {
  /** True when every probe of every input passed. */
  ok: boolean;
  /** Per-input results. */
  entries: GradCheckEntry[];
}

/**
 * Flat indices of the elements to probe in a tensor of `shape`: every corner
 * and edge extreme (the first and last element, and for each axis the
 * elements at its first and last index with the other axes at their last and
 * first), then `random` further distinct elements drawn from `rng`. Every
 * index when the tensor has no more elements than that.
 *
 * @param shape The tensor's shape.
 * @param random How many random elements to add to the extremes.
 * @param rng The source of the random elements.
 * @returns Distinct flat indices, extremes first.
 */
export function probeIndices(shape: readonly number[], random: number, rng: Rng): number[] {
  const size = sizeOf(shape);
  const strides = shape.map((_, i) => sizeOf(shape.slice(i + 1)));
  const flat = (coords: number[]) => coords.reduce((s, c, i) => s + c * strides[i], 0);
  const first = shape.map(() => 0);
  const last = shape.map((d) => d - 1);
  const chosen = new Set<number>([flat(first), flat(last)]);
  shape.forEach((d, a) => {
    chosen.add(flat(first.map((c, i) => (i === a ? d - 1 : c))));
    chosen.add(flat(last.map((c, i) => (i === a ? 0 : c))));
  });
  if (size <= chosen.size + random) return [...Array(size).keys()];
  const target = chosen.size + random;
  while (chosen.size < target) chosen.add(rng.int(size));
  return [...chosen];
}

/** The two programs of a check: the forward `y`, and the gradients of `Σ y ⊙ r`. */
interface CheckGraphs {
  fwd: Graph;
  bwd: Graph;
  /** The differentiated inputs; gradient `k` is output `grad_k`. */
  wrt: Tensor[];
  /** Elements of `y` (and of `r`). */
  ySize: number;
}

function buildCheckGraphs(build: (graph: Graph) => Tensor, options: GradCheckOptions): CheckGraphs {
  const fwd = new Graph({ name: "gradcheck_forward" });
  fwd.output("y", build(fwd));

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
  return { fwd, bwd, wrt, ySize: yB.size };
}

/** The given values, and N(0, 1) draws for the float inputs not given. */
function inputValues(fwd: Graph, options: GradCheckOptions, rng: Rng): Record<string, TensorData> {
  const values: Record<string, TensorData> = { ...options.values };
  for (const t of fwd.inputs) {
    if (values[t.name]) continue;
    if (t.dtype !== "float32") throw new Error(`checkGradients: give a value for "${t.name}"`);
    values[t.name] = Float32Array.from({ length: t.size }, () => rng.normal());
  }
  return values;
}

/** Tolerances and step of one check. */
interface Tolerance {
  step: number;
  atol: number;
  rtol: number;
}

/** Compare the analytic gradient of input `name` with central differences at `indices`. */
async function checkInput(
  name: string,
  indices: readonly number[],
  analytic: Float32Array,
  values: Record<string, TensorData>,
  lossAt: (feeds: Record<string, TensorData>) => Promise<number>,
  tol: Tolerance,
): Promise<GradCheckEntry> {
  const base = values[name] as Float32Array;
  const entry: GradCheckEntry = {
    input: name,
    maxAbsError: 0,
    maxRelError: 0,
    probed: [...indices],
    failures: [],
  };
  for (const index of indices) {
    const plus = base.slice();
    const minus = base.slice();
    plus[index] += tol.step;
    minus[index] -= tol.step;
    const h = (plus[index] - minus[index]) / 2; // the step float32 really took
    const numeric = ((await lossAt({ ...values, [name]: plus })) -
      (await lossAt({ ...values, [name]: minus }))) / (2 * h);
    const a = analytic[index];
    const err = Math.abs(a - numeric);
    entry.maxAbsError = Math.max(entry.maxAbsError, err);
    entry.maxRelError = Math.max(
      entry.maxRelError,
      err / Math.max(Math.abs(a), Math.abs(numeric), tol.atol / tol.rtol),
    );
    if (!(err <= tol.atol + tol.rtol * Math.max(Math.abs(a), Math.abs(numeric)))) {
      entry.failures.push({ index, analytic: a, numeric });
    }
  }
  return entry;
}

/**
 * Check the gradients of the function that `build` adds to a graph: `build`
 * declares its inputs with `graph.input(...)` and returns the output.
 *
 * @param backend The backend that runs both passes.
 * @param build Adds the function to a graph and returns its output.
 * @param options Values, inputs to check, probes, step and tolerances.
 * @returns Per-input errors and failed probes; `ok` when none failed.
 *
 * @example Check a product's gradients on the cpu backend
 * ```ts ignore
 * import { checkGradients, createBackend, ops } from "@medtune/medtune/engine";
 *
 * const backend = await createBackend("cpu");
 * const report = await checkGradients(
 *   backend,
 *   (g) => ops.mul(g.input("a", "float32", [3]), g.input("b", "float32", [3])),
 * );
 * console.log(report.ok); // true
 * ```
 */
export async function checkGradients(
  backend: Backend,
  build: (graph: Graph) => Tensor,
  options: GradCheckOptions = {},
): Promise<GradCheckReport> {
  const rng = new Rng(options.seed ?? 0);
  const tol = {
    step: options.step ?? 1e-2,
    atol: options.atol ?? 2e-3,
    rtol: options.rtol ?? 2e-2,
  };
  const probes = options.probes ?? 12;
  const { fwd, bwd, wrt, ySize } = buildCheckGraphs(build, options);
  const values = inputValues(fwd, options, rng);
  const rData = new Float64Array(ySize).map(() => rng.normal());
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
    for (const [k, x] of wrt.entries()) {
      const indices = probeIndices(x.shape, probes, rng);
      const grad = analytic[`grad_${k}`] as Float32Array;
      entries.push(await checkInput(x.name, indices, grad, values, lossAt, tol));
    }
    return { ok: entries.every((e) => e.failures.length === 0), entries };
  } finally {
    store.dispose();
    await fwdProgram.release();
    await bwdProgram.release();
  }
}

/**
 * Experiment (issue 10): the AdamW update as one WebAssembly SIMD pass over
 * flat parameter, gradient and moment arrays, against the engine's AdamW
 * graph (13 elementwise onnxruntime nodes per parameter, `adamWUpdate`) on
 * the cpu backend, for ResNet-18's 11.2M parameters.
 *
 * The wasm module is assembled here from its opcodes (no toolchain): one
 * exported function walks the arrays four floats at a time, reads p, g, m, v
 * once and writes p, m, v once, where the graph makes 13 passes. It checks
 * itself against the graph's result (relative difference of the updated
 * parameters) before timing. Prints the median of 9 alternating runs of each.
 *
 * Result on the 2-core development machine (Zen 4, quiet), 11.2M parameters
 * as five tensors: wasm 7.8 ms on one thread, the graph 53.8 ms on one
 * thread and 41.6 ms on two, with the same bits (the same float32
 * operations in the same order). The update is memory-bound, and one pass
 * moves 7 arrays where 13 nodes move ≈ 39. Using it needs the cpu backend's
 * parameters and moments to live in wasm memory (onnxruntime-node's binding
 * wraps an input typed array's memory without copying; not yet tried on wasm
 * memory) and the train program to return gradients; not built yet. Run:
 * `deno run -A bench/wasm_adamw_experiment.ts [threads]`.
 *
 * @module
 */
import { Graph } from "../lib/onnx/graph.ts";
import { createCpuBackend } from "../lib/runtime/cpu.ts";
import { Program, StateStore } from "../lib/runtime/program.ts";
import { adamWUpdate, optimizerScalars } from "../lib/train/optim.ts";

const N = 11_200_000;
const LR = 1e-3;
const WEIGHT_DECAY = 1e-2;
const [B1, B2] = [0.9, 0.999];

/** Unsigned LEB128. */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

/** A length-prefixed vector of encoded items. */
function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/**
 * `adamw(p, g, m, v, bytes, b1, c1, b2, c2, decay, step, eps)`: byte offsets
 * of the four arrays in the module's memory and their length in bytes (a
 * multiple of 16); `m ← b1·m + c1·g`, `v ← b2·v + c2·g·g`,
 * `p ← decay·p − step·m / (√v + eps)`.
 */
function adamWModule(pages: number): Uint8Array<ArrayBuffer> {
  const [I32, F32, V128] = [0x7f, 0x7d, 0x7b];
  const get = (i: number) => [0x20, ...uleb(i)];
  const set = (i: number) => [0x21, ...uleb(i)];
  const tee = (i: number) => [0x22, ...uleb(i)];
  const simd = (op: number) => [0xfd, ...uleb(op)];
  const load = [...simd(0), 4, 0]; // v128.load align 16
  const store = [...simd(11), 4, 0]; // v128.store align 16
  const [splat, add, sub, mul, div, sqrt] = [19, 228, 229, 230, 231, 227].map(simd);
  const at = (base: number) => [...get(base), ...get(12), 0x6a]; // base + i
  // Params 0-4: p g m v bytes (i32); 5-11: b1 c1 b2 c2 decay step eps (f32).
  // Locals: 12 i (i32); 13-19 the splatted scalars, 20 g, 21 m', 22 v' (v128).
  const body: number[] = [];
  for (let k = 0; k < 7; k++) body.push(...get(5 + k), ...splat, ...set(13 + k));
  body.push(0x41, 0, ...set(12), 0x02, 0x40, 0x03, 0x40);
  body.push(...get(12), ...get(4), 0x4f, 0x0d, 1); // i >= bytes: break
  body.push(...at(1), ...load, ...set(20));
  body.push(...at(2), ...at(2), ...load, ...get(13), ...mul, ...get(20), ...get(14), ...mul);
  body.push(...add, ...tee(21), ...store);
  body.push(...at(3), ...at(3), ...load, ...get(15), ...mul, ...get(20), ...get(16), ...mul);
  body.push(...get(20), ...mul, ...add, ...tee(22), ...store);
  body.push(...at(0), ...at(0), ...load, ...get(17), ...mul, ...get(21), ...get(22), ...sqrt);
  body.push(...get(19), ...add, ...div, ...get(18), ...mul, ...sub, ...store);
  body.push(...get(12), 0x41, 16, 0x6a, ...set(12), 0x0c, 0, 0x0b, 0x0b, 0x0b);
  const fn = [...vec([[1, I32], [10, V128]]), ...body];
  const type = [0x60, ...vec([...Array(5).fill([I32]), ...Array(7).fill([F32])]), 0];
  const name = (s: string) => vec([...s].map((c) => [c.charCodeAt(0)]));
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
    ...section(1, vec([type])),
    ...section(3, vec([[0]])),
    ...section(5, vec([[0, ...uleb(pages)]])),
    ...section(7, vec([[...name("adamw"), 0, 0], [...name("mem"), 2, 0]])),
    ...section(10, vec([[...uleb(fn.length), ...fn]])),
  ]);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

const threads = Number(Deno.args[0] ?? 1);
const bytes = N * 4;
const instance = new WebAssembly.Instance(
  new WebAssembly.Module(adamWModule(Math.ceil((4 * bytes) / 65536))),
);
const memory = instance.exports.mem as WebAssembly.Memory;
const adamw = instance.exports.adamw as (...args: number[]) => void;
const [p, g, m, v] = [0, 1, 2, 3].map((k) => new Float32Array(memory.buffer, k * bytes, N));
for (let i = 0; i < N; i++) {
  p[i] = Math.sin(i * 0.37) * 0.05;
  g[i] = Math.cos(i * 0.11) * 1e-3;
  m[i] = g[i] * 0.5;
  v[i] = g[i] * g[i] * 0.5;
}

// The engine's AdamW graph over the same arrays, as PARTS parameters (one of
// 45 MB would be above the cpu backend's 32 MB mmap threshold, and page-fault
// its outputs every run; ResNet-18's largest weight is 9.4 MB).
const PARTS = 5;
const per = N / PARTS;
const graph = new Graph({ name: "adamw" });
const params = [...Array(PARTS).keys()].map((k) => ({
  name: `w${k}`,
  value: graph.input(`p${k}`, "float32", [per]),
  grad: graph.input(`g${k}`, "float32", [per]),
  decay: true,
}));
const update = adamWUpdate(graph, params, { name: "adamw", lr: LR, weightDecay: WEIGHT_DECAY });
params.forEach((param, k) => graph.output(`p_new${k}`, update.newParams.get(param.name)!));
for (const [key, t] of update.newState) graph.output(key.replace(":", "_"), t);
const backend = await createCpuBackend({ threads });
const program = await Program.compile(backend, graph);
const store = new StateStore(backend);
const scalars = optimizerScalars({ name: "adamw", lr: LR, weightDecay: WEIGHT_DECAY }, 1, LR);
const feeds: Record<string, Float32Array> = { ...scalars };
for (let k = 0; k < PARTS; k++) {
  const part = (a: Float32Array) => a.slice(k * per, (k + 1) * per);
  Object.assign(feeds, {
    [`p${k}`]: part(p),
    [`g${k}`]: part(g),
    [`adam_m:w${k}`]: part(m),
    [`adam_v:w${k}`]: part(v),
  });
}
const runGraph = () => program.run(store, feeds);
const [step, eps, decay] = ["hp:step_size", "hp:eps_hat", "hp:decay_factor"].map((k) =>
  scalars[k][0]
);
const runWasm = () =>
  adamw(0, bytes, 2 * bytes, 3 * bytes, bytes, B1, 1 - B1, B2, 1 - B2, decay, step, eps);

const result = await runGraph();
runWasm();
let worst = 0;
for (let k = 0; k < PARTS; k++) {
  const reference = result[`p_new${k}`] as Float32Array;
  for (let i = 0; i < per; i++) {
    const got = p[k * per + i];
    worst = Math.max(worst, Math.abs(got - reference[i]) / Math.max(Math.abs(reference[i]), 1e-6));
  }
}
if (!(worst < 1e-5)) throw new Error(`wasm AdamW differs from the graph: relative ${worst}`);

const times = { graph: [] as number[], wasm: [] as number[] };
for (let round = 0; round < 9; round++) {
  let t = performance.now();
  await runGraph();
  times.graph.push(performance.now() - t);
  t = performance.now();
  runWasm();
  times.wasm.push(performance.now() - t);
}
console.log(
  `AdamW over ${N.toLocaleString("en")} parameters, cpu backend ${threads} thread(s): ` +
    `onnxruntime graph ${median(times.graph).toFixed(1)} ms, ` +
    `wasm SIMD ${median(times.wasm).toFixed(1)} ms (1 thread); max relative difference ` +
    `${worst.toExponential(1)}`,
);
await program.release();

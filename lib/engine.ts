/**
 * The engine under medtune's trainer: the ONNX graph builder and its ops,
 * reverse-mode autodiff in plain ONNX ops (one VJP rule per op, checked
 * against finite differences), the layers models are built from, and the
 * backends that run the programs (onnxruntime-node on CPU, onnxruntime-web's
 * WebGPU and wasm EPs).
 *
 * @example
 * ```ts
 * import { createBackend, gradients, Graph, ops } from "@medtune/medtune/engine";
 *
 * const g = new Graph();
 * const x = g.input("x", "float32", [2, 3]);
 * const y = ops.reduceSum(ops.mul(x, x), [0, 1]);
 * const [dx] = gradients(y, [x]);
 * console.log(dx?.shape); // [2, 3]
 * const backend = await createBackend("cpu");
 * console.log(backend.name);
 * ```
 *
 * @module
 */

export * from "./onnx/mod.ts";
export * from "./autodiff/mod.ts";
export * from "./runtime/mod.ts";
export * from "./nn/mod.ts";

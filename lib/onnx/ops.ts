/**
 * ONNX operators over symbolic tensors, each with shape inference and a
 * readable error on bad shapes. Only operators that ONNX Runtime's WebGPU
 * execution provider runs on the GPU are offered for train programs (the
 * webgpu backend refuses programs that would fall back to the CPU; README,
 * "Backends"); `shape` and the dynamic-batch path of `expandToBatch` exist
 * for inference export only.
 *
 * @module
 */

export { broadcastShapes, normAxes } from "./ops/_util.ts";
export * from "./ops/elementwise.ts";
export * from "./ops/linalg.ts";
export * from "./ops/conv.ts";
export * from "./ops/reduce.ts";
export * from "./ops/shape.ts";

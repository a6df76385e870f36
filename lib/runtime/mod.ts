/**
 * Runtimes: the `cpu` (onnxruntime-node), `wasm` and `webgpu`
 * (onnxruntime-web) backends, backend selection, compiled programs,
 * device-resident state, and the finite-difference gradient checker (which
 * runs the backward passes that `lib/autodiff` builds).
 *
 * @module
 */

export type {
  Backend,
  BackendChoice,
  BackendName,
  BackendSession,
  DeviceTensor,
  SessionOptions,
} from "./backend.ts";
export { type CpuBackendOptions, cpuNchwcBlockSize, createCpuBackend } from "./cpu.ts";
export {
  lowerConvsToNchwc,
  NCHWC_DOMAIN,
  type NchwcLowering,
  type NchwcLoweringOptions,
} from "./nchwc.ts";
export {
  denseTinyMapConvs,
  type TinyMapConvOptions,
  type TinyMapConvRewrite,
} from "./tiny_map_convs.ts";
export {
  type AdapterSummary,
  createWasmBackend,
  createWebGpuBackend,
  requestAdapter,
  summarizeAdapter,
  type WebGpuBackendOptions,
} from "./web.ts";
export { createBackend, type CreateBackendOptions } from "./select.ts";
export {
  Program,
  type ProgramBindings,
  type ProgramInput,
  type RunOptions,
  StateStore,
} from "./program.ts";
export { findRefusedNodes, type RefusedNode } from "./diagnose.ts";
export {
  checkGradients,
  type GradCheckEntry,
  type GradCheckFailure,
  type GradCheckOptions,
  type GradCheckReport,
} from "./gradcheck.ts";

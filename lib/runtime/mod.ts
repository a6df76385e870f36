/**
 * Runtimes: the `cpu` (onnxruntime-node), `wasm` and `webgpu`
 * (onnxruntime-web) backends, backend selection, compiled programs and
 * device-resident state.
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
  type AdapterSummary,
  createWasmBackend,
  createWebGpuBackend,
  requestAdapter,
  summarizeAdapter,
  type WebGpuBackendOptions,
} from "./web.ts";
export { createBackend, type CreateBackendOptions } from "./select.ts";
export { Program, type ProgramBindings, type RunOptions, StateStore } from "./program.ts";
export { findRefusedNodes, type RefusedNode } from "./diagnose.ts";

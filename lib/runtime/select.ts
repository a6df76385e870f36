/**
 * Backend selection: `auto` picks a real (hardware) WebGPU adapter when there
 * is one, else the native `cpu` backend, else `wasm`, and says which.
 *
 * @module
 */

import type { Backend, BackendChoice } from "./backend.ts";
import { createCpuBackend } from "./cpu.ts";
import { createWasmBackend, createWebGpuBackend, requestAdapter, summarizeAdapter } from "./web.ts";

/** Options of {@linkcode createBackend}. */
export interface CreateBackendOptions {
  /** Print the choice made by `auto` (default true). */
  verbose?: boolean;
  /** Threads for the cpu backend. */
  threads?: number;
}

/** Create a backend by name; `auto` chooses webgpu (hardware only), then cpu, then wasm. */
export async function createBackend(
  choice: BackendChoice = "auto",
  options: CreateBackendOptions = {},
): Promise<Backend> {
  switch (choice) {
    case "cpu":
      return await createCpuBackend({ threads: options.threads });
    case "wasm":
      return await createWasmBackend();
    case "webgpu":
      return await createWebGpuBackend();
    case "auto":
      break;
    default:
      throw new Error(
        `unknown backend "${choice}": choose one of auto, webgpu, cpu, wasm`,
      );
  }
  const log = (msg: string) => {
    if (options.verbose ?? true) console.error(`medtune: ${msg}`);
  };
  const adapter = await requestAdapter();
  if (adapter) {
    const summary = summarizeAdapter(adapter);
    if (!summary.software) {
      const backend = await createWebGpuBackend({ adapter });
      log(`backend auto -> ${backend.description}`);
      return backend;
    }
    log(`skipping software WebGPU adapter (${summary.text})`);
  }
  try {
    const backend = await createCpuBackend({ threads: options.threads });
    log(`backend auto -> ${backend.description}`);
    return backend;
  } catch (err) {
    log(`cpu backend unavailable (${(err as Error).message})`);
  }
  const backend = await createWasmBackend();
  log(`backend auto -> ${backend.description}`);
  return backend;
}

/**
 * The `cpu` backend: onnxruntime-node's native CPU execution provider, the
 * fast path without a GPU (about 6–7× the wasm backend, on par with PyTorch
 * per conv layer; see DESIGN.md). The package is imported on first use, so
 * users who never pick this backend never download it.
 *
 * @module
 */

import { dtypeOfData, type Shape, type TensorData } from "../onnx/graph.ts";
import {
  type Backend,
  type BackendSession,
  checkDataLength,
  type DeviceTensor,
  type SessionOptions,
} from "./backend.ts";

/** Options of {@linkcode createCpuBackend}. */
export interface CpuBackendOptions {
  /** Intra-op threads (default: all logical cores). */
  threads?: number;
}

// deno-lint-ignore no-explicit-any
type OrtModule = any;

/** Create the `cpu` backend (loads onnxruntime-node). */
export async function createCpuBackend(options: CpuBackendOptions = {}): Promise<Backend> {
  let ort: OrtModule;
  try {
    ort = await import("onnxruntime-node");
  } catch (err) {
    throw new Error(
      `cpu backend: could not load onnxruntime-node (${(err as Error).message}). ` +
        `It needs --allow-read, --allow-env and --allow-ffi; or choose --backend wasm.`,
    );
  }
  ort = ort.default ?? ort;
  const threads = options.threads ?? navigator.hardwareConcurrency ?? 1;
  const version = ort.env?.versions?.node ?? ort.env?.versions?.common ?? "?";
  return {
    name: "cpu",
    description: `cpu (onnxruntime-node ${version}, ${threads} threads)`,
    async createSession(model: Uint8Array, opts: SessionOptions = {}): Promise<BackendSession> {
      let session;
      try {
        session = await ort.InferenceSession.create(model, {
          executionProviders: ["cpu"],
          graphOptimizationLevel: "all",
          intraOpNumThreads: threads,
          interOpNumThreads: 1,
          executionMode: "sequential",
        });
      } catch (err) {
        throw new Error(
          `cpu backend: onnxruntime-node refused the ${opts.label ?? "program"}: ${
            (err as Error).message
          }`,
        );
      }
      return {
        run: (feeds) => session.run(feeds),
        release: () => session.release(),
      };
    },
    upload(data: TensorData, shape: Shape): DeviceTensor {
      checkDataLength(data, shape, "cpu backend upload");
      return new ort.Tensor(dtypeOfData(data), data, [...shape]);
    },
    hostTensor(data: TensorData, shape: Shape): DeviceTensor {
      checkDataLength(data, shape, "cpu backend input");
      return new ort.Tensor(dtypeOfData(data), data, [...shape]);
    },
    download(tensor: DeviceTensor): Promise<TensorData> {
      return Promise.resolve((tensor as unknown as { data: TensorData }).data);
    },
    destroy: () => Promise.resolve(),
  };
}

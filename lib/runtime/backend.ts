/**
 * The `Backend` interface: what a runtime must offer to run medtune programs.
 * Implementations: `cpu` (onnxruntime-node), `wasm` and `webgpu`
 * (onnxruntime-web's `/webgpu` entry).
 *
 * @module
 */

import {
  type DType,
  dtypeOfData,
  type Graph,
  type Shape,
  sizeOf,
  type TensorData,
} from "../onnx/graph.ts";

/** The backends medtune can run on. */
export type BackendName = "cpu" | "wasm" | "webgpu";

/** A backend choice, including automatic selection. */
export type BackendChoice = BackendName | "auto";

/**
 * A tensor as the runtime holds it (an `ort.Tensor` of onnxruntime-node or
 * onnxruntime-web). Opaque to users: move data with the backend's
 * `upload`/`download`.
 */
export interface DeviceTensor {
  /** Element type as onnxruntime names it. */
  readonly type: string;
  /** Dimensions. */
  readonly dims: readonly number[];
  /** Where the data lives (`cpu`, `gpu-buffer`, …). */
  readonly location: string;
  /** Release device memory (no-op for CPU tensors). */
  dispose(): void;
}

/** An ONNX Runtime inference session as medtune uses it. */
export interface BackendSession {
  /**
   * Run with named feeds; returns the named outputs. `outputs` names outputs
   * to write into given host tensors in place (onnxruntime's preallocated
   * outputs; only the cpu backend takes them).
   */
  run(
    feeds: Record<string, DeviceTensor>,
    outputs?: Readonly<Record<string, DeviceTensor>>,
  ): Promise<Record<string, DeviceTensor>>;
  /** Free the session. */
  release(): Promise<void>;
}

/** Options for creating a session. */
export interface SessionOptions {
  /** Outputs that should stay on the device (state fed back next step). */
  deviceOutputs?: readonly string[];
  /** A name for error messages, e.g. `train program of resnet18`. */
  label?: string;
}

/** A runtime that compiles ONNX models into sessions and moves tensors. */
export interface Backend {
  /** Which backend this is. */
  readonly name: BackendName;
  /** Human-readable description (library version, adapter, threads). */
  readonly description: string;
  /**
   * True on a software WebGPU adapter (llvmpipe, lavapipe, SwiftShader): fit
   * for correctness checks on small shapes, not for training.
   */
  readonly software?: boolean;
  /**
   * Rewrite a program's graph for this runtime before it is compiled (the cpu
   * backend moves convolutions onto onnxruntime's blocked NCHWc kernels);
   * absent where programs run as built.
   */
  lower?(graph: Graph): Graph;
  /** Create a session from ONNX model bytes. */
  createSession(model: Uint8Array, options?: SessionOptions): Promise<BackendSession>;
  /** Copy host data to a tensor that lives on the device (GPU memory on webgpu). */
  upload(data: TensorData, shape: Shape): DeviceTensor;
  /** Wrap host data as a CPU-side feed (copied to the device by the session when it runs). */
  hostTensor(data: TensorData, shape: Shape): DeviceTensor;
  /** Copy a tensor's data to the host. */
  download(tensor: DeviceTensor): Promise<TensorData>;
  /** Release the backend's device (sessions must be released first). */
  destroy(): Promise<void>;
}

/** onnxruntime's name for a medtune dtype. */
export function ortType(dtype: DType): string {
  return { float32: "float32", int32: "int32", int64: "int64", bool: "bool" }[dtype];
}

/** Check a tensor's data length against its shape, with a clear error. */
export function checkDataLength(data: TensorData, shape: Shape, what: string): void {
  const n = sizeOf(shape);
  if (data.length !== n) {
    throw new Error(
      `${what}: expected ${n} values for shape [${shape.join(", ")}], got ${data.length}`,
    );
  }
}

/** onnxruntime's `Tensor` constructor (the same in onnxruntime-node and onnxruntime-web). */
export type OrtTensorConstructor = new (
  type: string,
  data: TensorData,
  dims: readonly number[],
) => DeviceTensor;

/**
 * The tensor methods of a backend whose tensors live in host memory (`cpu`,
 * `wasm`; the host feeds of `webgpu`): wrap typed arrays, read them back.
 */
export function hostMemoryTensors(
  Tensor: OrtTensorConstructor,
  backend: string,
): Pick<Backend, "upload" | "hostTensor" | "download"> {
  const wrap = (data: TensorData, shape: Shape, what: string): DeviceTensor => {
    checkDataLength(data, shape, `${backend} backend ${what}`);
    return new Tensor(dtypeOfData(data), data, [...shape]);
  };
  return {
    upload: (data, shape) => wrap(data, shape, "upload"),
    hostTensor: (data, shape) => wrap(data, shape, "input"),
    download: (t) => Promise.resolve((t as unknown as { data: TensorData }).data),
  };
}

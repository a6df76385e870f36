/**
 * The `wasm` and `webgpu` backends: onnxruntime-web's `/webgpu` entry, which
 * carries the native C++ WebGPU execution provider and the wasm one. (Not the
 * `/all` entry: its JavaScript WebGPU execution provider does not work in
 * Deno.)
 *
 * On WebGPU, state outputs stay in GPU buffers (`preferredOutputLocation`)
 * and a node that would fall back to the CPU makes session creation fail
 * (`disable_cpu_ep_fallback`), so a slow program is an error, not a surprise.
 *
 * @module
 */

import { type DType, dtypeOfData, type Shape, type TensorData } from "../onnx/graph.ts";
import {
  type Backend,
  type BackendSession,
  checkDataLength,
  type DeviceTensor,
  hostMemoryTensors,
  type SessionOptions,
} from "./backend.ts";

// deno-lint-ignore no-explicit-any
type OrtModule = any;

let ortPromise: Promise<OrtModule> | undefined;

/** Load onnxruntime-web's `/webgpu` entry once, single-threaded (Deno cannot start its workers). */
function loadOrtWeb(): Promise<OrtModule> {
  ortPromise ??= import("onnxruntime-web/webgpu").then((m) => {
    const ort = (m as OrtModule).default ?? m;
    ort.env.wasm.numThreads = 1;
    ort.env.logLevel = "error";
    return ort;
  });
  return ortPromise;
}

function wrapSession(session: OrtModule): BackendSession {
  return {
    run: (feeds) => session.run(feeds),
    release: () => session.release(),
  };
}

/** Create the `wasm` backend (single-threaded WebAssembly CPU kernels). */
export async function createWasmBackend(): Promise<Backend> {
  const ort = await loadOrtWeb();
  return {
    name: "wasm",
    description: `wasm (onnxruntime-web ${ort.env.versions?.web ?? "?"}, 1 thread)`,
    async createSession(model: Uint8Array, opts: SessionOptions = {}) {
      try {
        return wrapSession(
          await ort.InferenceSession.create(model, {
            executionProviders: ["wasm"],
            graphOptimizationLevel: "all",
          }),
        );
      } catch (err) {
        throw new Error(`wasm backend: refused the ${opts.label ?? "program"}: ${errText(err)}`);
      }
    },
    ...hostMemoryTensors(ort.Tensor, "wasm"),
    destroy: () => Promise.resolve(),
  };
}

/** Facts about a WebGPU adapter. */
export interface AdapterSummary {
  /** Vendor, architecture, device and description as the adapter reports them. */
  text: string;
  /** True for software rasterizers (llvmpipe, lavapipe, SwiftShader) and fallback adapters. */
  software: boolean;
}

/** Describe a WebGPU adapter and tell whether it is a software one. */
export function summarizeAdapter(adapter: GPUAdapter): AdapterSummary {
  const info = adapter.info;
  const text = [info.vendor, info.architecture, info.device, info.description]
    .filter((s) => s).join(" ") || "unknown adapter";
  // deno-lint-ignore no-explicit-any
  const fallback = Boolean((info as any).isFallbackAdapter ?? (adapter as any).isFallbackAdapter);
  const software = fallback || /llvmpipe|lavapipe|swiftshader|softpipe|software/i.test(text);
  return { text, software };
}

/** Request the default WebGPU adapter, or undefined when there is none. */
export async function requestAdapter(): Promise<GPUAdapter | undefined> {
  if (typeof navigator === "undefined" || !("gpu" in navigator)) return undefined;
  try {
    return (await navigator.gpu.requestAdapter({ powerPreference: "high-performance" })) ??
      undefined;
  } catch {
    return undefined;
  }
}

/** Options of {@linkcode createWebGpuBackend}. */
export interface WebGpuBackendOptions {
  /** Use this adapter instead of requesting one. */
  adapter?: GPUAdapter;
}

const LIMIT_NAMES = [
  "maxBufferSize",
  "maxStorageBufferBindingSize",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupSizeZ",
  "maxComputeWorkgroupsPerDimension",
  "maxStorageBuffersPerShaderStage",
] as const;

/**
 * Create the `webgpu` backend on the given or default adapter.
 *
 * @param options The adapter to use (default: the high-performance one).
 * @returns The backend; it throws when there is no WebGPU adapter.
 */
export async function createWebGpuBackend(options: WebGpuBackendOptions = {}): Promise<Backend> {
  const adapter = options.adapter ?? await requestAdapter();
  if (!adapter) {
    throw new Error(
      "webgpu backend: no WebGPU adapter (navigator.gpu.requestAdapter() returned null). " +
        "Install a GPU driver (or mesa-vulkan-drivers for a software one), or choose --backend cpu.",
    );
  }
  const summary = summarizeAdapter(adapter);
  const device = await requestDevice(adapter);
  let lost: string | undefined;
  device.lost.then((info) => {
    lost = info.message;
  });
  const ort = await loadOrtWeb();
  const transfers = new GpuTransfers(ort, device);
  const check = () => {
    if (lost !== undefined) throw new Error(`webgpu backend: the device was lost (${lost})`);
  };
  return {
    name: "webgpu",
    software: summary.software,
    description: `webgpu (onnxruntime-web ${ort.env.versions?.web ?? "?"}, ${summary.text}${
      summary.software ? ", software" : ""
    })`,
    async createSession(model: Uint8Array, opts: SessionOptions = {}) {
      check();
      return await createWebGpuSession(ort, device, model, opts);
    },
    upload(data: TensorData, shape: Shape): DeviceTensor {
      check();
      return transfers.upload(data, shape);
    },
    hostTensor: hostMemoryTensors(ort.Tensor, "webgpu").hostTensor,
    download(tensor: DeviceTensor): Promise<TensorData> {
      check();
      return transfers.download(tensor);
    },
    destroy() {
      device.destroy();
      return Promise.resolve();
    },
  };
}

/** A device with the adapter's limits and its f16 / subgroup features. */
function requestDevice(adapter: GPUAdapter): Promise<GPUDevice> {
  const requiredLimits: Record<string, number> = {};
  for (const name of LIMIT_NAMES) requiredLimits[name] = adapter.limits[name];
  const requiredFeatures = [...adapter.features].filter((f) =>
    f === "shader-f16" || f === "subgroups"
  ) as GPUFeatureName[];
  return adapter.requestDevice({ requiredLimits, requiredFeatures });
}

/**
 * An onnxruntime session on the WebGPU execution provider: state outputs
 * stay in GPU buffers, and a node without a WebGPU kernel makes creation
 * fail (no CPU fallback), with a hint in the error.
 */
async function createWebGpuSession(
  ort: OrtModule,
  device: GPUDevice,
  model: Uint8Array,
  opts: SessionOptions,
): Promise<BackendSession> {
  const preferredOutputLocation: Record<string, string> = {};
  for (const name of opts.deviceOutputs ?? []) preferredOutputLocation[name] = "gpu-buffer";
  try {
    return wrapSession(
      await ort.InferenceSession.create(model, {
        // NCHW: with NHWC the layout transformer inserts Transposes on bool
        // tensors (masks of pooling gradients), which have no WebGPU kernel.
        executionProviders: [{ name: "webgpu", device, preferredLayout: "NCHW" }],
        graphOptimizationLevel: "all",
        preferredOutputLocation,
        extra: { session: { disable_cpu_ep_fallback: "1" } },
      }),
    );
  } catch (err) {
    const text = errText(err);
    const hint = /fallback|cpu/i.test(text)
      ? " A node of it has no WebGPU kernel in onnxruntime-web, and the webgpu backend refuses " +
        "CPU fallback (README, Backends): build the program from ops the WebGPU execution " +
        "provider runs, or choose --backend cpu."
      : /memory|allocat/i.test(text)
      ? " The GPU ran out of memory: lower the batch size or image size."
      : "";
    throw new Error(`webgpu backend: refused the ${opts.label ?? "program"}: ${text}.${hint}`);
  }
}

/** Uploads to and reads from GPU buffers, remembering how to read each tensor back. */
class GpuTransfers {
  #uploads = new WeakMap<DeviceTensor, () => Promise<TensorData>>();
  #reads = new WeakMap<DeviceTensor, Promise<TensorData>>();

  constructor(private readonly ort: OrtModule, private readonly device: GPUDevice) {}

  /** Copy `data` into a new storage buffer wrapped as an onnxruntime GPU tensor. */
  upload(data: TensorData, shape: Shape): DeviceTensor {
    const device = this.device;
    checkDataLength(data, shape, "webgpu backend upload");
    const bytes = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
    const buffer = device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    const src = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const padded = src.byteLength % 4 === 0 ? src : (() => {
      const p = new Uint8Array(Math.ceil(src.byteLength / 4) * 4);
      p.set(src);
      return p;
    })();
    device.queue.writeBuffer(buffer, 0, padded as Uint8Array<ArrayBuffer>);
    const dtype = dtypeOfData(data);
    const read = () => readBuffer(device, buffer, dtype, data.length);
    const tensor = this.ort.Tensor.fromGpuBuffer(buffer, {
      dataType: dtype,
      dims: [...shape],
      download: read,
      dispose: () => buffer.destroy(),
    });
    this.#uploads.set(tensor, read);
    return tensor;
  }

  /** Read a host, uploaded or program-output tensor back to the host. */
  download(tensor: DeviceTensor): Promise<TensorData> {
    // deno-lint-ignore no-explicit-any
    const t = tensor as any;
    if (t.location === "cpu") return Promise.resolve(t.data);
    // Our uploads: read the buffer without turning the tensor into a host one
    // (it stays a GPU feed for the next run).
    const own = this.#uploads.get(tensor);
    if (own) return own();
    if (t.location !== "gpu-buffer") {
      return Promise.reject(
        new Error(`webgpu backend download: a tensor at "${t.location}" cannot be read back`),
      );
    }
    // Program outputs carry onnxruntime's downloader; share one read between callers
    // (onnxruntime refuses a second read while the first is under way).
    let pending = this.#reads.get(tensor);
    if (!pending) {
      pending = t.getData() as Promise<TensorData>;
      this.#reads.set(tensor, pending);
    }
    return pending;
  }
}

/**
 * Read `length` elements of `dtype` from a GPU buffer: copy it into a
 * MAP_READ staging buffer, map it, copy the bytes out, release the staging
 * buffer.
 */
async function readBuffer(
  device: GPUDevice,
  buffer: GPUBuffer,
  dtype: DType,
  length: number,
): Promise<TensorData> {
  const ctor = { float32: Float32Array, int32: Int32Array, int64: BigInt64Array, bool: Uint8Array }[
    dtype
  ];
  const byteLength = length * ctor.BYTES_PER_ELEMENT;
  const size = Math.max(4, Math.ceil(byteLength / 4) * 4);
  const staging = device.createBuffer({
    size,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  try {
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(buffer, 0, staging, 0, size);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const bytes = staging.getMappedRange(0, size).slice(0, byteLength);
    staging.unmap();
    return new ctor(bytes);
  } finally {
    staging.destroy();
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

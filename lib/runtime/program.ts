/**
 * Compiled programs and device-resident state.
 *
 * A {@linkcode StateStore} holds named tensors on a backend's device
 * (parameters, optimizer moments, batch-norm statistics). A
 * {@linkcode Program} is a compiled graph whose inputs are either state read
 * from the store or host feeds, and whose outputs either replace state in the
 * store (the previous tensor is disposed) or come back to the host. Several
 * programs (train step, eval step) share one store, so parameters never leave
 * the device between steps.
 *
 * @module
 */

import { formatShape, type Graph, type Shape, sizeOf, type TensorData } from "../onnx/graph.ts";
import type { Backend, BackendSession, DeviceTensor } from "./backend.ts";
import { findRefusedNodes } from "./diagnose.ts";

/** Named tensors kept on a backend's device. */
export class StateStore {
  #tensors = new Map<string, { tensor: DeviceTensor; shape: Shape }>();
  /** Keys whose data lives in caller-owned host memory (see {@linkcode pin}). */
  #pinned = new Map<string, TensorData>();

  /** A store on `backend`. */
  constructor(
    /** The backend whose device holds the tensors. */
    readonly backend: Backend,
  ) {}

  /**
   * Upload `data` as `key`, replacing (and disposing) any previous tensor;
   * for a pinned key, copy `data` into its memory.
   */
  set(key: string, data: TensorData, shape: Shape): void {
    const pinned = this.#pinned.get(key);
    if (pinned) {
      if (data.length !== pinned.length || sizeOf(shape) !== pinned.length) {
        throw new Error(
          `state "${key}": ${data.length} values for ${formatShape(shape)} do not fit its ${
            formatShape(this.shape(key))
          }`,
        );
      }
      pinned.set(data as never);
      return;
    }
    this.replace(key, this.backend.upload(data, shape), shape);
  }

  /**
   * Keep `key` in `memory`, host memory the caller owns and updates in place
   * (the cpu backend's optimizer arena): the store's tensor wraps it without
   * copying, programs read it where it is, and `set` copies into it. Only
   * for backends whose tensors live in host memory (`cpu`).
   */
  pin(key: string, memory: TensorData, shape: Shape): void {
    if (this.backend.name !== "cpu") {
      throw new Error(`state "${key}": only the cpu backend can keep state in host memory`);
    }
    this.delete(key);
    this.#tensors.set(key, { tensor: this.backend.upload(memory, shape), shape: [...shape] });
    this.#pinned.set(key, memory);
  }

  /** Whether `key` is pinned to host memory (see {@linkcode pin}). */
  isPinned(key: string): boolean {
    return this.#pinned.has(key);
  }

  /** Put a device tensor under `key`, disposing the previous one. */
  replace(key: string, tensor: DeviceTensor, shape: Shape = tensor.dims): void {
    if (this.#pinned.has(key)) {
      throw new Error(`state "${key}" is pinned to host memory; set its values instead`);
    }
    const old = this.#tensors.get(key);
    this.#tensors.set(key, { tensor, shape: [...shape] });
    if (old && old.tensor !== tensor) old.tensor.dispose();
  }

  /** The device tensor stored as `key`. */
  get(key: string): DeviceTensor {
    const entry = this.#tensors.get(key);
    if (!entry) throw new Error(`state "${key}" is not in the store; set it before running`);
    return entry.tensor;
  }

  /** The shape stored for `key`. */
  shape(key: string): Shape {
    const entry = this.#tensors.get(key);
    if (!entry) throw new Error(`state "${key}" is not in the store`);
    return entry.shape;
  }

  /** Whether `key` is present. */
  has(key: string): boolean {
    return this.#tensors.has(key);
  }

  /** All keys, in insertion order. */
  keys(): string[] {
    return [...this.#tensors.keys()];
  }

  /** Number of tensors held. */
  get size(): number {
    return this.#tensors.size;
  }

  /** Copy `key`'s data to the host. */
  async read(key: string): Promise<TensorData> {
    const data = await this.backend.download(this.get(key));
    // Copy: CPU backends may hand out views of buffers that the next run reuses.
    return data.slice() as TensorData;
  }

  /** Remove `key` and dispose its tensor. */
  delete(key: string): void {
    this.#tensors.get(key)?.tensor.dispose();
    this.#tensors.delete(key);
    this.#pinned.delete(key);
  }

  /** Dispose every tensor. */
  dispose(): void {
    for (const { tensor } of this.#tensors.values()) tensor.dispose();
    this.#tensors.clear();
    this.#pinned.clear();
  }
}

/** How a program's graph connects to the state store. */
export interface ProgramBindings {
  /** Graph input name → state key read before each run. */
  state?: Readonly<Record<string, string>>;
  /** Graph output name → state key replaced after each run. */
  updates?: Readonly<Record<string, string>>;
  /**
   * Graph output name → host memory it is written into on each run, in
   * place (onnxruntime's preallocated outputs; the cpu backend only). These
   * outputs are not returned by `run`.
   */
  outputs?: Readonly<Record<string, TensorData>>;
  /** A name for errors, e.g. `train step (resnet18, batch 32)`. */
  label?: string;
}

/** Options of {@linkcode Program.run}. */
export interface RunOptions {
  /** Read state input keys through this mapping (e.g. EMA weights instead of the raw ones). */
  remapState?: (key: string) => string;
}

/** A program input: name, element type and shape. */
export interface ProgramInput {
  /** Graph input name. */
  name: string;
  /** Element type (`float32`, `int32`, …). */
  dtype: string;
  /** Static shape. */
  shape: Shape;
}

/** A graph compiled on a backend, bound to state keys. */
export class Program {
  /** Compile `graph` on `backend`. */
  static async compile(
    backend: Backend,
    graph: Graph,
    bindings: ProgramBindings = {},
  ): Promise<Program> {
    const label = bindings.label ?? graph.name;
    const state = bindings.state ?? {};
    const updates = bindings.updates ?? {};
    const inputNames = new Set(graph.inputs.map((t) => t.name));
    for (const name of Object.keys(state)) {
      if (!inputNames.has(name)) {
        throw new Error(`${label}: state binding "${name}" is not an input`);
      }
    }
    for (const name of Object.keys(updates)) {
      if (!graph.outputs.has(name)) {
        throw new Error(`${label}: update binding "${name}" is not an output`);
      }
    }
    const preallocated: Record<string, DeviceTensor> = {};
    for (const [name, memory] of Object.entries(bindings.outputs ?? {})) {
      const out = graph.outputs.get(name);
      if (!out) throw new Error(`${label}: output binding "${name}" is not an output`);
      if (name in updates) throw new Error(`${label}: output "${name}" is bound twice`);
      if (backend.name !== "cpu") {
        throw new Error(`${label}: only the cpu backend writes outputs into host memory`);
      }
      preallocated[name] = backend.hostTensor(memory, out.shape);
    }
    const model = (backend.lower ? backend.lower(graph) : graph).toModel();
    let session: BackendSession;
    try {
      session = await backend.createSession(model, { deviceOutputs: Object.keys(updates), label });
    } catch (err) {
      // Name the nodes the backend cannot run, when it is a node that it refused.
      if (!/fallback|kernel|not (implemented|supported)/i.test((err as Error).message)) throw err;
      const refused = await findRefusedNodes(backend, graph);
      if (refused.length === 0) throw err;
      const list = refused.slice(0, 10).map((n) => `${n.op} #${n.index} (${n.inputs.join(", ")})`);
      throw new Error(
        `${(err as Error).message}\nNodes ${backend.name} cannot run: ${list.join("; ")}`,
      );
    }
    const inputs = graph.inputs.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape }));
    return new Program(
      backend,
      session,
      label,
      inputs,
      [...graph.outputs.keys()],
      state,
      updates,
      preallocated,
    );
  }

  private constructor(
    /** The backend running it. */
    readonly backend: Backend,
    private readonly session: BackendSession,
    /** Name used in errors. */
    readonly label: string,
    private readonly inputs: ProgramInput[],
    /** Output names. */
    readonly outputNames: readonly string[],
    private readonly state: Readonly<Record<string, string>>,
    private readonly updates: Readonly<Record<string, string>>,
    private readonly preallocated: Readonly<Record<string, DeviceTensor>>,
  ) {}

  /** Names and shapes of the inputs fed from the host each run. */
  get hostInputs(): ProgramInput[] {
    return this.inputs.filter((i) => !(i.name in this.state));
  }

  /**
   * Run once: state inputs come from `store`, the rest from `feeds`. State
   * outputs replace their keys in `store`; other outputs are returned on the
   * host.
   */
  async run(
    store: StateStore,
    feeds: Readonly<Record<string, TensorData>> = {},
    options: RunOptions = {},
  ): Promise<Record<string, TensorData>> {
    const ortFeeds: Record<string, DeviceTensor> = {};
    for (const input of this.inputs) {
      const key = this.state[input.name];
      if (key !== undefined) {
        ortFeeds[input.name] = store.get(options.remapState ? options.remapState(key) : key);
        continue;
      }
      const data = feeds[input.name];
      if (data === undefined) {
        throw new Error(`${this.label}: missing input "${input.name}" ${formatShape(input.shape)}`);
      }
      const n = sizeOf(input.shape);
      if (data.length !== n) {
        throw new Error(
          `${this.label}: input "${input.name}" needs ${n} values for ${
            formatShape(input.shape)
          }, got ${data.length}`,
        );
      }
      ortFeeds[input.name] = this.backend.hostTensor(data, input.shape);
    }
    const results = await this.session.run(ortFeeds, this.preallocated);
    const host: Record<string, TensorData> = {};
    for (const name of this.outputNames) {
      if (name in this.preallocated) continue;
      const tensor = results[name];
      const key = this.updates[name];
      if (key !== undefined) store.replace(key, tensor);
      else {
        host[name] = await this.backend.download(tensor);
        tensor.dispose();
      }
    }
    return host;
  }

  /** Free the session. */
  async release(): Promise<void> {
    await this.session.release();
  }
}

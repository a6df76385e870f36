/**
 * The model context: what a model definition writes against. One definition
 * builds three programs, depending on the context's mode:
 *
 * - `train`: parameters and buffers are graph inputs (fed from device
 *   state), batch norm uses batch statistics and emits running-statistic
 *   updates, dropout and drop-path multiply by masks fed from the host.
 * - `eval`: parameters and buffers are graph inputs; batch norm uses running
 *   statistics; no noise.
 * - `export`: as `eval`, but parameters and buffers are initializers holding
 *   the given values, and the batch dimension is dynamic.
 *
 * @module
 */

import { Graph, sizeOf, type Tensor } from "../onnx/graph.ts";
import type { Init } from "./init.ts";

/** What a model is being built for. */
export type Mode = "train" | "eval" | "export";

/** A trainable parameter. */
export interface ParamInfo {
  /** Name as in timm's state dict, e.g. `layer1.0.conv1.weight`. */
  name: string;
  /** Shape. */
  shape: number[];
  /** Initial values. */
  init: Init;
  /** Whether weight decay applies (timm: not to biases and norm weights). */
  decay: boolean;
}

/** A non-trainable buffer (batch-norm running statistics). */
export interface BufferInfo {
  /** Name as in timm's state dict, e.g. `bn1.running_mean`. */
  name: string;
  /** Shape. */
  shape: number[];
  /** Initial values. */
  init: Init;
}

/** Random noise the host feeds each train step. */
export interface NoiseInfo {
  /** Input name. */
  name: string;
  /** Shape (batch first). */
  shape: number[];
  /** Kept elements are scaled by `1 / (1 - rate)`, dropped ones are 0. */
  rate: number;
}

/** Options of {@linkcode ModelContext.param}. */
export interface ParamOptions {
  /** Apply weight decay (default: for rank ≥ 2, i.e. weights, not biases or norms). */
  decay?: boolean;
}

/** Options of {@linkcode ModelContext}. */
export interface ModelContextOptions {
  /** Parameter and buffer values by name (required in `export` mode). */
  values?: ReadonlyMap<string, Float32Array>;
  /** Graph name. */
  name?: string;
  /** Build into this graph instead of a new one (e.g. to test a layer inside another graph). */
  graph?: Graph;
}

/** Collects a model's parameters, buffers and noise while its graph is built. */
export class ModelContext {
  /** The graph being built. */
  readonly graph: Graph;
  /** Parameters in creation order. */
  readonly params: Map<string, { info: ParamInfo; tensor: Tensor }> = new Map();
  /** Buffers in creation order, with their updated values in train mode. */
  readonly buffers: Map<string, { info: BufferInfo; tensor: Tensor; next?: Tensor }> = new Map();
  /** Noise inputs (train mode only). */
  readonly noise: Map<string, { info: NoiseInfo; tensor: Tensor }> = new Map();
  readonly #values?: ReadonlyMap<string, Float32Array>;

  /** A context for `mode`, with a fresh graph unless `options.graph` is given. */
  constructor(
    /** What the graph is for. */
    readonly mode: Mode,
    options: ModelContextOptions = {},
  ) {
    this.graph = options.graph ?? new Graph({
      name: options.name ?? `medtune_${mode}`,
      dynamicBatch: mode === "export",
    });
    this.#values = options.values;
    if (mode === "export" && !options.values) {
      throw new Error("ModelContext: export mode needs the parameter values");
    }
  }

  /** True in train mode (batch statistics, noise). */
  get training(): boolean {
    return this.mode === "train";
  }

  /** Declare a parameter. Weight decay defaults to on for rank ≥ 2 (weights), off otherwise. */
  param(
    name: string,
    shape: readonly number[],
    init: Init,
    options: ParamOptions = {},
  ): Tensor {
    if (this.params.has(name) || this.buffers.has(name)) {
      throw new Error(`model: parameter "${name}" is declared twice`);
    }
    const info: ParamInfo = {
      name,
      shape: [...shape],
      init,
      decay: options.decay ?? shape.length > 1,
    };
    const tensor = this.#source(name, shape);
    this.params.set(name, { info, tensor });
    return tensor;
  }

  /** Declare a buffer (not trained; may be updated by train steps). */
  buffer(name: string, shape: readonly number[], init: Init): Tensor {
    if (this.params.has(name) || this.buffers.has(name)) {
      throw new Error(`model: buffer "${name}" is declared twice`);
    }
    const tensor = this.#source(name, shape);
    this.buffers.set(name, { info: { name, shape: [...shape], init }, tensor });
    return tensor;
  }

  /** Set the value a train step writes back to buffer `name`. */
  updateBuffer(name: string, next: Tensor): void {
    const entry = this.buffers.get(name);
    if (!entry) throw new Error(`model: no buffer "${name}" to update`);
    entry.next = next;
  }

  /** Declare a noise input (train mode only): a mask of 0 and `1 / (1 - rate)`. */
  noiseInput(name: string, shape: readonly number[], rate: number): Tensor {
    if (!this.training) throw new Error(`model: noise "${name}" requested outside train mode`);
    if (this.noise.has(name)) throw new Error(`model: noise "${name}" is declared twice`);
    const tensor = this.graph.input(name, "float32", shape);
    this.noise.set(name, { info: { name, shape: [...shape], rate }, tensor });
    return tensor;
  }

  #source(name: string, shape: readonly number[]): Tensor {
    if (this.mode !== "export") return this.graph.input(name, "float32", shape);
    const data = this.#values!.get(name);
    if (!data) throw new Error(`export: no value for "${name}"`);
    if (data.length !== sizeOf(shape)) {
      throw new Error(`export: "${name}" has ${data.length} values, expected shape [${shape}]`);
    }
    return this.graph.constant(data, shape);
  }

  /** Total number of trainable parameter elements. */
  get parameterCount(): number {
    let n = 0;
    for (const { info } of this.params.values()) n += sizeOf(info.shape);
    return n;
  }
}

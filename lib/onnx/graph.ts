/**
 * The graph builder: typed symbolic tensors with static shapes, an ordered
 * node list, graph inputs, constants and outputs, and encoding to an ONNX
 * model. Operators live in `ops.ts`; this file holds only the containers.
 *
 * @module
 */

import {
  type AttributeValue,
  encodeModel,
  type NodeSpec,
  ONNX_DTYPE,
  type TensorProtoSpec,
  type ValueInfoSpec,
} from "./proto.ts";
import { sizeOf } from "../util/shape.ts";

/** Element types a medtune graph uses. */
export type DType = "float32" | "int32" | "int64" | "bool";

/** A static shape. */
export type Shape = readonly number[];

/** Host data for a tensor of each dtype. */
export type TensorData = Float32Array | Int32Array | BigInt64Array | Uint8Array;

/** Number of elements of a shape (re-exported from the shared shape helpers). */
export { sizeOf };

/** Format a shape for error messages, e.g. `[32, 3, 28, 28]`. */
export function formatShape(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}

/** A symbolic tensor: a value of a graph with a dtype and a static shape. */
export class Tensor {
  /** Graph-unique name; graph inputs and outputs keep the names they were given. */
  name: string;

  /** Create a tensor of `graph`; use the graph's and the ops' functions instead. */
  constructor(
    /** The graph this tensor belongs to. */
    readonly graph: Graph,
    /** Creation index, unique within the graph. */
    readonly id: number,
    /** Element type. */
    readonly dtype: DType,
    /** Static shape. */
    readonly shape: Shape,
    name?: string,
  ) {
    this.name = name ?? `t${id}`;
  }

  /** Number of dimensions. */
  get rank(): number {
    return this.shape.length;
  }

  /** Number of elements. */
  get size(): number {
    return sizeOf(this.shape);
  }

  /** A short description for error messages. */
  toString(): string {
    return `${this.name}: ${this.dtype}${formatShape(this.shape)}`;
  }
}

/** One operator application. */
export interface Node {
  /** ONNX operator type. */
  readonly op: string;
  /** Inputs; `null` for an omitted optional input. */
  readonly inputs: readonly (Tensor | null)[];
  /** Outputs. */
  readonly outputs: readonly Tensor[];
  /** Attributes. */
  readonly attrs: Readonly<Record<string, AttributeValue>>;
  /** Position in the graph's node list. */
  readonly index: number;
  /** Operator domain (a runtime's own ops, e.g. `com.microsoft.nchwc`); the ONNX domain when absent. */
  readonly domain?: string;
}

/**
 * A region of nodes whose gradient is given by hand instead of being derived
 * node by node (like `tf.custom_gradient`): used for fused rules such as
 * training-mode batch norm and softmax cross-entropy, where the composed
 * gradient would cost extra passes over large tensors.
 */
export interface CustomGradient {
  /** The region's differentiable inputs. */
  readonly inputs: readonly Tensor[];
  /** The region's outputs. */
  readonly outputs: readonly Tensor[];
  /** Index of the first node inside the region. */
  readonly firstNode: number;
  /** Index one past the last node inside the region. */
  readonly endNode: number;
  /** Gradients of the inputs given the outputs' gradients (null where none flows). */
  readonly vjp: (dys: readonly (Tensor | null)[]) => readonly (Tensor | null)[];
}

/** Options of {@linkcode Graph}. */
export interface GraphOptions {
  /** Graph name written to the model. */
  name?: string;
  /**
   * Build for a dynamic batch dimension (inference export): graph inputs and
   * outputs get a symbolic first dimension and batch-sized shapes are computed
   * at run time. Train and eval programs use static shapes.
   */
  dynamicBatch?: boolean;
}

/** Options of {@linkcode Graph.toModel}. */
export interface ToModelOptions {
  /** Default-domain opset (17 unless set). */
  opset?: number;
  /** Model metadata (`metadata_props`). */
  metadata?: Record<string, string>;
}

/** Default ONNX opset of medtune graphs (LayerNormalization needs 17). */
export const OPSET = 17;

/** Builds an ONNX graph: inputs, constants, nodes and named outputs. */
export class Graph {
  /** Graph name. */
  readonly name: string;
  /** Whether the batch dimension is dynamic (inference export). */
  readonly dynamicBatch: boolean;
  /** Nodes in creation (= topological) order. */
  readonly nodes: Node[] = [];
  /** Graph inputs in declaration order. */
  readonly inputs: Tensor[] = [];
  /** Constant tensors (ONNX initializers) and their data. */
  readonly constants: Map<Tensor, TensorData> = new Map();
  /** Named outputs in declaration order. */
  readonly outputs: Map<string, Tensor> = new Map();
  /** Hand-written gradient regions. */
  readonly customGradients: CustomGradient[] = [];

  #nextId = 0;
  #producers = new Map<Tensor, Node>();
  #names = new Set<string>();
  #scalarCache = new Map<string, Tensor>();
  #sharedCache = new Map<string, Tensor>();

  /** Create an empty graph. */
  constructor(options: GraphOptions = {}) {
    this.name = options.name ?? "medtune";
    this.dynamicBatch = options.dynamicBatch ?? false;
  }

  /** A fresh tensor owned by this graph (used by op constructors). */
  newTensor(dtype: DType, shape: Shape, name?: string): Tensor {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) {
        throw new Error(`invalid shape ${formatShape(shape)}: dimensions must be integers >= 0`);
      }
    }
    if (name !== undefined) this.#claimName(name);
    return new Tensor(this, this.#nextId++, dtype, [...shape], name);
  }

  #claimName(name: string): void {
    if (this.#names.has(name)) {
      throw new Error(
        `graph "${this.name}": the name "${name}" is already used; names must be unique`,
      );
    }
    if (/^t\d+$/.test(name)) {
      throw new Error(
        `graph "${this.name}": "${name}" is reserved for unnamed tensors; pick another name`,
      );
    }
    this.#names.add(name);
  }

  /** Declare a graph input. */
  input(name: string, dtype: DType, shape: Shape): Tensor {
    const t = this.newTensor(dtype, shape, name);
    this.inputs.push(t);
    return t;
  }

  /** Declare a constant (an initializer) from host data. */
  constant(data: TensorData, shape: Shape, dtype?: DType): Tensor {
    const kind: DType = dtype ?? dtypeOfData(data);
    if (data.length !== sizeOf(shape)) {
      throw new Error(
        `constant of shape ${formatShape(shape)} needs ${sizeOf(shape)} values, got ${data.length}`,
      );
    }
    const t = this.newTensor(kind, shape);
    this.constants.set(t, data);
    return t;
  }

  /** A scalar (rank-0) constant, shared between uses of the same value. */
  scalar(value: number, dtype: DType = "float32"): Tensor {
    const key = `${dtype}:${Object.is(value, -0) ? "-0" : value}`;
    let t = this.#scalarCache.get(key);
    if (!t) {
      t = this.constant(dataOf(dtype, [value]), [], dtype);
      this.#scalarCache.set(key, t);
    }
    return t;
  }

  /**
   * A constant shared with every other `sharedConstant` of the same dtype,
   * shape and values (one initializer). Identical nodes over shared
   * constants are then one node to onnxruntime's common-subexpression
   * elimination: e.g. the patches a conv's forward GEMM and its weight
   * gradient both take. Do not modify `data` afterwards.
   */
  sharedConstant(data: TensorData, shape: Shape, dtype?: DType): Tensor {
    const kind: DType = dtype ?? dtypeOfData(data);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    let hex = "";
    for (const b of bytes) hex += b.toString(16).padStart(2, "0");
    const key = `${kind}|${shape.join(",")}|${hex}`;
    let t = this.#sharedCache.get(key);
    if (!t) {
      t = this.constant(data, shape, kind);
      this.#sharedCache.set(key, t);
    }
    return t;
  }

  /** A rank-1 int64 constant (shapes, axes, pads), shared between uses of the same values. */
  int64s(values: readonly number[]): Tensor {
    return this.sharedConstant(
      BigInt64Array.from(values.map((v) => BigInt(v))),
      [values.length],
      "int64",
    );
  }

  /**
   * Append a node. `outputs` gives each output's dtype and shape (computed by
   * the op's shape inference). Returns the output tensors.
   */
  addNode(
    op: string,
    inputs: readonly (Tensor | null)[],
    outputs: readonly { dtype: DType; shape: Shape }[],
    attrs: Record<string, AttributeValue> = {},
    domain?: string,
  ): Tensor[] {
    for (const t of inputs) {
      if (t && t.graph !== this) {
        throw new Error(`${op}: input ${t} belongs to another graph`);
      }
    }
    const outs = outputs.map((o) => this.newTensor(o.dtype, o.shape));
    const node: Node = { op, inputs, outputs: outs, attrs, index: this.nodes.length, domain };
    this.nodes.push(node);
    for (const o of outs) this.#producers.set(o, node);
    return outs;
  }

  /** The node that computes `t`, or undefined for inputs and constants. */
  producer(t: Tensor): Node | undefined {
    return this.#producers.get(t);
  }

  /** Mark `t` as a graph output called `name` (an Identity is added when `t` is an input, a constant or already an output). */
  output(name: string, t: Tensor): Tensor {
    if (t.graph !== this) throw new Error(`output "${name}": tensor ${t} belongs to another graph`);
    if (this.outputs.has(name)) throw new Error(`output "${name}" is declared twice`);
    const renamable = this.#producers.has(t) && /^t\d+$/.test(t.name);
    let out = t;
    if (renamable) {
      this.#claimName(name);
      t.name = name;
    } else {
      out = this.addNode("Identity", [t], [{ dtype: t.dtype, shape: t.shape }])[0];
      this.#claimName(name);
      out.name = name;
    }
    this.outputs.set(name, out);
    return out;
  }

  /**
   * Build the nodes of `forward` as one region whose gradient is `vjp`.
   * `forward` receives the inputs and returns the outputs; `vjp` gets the
   * outputs' gradients and returns the inputs' gradients.
   */
  withCustomGradient(
    inputs: readonly Tensor[],
    forward: () => Tensor[],
    vjp: (dys: readonly (Tensor | null)[]) => readonly (Tensor | null)[],
  ): Tensor[] {
    const firstNode = this.nodes.length;
    const outputs = forward();
    this.customGradients.push({ inputs, outputs, firstNode, endNode: this.nodes.length, vjp });
    return outputs;
  }

  /** Encode the graph as ONNX ModelProto bytes. */
  toModel(options: ToModelOptions = {}): Uint8Array {
    if (this.outputs.size === 0) throw new Error(`graph "${this.name}" has no outputs`);
    const live = this.liveNodes();
    const used = new Set<Tensor>();
    for (const n of live) for (const t of n.inputs) if (t) used.add(t);
    for (const t of this.outputs.values()) used.add(t);
    const batchDim = (t: Tensor): (number | string)[] =>
      this.dynamicBatch && t.rank > 0 ? ["batch", ...t.shape.slice(1)] : [...t.shape];
    const info = (t: Tensor): ValueInfoSpec => ({
      name: t.name,
      dataType: ONNX_DTYPE[t.dtype],
      dims: batchDim(t),
    });
    const initializers: TensorProtoSpec[] = [];
    for (const [t, data] of this.constants) {
      if (!used.has(t)) continue;
      initializers.push({
        name: t.name,
        dataType: ONNX_DTYPE[t.dtype],
        dims: t.shape,
        raw: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      });
    }
    const nodes: NodeSpec[] = live.map((n) => ({
      opType: n.op,
      inputs: n.inputs.map((t) => t?.name ?? ""),
      outputs: n.outputs.map((t) => t.name),
      name: `${n.op}_${n.index}`,
      attributes: n.attrs,
      ...(n.domain ? { domain: n.domain } : {}),
    }));
    return encodeModel({
      graphName: this.name,
      nodes,
      inputs: this.inputs.map(info),
      outputs: [...this.outputs.values()].map(info),
      initializers,
      opset: options.opset ?? OPSET,
      metadata: options.metadata,
    });
  }

  /** Nodes that contribute to some output (dead code removed), in order: what {@linkcode Graph.toModel} writes. */
  liveNodes(): Node[] {
    const needed = new Set<Tensor>(this.outputs.values());
    const keep: boolean[] = new Array(this.nodes.length).fill(false);
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i];
      if (!n.outputs.some((o) => needed.has(o))) continue;
      keep[i] = true;
      for (const t of n.inputs) if (t) needed.add(t);
    }
    return this.nodes.filter((_, i) => keep[i]);
  }

  /** Number of nodes that would be written by {@linkcode Graph.toModel}. */
  get liveNodeCount(): number {
    return this.liveNodes().length;
  }
}

/** The dtype that a typed array holds. */
export function dtypeOfData(data: TensorData): DType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof BigInt64Array) return "int64";
  return "bool";
}

/** A typed array of `dtype` holding `values`. */
export function dataOf(dtype: DType, values: readonly number[]): TensorData {
  switch (dtype) {
    case "float32":
      return Float32Array.from(values);
    case "int32":
      return Int32Array.from(values);
    case "int64":
      return BigInt64Array.from(values.map((v) => BigInt(v)));
    case "bool":
      return Uint8Array.from(values.map((v) => (v ? 1 : 0)));
  }
}

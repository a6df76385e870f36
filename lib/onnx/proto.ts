/**
 * A minimal protobuf encoder for the subset of `onnx.proto` that medtune
 * writes: ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto and
 * ValueInfoProto.
 *
 * Hand-written rather than generated (protobufjs + the ONNX schema): encoding
 * is about 200 lines, needs no runtime dependency, no code generation step and
 * no schema file to keep in sync, and medtune never needs to decode.
 * Field numbers follow onnx/onnx.proto (IR version 8).
 *
 * @module
 */

/** ONNX `TensorProto.DataType` codes for the element types medtune uses. */
export const ONNX_DTYPE = {
  float32: 1,
  uint8: 2,
  int32: 6,
  int64: 7,
  bool: 9,
} as const;

/** An attribute value as medtune writes it. */
export type AttributeValue =
  | { type: "float"; value: number }
  | { type: "int"; value: number }
  | { type: "string"; value: string }
  | { type: "floats"; value: readonly number[] }
  | { type: "ints"; value: readonly number[] }
  | { type: "tensor"; value: TensorProtoSpec };

/** A tensor literal (initializer or attribute). */
export interface TensorProtoSpec {
  /** Tensor name (empty for attribute tensors). */
  name: string;
  /** ONNX data type code. */
  dataType: number;
  /** Dimensions. */
  dims: readonly number[];
  /** Raw little-endian bytes. */
  raw: Uint8Array;
}

/** A graph input or output description. */
export interface ValueInfoSpec {
  /** Tensor name. */
  name: string;
  /** ONNX data type code. */
  dataType: number;
  /** Dimensions; a string names a symbolic (dynamic) dimension. */
  dims: readonly (number | string)[];
}

/** A node as written to the graph. */
export interface NodeSpec {
  /** Operator type, e.g. `Conv`. */
  opType: string;
  /** Input names; the empty string marks an omitted optional input. */
  inputs: readonly string[];
  /** Output names. */
  outputs: readonly string[];
  /** Unique node name. */
  name: string;
  /** Attributes by name. */
  attributes: Readonly<Record<string, AttributeValue>>;
  /** Operator domain, empty for the default ONNX domain. */
  domain?: string;
}

/** A whole model as {@linkcode encodeModel} writes it. */
export interface ModelProtoSpec {
  /** Graph name. */
  graphName: string;
  /** Nodes in topological order. */
  nodes: readonly NodeSpec[];
  /** Graph inputs. */
  inputs: readonly ValueInfoSpec[];
  /** Graph outputs. */
  outputs: readonly ValueInfoSpec[];
  /** Constant tensors. */
  initializers: readonly TensorProtoSpec[];
  /** Default-domain opset version. */
  opset: number;
  /** Free-form `metadata_props`. */
  metadata?: Readonly<Record<string, string>>;
}

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

const utf8 = new TextEncoder();

/** Growable byte buffer with protobuf primitives. */
class Writer {
  #buf = new Uint8Array(256);
  #len = 0;

  #reserve(extra: number): void {
    if (this.#len + extra <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < this.#len + extra) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    this.#reserve(10);
    while (v >= 0x80n) {
      this.#buf[this.#len++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.#buf[this.#len++] = Number(v);
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  bytes(field: number, data: Uint8Array): void {
    this.tag(field, WIRE_LEN);
    this.varint(data.length);
    this.#reserve(data.length);
    this.#buf.set(data, this.#len);
    this.#len += data.length;
  }

  string(field: number, value: string): void {
    this.bytes(field, utf8.encode(value));
  }

  int(field: number, value: number): void {
    this.tag(field, WIRE_VARINT);
    this.varint(value);
  }

  float(field: number, value: number): void {
    this.tag(field, WIRE_FIXED32);
    this.#reserve(4);
    new DataView(this.#buf.buffer, this.#len, 4).setFloat32(0, value, true);
    this.#len += 4;
  }

  message(field: number, write: (w: Writer) => void): void {
    const inner = new Writer();
    write(inner);
    this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

function writeTensor(w: Writer, t: TensorProtoSpec): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.dataType);
  if (t.name) w.string(8, t.name);
  w.bytes(9, t.raw);
}

const ATTR_TYPE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;

function writeAttribute(w: Writer, name: string, a: AttributeValue): void {
  w.string(1, name);
  switch (a.type) {
    case "float":
      w.float(2, a.value);
      break;
    case "int":
      w.int(3, a.value);
      break;
    case "string":
      w.string(4, a.value);
      break;
    case "tensor":
      w.message(5, (t) => writeTensor(t, a.value));
      break;
    case "floats":
      for (const f of a.value) w.float(7, f);
      break;
    case "ints":
      for (const i of a.value) w.int(8, i);
      break;
  }
  w.int(20, ATTR_TYPE[a.type]);
}

function writeNode(w: Writer, n: NodeSpec): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name);
  w.string(4, n.opType);
  for (const [name, a] of Object.entries(n.attributes)) {
    w.message(5, (aw) => writeAttribute(aw, name, a));
  }
  if (n.domain) w.string(7, n.domain);
}

function writeValueInfo(w: Writer, v: ValueInfoSpec): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, v.dataType);
      tensor.message(2, (shape) => {
        for (const d of v.dims) {
          shape.message(1, (dim) => {
            if (typeof d === "string") dim.string(2, d);
            else dim.int(1, d);
          });
        }
      });
    }));
}

/** Encode a model as ONNX `ModelProto` bytes (IR version 8). */
export function encodeModel(spec: ModelProtoSpec): Uint8Array {
  const w = new Writer();
  w.int(1, 8); // ir_version
  w.string(2, "medtune");
  w.string(3, "0.1.0");
  w.message(7, (g) => {
    for (const n of spec.nodes) g.message(1, (nw) => writeNode(nw, n));
    g.string(2, spec.graphName);
    for (const t of spec.initializers) g.message(5, (tw) => writeTensor(tw, t));
    for (const v of spec.inputs) g.message(11, (vw) => writeValueInfo(vw, v));
    for (const v of spec.outputs) g.message(12, (vw) => writeValueInfo(vw, v));
  });
  w.message(8, (o) => {
    o.string(1, "");
    o.int(2, spec.opset);
  });
  // Runtime-specific domains (e.g. onnxruntime's `com.microsoft.nchwc`) are at version 1.
  const domains = new Set(spec.nodes.map((n) => n.domain ?? "").filter((d) => d !== ""));
  for (const domain of domains) {
    w.message(8, (o) => {
      o.string(1, domain);
      o.int(2, 1);
    });
  }
  for (const [key, value] of Object.entries(spec.metadata ?? {})) {
    w.message(14, (m) => {
      m.string(1, key);
      m.string(2, value);
    });
  }
  return w.finish();
}

/**
 * NumPy `.npy` reader and writer.
 *
 * Reads format versions 1.0, 2.0 and 3.0, little- and big-endian data, C and
 * Fortran order, any rank, and the dtypes `b1 i1 u1 i2 u2 i4 u4 i8 u8 f4 f8`.
 * Arrays come back in C order and native (little-endian) byte order.
 *
 * @module
 */

import { sizeOf } from "../util/shape.ts";
import { DataError, type DataErrorContext } from "./errors.ts";

/** The element types this reader understands (NumPy type codes without byte order). */
export type NpyDtype = "b1" | "i1" | "u1" | "i2" | "u2" | "i4" | "u4" | "i8" | "u8" | "f4" | "f8";

/** The typed array that holds each {@linkcode NpyDtype}. */
export type NpyData =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

/** A decoded array: C-order data in native byte order, with its dtype and shape. */
export interface NpyArray {
  /** Element type. */
  dtype: NpyDtype;
  /** Dimensions, outermost first; `[]` for a scalar. */
  shape: number[];
  /** The elements in C (row-major) order. */
  data: NpyData;
}

/** Options for {@linkcode parseNpy}. */
export interface ParseNpyOptions extends DataErrorContext {
  /**
   * Return a view into `bytes` instead of a copy when the data is already
   * little-endian, C-order and aligned (default `true`).
   */
  view?: boolean;
}

/** Options for {@linkcode encodeNpy}. */
export interface EncodeNpyOptions {
  /** Format version to write: 1, 2 or 3 (default 1; use 2 for headers over 64 KiB). */
  version?: 1 | 2 | 3;
  /** Byte order of the written data (default `"<"`, little-endian). */
  byteOrder?: "<" | ">";
  /** Write the data in Fortran (column-major) order (default `false`). */
  fortranOrder?: boolean;
}

interface DtypeInfo {
  size: number;
  make: (buffer: ArrayBuffer, offset: number, length: number) => NpyData;
  alloc: (length: number) => NpyData;
  read: (view: DataView, offset: number, little: boolean) => number | bigint;
  write: (view: DataView, offset: number, value: number | bigint, little: boolean) => void;
}

const DTYPES: Record<NpyDtype, DtypeInfo> = {
  b1: {
    size: 1,
    make: (b, o, n) => new Uint8Array(b, o, n),
    alloc: (n) => new Uint8Array(n),
    read: (v, o) => v.getUint8(o),
    write: (v, o, x) => v.setUint8(o, Number(x)),
  },
  i1: {
    size: 1,
    make: (b, o, n) => new Int8Array(b, o, n),
    alloc: (n) => new Int8Array(n),
    read: (v, o) => v.getInt8(o),
    write: (v, o, x) => v.setInt8(o, Number(x)),
  },
  u1: {
    size: 1,
    make: (b, o, n) => new Uint8Array(b, o, n),
    alloc: (n) => new Uint8Array(n),
    read: (v, o) => v.getUint8(o),
    write: (v, o, x) => v.setUint8(o, Number(x)),
  },
  i2: {
    size: 2,
    make: (b, o, n) => new Int16Array(b, o, n),
    alloc: (n) => new Int16Array(n),
    read: (v, o, le) => v.getInt16(o, le),
    write: (v, o, x, le) => v.setInt16(o, Number(x), le),
  },
  u2: {
    size: 2,
    make: (b, o, n) => new Uint16Array(b, o, n),
    alloc: (n) => new Uint16Array(n),
    read: (v, o, le) => v.getUint16(o, le),
    write: (v, o, x, le) => v.setUint16(o, Number(x), le),
  },
  i4: {
    size: 4,
    make: (b, o, n) => new Int32Array(b, o, n),
    alloc: (n) => new Int32Array(n),
    read: (v, o, le) => v.getInt32(o, le),
    write: (v, o, x, le) => v.setInt32(o, Number(x), le),
  },
  u4: {
    size: 4,
    make: (b, o, n) => new Uint32Array(b, o, n),
    alloc: (n) => new Uint32Array(n),
    read: (v, o, le) => v.getUint32(o, le),
    write: (v, o, x, le) => v.setUint32(o, Number(x), le),
  },
  i8: {
    size: 8,
    make: (b, o, n) => new BigInt64Array(b, o, n),
    alloc: (n) => new BigInt64Array(n),
    read: (v, o, le) => v.getBigInt64(o, le),
    write: (v, o, x, le) => v.setBigInt64(o, BigInt(x), le),
  },
  u8: {
    size: 8,
    make: (b, o, n) => new BigUint64Array(b, o, n),
    alloc: (n) => new BigUint64Array(n),
    read: (v, o, le) => v.getBigUint64(o, le),
    write: (v, o, x, le) => v.setBigUint64(o, BigInt(x), le),
  },
  f4: {
    size: 4,
    make: (b, o, n) => new Float32Array(b, o, n),
    alloc: (n) => new Float32Array(n),
    read: (v, o, le) => v.getFloat32(o, le),
    write: (v, o, x, le) => v.setFloat32(o, Number(x), le),
  },
  f8: {
    size: 8,
    make: (b, o, n) => new Float64Array(b, o, n),
    alloc: (n) => new Float64Array(n),
    read: (v, o, le) => v.getFloat64(o, le),
    write: (v, o, x, le) => v.setFloat64(o, Number(x), le),
  },
};

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const HOST_LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The dtype that NumPy uses for `data`'s typed-array type. */
export function dtypeOf(data: NpyData): NpyDtype {
  if (data instanceof Uint8Array) return "u1";
  if (data instanceof Int8Array) return "i1";
  if (data instanceof Int16Array) return "i2";
  if (data instanceof Uint16Array) return "u2";
  if (data instanceof Int32Array) return "i4";
  if (data instanceof Uint32Array) return "u4";
  if (data instanceof BigInt64Array) return "i8";
  if (data instanceof BigUint64Array) return "u8";
  if (data instanceof Float32Array) return "f4";
  return "f8";
}

/**
 * Decode one `.npy` file from its bytes.
 *
 * Throws {@linkcode DataError} naming `options.file` / `options.member` when the
 * magic or header is unreadable, the dtype is unsupported, or the data is
 * shorter than the header's shape says.
 */
export function parseNpy(bytes: Uint8Array, options: ParseNpyOptions = {}): NpyArray {
  const ctx: DataErrorContext = { file: options.file, member: options.member };
  const fix = "The bytes must be a NumPy .npy file (np.save).";
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) {
    throw new DataError(`not an NPY file: missing the "\\x93NUMPY" magic at byte 0. ${fix}`, ctx);
  }
  const major = bytes[6];
  const minor = bytes[7];
  let headerLen: number;
  let headerStart: number;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (major === 1) {
    headerLen = dv.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) {
      throw new DataError(`NPY header is truncated (file is ${bytes.length} bytes). ${fix}`, ctx);
    }
    headerLen = dv.getUint32(8, true);
    headerStart = 12;
  } else {
    throw new DataError(
      `unsupported NPY format version ${major}.${minor}; versions 1.0, 2.0 and 3.0 are supported.`,
      ctx,
    );
  }
  const dataStart = headerStart + headerLen;
  if (dataStart > bytes.length) {
    throw new DataError(
      `NPY header says it is ${headerLen} bytes but only ${
        bytes.length - headerStart
      } bytes follow; the file is truncated.`,
      ctx,
    );
  }
  const headerBytes = bytes.subarray(headerStart, dataStart);
  const headerText = major === 3
    ? new TextDecoder("utf-8").decode(headerBytes)
    : new TextDecoder("latin1").decode(headerBytes);
  const header = parseHeader(headerText, ctx);

  const { dtype, little } = parseDescr(header.descr, ctx);
  const info = DTYPES[dtype];
  const count = sizeOf(header.shape);
  const byteLength = count * info.size;
  if (bytes.length - dataStart < byteLength) {
    throw new DataError(
      `data is shorter than the header says: shape (${header.shape.join(", ")}) of '${
        String(header.descr)
      }' needs ${byteLength} bytes but only ${
        bytes.length - dataStart
      } follow the header; the file is truncated or was cut off while writing.`,
      ctx,
    );
  }

  let data: NpyData;
  const absolute = bytes.byteOffset + dataStart;
  const nativeOrder = info.size === 1 || little === HOST_LITTLE;
  if (nativeOrder && absolute % info.size === 0 && options.view !== false) {
    data = info.make(bytes.buffer as ArrayBuffer, absolute, count);
  } else if (nativeOrder) {
    const copy = bytes.slice(dataStart, dataStart + byteLength);
    data = info.make(copy.buffer, 0, count);
  } else {
    data = info.alloc(count);
    const out = data as unknown as { [i: number]: number | bigint };
    for (let i = 0, o = dataStart; i < count; i++, o += info.size) {
      out[i] = info.read(dv, o, little);
    }
  }
  if (header.fortran_order && header.shape.length > 1) {
    data = fortranToC(data, header.shape);
  }
  return { dtype, shape: header.shape, data };
}

/** Encode an array as `.npy` bytes (format 1.0 by default). Handy for tests and exports. */
export function encodeNpy(array: NpyArray, options: EncodeNpyOptions = {}): Uint8Array {
  const version = options.version ?? 1;
  const order = options.byteOrder ?? "<";
  const fortran = options.fortranOrder ?? false;
  const info = DTYPES[array.dtype];
  if (!info) throw new DataError(`encodeNpy: unsupported dtype "${array.dtype}".`);
  const count = sizeOf(array.shape);
  if (array.data.length !== count) {
    throw new DataError(
      `encodeNpy: data has ${array.data.length} elements but shape (${
        array.shape.join(", ")
      }) needs ${count}.`,
    );
  }
  const prefix = array.dtype === "u1" || array.dtype === "i1" || array.dtype === "b1" ? "|" : order;
  const shapeText = array.shape.length === 1
    ? `(${array.shape[0]},)`
    : `(${array.shape.join(", ")})`;
  let header = `{'descr': '${prefix}${array.dtype}', 'fortran_order': ${
    fortran ? "True" : "False"
  }, 'shape': ${shapeText}, }`;
  const pre = version === 1 ? 10 : 12;
  const total = Math.ceil((pre + header.length + 1) / 64) * 64;
  header = header.padEnd(total - pre - 1, " ") + "\n";
  const headerBytes = new TextEncoder().encode(header);
  if (version === 1 && headerBytes.length > 0xffff) {
    throw new DataError("encodeNpy: header is over 64 KiB; write version 2 instead.");
  }
  const out = new Uint8Array(pre + headerBytes.length + count * info.size);
  out.set(MAGIC, 0);
  out[6] = version;
  out[7] = 0;
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, headerBytes.length, true);
  else dv.setUint32(8, headerBytes.length, true);
  out.set(headerBytes, pre);
  const src = fortran && array.shape.length > 1 ? cToFortran(array.data, array.shape) : array.data;
  const little = order === "<";
  const values = src as unknown as ArrayLike<number | bigint>;
  for (let i = 0, o = pre + headerBytes.length; i < count; i++, o += info.size) {
    info.write(dv, o, values[i], little);
  }
  return out;
}

interface NpyHeader {
  descr: unknown;
  fortran_order: boolean;
  shape: number[];
}

function parseHeader(text: string, ctx: DataErrorContext): NpyHeader {
  let value: unknown;
  try {
    value = new PyLiteralParser(text).parseTop();
  } catch (err) {
    throw new DataError(
      `unreadable NPY header ${JSON.stringify(text.trim())}: ${(err as Error).message}.`,
      ctx,
    );
  }
  const bad = (why: string) =>
    new DataError(`unreadable NPY header ${JSON.stringify(text.trim())}: ${why}.`, ctx);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw bad("expected a dict with keys 'descr', 'fortran_order' and 'shape'");
  }
  const dict = value as Record<string, unknown>;
  if (!("descr" in dict)) throw bad("the key 'descr' is missing");
  if (typeof dict.fortran_order !== "boolean") {
    throw bad("'fortran_order' must be True or False");
  }
  const shape = dict.shape;
  if (
    !Array.isArray(shape) ||
    shape.some((d) => typeof d !== "number" || !Number.isInteger(d) || d < 0)
  ) {
    throw bad("'shape' must be a tuple of non-negative integers");
  }
  return { descr: dict.descr, fortran_order: dict.fortran_order, shape: shape as number[] };
}

function parseDescr(descr: unknown, ctx: DataErrorContext): { dtype: NpyDtype; little: boolean } {
  const supported = "supported: b1 i1 u1 i2 u2 i4 u4 i8 u8 f4 f8 (any byte order)";
  if (typeof descr !== "string") {
    throw new DataError(
      `unsupported dtype ${
        JSON.stringify(descr)
      }: structured/record dtypes are not supported (${supported}). Save plain arrays instead.`,
      ctx,
    );
  }
  const m = /^([<>|=]?)([a-zA-Z]\d+)$/.exec(descr);
  if (!m || !(m[2] in DTYPES)) {
    throw new DataError(
      `unsupported dtype '${descr}' (${supported}). Convert the array, e.g. arr.astype('<f4').`,
      ctx,
    );
  }
  const little = m[1] === ">" ? false : m[1] === "<" ? true : HOST_LITTLE;
  return { dtype: m[2] as NpyDtype, little };
}

/** Reorder Fortran-order elements into C order (any rank). */
function fortranToC(src: NpyData, shape: number[]): NpyData {
  return reorder(src, shape, true);
}

function cToFortran(src: NpyData, shape: number[]): NpyData {
  return reorder(src, shape, false);
}

function reorder(src: NpyData, shape: number[], fromFortran: boolean): NpyData {
  const rank = shape.length;
  const count = sizeOf(shape);
  const out = DTYPES[dtypeOf(src)].alloc(count) as unknown as { [i: number]: number | bigint };
  const input = src as unknown as { [i: number]: number | bigint };
  // Fortran strides: axis 0 is fastest.
  const fstride = new Array<number>(rank);
  let s = 1;
  for (let k = 0; k < rank; k++) {
    fstride[k] = s;
    s *= shape[k];
  }
  const idx = new Array<number>(rank).fill(0);
  let f = 0;
  for (let c = 0; c < count; c++) {
    if (fromFortran) out[c] = input[f];
    else out[f] = input[c];
    // advance the C-order odometer (last axis fastest) and keep f in step
    for (let k = rank - 1; k >= 0; k--) {
      idx[k]++;
      f += fstride[k];
      if (idx[k] < shape[k]) break;
      f -= fstride[k] * shape[k];
      idx[k] = 0;
    }
  }
  return out as unknown as NpyData;
}

/** A parser for the small subset of Python literals that NPY headers use. */
class PyLiteralParser {
  #pos = 0;
  constructor(readonly text: string) {}

  parseTop(): unknown {
    const v = this.value();
    this.#ws();
    if (this.#pos !== this.text.length) throw new Error(`unexpected text at offset ${this.#pos}`);
    return v;
  }

  #ws(): void {
    while (this.#pos < this.text.length && /\s/.test(this.text[this.#pos])) this.#pos++;
  }

  value(): unknown {
    this.#ws();
    const ch = this.text[this.#pos];
    if (ch === "{") return this.#dict();
    if (ch === "(" || ch === "[") return this.#sequence(ch === "(" ? ")" : "]");
    if (ch === "'" || ch === '"') return this.#string();
    const m = /^(True|False|None|-?\d+L?)/.exec(this.text.slice(this.#pos));
    if (!m) throw new Error(`unexpected character ${JSON.stringify(ch ?? "end")} at ${this.#pos}`);
    this.#pos += m[0].length;
    if (m[0] === "True") return true;
    if (m[0] === "False") return false;
    if (m[0] === "None") return null;
    return Number.parseInt(m[0], 10);
  }

  #string(): string {
    const quote = this.text[this.#pos++];
    const end = this.text.indexOf(quote, this.#pos);
    if (end < 0) throw new Error("unterminated string");
    const s = this.text.slice(this.#pos, end);
    this.#pos = end + 1;
    return s;
  }

  #sequence(close: string): unknown[] {
    this.#pos++;
    const out: unknown[] = [];
    for (;;) {
      this.#ws();
      if (this.text[this.#pos] === close) {
        this.#pos++;
        return out;
      }
      out.push(this.value());
      this.#ws();
      if (this.text[this.#pos] === ",") this.#pos++;
      else if (this.text[this.#pos] !== close) throw new Error(`expected "," or "${close}"`);
    }
  }

  #dict(): Record<string, unknown> {
    this.#pos++;
    const out: Record<string, unknown> = {};
    for (;;) {
      this.#ws();
      if (this.text[this.#pos] === "}") {
        this.#pos++;
        return out;
      }
      const key = this.value();
      if (typeof key !== "string") throw new Error("dict keys must be strings");
      this.#ws();
      if (this.text[this.#pos++] !== ":") throw new Error(`expected ":" after '${key}'`);
      out[key] = this.value();
      this.#ws();
      if (this.text[this.#pos] === ",") this.#pos++;
      else if (this.text[this.#pos] !== "}") throw new Error('expected "," or "}"');
    }
  }
}

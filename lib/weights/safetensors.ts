/**
 * Read and write the safetensors format (https://github.com/huggingface/safetensors),
 * byte-compatible with the reference Rust/Python implementation:
 *
 * - 8 bytes: N, the header length, an unsigned little-endian 64-bit integer;
 * - N bytes: a UTF-8 JSON object `{ name: { dtype, shape, data_offsets: [begin, end] } }`
 *   with an optional `"__metadata__"` string→string map, padded with spaces so the
 *   data starts 8-byte aligned;
 * - the data buffer: each tensor's row-major little-endian bytes, contiguous, with
 *   offsets relative to the start of the buffer and no gaps or overlaps.
 *
 * On write, tensors are ordered as the reference does (by dtype, widest first, then by
 * name) and the header JSON is compact. F16 and BF16 are decoded to Float32Array on
 * read unless `halfAsRaw` is set.
 *
 * ```ts
 * import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
 * const bytes = encodeSafetensors({
 *   "fc.weight": { dtype: "F32", shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
 * }, { framework: "medtune" });
 * const { tensors, metadata } = decodeSafetensors(bytes);
 * tensors.get("fc.weight")?.data; // Float32Array [1, 2, 3, 4]
 * ```
 *
 * @module
 */

import { atomicWriteFile } from "../util/fs.ts";
import { roundHalfEven } from "../util/round.ts";

/** Element types supported by this reader and writer. */
export type SafetensorsDtype = "F32" | "F16" | "BF16" | "F64" | "I64" | "I32" | "U8" | "BOOL";

/** The typed array a decoded tensor's data comes back as. */
export type SafetensorsData =
  | Float32Array
  | Float64Array
  | BigInt64Array
  | Int32Array
  | Uint8Array
  | Uint16Array;

/** A tensor decoded from a safetensors file. */
export interface SafeTensor {
  /** Element type as stored in the file. */
  dtype: SafetensorsDtype;
  /** Dimensions; `[]` is a scalar (one element). */
  shape: number[];
  /**
   * Row-major values: Float32Array for F32 (and for F16/BF16, decoded),
   * Float64Array for F64, BigInt64Array for I64, Int32Array for I32, Uint8Array
   * for U8 and BOOL (0/1), Uint16Array of raw bits for F16/BF16 with `halfAsRaw`.
   */
  data: SafetensorsData;
}

/**
 * A tensor to encode. `data` may be the matching typed array (copied as is) or
 * plain numbers, converted with checks: F16/BF16 accept a Uint16Array of raw
 * bits or numbers (rounded to nearest, ties to even); I64 accepts a
 * BigInt64Array, bigints or safe integers; BOOL accepts booleans or 0/1.
 */
export interface TensorInput {
  /** Element type to store. */
  dtype: SafetensorsDtype;
  /** Dimensions; the product must equal the number of values. */
  shape: readonly number[];
  /** Row-major values. */
  data: ArrayLike<number> | BigInt64Array | readonly bigint[] | readonly boolean[];
}

/** Result of {@linkcode decodeSafetensors} and {@linkcode loadSafetensors}. */
export interface DecodedSafetensors {
  /** Tensors by name, in file (data offset) order. */
  tensors: Map<string, SafeTensor>;
  /** The `__metadata__` map, or `null` when the file has none. */
  metadata: Record<string, string> | null;
}

/** Options for {@linkcode decodeSafetensors} and {@linkcode loadSafetensors}. */
export interface DecodeOptions {
  /** File name used in error messages. */
  path?: string;
  /** Return F16/BF16 data as a Uint16Array of raw bits instead of decoding to Float32Array. */
  halfAsRaw?: boolean;
}

/** Options for {@linkcode saveSafetensors}. */
export interface SaveOptions {
  /** String→string map stored under `__metadata__`. */
  metadata?: Record<string, string>;
}

/** A malformed file or invalid tensor; the message names the file or tensor and the fix. */
export class SafetensorsError extends Error {
  /** Create the error. */
  constructor(message: string) {
    super(message);
    this.name = "SafetensorsError";
  }
}

/** Bytes per element. */
const ITEM_SIZE: Record<SafetensorsDtype, number> = {
  F32: 4,
  F16: 2,
  BF16: 2,
  F64: 8,
  I64: 8,
  I32: 4,
  U8: 1,
  BOOL: 1,
};

/** Position in the reference implementation's `Dtype` enum; the writer sorts by it, descending. */
const DTYPE_RANK: Record<SafetensorsDtype, number> = {
  BOOL: 0,
  U8: 1,
  F16: 7,
  BF16: 8,
  I32: 9,
  F32: 11,
  F64: 12,
  I64: 13,
};

/** The reference reader refuses headers above 100 MB; so do we. */
const MAX_HEADER_BYTES = 100_000_000;

const SUPPORTED = Object.keys(ITEM_SIZE).join(", ");

function isDtype(v: unknown): v is SafetensorsDtype {
  return typeof v === "string" && Object.hasOwn(ITEM_SIZE, v);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function checkHost(): void {
  if (!LITTLE_ENDIAN) {
    throw new SafetensorsError("safetensors: big-endian hosts are not supported");
  }
}

// ---------------------------------------------------------------------------
// 16-bit floats
// ---------------------------------------------------------------------------

/**
 * Bits of the nearest binary float with `eBits` exponent and `mBits` mantissa
 * bits (IEEE-style, with subnormals and infinities), rounding ties to even.
 */
function encodeMiniFloat(x: number, eBits: number, mBits: number): number {
  const bias = (1 << (eBits - 1)) - 1;
  const expMax = (1 << eBits) - 1;
  const signBit = 1 << (eBits + mBits);
  if (Number.isNaN(x)) return (expMax << mBits) | (1 << (mBits - 1));
  const sign = x < 0 || Object.is(x, -0) ? signBit : 0;
  const a = Math.abs(x);
  if (a === Infinity) return sign | (expMax << mBits);
  const minNormalExp = 1 - bias;
  if (a < 2 ** minNormalExp) {
    // Subnormal: multiples of 2^(minNormalExp − mBits); a rounding carry into the
    // exponent field yields the smallest normal, which is the correct encoding.
    return sign | roundHalfEven(a * 2 ** (mBits - minNormalExp));
  }
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  let m = roundHalfEven(a * 2 ** (mBits - e)); // in [2^mBits, 2^(mBits+1)]
  if (m === 2 ** (mBits + 1)) {
    m /= 2;
    e++;
  }
  if (e > bias) return sign | (expMax << mBits);
  return sign | ((e + bias) << mBits) | (m - 2 ** mBits);
}

/** IEEE 754 binary16 bits of `x`, rounded to nearest, ties to even. */
export function float16Bits(x: number): number {
  return encodeMiniFloat(x, 5, 10);
}

/** bfloat16 bits of `x` (8 exponent, 7 mantissa bits), rounded to nearest, ties to even. */
export function bfloat16Bits(x: number): number {
  return encodeMiniFloat(x, 8, 7);
}

/** The value of IEEE 754 binary16 bits `h` (0..65535). */
export function float16Value(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** The value of bfloat16 bits `b` (0..65535): the upper half of a float32. */
export function bfloat16Value(b: number): number {
  const u = new Uint32Array([(b & 0xffff) << 16]);
  return new Float32Array(u.buffer)[0];
}

let f16Table: Float32Array | null = null;

function decodeF16(raw: Uint16Array): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = float16Value(h);
  }
  const out = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = f16Table[raw[i]];
  return out;
}

function decodeBF16(raw: Uint16Array): Float32Array {
  const bits = new Uint32Array(raw.length);
  for (let i = 0; i < raw.length; i++) bits[i] = raw[i] << 16;
  return new Float32Array(bits.buffer);
}

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

function numel(shape: readonly number[], where: string): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new SafetensorsError(
        `${where}: shape[${i}] is ${d}; dimensions must be non-negative integers`,
      );
    }
    n *= d;
  }
  if (!Number.isSafeInteger(n)) {
    throw new SafetensorsError(`${where}: shape [${shape.join(", ")}] has too many elements`);
  }
  return n;
}

function numberAt(data: TensorInput["data"], i: number, where: string): number {
  const v = data[i];
  if (typeof v === "number") return v;
  if (typeof v === "boolean") return v ? 1 : 0;
  throw new SafetensorsError(`${where}: data[${i}] is ${typeof v} ${v}; expected a number`);
}

function checkedInts(
  data: TensorInput["data"],
  n: number,
  lo: number,
  hi: number,
  where: string,
  what: string,
): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const v = numberAt(data, i, where);
    if (!Number.isInteger(v) || v < lo || v > hi) {
      throw new SafetensorsError(`${where}: data[${i}] is ${v}; ${what}`);
    }
    out[i] = v;
  }
  return out;
}

/** The little-endian bytes of one tensor's data, validated against dtype and length. */
function tensorBytes(t: TensorInput, where: string): Uint8Array {
  const n = checkTensorInput(t, where);
  const data = t.data;
  switch (t.dtype) {
    case "F32":
      return copyBytes(
        data instanceof Float32Array ? data : Float32Array.from(
          { length: n },
          (_, i) => numberAt(data, i, where),
        ),
      );
    case "F64":
      return copyBytes(
        data instanceof Float64Array ? data : Float64Array.from(
          { length: n },
          (_, i) => numberAt(data, i, where),
        ),
      );
    case "F16":
    case "BF16": {
      if (data instanceof Uint16Array) return copyBytes(data);
      const enc = t.dtype === "F16" ? float16Bits : bfloat16Bits;
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = enc(numberAt(data, i, where));
      return new Uint8Array(out.buffer);
    }
    case "I32":
      return copyBytes(
        data instanceof Int32Array ? data : Int32Array.from(
          checkedInts(data, n, -(2 ** 31), 2 ** 31 - 1, where, "I32 needs int32"),
        ),
      );
    case "I64":
      return int64Bytes(data, n, where);
    case "U8":
      return data instanceof Uint8Array
        ? copyBytes(data)
        : Uint8Array.from(checkedInts(data, n, 0, 255, where, "U8 needs integers 0..255"));
    case "BOOL":
      return Uint8Array.from(
        checkedInts(data, n, 0, 1, where, "BOOL needs true/false or 0/1"),
      );
  }
}

/** Check a tensor's fields (object, dtype, shape, data length); returns its element count. */
function checkTensorInput(t: TensorInput, where: string): number {
  if (t == null || typeof t !== "object") {
    throw new SafetensorsError(`${where}: expected { dtype, shape, data }, got ${t}`);
  }
  if (!isDtype(t.dtype)) {
    throw new SafetensorsError(
      `${where}: unsupported dtype ${JSON.stringify(t.dtype)}; supported: ${SUPPORTED}`,
    );
  }
  if (!Array.isArray(t.shape)) {
    throw new SafetensorsError(`${where}: shape must be an array of integers, got ${t.shape}`);
  }
  const n = numel(t.shape, where);
  const data = t.data;
  if (data == null || typeof (data as ArrayLike<unknown>).length !== "number") {
    throw new SafetensorsError(`${where}: data must be a typed array or an array, got ${data}`);
  }
  if (data.length !== n) {
    throw new SafetensorsError(
      `${where}: shape [${t.shape.join(", ")}] has ${n} elements but data has ${data.length}`,
    );
  }
  return n;
}

/** A copy of a typed array's bytes. */
function copyBytes(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}

/** I64 bytes from a BigInt64Array (copied), bigints in range, or safe integers. */
function int64Bytes(data: TensorInput["data"], n: number, where: string): Uint8Array {
  if (data instanceof BigInt64Array) return copyBytes(data);
  const out = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const v = (data as ArrayLike<unknown>)[i];
    if (typeof v === "bigint") {
      if (v < -(2n ** 63n) || v >= 2n ** 63n) {
        throw new SafetensorsError(`${where}: data[${i}] = ${v} does not fit in int64`);
      }
      out[i] = v;
    } else if (typeof v === "number" && Number.isSafeInteger(v)) {
      out[i] = BigInt(v);
    } else {
      throw new SafetensorsError(
        `${where}: data[${i}] is ${v}; I64 needs bigints or safe integers`,
      );
    }
  }
  return new Uint8Array(out.buffer);
}

function compareUtf8(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/**
 * Encode tensors (and an optional `__metadata__` string map) as safetensors
 * bytes. The layout matches the reference implementation byte for byte:
 * tensors sorted by dtype (widest first) then name, compact JSON header padded
 * with spaces to a multiple of 8 bytes.
 */
export function encodeSafetensors(
  tensors: Record<string, TensorInput> | Map<string, TensorInput>,
  metadata?: Record<string, string>,
): Uint8Array {
  checkHost();
  const where = "encodeSafetensors";
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors ?? {});
  const enc = new TextEncoder();
  const prepared = entries.map(([name, t]) => {
    if (name === "__metadata__") {
      throw new SafetensorsError(`${where}: "__metadata__" is reserved and cannot name a tensor`);
    }
    const tw = `${where}: tensor "${name}"`;
    return { name, key: enc.encode(name), t, bytes: tensorBytes(t, tw) };
  });
  prepared.sort((a, b) =>
    DTYPE_RANK[b.t.dtype] - DTYPE_RANK[a.t.dtype] || compareUtf8(a.key, b.key)
  );
  const parts: string[] = [];
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata)) {
      throw new SafetensorsError(`${where}: metadata must be a string→string object`);
    }
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") {
        throw new SafetensorsError(
          `${where}: metadata["${k}"] is ${typeof v}; safetensors metadata values must be ` +
            `strings (JSON.stringify structured values)`,
        );
      }
    }
    parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  }
  let offset = 0;
  for (const p of prepared) {
    const end = offset + p.bytes.length;
    parts.push(
      `${JSON.stringify(p.name)}:{"dtype":"${p.t.dtype}","shape":[${p.t.shape.join(",")}],` +
        `"data_offsets":[${offset},${end}]}`,
    );
    offset = end;
  }
  const json = enc.encode(`{${parts.join(",")}}`);
  const headerLen = json.length + ((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + headerLen + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  let pos = 8 + headerLen;
  for (const p of prepared) {
    out.set(p.bytes, pos);
    pos += p.bytes.length;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

interface HeaderEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Parse safetensors bytes. Validates everything the reference reader does:
 * header length within the file and under 100 MB, UTF-8 JSON object header,
 * string-only metadata, supported dtypes, offsets within the data buffer,
 * contiguous with no gap or overlap and covering it exactly, and
 * `shape × dtype size` equal to each tensor's byte span. Data is copied into
 * fresh, aligned typed arrays.
 */
export function decodeSafetensors(bytes: Uint8Array, options?: DecodeOptions): DecodedSafetensors {
  checkHost();
  const file = options?.path ?? "<safetensors bytes>";
  const bad: Bad = (msg) => {
    throw new SafetensorsError(`${file}: ${msg}`);
  };
  if (!(bytes instanceof Uint8Array)) bad(`expected a Uint8Array, got ${bytes}`);
  const { headerLen, header } = readHeader(bytes, bad);
  const { metadata, entries } = headerEntries(header, bad);
  const dataStart = 8 + headerLen;
  checkLayout(entries, { dataLen: bytes.length - dataStart, file, bad });
  const tensors = new Map<string, SafeTensor>();
  for (const e of entries) {
    const from = bytes.byteOffset + dataStart + e.begin;
    const buf = bytes.buffer.slice(from, from + (e.end - e.begin)) as ArrayBuffer;
    tensors.set(e.name, {
      dtype: e.dtype,
      shape: [...e.shape],
      data: typedData(e.dtype, buf, options?.halfAsRaw ?? false),
    });
  }
  return { tensors, metadata };
}

/** Throws a {@linkcode SafetensorsError} naming the file. */
type Bad = (msg: string) => never;

/** The header's length and its parsed JSON object. */
function readHeader(bytes: Uint8Array, bad: Bad): { headerLen: number; header: object } {
  if (bytes.length < 8) {
    bad(
      `file is ${bytes.length} bytes, shorter than the 8-byte header length; not a safetensors file`,
    );
  }
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_BYTES)) {
    bad(`header length ${n64} exceeds the 100 MB limit; the file is corrupt or not safetensors`);
  }
  const n = Number(n64);
  if (8 + n > bytes.length) {
    bad(
      `header length ${n} runs past the end of the file (${bytes.length} bytes); truncated file?`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    return bad("header is not valid UTF-8");
  }
  if (!text.startsWith("{")) bad(`header must be a JSON object starting with "{"`);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    return bad(`header is not valid JSON (${(err as Error).message})`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    bad("header must be a JSON object");
  }
  return { headerLen: n, header: header as object };
}

/** The `__metadata__` map and one checked entry per tensor, in header order. */
function headerEntries(
  header: object,
  bad: Bad,
): { metadata: Record<string, string> | null; entries: HeaderEntry[] } {
  let metadata: Record<string, string> | null = null;
  const entries: HeaderEntry[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") metadata = checkMetadata(info, bad);
    else entries.push(headerEntry(name, info, bad));
  }
  return { metadata, entries };
}

/** A copy of `__metadata__`, which must map strings to strings. */
function checkMetadata(info: unknown, bad: Bad): Record<string, string> {
  if (info === null || typeof info !== "object" || Array.isArray(info)) {
    bad(`__metadata__ must be an object of strings, got ${JSON.stringify(info)}`);
  }
  for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
    if (typeof v !== "string") {
      bad(`__metadata__["${k}"] is ${JSON.stringify(v)}; metadata values must be strings`);
    }
  }
  return { ...(info as Record<string, string>) };
}

/** One tensor's header record: dtype, shape and `[begin, end]` data offsets, each checked. */
function headerEntry(name: string, info: unknown, bad: Bad): HeaderEntry {
  const t = `tensor "${name}"`;
  if (info === null || typeof info !== "object" || Array.isArray(info)) {
    bad(`${t}: expected {dtype, shape, data_offsets}, got ${JSON.stringify(info)}`);
  }
  const { dtype, shape, data_offsets: offs } = info as Record<string, unknown>;
  if (!isDtype(dtype)) {
    bad(`${t}: unsupported dtype ${JSON.stringify(dtype)}; supported: ${SUPPORTED}`);
  }
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    bad(`${t}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  if (
    !Array.isArray(offs) || offs.length !== 2 ||
    offs.some((o) => !Number.isSafeInteger(o) || o < 0)
  ) {
    bad(
      `${t}: data_offsets must be [begin, end] non-negative integers, got ${JSON.stringify(offs)}`,
    );
  }
  const [begin, end] = offs as number[];
  if (end < begin) bad(`${t}: data_offsets [${begin}, ${end}] end before they begin`);
  return { name, dtype: dtype as SafetensorsDtype, shape: shape as number[], begin, end };
}

/**
 * Sort `entries` by offset (in place) and check that they tile the data
 * buffer exactly: in range, no overlap, no gap, `shape × dtype size` bytes
 * each, nothing left over.
 */
function checkLayout(
  entries: HeaderEntry[],
  o: { dataLen: number; file: string; bad: Bad },
): void {
  const { dataLen, bad } = o;
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of entries) {
    const t = `tensor "${e.name}"`;
    if (e.end > dataLen) {
      bad(
        `${t}: data_offsets [${e.begin}, ${e.end}] are out of range; the data buffer has ` +
          `${dataLen} bytes (truncated file?)`,
      );
    }
    if (e.begin < cursor) {
      bad(
        `${t}: data_offsets [${e.begin}, ${e.end}] overlap the previous tensor, which ends at ${cursor}`,
      );
    }
    if (e.begin > cursor) {
      bad(
        `${t}: data_offsets [${e.begin}, ${e.end}] leave a gap after byte ${cursor}; tensors ` +
          `must be contiguous`,
      );
    }
    const count = numel(e.shape, `${o.file}: ${t}`);
    const need = count * ITEM_SIZE[e.dtype];
    if (need !== e.end - e.begin) {
      bad(
        `${t}: shape [${e.shape.join(", ")}] × ${e.dtype} (${ITEM_SIZE[e.dtype]} bytes) needs ` +
          `${need} bytes but data_offsets [${e.begin}, ${e.end}] span ${e.end - e.begin}`,
      );
    }
    cursor = e.end;
  }
  if (cursor !== dataLen) {
    bad(
      `tensors cover ${cursor} bytes of data but the data buffer has ${dataLen}; ` +
        `trailing bytes are not allowed`,
    );
  }
}

/** A tensor's values from its (aligned, copied) bytes; F16/BF16 decoded unless `halfAsRaw`. */
function typedData(dtype: SafetensorsDtype, buf: ArrayBuffer, halfAsRaw: boolean): SafetensorsData {
  switch (dtype) {
    case "F32":
      return new Float32Array(buf);
    case "F64":
      return new Float64Array(buf);
    case "I64":
      return new BigInt64Array(buf);
    case "I32":
      return new Int32Array(buf);
    case "U8":
    case "BOOL":
      return new Uint8Array(buf);
    case "F16":
    case "BF16": {
      const raw = new Uint16Array(buf);
      return halfAsRaw ? raw : dtype === "F16" ? decodeF16(raw) : decodeBF16(raw);
    }
  }
}

/** Encode `tensors` and write them to `path` atomically (temp file + rename). */
export async function saveSafetensors(
  path: string,
  tensors: Record<string, TensorInput> | Map<string, TensorInput>,
  options?: SaveOptions,
): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = encodeSafetensors(tensors, options?.metadata);
  } catch (err) {
    if (err instanceof SafetensorsError) {
      throw new SafetensorsError(`${path}: ${err.message}`);
    }
    throw err;
  }
  await atomicWriteFile(path, bytes);
}

/** Read and decode the safetensors file at `path`; errors name the file. */
export async function loadSafetensors(
  path: string,
  options?: Omit<DecodeOptions, "path">,
): Promise<DecodedSafetensors> {
  const bytes = await Deno.readFile(path);
  return decodeSafetensors(bytes, { ...options, path });
}

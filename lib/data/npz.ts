/**
 * NumPy `.npz` reader (a ZIP archive of `.npy` members) built on fflate.
 *
 * The central directory is parsed here (ZIP64 included), and members are
 * inflated lazily, one at a time, when asked for: loading only the `train_*`
 * members of an archive never inflates the `test_*` ones. Stored (method 0) and
 * deflated (method 8) members are supported; each member's CRC-32 is checked.
 *
 * @module
 */

import { inflateSync, zipSync } from "fflate";
import { DataError } from "./errors.ts";
import { encodeNpy, type NpyArray, parseNpy } from "./npy.ts";

/** One member listed in an archive's central directory. */
export interface NpzEntry {
  /** Member name as stored, e.g. `"train_images.npy"`. */
  name: string;
  /** ZIP compression method: 0 = stored, 8 = deflate. */
  method: number;
  /** Compressed size in bytes. */
  compressedSize: number;
  /** Uncompressed size in bytes. */
  size: number;
  /** CRC-32 of the uncompressed bytes. */
  crc32: number;
  /** Offset of the member's local header in the archive. */
  localOffset: number;
}

/** An opened `.npz` archive whose members are decoded on demand. */
export interface NpzArchive {
  /** The file name used in error messages. */
  readonly file: string;
  /** Member names without the `.npy` suffix, in archive order. */
  readonly names: string[];
  /** The central-directory entries, in archive order. */
  readonly entries: NpzEntry[];
  /** Whether a member exists (`"x"` and `"x.npy"` both work). */
  has(name: string): boolean;
  /** The uncompressed bytes of a member (`"x"` and `"x.npy"` both work). */
  bytes(name: string): Uint8Array;
  /** Decode a member as an NPY array (`"x"` and `"x.npy"` both work). */
  array(name: string): NpyArray;
}

/** Options for {@linkcode openNpz}. */
export interface OpenNpzOptions {
  /** Name of the file, used in error messages (default `"<memory>"`). */
  file?: string;
  /** Check each member's CRC-32 after inflating it (default `true`). */
  verifyCrc?: boolean;
}

/** Options for {@linkcode encodeNpz}. */
export interface EncodeNpzOptions {
  /** Deflate the members like `np.savez_compressed` (default `true`); `false` stores them. */
  compress?: boolean;
}

const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOC = 0x07064b50;
const SIG_CDH = 0x02014b50;
const SIG_LFH = 0x04034b50;

/**
 * Open an `.npz` archive held in memory. Only the central directory is read
 * here; members are inflated by {@linkcode NpzArchive.bytes} / `array`.
 *
 * Throws {@linkcode DataError} for a truncated or non-ZIP file.
 */
export function openNpz(bytes: Uint8Array, options: OpenNpzOptions = {}): NpzArchive {
  const file = options.file ?? "<memory>";
  const entries = readCentralDirectory(bytes, file);
  return new NpzReader(bytes, file, entries, options.verifyCrc ?? true);
}

/** Read and open an `.npz` file from disk (see {@linkcode openNpz}). */
export async function readNpzFile(
  path: string,
  options: Omit<OpenNpzOptions, "file"> = {},
): Promise<NpzArchive> {
  const bytes = await Deno.readFile(path);
  return openNpz(bytes, { ...options, file: path });
}

/** Decode every member of an `.npz` held in memory, keyed by name without `.npy`. */
export function readNpz(bytes: Uint8Array, options: OpenNpzOptions = {}): Record<string, NpyArray> {
  const archive = openNpz(bytes, options);
  const out: Record<string, NpyArray> = {};
  for (const name of archive.names) out[name] = archive.array(name);
  return out;
}

/** Encode arrays as an `.npz` archive (like `np.savez_compressed`, or `np.savez` uncompressed). */
export function encodeNpz(
  arrays: Record<string, NpyArray>,
  options: EncodeNpzOptions = {},
): Uint8Array {
  const level = options.compress === false ? 0 : 6;
  const files: Record<string, [Uint8Array, { level: 0 | 6 }]> = {};
  for (const [name, array] of Object.entries(arrays)) {
    files[name.endsWith(".npy") ? name : `${name}.npy`] = [encodeNpy(array), { level }];
  }
  return zipSync(files);
}

class NpzReader implements NpzArchive {
  readonly names: string[];
  readonly #byName = new Map<string, NpzEntry>();

  constructor(
    readonly data: Uint8Array,
    readonly file: string,
    readonly entries: NpzEntry[],
    readonly verifyCrc: boolean,
  ) {
    for (const e of entries) this.#byName.set(e.name, e);
    this.names = entries.map((e) => e.name.replace(/\.npy$/, ""));
  }

  #entry(name: string): NpzEntry {
    const e = this.#byName.get(name) ?? this.#byName.get(`${name}.npy`);
    if (!e) {
      const have = this.entries.map((x) => x.name).join(", ") || "(none)";
      throw new DataError(
        `member "${
          name.endsWith(".npy") ? name : `${name}.npy`
        }" not found; the archive has: ${have}. Check the file is the right dataset and size.`,
        { file: this.file },
      );
    }
    return e;
  }

  has(name: string): boolean {
    return this.#byName.has(name) || this.#byName.has(`${name}.npy`);
  }

  bytes(name: string): Uint8Array {
    const e = this.#entry(name);
    const ctx = { file: this.file, member: e.name };
    const d = this.data;
    if (e.localOffset + 30 > d.length || u32(d, e.localOffset) !== SIG_LFH) {
      throw new DataError(
        `no local file header at offset ${e.localOffset}; the archive is truncated or corrupt. Download it again.`,
        ctx,
      );
    }
    const start = e.localOffset + 30 + u16(d, e.localOffset + 26) + u16(d, e.localOffset + 28);
    const end = start + e.compressedSize;
    if (end > d.length) {
      throw new DataError(
        `member data runs past the end of the file (needs ${end} bytes, file has ${d.length}); the archive is truncated. Download it again.`,
        ctx,
      );
    }
    const raw = d.subarray(start, end);
    let out: Uint8Array;
    if (e.method === 0) {
      out = raw;
    } else if (e.method === 8) {
      try {
        out = inflateSync(raw, { out: new Uint8Array(e.size) });
      } catch (err) {
        throw new DataError(
          `deflate stream is corrupt (${
            (err as Error).message
          }); the archive is damaged. Download it again.`,
          ctx,
        );
      }
    } else {
      throw new DataError(
        `unsupported ZIP compression method ${e.method}; only stored (0) and deflate (8) are supported. Re-save with np.savez or np.savez_compressed.`,
        ctx,
      );
    }
    if (out.length !== e.size) {
      throw new DataError(
        `inflated to ${out.length} bytes but the directory says ${e.size}; the archive is damaged. Download it again.`,
        ctx,
      );
    }
    if (this.verifyCrc) {
      const crc = crc32(out);
      if (crc !== e.crc32) {
        throw new DataError(
          `CRC-32 mismatch (got ${hex32(crc)}, directory says ${
            hex32(e.crc32)
          }); the archive is damaged. Download it again.`,
          ctx,
        );
      }
    }
    return out;
  }

  array(name: string): NpyArray {
    const e = this.#entry(name);
    return parseNpy(this.bytes(e.name), { file: this.file, member: e.name });
  }
}

function readCentralDirectory(d: Uint8Array, file: string): NpzEntry[] {
  const notZip = (why: string) =>
    new DataError(
      `not a readable ZIP/.npz archive: ${why}. The file is truncated or is not an .npz; download it again (or check the path).`,
      { file },
    );
  if (d.length < 22) throw notZip(`only ${d.length} bytes`);
  // The end-of-central-directory record is the last 22 bytes plus a comment of up to 65535.
  let eocd = -1;
  for (let p = d.length - 22; p >= Math.max(0, d.length - 22 - 0xffff); p--) {
    if (u32(d, p) === SIG_EOCD) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) throw notZip("no end-of-central-directory record");
  let count = u16(d, eocd + 10);
  let cdSize = u32(d, eocd + 12);
  let cdOffset = u32(d, eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || u32(d, loc) !== SIG_EOCD64_LOC) throw notZip("ZIP64 locator missing");
    const rec = u64(d, loc + 8);
    if (rec + 56 > d.length || u32(d, rec) !== SIG_EOCD64) throw notZip("ZIP64 record missing");
    count = u64(d, rec + 32);
    cdSize = u64(d, rec + 40);
    cdOffset = u64(d, rec + 48);
  }
  if (cdOffset + cdSize > d.length) {
    throw notZip(`central directory (offset ${cdOffset}, ${cdSize} bytes) lies past the end`);
  }
  const entries: NpzEntry[] = [];
  let p = cdOffset;
  const decoder = new TextDecoder();
  for (let i = 0; i < count; i++) {
    if (p + 46 > d.length || u32(d, p) !== SIG_CDH) {
      throw notZip(`bad central directory entry ${i}`);
    }
    const flags = u16(d, p + 8);
    const method = u16(d, p + 10);
    const crc = u32(d, p + 16);
    let compressedSize = u32(d, p + 20);
    let size = u32(d, p + 24);
    const nameLen = u16(d, p + 28);
    const extraLen = u16(d, p + 30);
    const commentLen = u16(d, p + 32);
    let localOffset = u32(d, p + 42);
    const name = decoder.decode(d.subarray(p + 46, p + 46 + nameLen));
    if (flags & 1) {
      throw new DataError("member is encrypted; encrypted archives are not supported.", {
        file,
        member: name,
      });
    }
    // ZIP64 extended information: the 0xffffffff fields, in this order.
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = u16(d, x);
      const len = u16(d, x + 2);
      if (id === 0x0001) {
        let q = x + 4;
        if (size === 0xffffffff) size = u64(d, (q += 8) - 8);
        if (compressedSize === 0xffffffff) compressedSize = u64(d, (q += 8) - 8);
        if (localOffset === 0xffffffff) localOffset = u64(d, q);
      }
      x += 4 + len;
    }
    entries.push({ name, method, compressedSize, size, crc32: crc, localOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

function u16(d: Uint8Array, p: number): number {
  return d[p] | (d[p + 1] << 8);
}

function u32(d: Uint8Array, p: number): number {
  return (d[p] | (d[p + 1] << 8) | (d[p + 2] << 16) | (d[p + 3] << 24)) >>> 0;
}

function u64(d: Uint8Array, p: number): number {
  return u32(d, p) + u32(d, p + 4) * 0x100000000;
}

function hex32(x: number): string {
  return `0x${x.toString(16).padStart(8, "0")}`;
}

let crcTable: Int32Array | undefined;

/** CRC-32 (ZIP/PNG polynomial 0xEDB88320) of `bytes`, as an unsigned integer. */
export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  const t = crcTable;
  let c = -1;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

import assert from "node:assert/strict";
import { DataError } from "../lib/data/errors.ts";
import { encodeNpy, type NpyArray, type NpyDtype, parseNpy } from "../lib/data/npy.ts";
import { sizeOf } from "../lib/util/shape.ts";

function makeArray(dtype: NpyDtype, shape: number[]): NpyArray {
  const n = sizeOf(shape);
  const values = Array.from(
    { length: n },
    (_, i) => (i * 7) % 100 - (dtype.startsWith("u") ? 0 : 30),
  );
  const pos = values.map((v) => Math.abs(v));
  switch (dtype) {
    case "b1":
      return { dtype, shape, data: Uint8Array.from(values, (v) => v & 1) };
    case "u1":
      return { dtype, shape, data: Uint8Array.from(pos) };
    case "i1":
      return { dtype, shape, data: Int8Array.from(values) };
    case "u2":
      return { dtype, shape, data: Uint16Array.from(pos, (v) => v * 300) };
    case "i2":
      return { dtype, shape, data: Int16Array.from(values, (v) => v * 300) };
    case "u4":
      return { dtype, shape, data: Uint32Array.from(pos, (v) => v * 70000) };
    case "i4":
      return { dtype, shape, data: Int32Array.from(values, (v) => v * 70000) };
    case "u8":
      return { dtype, shape, data: BigUint64Array.from(pos, (v) => BigInt(v) * 2n ** 40n) };
    case "i8":
      return { dtype, shape, data: BigInt64Array.from(values, (v) => BigInt(v) * 2n ** 40n) };
    case "f4":
      return { dtype, shape, data: Float32Array.from(values, (v) => v / 8) };
    case "f8":
      return { dtype, shape, data: Float64Array.from(values, (v) => v / 3) };
  }
}

const DTYPES: NpyDtype[] = ["b1", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f4", "f8"];

Deno.test("npy round-trips every dtype, version, byte order and memory order", () => {
  for (const dtype of DTYPES) {
    for (const shape of [[], [5], [2, 3], [2, 3, 4], [2, 1, 3, 2]]) {
      const arr = makeArray(dtype, shape);
      for (const version of [1, 2, 3] as const) {
        for (const byteOrder of ["<", ">"] as const) {
          for (const fortranOrder of [false, true]) {
            const bytes = encodeNpy(arr, { version, byteOrder, fortranOrder });
            const back = parseNpy(bytes);
            const what = `${dtype} ${shape} v${version} ${byteOrder} F=${fortranOrder}`;
            assert.equal(back.dtype, dtype, what);
            assert.deepEqual(back.shape, shape, what);
            assert.deepEqual(
              Array.from(back.data as ArrayLike<number>),
              Array.from(arr.data as ArrayLike<number>),
              what,
            );
          }
        }
      }
    }
  }
});

Deno.test("npy reads a hand-written Fortran-order big-endian header as NumPy writes it", () => {
  // np.asfortranarray(np.arange(6, dtype='>i4').reshape(2, 3)) saved with np.save
  const header = "{'descr': '>i4', 'fortran_order': True, 'shape': (2, 3), }";
  const padded = header.padEnd(128 - 10 - 1, " ") + "\n";
  const bytes = new Uint8Array(128 + 24);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(bytes.buffer).setUint16(8, padded.length, true);
  bytes.set(new TextEncoder().encode(padded), 10);
  // Fortran order: column by column → 0 3 1 4 2 5
  const dv = new DataView(bytes.buffer);
  [0, 3, 1, 4, 2, 5].forEach((v, i) => dv.setInt32(128 + 4 * i, v, false));
  const arr = parseNpy(bytes);
  assert.deepEqual(arr.shape, [2, 3]);
  assert.ok(arr.data instanceof Int32Array);
  assert.deepEqual(Array.from(arr.data as Int32Array), [0, 1, 2, 3, 4, 5]);
});

Deno.test("npy returns a zero-copy view for aligned little-endian C-order data", () => {
  const bytes = encodeNpy({ dtype: "f4", shape: [4], data: new Float32Array([1, 2, 3, 4]) });
  const arr = parseNpy(bytes);
  assert.equal(arr.data.buffer, bytes.buffer);
  const copy = parseNpy(bytes, { view: false });
  assert.notEqual(copy.data.buffer, bytes.buffer);
  // unaligned start → copied, still right
  const shifted = new Uint8Array(bytes.length + 1);
  shifted.set(bytes, 1);
  assert.deepEqual(Array.from(parseNpy(shifted.subarray(1)).data as Float32Array), [1, 2, 3, 4]);
});

function expectDataError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DataError, `expected DataError, got ${err}`);
    assert.match(err.message, pattern);
    return true;
  });
}

Deno.test("npy error: not an NPY file names the file and member", () => {
  expectDataError(
    () =>
      parseNpy(new TextEncoder().encode("hello world, not npy"), {
        file: "x.npz",
        member: "a.npy",
      }),
    /^x\.npz, member "a\.npy": not an NPY file: missing the .*magic/,
  );
});

/** Build NPY v1.0 bytes with a literal header text and raw data bytes. */
function npyWithHeader(header: string, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  const padded = header.padEnd(total - 10 - 1, " ") + "\n";
  const bytes = new Uint8Array(total + data.length);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(bytes.buffer).setUint16(8, padded.length, true);
  bytes.set(new TextEncoder().encode(padded), 10);
  bytes.set(data, total);
  return bytes;
}

Deno.test("npy error: unreadable header", () => {
  expectDataError(
    () => parseNpy(npyWithHeader("{'descr' '|u1'"), { file: "f.npy" }),
    /^f\.npy: unreadable NPY header/,
  );
  expectDataError(
    () => parseNpy(npyWithHeader("{'descr': '|u1', 'fortran_order': False}")),
    /'shape' must be a tuple/,
  );
  expectDataError(
    () => parseNpy(npyWithHeader("{'descr': '|u1', 'fortran_order': 'no', 'shape': (1,)}")),
    /'fortran_order' must be True or False/,
  );
  const bytes = npyWithHeader("{'descr': '|u1', 'fortran_order': False, 'shape': (1,)}");
  new DataView(bytes.buffer).setUint16(8, 5000, true); // header length past the end
  expectDataError(() => parseNpy(bytes), /header says it is 5000 bytes .* truncated/);
});

Deno.test("npy error: unsupported dtype and version", () => {
  expectDataError(
    () =>
      parseNpy(npyWithHeader("{'descr': '<c8', 'fortran_order': False, 'shape': (1,)}"), {
        file: "f.npy",
      }),
    /^f\.npy: unsupported dtype '<c8'.*astype/,
  );
  expectDataError(
    () =>
      parseNpy(
        npyWithHeader(
          "{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,)}",
        ),
      ),
    /unsupported dtype .*structured/,
  );
  const v9 = encodeNpy({ dtype: "f4", shape: [1], data: new Float32Array(1) });
  v9[6] = 9;
  expectDataError(() => parseNpy(v9), /unsupported NPY format version 9\.0/);
});

Deno.test("npy error: data shorter than the header says", () => {
  const bytes = encodeNpy({ dtype: "i4", shape: [3, 4], data: new Int32Array(12) });
  expectDataError(
    () => parseNpy(bytes.subarray(0, bytes.length - 5), { file: "d.npz", member: "x.npy" }),
    /^d\.npz, member "x\.npy": data is shorter than the header says: shape \(3, 4\) .* needs 48 bytes but only 43/,
  );
  expectDataError(() => parseNpy(bytes.subarray(0, 40)), /truncated/);
});

import assert from "node:assert/strict";
import { DataError } from "../lib/data/errors.ts";
import { encodeNpy } from "../lib/data/npy.ts";
import { crc32, encodeNpz, openNpz, readNpz, readNpzFile } from "../lib/data/npz.ts";
import { DATA_DIR } from "./data_fixtures.ts";

const arrays = {
  a: { dtype: "f4" as const, shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
  b: { dtype: "u1" as const, shape: [3], data: new Uint8Array([7, 8, 9]) },
};

function expectDataError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DataError, `expected DataError, got ${err}`);
    assert.match(err.message, pattern);
    return true;
  });
}

/** Where a member's data starts, after its local header. */
function memberStart(zip: Uint8Array, localOffset: number): number {
  const dv = new DataView(zip.buffer, zip.byteOffset);
  return localOffset + 30 + dv.getUint16(localOffset + 26, true) +
    dv.getUint16(localOffset + 28, true);
}

Deno.test("npz reads stored and deflated members", () => {
  for (const compress of [false, true]) {
    const bytes = encodeNpz(arrays, { compress });
    const archive = openNpz(bytes, { file: "t.npz" });
    assert.deepEqual(archive.names, ["a", "b"]);
    assert.deepEqual(archive.entries.map((e) => e.method), compress ? [8, 8] : [0, 0]);
    assert.ok(archive.has("a") && archive.has("a.npy") && !archive.has("c"));
    assert.deepEqual(Array.from(archive.array("a").data as Float32Array), [1, 2, 3, 4]);
    assert.deepEqual(Array.from(archive.array("b.npy").data as Uint8Array), [7, 8, 9]);
    const all = readNpz(bytes);
    assert.deepEqual(Object.keys(all), ["a", "b"]);
  }
});

Deno.test("npz reads the real BreastMNIST archive (deflated, NPY v1.0 |u1)", async () => {
  const archive = await readNpzFile(`${DATA_DIR}/breastmnist.npz`);
  assert.deepEqual(archive.names.toSorted(), [
    "test_images",
    "test_labels",
    "train_images",
    "train_labels",
    "val_images",
    "val_labels",
  ]);
  assert.ok(archive.entries.every((e) => e.method === 8));
  const images = archive.array("val_images");
  assert.equal(images.dtype, "u1");
  assert.deepEqual(images.shape, [78, 28, 28]);
});

Deno.test("npz error: missing member lists what the archive has", () => {
  const archive = openNpz(encodeNpz(arrays), { file: "t.npz" });
  expectDataError(
    () => archive.array("train_images"),
    /^t\.npz: member "train_images\.npy" not found; the archive has: a\.npy, b\.npy/,
  );
});

Deno.test("npz error: non-zip and truncated files", () => {
  expectDataError(
    () => openNpz(new TextEncoder().encode("this is plainly not a zip archive"), { file: "x.npz" }),
    /^x\.npz: not a readable ZIP\/\.npz archive: no end-of-central-directory record/,
  );
  expectDataError(() => openNpz(new Uint8Array(5), { file: "x.npz" }), /only 5 bytes/);
  const bytes = encodeNpz(arrays);
  // cut off the end: the directory record is gone
  expectDataError(
    () => openNpz(bytes.subarray(0, bytes.length - 30), { file: "cut.npz" }),
    /^cut\.npz: not a readable ZIP/,
  );
  // keep the directory but drop the start: member data and headers are missing
  const holed = bytes.slice();
  holed.fill(0, 0, 40);
  const archive = openNpz(holed, { file: "holed.npz" });
  expectDataError(() => archive.bytes("a"), /^holed\.npz, member "a\.npy": no local file header/);
});

Deno.test("npz error: corrupt deflate data or CRC names the member", () => {
  const bytes = encodeNpz(arrays, { compress: false });
  const archive = openNpz(bytes);
  const flipped = bytes.slice();
  flipped[memberStart(bytes, archive.entries[1].localOffset) + 129] ^= 0xff; // a data byte of b
  expectDataError(
    () => openNpz(flipped, { file: "f.npz" }).bytes("b"),
    /^f\.npz, member "b\.npy": CRC-32 mismatch/,
  );
  // no CRC check when asked
  openNpz(flipped, { verifyCrc: false }).bytes("b");

  const deflated = encodeNpz(arrays, { compress: true });
  const start = memberStart(deflated, openNpz(deflated).entries[0].localOffset);
  const broken = deflated.slice();
  broken.fill(0xff, start, start + 6);
  assert.throws(
    () => openNpz(broken, { file: "g.npz" }).bytes("a"),
    (err: unknown) =>
      err instanceof DataError && /^g\.npz, member "a\.npy": /.test(err.message) &&
      /deflate stream is corrupt|CRC-32 mismatch|inflated to/.test(err.message),
  );
});

Deno.test("npz: crc32 matches the standard check value", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
});

/** A one-member stored archive written the ZIP64 way (as zipfile does for files over 4 GiB). */
function zip64Archive(name: string, data: Uint8Array): Uint8Array {
  const nameBytes = new TextEncoder().encode(name);
  const lfh = 30 + nameBytes.length;
  const cdOffset = lfh + data.length;
  const cdh = 46 + nameBytes.length + 28;
  const eocd64 = cdOffset + cdh;
  const out = new Uint8Array(eocd64 + 56 + 20 + 22);
  const dv = new DataView(out.buffer);
  const crc = crc32(data);
  dv.setUint32(0, 0x04034b50, true);
  dv.setUint16(4, 45, true);
  dv.setUint32(14, crc, true);
  dv.setUint32(18, data.length, true);
  dv.setUint32(22, data.length, true);
  dv.setUint16(26, nameBytes.length, true);
  out.set(nameBytes, 30);
  out.set(data, lfh);
  let p = cdOffset;
  dv.setUint32(p, 0x02014b50, true);
  dv.setUint16(p + 6, 45, true);
  dv.setUint32(p + 16, crc, true);
  dv.setUint32(p + 20, 0xffffffff, true);
  dv.setUint32(p + 24, 0xffffffff, true);
  dv.setUint16(p + 28, nameBytes.length, true);
  dv.setUint16(p + 30, 28, true);
  dv.setUint32(p + 42, 0xffffffff, true);
  out.set(nameBytes, p + 46);
  p += 46 + nameBytes.length;
  dv.setUint16(p, 0x0001, true);
  dv.setUint16(p + 2, 24, true);
  dv.setBigUint64(p + 4, BigInt(data.length), true);
  dv.setBigUint64(p + 12, BigInt(data.length), true);
  dv.setBigUint64(p + 20, 0n, true);
  p = eocd64;
  dv.setUint32(p, 0x06064b50, true);
  dv.setBigUint64(p + 4, 44n, true);
  dv.setBigUint64(p + 24, 1n, true);
  dv.setBigUint64(p + 32, 1n, true);
  dv.setBigUint64(p + 40, BigInt(cdh), true);
  dv.setBigUint64(p + 48, BigInt(cdOffset), true);
  p += 56;
  dv.setUint32(p, 0x07064b50, true);
  dv.setBigUint64(p + 8, BigInt(eocd64), true);
  dv.setUint32(p + 16, 1, true);
  p += 20;
  dv.setUint32(p, 0x06054b50, true);
  dv.setUint16(p + 8, 0xffff, true);
  dv.setUint16(p + 10, 0xffff, true);
  dv.setUint32(p + 12, 0xffffffff, true);
  dv.setUint32(p + 16, 0xffffffff, true);
  return out;
}

Deno.test("npz reads ZIP64 directories (sizes and offsets in the extra field)", () => {
  const npy = encodeNpy({ dtype: "i4", shape: [2, 2], data: new Int32Array([1, -2, 3, -4]) });
  const archive = openNpz(zip64Archive("x.npy", npy), { file: "z64.npz" });
  assert.deepEqual(archive.entries[0].size, npy.length);
  assert.deepEqual(Array.from(archive.array("x").data as Int32Array), [1, -2, 3, -4]);
});

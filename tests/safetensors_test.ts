// Tests for lib/weights/safetensors.ts.
//
// Byte-exact fixtures are built by hand in the tests from the format spec (8-byte LE header
// length, compact JSON header padded with spaces to a multiple of 8, raw LE data). The four
// layouts in "matches the reference implementation byte for byte" are the ones asserted in
// huggingface/safetensors' own Rust tests (safetensors/src/tensor.rs: test_serialization,
// test_serialization_forced_alignement, test_empty), so files we write load in Python.
// F16/BF16 bit patterns were checked with numpy (float16) and the float32-bits rounding rule.

import assert from "node:assert/strict";
import {
  bfloat16Bits,
  bfloat16Value,
  decodeSafetensors,
  encodeSafetensors,
  float16Bits,
  float16Value,
  loadSafetensors,
  SafetensorsError,
  saveSafetensors,
  type TensorInput,
} from "../lib/weights/safetensors.ts";

const enc = new TextEncoder();

/** Concatenate byte chunks. */
function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function u64le(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}

function f32le(values: number[]): Uint8Array {
  const b = new Uint8Array(values.length * 4);
  const dv = new DataView(b.buffer);
  values.forEach((v, i) => dv.setFloat32(i * 4, v, true));
  return b;
}

/** A file from a header string (padded with spaces to `pad` bytes) and a data buffer. */
function file(header: string, data: Uint8Array, pad = 0): Uint8Array {
  const h = enc.encode(header + " ".repeat(pad));
  return cat(u64le(h.length), h, data);
}

Deno.test("matches the reference implementation byte for byte", () => {
  const data = [0, 1, 2, 3, 4, 5];
  // test_serialization: a 64-byte header needs no padding.
  const h1 = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
  assert.equal(h1.length, 64);
  assert.deepEqual(
    encodeSafetensors({
      "attn.0": { dtype: "F32", shape: [1, 2, 3], data: new Float32Array(data) },
    }),
    file(h1, f32le(data)),
  );
  // test_serialization_forced_alignement: a 65-byte header gets 7 spaces → 72.
  const h2 = '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}';
  const out2 = encodeSafetensors({ attn0: { dtype: "F32", shape: [1, 1, 2, 3], data } });
  assert.deepEqual(out2, file(h2, f32le(data), 7));
  assert.deepEqual([...out2.subarray(0, 8)], [72, 0, 0, 0, 0, 0, 0, 0]);
  // test_empty: "{}" + 6 spaces; with metadata {"framework": "pt"} + 5 spaces.
  assert.deepEqual(
    [...encodeSafetensors({})],
    [8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32],
  );
  assert.deepEqual(
    encodeSafetensors({}, { framework: "pt" }),
    file('{"__metadata__":{"framework":"pt"}}', new Uint8Array(0), 5),
  );
});

Deno.test("writer orders tensors by dtype (widest first) then name, as the reference does", () => {
  const bytes = encodeSafetensors({
    a: { dtype: "U8", shape: [2], data: [7, 8] },
    b2: { dtype: "F32", shape: [1], data: [1] },
    b1: { dtype: "F32", shape: [], data: [2] },
    c: { dtype: "I64", shape: [1], data: [-1n] },
    d: { dtype: "BF16", shape: [1], data: [1] },
    e: { dtype: "BOOL", shape: [1], data: [true] },
  }, { source: "test" });
  const header = '{"__metadata__":{"source":"test"},' +
    '"c":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},' +
    '"b1":{"dtype":"F32","shape":[],"data_offsets":[8,12]},' +
    '"b2":{"dtype":"F32","shape":[1],"data_offsets":[12,16]},' +
    '"d":{"dtype":"BF16","shape":[1],"data_offsets":[16,18]},' +
    '"a":{"dtype":"U8","shape":[2],"data_offsets":[18,20]},' +
    '"e":{"dtype":"BOOL","shape":[1],"data_offsets":[20,21]}}';
  const data = cat(
    new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // int64 −1
    f32le([2, 1]),
    new Uint8Array([0x80, 0x3f]), // bf16 1.0 = 0x3f80, little-endian
    new Uint8Array([7, 8, 1]),
  );
  const pad = (8 - (header.length % 8)) % 8;
  assert.deepEqual(bytes, file(header, data, pad));
  assert.equal((8 + header.length + pad) % 8, 0, "data starts 8-byte aligned");
});

Deno.test("round trip of every dtype, with shapes, scalars, empty tensors and metadata", () => {
  const tensors: Record<string, TensorInput> = {
    f32: { dtype: "F32", shape: [2, 3], data: new Float32Array([1.5, -2, 3.25, 0, -0, 1e-30]) },
    f64: { dtype: "F64", shape: [3], data: new Float64Array([Math.PI, -1e300, 5e-324]) },
    f16: { dtype: "F16", shape: [2, 2], data: [1, -2, 65504, 0.5] },
    bf16: { dtype: "BF16", shape: [3], data: new Float32Array([1, -2, 3.140625]) },
    i64: { dtype: "I64", shape: [3], data: new BigInt64Array([-(2n ** 63n), 0n, 2n ** 63n - 1n]) },
    i32: { dtype: "I32", shape: [4], data: [-(2 ** 31), -1, 0, 2 ** 31 - 1] },
    u8: { dtype: "U8", shape: [1, 3], data: new Uint8Array([0, 128, 255]) },
    bool: { dtype: "BOOL", shape: [3], data: [true, false, true] },
    scalar: { dtype: "F32", shape: [], data: [42] },
    empty: { dtype: "F32", shape: [0, 4], data: [] },
  };
  const meta = { format: "pt", "note é": 'ünïcode ✓ "quoted"\n' };
  const { tensors: out, metadata } = decodeSafetensors(encodeSafetensors(tensors, meta));
  assert.deepEqual(metadata, meta);
  assert.equal(out.size, 10);
  const expect: Record<string, [string, number[], unknown]> = {
    f32: ["F32", [2, 3], new Float32Array([1.5, -2, 3.25, 0, -0, 1e-30])],
    f64: ["F64", [3], new Float64Array([Math.PI, -1e300, 5e-324])],
    f16: ["F16", [2, 2], new Float32Array([1, -2, 65504, 0.5])],
    bf16: ["BF16", [3], new Float32Array([1, -2, 3.140625])],
    i64: ["I64", [3], new BigInt64Array([-(2n ** 63n), 0n, 2n ** 63n - 1n])],
    i32: ["I32", [4], new Int32Array([-(2 ** 31), -1, 0, 2 ** 31 - 1])],
    u8: ["U8", [1, 3], new Uint8Array([0, 128, 255])],
    bool: ["BOOL", [3], new Uint8Array([1, 0, 1])],
    scalar: ["F32", [], new Float32Array([42])],
    empty: ["F32", [0, 4], new Float32Array(0)],
  };
  for (const [name, [dtype, shape, data]] of Object.entries(expect)) {
    const t = out.get(name);
    assert.ok(t, name);
    assert.equal(t.dtype, dtype, name);
    assert.deepEqual(t.shape, shape, name);
    assert.deepEqual(t.data, data, name);
  }
  assert.ok(Object.is(out.get("f32")!.data[4], -0), "negative zero survives");
  // halfAsRaw returns the stored bits; Uint16Array input is written as raw bits.
  const raw = decodeSafetensors(
    encodeSafetensors({ h: { dtype: "F16", shape: [2], data: new Uint16Array([0x3c00, 0x7e00]) } }),
    { halfAsRaw: true },
  );
  assert.deepEqual(raw.tensors.get("h")!.data, new Uint16Array([0x3c00, 0x7e00]));
  assert.equal(decodeSafetensors(encodeSafetensors({})).metadata, null);
});

Deno.test("F16 encode/decode against known bit patterns", () => {
  const cases: [number, number][] = [
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff], // largest finite
    [65519, 0x7bff], // just below the overflow midpoint
    [65520, 0x7c00], // the midpoint rounds to even = Infinity
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // tie between 0 and 2^-24 → even (0)
    [3 * 2 ** -25, 0x0002], // tie between 1 and 2 ulps → even (2)
    [2 ** -14, 0x0400], // smallest normal
    [0.1, 0x2e66],
    [1 / 3, 0x3555],
    [-0, 0x8000],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [1 + 2 ** -11, 0x3c00], // tie → even mantissa 0
    [1 + 3 * 2 ** -11, 0x3c02], // tie → even mantissa 2
    [1e-9, 0x0000],
  ];
  for (const [v, bits] of cases) assert.equal(float16Bits(v), bits, `f16(${v})`);
  assert.equal(float16Bits(NaN), 0x7e00);
  const decoded: [number, number][] = [
    [0x3c00, 1],
    [0x0001, 5.960464477539063e-8],
    [0x03ff, 6.097555160522461e-5], // largest subnormal
    [0x7bff, 65504],
    [0x3555, 0.333251953125],
    [0x2e66, 0.0999755859375],
    [0xc000, -2],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
  ];
  for (const [bits, v] of decoded) assert.equal(float16Value(bits), v, `f16 bits ${bits}`);
  assert.ok(Number.isNaN(float16Value(0x7e00)));
  assert.ok(Object.is(float16Value(0x8000), -0));
});

Deno.test("F16: every bit pattern round-trips and midpoints round to even", () => {
  for (let h = 0; h < 0x10000; h++) {
    const v = float16Value(h);
    if (Number.isNaN(v)) continue;
    assert.equal(float16Bits(v), h, `bits ${h}`);
  }
  // Between consecutive positive finite halves a and b: the exact midpoint goes to the one
  // with an even mantissa; a hair either side goes to the nearer one.
  for (let h = 0; h < 0x7bff; h++) {
    const a = float16Value(h);
    const b = float16Value(h + 1);
    const mid = (a + b) / 2;
    const even = h % 2 === 0 ? h : h + 1;
    if (float16Bits(mid) !== even) assert.fail(`midpoint of ${h} and ${h + 1}`);
    const eps = (b - a) / 1024;
    if (float16Bits(mid - eps) !== h || float16Bits(mid + eps) !== h + 1) {
      assert.fail(`near midpoint of ${h} and ${h + 1}`);
    }
  }
});

Deno.test("BF16 encode/decode: known patterns and the float32 bit-rounding rule", () => {
  const cases: [number, number][] = [
    [1, 0x3f80],
    [-2, 0xc000],
    [0.1, 0x3dcd],
    [Math.PI, 0x4049],
    [3.3895313892515355e38, 0x7f7f], // largest finite
    [1 + 2 ** -8, 0x3f80], // tie → even
    [1 + 3 * 2 ** -8, 0x3f82], // tie → even
    [Infinity, 0x7f80],
    [-0, 0x8000],
  ];
  for (const [v, bits] of cases) assert.equal(bfloat16Bits(v), bits, `bf16(${v})`);
  assert.equal(bfloat16Bits(NaN), 0x7fc0);
  assert.equal(bfloat16Value(0x3dcd), 0.10009765625);
  assert.equal(bfloat16Value(0x0001), 9.183549615799121e-41);
  // Independent rule on float32 bits (what PyTorch does): (b + 0x7fff + ((b >> 16) & 1)) >> 16.
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  let state = 12345;
  for (let i = 0; i < 20000; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    u[0] = state;
    if (Number.isNaN(f[0])) continue;
    const expected = Math.floor((u[0] + 0x7fff + ((u[0] >>> 16) & 1)) / 65536) & 0xffff;
    if (bfloat16Bits(f[0]) !== expected) assert.fail(`bits ${u[0].toString(16)}`);
  }
});

Deno.test("decode errors name the file and say what is wrong", () => {
  const path = { path: "model.safetensors" };
  const okHeader = '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
  const good = file(okHeader, f32le([1, 2]));
  assert.deepEqual(decodeSafetensors(good, path).tensors.get("w")!.data, new Float32Array([1, 2]));

  const cases: [Uint8Array, RegExp][] = [
    [new Uint8Array(5), /model\.safetensors: file is 5 bytes, shorter than the 8-byte header/],
    [
      cat(u64le(1000), enc.encode("{}")),
      /header length 1000 runs past the end of the file \(10 bytes\)/,
    ],
    [cat(u64le(200_000_000), enc.encode("{}")), /exceeds the 100 MB limit/],
    [file("{not json", new Uint8Array(0)), /header is not valid JSON/],
    [cat(u64le(2), new Uint8Array([0x7b, 0xff])), /not valid UTF-8/],
    [file("[1, 2]", new Uint8Array(0)), /must be a JSON object starting with "\{"/],
    [file('{"__metadata__":{"a":1}}', new Uint8Array(0)), /__metadata__\["a"\] is 1/],
    [
      file('{"w":{"dtype":"F8","shape":[2],"data_offsets":[0,2]}}', new Uint8Array(2)),
      /tensor "w": unsupported dtype "F8"; supported: F32, F16, BF16, F64, I64, I32, U8, BOOL/,
    ],
    [
      file('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', f32le([1])),
      /tensor "w": data_offsets \[0, 8\] are out of range; the data buffer has 4 bytes/,
    ],
    [
      file(
        '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
          '"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
        f32le([1, 2]),
      ),
      /tensor "b": data_offsets \[4, 8\] overlap the previous tensor, which ends at 8/,
    ],
    [
      file('{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', f32le([1, 2])),
      /tensor "w": data_offsets \[4, 8\] leave a gap after byte 0/,
    ],
    [
      file('{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', f32le([1, 2])),
      /tensor "w": shape \[3\] × F32 \(4 bytes\) needs 12 bytes but data_offsets \[0, 8\] span 8/,
    ],
    [
      file(okHeader, f32le([1, 2, 3])),
      /tensors cover 8 bytes of data but the data buffer has 12; trailing bytes/,
    ],
    [
      file('{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}', new Uint8Array(0)),
      /tensor "w": shape must be an array of non-negative integers/,
    ],
    [
      file('{"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}', new Uint8Array(0)),
      /end before they begin/,
    ],
    [
      file('{"w":{"dtype":"F32","shape":[1]}}', new Uint8Array(0)),
      /data_offsets must be \[begin, end\]/,
    ],
  ];
  for (const [bytes, re] of cases) {
    assert.throws(() => decodeSafetensors(bytes, path), (err: Error) => {
      assert.ok(err instanceof SafetensorsError, `${err}`);
      assert.match(err.message, /^model\.safetensors: /);
      assert.match(err.message, re);
      return true;
    });
  }
  // Header padding with trailing spaces (as the reference writes) is accepted.
  assert.equal(decodeSafetensors(file(okHeader, f32le([1, 2]), 3)).tensors.size, 1);
  // Without a path the message still says what was decoded.
  assert.throws(() => decodeSafetensors(new Uint8Array(3)), /<safetensors bytes>: file is 3 bytes/);
});

Deno.test("encode errors name the tensor and the fix", () => {
  const bad: [Record<string, TensorInput>, RegExp][] = [
    [
      { w: { dtype: "F32", shape: [2, 2], data: [1, 2, 3] } },
      /tensor "w": shape \[2, 2\] has 4 elements but data has 3/,
    ],
    [{ w: { dtype: "F8" as "F32", shape: [1], data: [1] } }, /tensor "w": unsupported dtype "F8"/],
    [
      { w: { dtype: "U8", shape: [1], data: [256] } },
      /data\[0\] is 256; U8 needs integers 0\.\.255/,
    ],
    [{ w: { dtype: "I32", shape: [1], data: [2 ** 31] } }, /I32 needs int32/],
    [{ w: { dtype: "I64", shape: [1], data: [2 ** 60] } }, /I64 needs bigints or safe integers/],
    [{ w: { dtype: "BOOL", shape: [1], data: [2] } }, /BOOL needs true\/false or 0\/1/],
    [{ w: { dtype: "F32", shape: [1.5], data: [1] } }, /shape\[0\] is 1\.5/],
    [{ __metadata__: { dtype: "F32", shape: [1], data: [1] } }, /"__metadata__" is reserved/],
  ];
  for (const [tensors, re] of bad) {
    assert.throws(() => encodeSafetensors(tensors), (err: Error) => {
      assert.ok(err instanceof SafetensorsError, `${err}`);
      assert.match(err.message, re);
      return true;
    });
  }
  assert.throws(
    () => encodeSafetensors({}, { epoch: 3 as unknown as string }),
    /metadata\["epoch"\] is number; safetensors metadata values must be strings/,
  );
});

Deno.test("saveSafetensors/loadSafetensors: atomic write to disk and back, errors name the file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "medtune_safetensors_" });
  try {
    const path = `${dir}/sub/model.safetensors`;
    const weights = new Map<string, TensorInput>([
      ["fc.weight", { dtype: "F32", shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }],
      ["fc.bias", { dtype: "F16", shape: [2], data: [0.5, -0.25] }],
    ]);
    await saveSafetensors(path, weights, { metadata: { epoch: "3" } });
    const entries = [...Deno.readDirSync(`${dir}/sub`)].map((e) => e.name);
    assert.deepEqual(entries, ["model.safetensors"], "no temporary file left behind");
    const loaded = await loadSafetensors(path);
    assert.deepEqual(loaded.metadata, { epoch: "3" });
    assert.deepEqual(loaded.tensors.get("fc.weight")!.data, new Float32Array([1, 2, 3, 4]));
    assert.deepEqual(loaded.tensors.get("fc.bias")!.data, new Float32Array([0.5, -0.25]));
    // Tensors come back in file order: F32 before F16.
    assert.deepEqual([...loaded.tensors.keys()], ["fc.weight", "fc.bias"]);

    await Deno.writeFile(`${dir}/broken.safetensors`, new Uint8Array([1, 2, 3]));
    await assert.rejects(
      () => loadSafetensors(`${dir}/broken.safetensors`),
      new RegExp(`${dir}/broken\\.safetensors: file is 3 bytes`),
    );
    await assert.rejects(
      () => saveSafetensors(`${dir}/x.safetensors`, { w: { dtype: "F32", shape: [2], data: [1] } }),
      new RegExp(`${dir}/x\\.safetensors: encodeSafetensors: tensor "w"`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

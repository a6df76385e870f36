/**
 * AdamW as one WebAssembly SIMD pass per parameter, over parameters,
 * gradients and moments that live in one `WebAssembly.Memory` arena: the
 * cpu backend's optimizer (issue 10).
 *
 * The train program's AdamW graph (`adamWUpdate`) makes 13 elementwise
 * onnxruntime passes per parameter and hands every new parameter and moment
 * back in a fresh buffer. Here the train program returns only the raw
 * gradients, written straight into the arena (preallocated outputs), and
 * one pass reads p, g, m, v once and writes p, m, v once, four floats at a
 * time: 7.8 ms for ResNet-18's 11.2M parameters on one thread, against
 * 51-95 ms for the graph (`bench/optimizer_bench.ts`). The state
 * store keeps its tensors as views of the arena, so the programs read
 * parameters in place.
 *
 * The pass does the graph's float32 operations in the graph's order
 * (`m ← β₁m + c₁g`, `v ← β₂v + g·(c₂g)`,
 * `p ← p·(1−lr·λ) − (m / (√v + ε̂))·α̂`, with the clipping factor folded
 * into `c₁`, `c₂` as the graph folds it), so both give the same bits, except
 * that the graph's session flushes denormals to zero and wasm keeps them
 * (a second moment below 1.2e-38; no effect on a parameter).
 *
 * The module is assembled here from its opcodes: no toolchain, no binary
 * in the repository.
 *
 * @module
 */

import type { AdamWConfig } from "./optim.ts";

/** Unsigned LEB128. */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

/** A length-prefixed vector of encoded items. */
function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

const [I32, F32, V128] = [0x7f, 0x7d, 0x7b];
const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const tee = (i: number) => [0x22, ...uleb(i)];
const simd = (op: number) => [0xfd, ...uleb(op)];
const LOAD = [...simd(0), 4, 0]; // v128.load, align 16, offset 0
const STORE = [...simd(11), 4, 0]; // v128.store
const [SPLAT, ADD, SUB, MUL, DIV, SQRT] = [19, 228, 229, 230, 231, 227].map(simd);

/**
 * A loop over byte offsets `i = 0, 16, …` while `i < bytes` (local
 * `bytesLocal`), with `i` in local `iLocal`, around `body`.
 */
// deno-fmt-ignore
function byteLoop(iLocal: number, bytesLocal: number, body: number[]): number[] {
  return [
    0x41, 0, ...set(iLocal), // i = 0
    0x02, 0x40, 0x03, 0x40, // block, loop
    ...get(iLocal), ...get(bytesLocal), 0x4f, 0x0d, 1, // i >= bytes: break
    ...body,
    ...get(iLocal), 0x41, 16, 0x6a, ...set(iLocal), 0x0c, 0, // i += 16; continue
    0x0b, 0x0b, // end loop, end block
  ];
}

/**
 * The module: imports `env.mem`, exports
 * `adamw(p, g, m, v, bytes, b1, c1, b2, c2, decay, step, eps)` and
 * `ema(e, p, bytes, d, omd)` (byte offsets, a length in bytes that is a
 * multiple of 16, float32 coefficients).
 */
// deno-fmt-ignore
function moduleBytes(): Uint8Array<ArrayBuffer> {
  // adamw — params 0-4: p g m v bytes (i32); 5-11: b1 c1 b2 c2 decay step eps
  // (f32). Locals: 12 i (i32); 13-19 the splatted scalars, 20 g, 21 m', 22 v'.
  const at = (base: number) => [...get(base), ...get(12), 0x6a];
  const adamwBody: number[] = [];
  for (let k = 0; k < 7; k++) adamwBody.push(...get(5 + k), ...SPLAT, ...set(13 + k));
  adamwBody.push(...byteLoop(12, 4, [
    ...at(1), ...LOAD, ...set(20),
    // m' = m·b1 + g·c1
    ...at(2), ...at(2), ...LOAD, ...get(13), ...MUL, ...get(20), ...get(14), ...MUL,
    ...ADD, ...tee(21), ...STORE,
    // v' = v·b2 + (g·c2)·g
    ...at(3), ...at(3), ...LOAD, ...get(15), ...MUL, ...get(20), ...get(16), ...MUL,
    ...get(20), ...MUL, ...ADD, ...tee(22), ...STORE,
    // p' = p·decay − (m' / (√v' + eps))·step
    ...at(0), ...at(0), ...LOAD, ...get(17), ...MUL,
    ...get(21), ...get(22), ...SQRT, ...get(19), ...ADD, ...DIV, ...get(18), ...MUL,
    ...SUB, ...STORE,
  ]), 0x0b);
  // ema — params 0-2: e p bytes (i32); 3-4: d omd (f32). Locals: 5 i; 6-7 splats.
  const atE = (base: number) => [...get(base), ...get(5), 0x6a];
  const emaBody = [
    ...get(3), ...SPLAT, ...set(6), ...get(4), ...SPLAT, ...set(7),
    ...byteLoop(5, 2, [
      // e' = e·d + p·omd
      ...atE(0), ...atE(0), ...LOAD, ...get(6), ...MUL, ...atE(1), ...LOAD, ...get(7), ...MUL,
      ...ADD, ...STORE,
    ]),
    0x0b,
  ];
  const functionType = (i32s: number, f32s: number) =>
    [0x60, ...vec([...Array(i32s).fill([I32]), ...Array(f32s).fill([F32])]), 0];
  const name = (s: string) => vec([...s].map((c) => [c.charCodeAt(0)]));
  const code = (locals: number[][], body: number[]) => {
    const fn = [...vec(locals), ...body];
    return [...uleb(fn.length), ...fn];
  };
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
    ...section(1, vec([functionType(5, 7), functionType(3, 2)])),
    ...section(2, vec([[...name("env"), ...name("mem"), 0x02, 0x00, 1]])),
    ...section(3, vec([[0], [1]])),
    ...section(7, vec([[...name("adamw"), 0, 0], [...name("ema"), 0, 1]])),
    ...section(10, vec([
      code([[1, I32], [10, V128]], adamwBody),
      code([[1, I32], [2, V128]], emaBody),
    ])),
  ]);
}

let compiled: WebAssembly.Module | undefined;

/** A parameter the arena holds. */
export interface ArenaParam {
  /** Its timm name. */
  name: string;
  /** Number of elements. */
  size: number;
  /** Whether weight decay applies. */
  decay: boolean;
}

/** Options of {@linkcode WasmAdamW}. */
export interface WasmAdamWOptions {
  /** The parameters, in any order. */
  params: readonly ArenaParam[];
  /** The optimizer (β₁, β₂ are read from it). */
  config: AdamWConfig;
  /** Keep a region for an exponential moving average of the parameters. */
  ema?: boolean;
}

/** The per-step scalars of {@linkcode WasmAdamW.step}, as the train graph's inputs name them. */
export interface WasmAdamWScalars {
  /** `α̂ = lr·√bc₂/bc₁` (`hp:step_size`). */
  stepSize: number;
  /** `ε̂ = ε·√bc₂` (`hp:eps_hat`). */
  epsHat: number;
  /** `1 − lr·λ` (`hp:decay_factor`). */
  decayFactor: number;
  /** The clipping factor of the gradients (1 without clipping). */
  gradScale?: number;
}

/** Where one parameter's slots start (in floats) and how many floats its pass covers. */
interface Slot {
  offset: number;
  padded: number;
  size: number;
  decay: boolean;
}

/** Floats each parameter's slot is aligned to (64 bytes). */
const ALIGN = 16;
/** The largest arena: wasm32 memories end at 4 GiB. */
const MAX_ARENA_BYTES = 2 ** 32 - 2 ** 16;

/**
 * Parameters, gradients, AdamW moments (and optionally an EMA of the
 * parameters) in one wasm memory, updated by a SIMD pass per parameter.
 * Views of the regions are what the state store and the train program's
 * preallocated outputs hold; they stay valid (the memory never grows).
 */
export class WasmAdamW {
  /** Whether an arena for `params` (with or without EMA) fits in wasm memory. */
  static fits(params: readonly ArenaParam[], ema = false): boolean {
    const floats = params.reduce((n, p) => n + Math.ceil(p.size / ALIGN) * ALIGN, 0);
    return floats * 4 * (ema ? 5 : 4) <= MAX_ARENA_BYTES;
  }

  readonly #slots = new Map<string, Slot>();
  readonly #regionFloats: number;
  readonly #memory: WebAssembly.Memory;
  readonly #adamw: (...args: number[]) => void;
  readonly #ema: (...args: number[]) => void;
  readonly #betas: [number, number];
  readonly #hasEma: boolean;

  /** Lay out and zero the arena for `options.params`. */
  constructor(options: WasmAdamWOptions) {
    this.#hasEma = options.ema ?? false;
    if (!WasmAdamW.fits(options.params, this.#hasEma)) {
      throw new Error("WasmAdamW: the parameters do not fit in a 4 GiB wasm memory");
    }
    let offset = 0;
    for (const p of options.params) {
      if (this.#slots.has(p.name)) throw new Error(`WasmAdamW: parameter "${p.name}" twice`);
      const padded = Math.ceil(p.size / ALIGN) * ALIGN;
      this.#slots.set(p.name, { offset, padded, size: p.size, decay: p.decay });
      offset += padded;
    }
    this.#regionFloats = offset;
    const regions = this.#hasEma ? 5 : 4;
    const pages = Math.max(1, Math.ceil((offset * 4 * regions) / 65536));
    this.#memory = new WebAssembly.Memory({ initial: pages });
    compiled ??= new WebAssembly.Module(moduleBytes());
    const instance = new WebAssembly.Instance(compiled, { env: { mem: this.#memory } });
    this.#adamw = instance.exports.adamw as (...args: number[]) => void;
    this.#ema = instance.exports.ema as (...args: number[]) => void;
    this.#betas = options.config.betas ?? [0.9, 0.999];
  }

  /** Bytes the arena takes. */
  get byteLength(): number {
    return this.#memory.buffer.byteLength;
  }

  #view(region: number, name: string): Float32Array {
    const slot = this.#slots.get(name);
    if (!slot) throw new Error(`WasmAdamW: no parameter "${name}"`);
    const start = (region * this.#regionFloats + slot.offset) * 4;
    return new Float32Array(this.#memory.buffer, start, slot.size);
  }

  /** The parameter's values (a view: writes change the arena). */
  param(name: string): Float32Array {
    return this.#view(0, name);
  }

  /** The slot the train program writes the parameter's gradient into. */
  grad(name: string): Float32Array {
    return this.#view(1, name);
  }

  /** AdamW's first moment. */
  moment1(name: string): Float32Array {
    return this.#view(2, name);
  }

  /** AdamW's second moment. */
  moment2(name: string): Float32Array {
    return this.#view(3, name);
  }

  /** The parameter's EMA (only with `ema: true`). */
  ema(name: string): Float32Array {
    if (!this.#hasEma) throw new Error("WasmAdamW: this arena keeps no EMA");
    return this.#view(4, name);
  }

  /**
   * One AdamW update of every parameter from the gradients in their slots,
   * with the train graph's coefficients: `c₁ = s(1−β₁)`, `c₂ = s²(1−β₂)` in
   * float32, `s` the clipping factor.
   */
  step(scalars: WasmAdamWScalars): void {
    const f = Math.fround;
    const [b1, b2] = this.#betas;
    const s = scalars.gradScale;
    const c1 = s === undefined ? f(1 - b1) : f(f(s) * f(1 - b1));
    const c2 = s === undefined ? f(1 - b2) : f(f(f(s) * f(s)) * f(1 - b2));
    const regionBytes = this.#regionFloats * 4;
    for (const slot of this.#slots.values()) {
      const at = slot.offset * 4;
      this.#adamw(
        at,
        at + regionBytes,
        at + 2 * regionBytes,
        at + 3 * regionBytes,
        slot.padded * 4,
        b1,
        c1,
        b2,
        c2,
        slot.decay ? scalars.decayFactor : 1,
        scalars.stepSize,
        scalars.epsHat,
      );
    }
  }

  /** `ema ← d·ema + (1−d)·p` for every parameter (float32, as the graph's EMA). */
  updateEma(decay: number): void {
    if (!this.#hasEma) throw new Error("WasmAdamW: this arena keeps no EMA");
    const bytes = this.#regionFloats * 4;
    this.#ema(4 * bytes, 0, bytes, decay, 1 - decay);
  }
}

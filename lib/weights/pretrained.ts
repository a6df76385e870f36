/**
 * Pretrained weights: load timm's safetensors files (names as in timm's
 * state dicts) into a medtune model, adapting what timm adapts when a
 * model differs from the checkpoint:
 *
 * - a different class count: the classifier keeps its fresh init;
 * - other input channels: the first conv's RGB kernels are summed for 1
 *   channel, or tiled and rescaled otherwise (timm's `adapt_input_conv`);
 * - another token grid (ViT image or patch size): `pos_embed` is resampled
 *   bilinearly, keeping the class-token position;
 * - another first-conv kernel (ResNet's small-input 3×3 stem, a ViT patch
 *   size other than 16): kept fresh by default, or center-cropped or
 *   resampled when asked (`firstConvKernel`).
 *
 * `num_batches_tracked` counters are skipped. Anything else that does not
 * fit is an error listing every missing, unexpected and mis-shaped tensor.
 * Nothing is downloaded: fetch the file yourself (e.g. from the Hugging
 * Face hub, `timm/resnet18.a1_in1k/model.safetensors`).
 *
 * @module
 */

import type { Model } from "../nn/model.ts";
import { architectureInfo, resolveModelName } from "../models/registry.ts";
import { initWeights, type ModelSpec, modelSpec } from "../models/spec.ts";
import { sizeOf } from "../util/shape.ts";
import {
  type DecodedSafetensors,
  decodeSafetensors,
  encodeSafetensors,
  loadSafetensors,
  type SafeTensor,
  saveSafetensors,
  type TensorInput,
} from "./safetensors.ts";

/** Where pretrained tensors come from: a file path, file bytes, or decoded tensors. */
export type PretrainedSource =
  | string
  | Uint8Array
  | DecodedSafetensors
  | ReadonlyMap<string, SafeTensor>;

/** Something holding a model's weights by name (a `TrainingSession` is one). */
export interface WeightsTarget {
  /** The model whose weights these are (used when `options.model` is not given). */
  readonly model?: Model;
  /** Current parameters and buffers by name. */
  getWeights(): Promise<Map<string, Float32Array>>;
  /** Replace parameters and buffers by name. */
  setWeights(weights: ReadonlyMap<string, Float32Array>): void;
}

/** What to do when the first conv's kernel size differs from the checkpoint's. */
export type KernelMismatch = "skip" | "centerCrop" | "resample" | "error";

/** Options of {@linkcode loadPretrained} and {@linkcode adaptPretrained}. */
export interface PretrainedOptions {
  /** The model to load into (default: the target's `model`). */
  model?: Model;
  /**
   * Fail on tensors the file lacks or the model lacks (default true). With
   * false they are skipped (missing ones keep their current values) and
   * reported. Mis-shaped tensors always fail, as in PyTorch.
   */
  strict?: boolean;
  /**
   * Keep the classifier's fresh init instead of loading it: `"auto"`
   * (default) when the file's class count differs (or the file has no head),
   * `true` always, `false` never (a class-count mismatch is then an error).
   */
  resetHead?: boolean | "auto";
  /**
   * First-conv kernel size differs (ResNet small-input stem 3×3 vs 7×7; ViT
   * patch 4 vs 16): `"skip"` keeps the fresh init (default), `"centerCrop"`
   * takes the central k×k of the pretrained kernel, `"resample"` resizes it
   * so that a patch's response is preserved (FlexiViT's PI-resize; to a
   * smaller kernel only), `"error"` fails.
   */
  firstConvKernel?: KernelMismatch;
  /** Seed of the fresh init for tensors a `Map` target lacks (default 0). */
  seed?: number;
  /** First conv prefix, for models not in the registry (e.g. `conv1`). */
  firstConv?: string;
  /** Classifier prefix, for models not in the registry (e.g. `fc`). */
  classifier?: string;
  /** Position-embedding name, for models not in the registry. */
  posEmbed?: string;
  /** Tokens before the grid in the position embedding (default 1: the class token). */
  prefixTokens?: number;
}

/** What {@linkcode loadPretrained} did with each tensor. */
export interface PretrainedReport {
  /** Copied unchanged from the file. */
  loaded: string[];
  /** Loaded after an adaptation (channels, kernel, position grid). */
  adapted: { name: string; how: string }[];
  /** Not loaded: the model's current (fresh) values were kept. */
  kept: { name: string; reason: string }[];
  /** In the file but not used. */
  ignored: { name: string; reason: string }[];
}

/** Result of {@linkcode adaptPretrained}. */
export interface AdaptedWeights {
  /** Every parameter and buffer of the model, by name. */
  weights: Map<string, Float32Array>;
  /** What was loaded, adapted, kept and ignored. */
  report: PretrainedReport;
}

/**
 * Load a timm (or medtune) safetensors checkpoint into `target`: a
 * `TrainingSession` (or any {@linkcode WeightsTarget}), or a weights `Map`
 * that is updated in place (tensors it lacks are initialized fresh).
 *
 * ```ts
 * const model = createModel("resnet18", { numClasses: 2, inChannels: 1, imageSize: 28 });
 * const session = await TrainingSession.create(backend, model, { batchSize: 32, optimizer });
 * const report = await loadPretrained(session, "resnet18.a1_in1k.safetensors");
 * // report.kept: fc.* (2 classes, file has 1000), conv1.weight (3x3 small-input stem)
 * ```
 */
export async function loadPretrained(
  target: WeightsTarget | Map<string, Float32Array>,
  source: PretrainedSource,
  options: PretrainedOptions = {},
): Promise<PretrainedReport> {
  const model = options.model ?? (target instanceof Map ? undefined : target.model);
  if (!model) {
    throw new Error(
      "loadPretrained: no model; pass { model } in the options (required for a Map target)",
    );
  }
  const label = typeof source === "string" ? source : "<safetensors>";
  let decoded: DecodedSafetensors;
  if (typeof source === "string") decoded = await readPretrainedFile(source, model.name);
  else if (source instanceof Uint8Array) decoded = decodeSafetensors(source);
  else if (source instanceof Map) {
    decoded = { tensors: source as Map<string, SafeTensor>, metadata: null };
  } else decoded = source as DecodedSafetensors;
  const base = target instanceof Map ? target : await target.getWeights();
  const { weights, report } = adaptPretrained(decoded.tensors, {
    ...options,
    model,
    base,
    source: label,
  });
  if (target instanceof Map) { for (const [k, v] of weights) target.set(k, v); }
  else target.setWeights(weights);
  return report;
}

/** Read a weights file, turning a missing or unreadable file into an error that names it. */
async function readPretrainedFile(path: string, model: string): Promise<DecodedSafetensors> {
  const where = `loadPretrained(${model}) from ${path}`;
  try {
    return await loadSafetensors(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(
        `${where}: no such file; give the path of a timm .safetensors file ` +
          `(e.g. resnet18.a1_in1k.safetensors from the Hugging Face hub)`,
        { cause: err },
      );
    }
    if (err instanceof Deno.errors.IsADirectory) {
      throw new Error(`${where}: is a folder; give the path of a .safetensors file in it`, {
        cause: err,
      });
    }
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new Error(`${where}: cannot read the file (permission denied)`, { cause: err });
    }
    throw err;
  }
}

/** Options of {@linkcode adaptPretrained}. */
export interface AdaptOptions extends PretrainedOptions {
  /** The model to adapt to. */
  model: Model;
  /** Values to keep for tensors not loaded (default: a fresh init from `seed`). */
  base?: ReadonlyMap<string, Float32Array>;
  /** Name of the source in error messages. */
  source?: string;
}

/**
 * The pure core of {@linkcode loadPretrained}: match `tensors` (timm names)
 * against `options.model`'s parameters and buffers, adapt what can be
 * adapted, and return the complete weights map with a report. Throws
 * listing every problem when the checkpoint does not fit.
 */
export function adaptPretrained(
  tensors: ReadonlyMap<string, SafeTensor>,
  options: AdaptOptions,
): AdaptedWeights {
  const model = options.model;
  const where = `loadPretrained(${model.name}) from ${options.source ?? "<safetensors>"}`;
  const spec = modelSpec(model);
  const arch = resolveModelName(model.name) ? architectureInfo(model.name) : undefined;
  const roles: TensorRoles = {
    classifier: options.classifier ?? arch?.classifier,
    firstConv: options.firstConv ?? arch?.firstConv,
    posEmbed: options.posEmbed ?? arch?.posEmbed,
    prefixTokens: options.prefixTokens ?? arch?.prefixTokens ?? 1,
  };
  const strict = options.strict ?? true;
  const resetHead = options.resetHead ?? "auto";
  const kernelMode = options.firstConvKernel ?? "skip";

  let fresh: Map<string, Float32Array> | undefined;
  const current = (name: string): Float32Array => {
    const v = options.base?.get(name);
    if (v) return v;
    fresh ??= initWeights(model, { seed: options.seed ?? 0, spec });
    return fresh.get(name)!;
  };
  const m = new Matching(current);
  const expected = new Map<string, number[]>();
  for (const t of [...spec.params, ...spec.buffers]) expected.set(t.name, t.shape);

  for (const name of tensors.keys()) {
    if (name.endsWith("num_batches_tracked")) {
      m.report.ignored.push({ name, reason: "batch-norm step counter (not used)" });
    } else if (!expected.has(name)) m.unexpected.push(name);
  }

  const { classifier } = roles;
  const isHead = (name: string) =>
    classifier !== undefined && (name === `${classifier}.weight` || name === `${classifier}.bias`);
  // The file's class count, from its classifier weight (decides "auto" for weight and bias alike).
  const heads = {
    file: classifier ? tensors.get(`${classifier}.weight`) : undefined,
    model: classifier ? expected.get(`${classifier}.weight`) : undefined,
  };

  for (const [name, shape] of expected) {
    const t = tensors.get(name);
    const headReason = isHead(name) ? keepHeadReason(resetHead, classifier!, heads, t) : null;
    if (headReason !== null) m.keep(name, headReason);
    else if (!t) m.missing.push(name);
    else matchTensor(m, { name, t, shape, where, roles, kernelMode });
  }

  if (!strict) {
    for (const name of m.missing) m.keep(name, "not in the file (strict: false)");
    for (const name of m.unexpected) {
      m.report.ignored.push({ name, reason: "not in the model (strict: false)" });
    }
  }
  throwUnlessFits(m, { strict, expected: expected.size, model: model.name, where });
  return { weights: m.weights, report: m.report };
}

/** Which tensors play which role in a checkpoint: the classifier, first conv and position embedding. */
interface TensorRoles {
  /** Classifier prefix (e.g. `fc`). */
  classifier?: string;
  /** First-conv prefix (e.g. `conv1`). */
  firstConv?: string;
  /** Position-embedding name (e.g. `pos_embed`). */
  posEmbed?: string;
  /** Tokens before the grid in the position embedding. */
  prefixTokens: number;
}

/** The state of {@linkcode adaptPretrained}: weights chosen so far, the report, and the problems. */
class Matching {
  readonly weights = new Map<string, Float32Array>();
  readonly report: PretrainedReport = { loaded: [], adapted: [], kept: [], ignored: [] };
  readonly missing: string[] = [];
  readonly misshaped: string[] = [];
  readonly unexpected: string[] = [];
  readonly #current: (name: string) => Float32Array;

  constructor(current: (name: string) => Float32Array) {
    this.#current = current;
  }

  /** Keep the model's current (or fresh) value of `name`, saying why. */
  keep(name: string, reason: string): void {
    this.weights.set(name, this.#current(name));
    this.report.kept.push({ name, reason });
  }
}

/** Why a classifier tensor keeps its fresh init, or `null` to load it (`resetHead` decides). */
function keepHeadReason(
  resetHead: boolean | "auto",
  classifier: string,
  heads: { file?: SafeTensor; model?: number[] },
  t: SafeTensor | undefined,
): string | null {
  if (resetHead === true) return "resetHead: true";
  if (resetHead !== "auto") return null;
  if (!heads.file || !t) return `the file has no ${classifier}; kept the fresh init`;
  if (heads.model && !sameShape(heads.file.shape, heads.model)) {
    return `the file's ${classifier} has ${heads.file.shape[0]} classes, the model ${
      heads.model[0]
    }; kept the fresh init`;
  }
  return null;
}

/** Load one file tensor as is, adapt it (first conv, position embedding), or record a mismatch. */
function matchTensor(
  m: Matching,
  o: {
    name: string;
    t: SafeTensor;
    shape: number[];
    where: string;
    roles: TensorRoles;
    kernelMode: KernelMismatch;
  },
): void {
  const { name, t, shape, roles } = o;
  const data = floatData(t, name, o.where);
  if (sameShape(t.shape, shape)) {
    m.weights.set(name, data);
    m.report.loaded.push(name);
    return;
  }
  const mismatch = `${name}: file ${fmt(t.shape)}, model ${fmt(shape)}`;
  if (
    roles.firstConv !== undefined && name === `${roles.firstConv}.weight` &&
    t.shape.length === 4 && shape.length === 4
  ) {
    const result = adaptFirstConv(data, t.shape, shape, o.kernelMode);
    if (result.kind === "ok") {
      m.weights.set(name, result.data);
      m.report.adapted.push({ name, how: result.how });
    } else if (result.kind === "skip") m.keep(name, result.why);
    else m.misshaped.push(`${mismatch} (${result.why})`);
    return;
  }
  if (roles.posEmbed !== undefined && name === roles.posEmbed) {
    const result = resamplePosEmbed(data, t.shape, shape, roles.prefixTokens);
    if (result.kind === "ok") {
      m.weights.set(name, result.data);
      m.report.adapted.push({ name, how: result.how });
    } else m.misshaped.push(`${mismatch} (${result.why})`);
    return;
  }
  m.misshaped.push(mismatch);
}

/** Throw one error listing every missing, unexpected and mis-shaped tensor, if any. */
function throwUnlessFits(
  m: Matching,
  o: { strict: boolean; expected: number; model: string; where: string },
): void {
  const { missing, unexpected, misshaped } = m;
  const problems: string[] = [];
  if (o.strict && missing.length) {
    problems.push(`missing in the file (${missing.length}): ${list(missing)}`);
  }
  if (o.strict && unexpected.length) {
    problems.push(`not in the model (${unexpected.length}): ${list(unexpected)}`);
  }
  if (misshaped.length) {
    problems.push(`shape mismatch (${misshaped.length}): ${list(misshaped, "; ")}`);
  }
  if (!problems.length) return;
  if (missing.length > o.expected / 2) {
    problems.push(
      `most of ${o.model}'s tensors are missing: is this a checkpoint of another architecture?`,
    );
  }
  throw new Error(
    `${o.where}: the checkpoint does not fit.\n  ${problems.join("\n  ")}\n` +
      `Fix: create the model with options that match the checkpoint (numClasses, inChannels, ` +
      `imageSize, patchSize, smallInput), check that the file is for ${o.model}, or pass ` +
      `strict: false to skip missing and unexpected tensors.`,
  );
}

/** Options of {@linkcode encodeWeights} and {@linkcode saveWeights}. */
export interface SaveWeightsOptions {
  /** The model the weights belong to (gives shapes and checks names). */
  model: Model;
  /** Extra metadata (the model name and config are always written). */
  metadata?: Record<string, string>;
}

/**
 * Encode a model's weights as safetensors bytes with timm's names and
 * shapes (float32), loadable by {@linkcode loadPretrained} and by timm
 * (`load_state_dict(..., strict=False)`: there are no `num_batches_tracked`).
 */
export function encodeWeights(
  weights: ReadonlyMap<string, Float32Array>,
  options: SaveWeightsOptions,
): Uint8Array {
  const { tensors, metadata } = toTensorInputs(weights, options);
  return encodeSafetensors(tensors, metadata);
}

/** Write a model's weights to `path` as safetensors (see {@linkcode encodeWeights}). */
export async function saveWeights(
  path: string,
  weights: ReadonlyMap<string, Float32Array>,
  options: SaveWeightsOptions,
): Promise<void> {
  const { tensors, metadata } = toTensorInputs(weights, options);
  await saveSafetensors(path, tensors, { metadata });
}

function toTensorInputs(weights: ReadonlyMap<string, Float32Array>, options: SaveWeightsOptions) {
  const model = options.model;
  const spec: ModelSpec = modelSpec(model);
  const tensors = new Map<string, TensorInput>();
  const missing: string[] = [];
  for (const t of [...spec.params, ...spec.buffers]) {
    const data = weights.get(t.name);
    if (!data) {
      missing.push(t.name);
      continue;
    }
    const size = sizeOf(t.shape);
    if (data.length !== size) {
      throw new Error(
        `saveWeights(${model.name}): "${t.name}" has ${data.length} values, the model expects ${
          fmt(t.shape)
        }`,
      );
    }
    tensors.set(t.name, { dtype: "F32", shape: t.shape, data });
  }
  const unexpected = [...weights.keys()].filter((k) => !tensors.has(k) && !missing.includes(k));
  if (missing.length || unexpected.length) {
    throw new Error(
      `saveWeights(${model.name}): the weights do not match the model` +
        (missing.length ? `; missing: ${list(missing)}` : "") +
        (unexpected.length ? `; not in the model: ${list(unexpected)}` : "") +
        `. Pass the map from getWeights() of a session of this model.`,
    );
  }
  const metadata: Record<string, string> = {
    ...options.metadata,
    format: "pt",
    "medtune.model": model.name,
    "medtune.config": JSON.stringify(model.config),
  };
  return { tensors, metadata };
}

// ------------------------------------------------------------------ helpers

/** Outcome of adapting one tensor: adapted data, skipped (keep the fresh init), or failed. */
export type AdaptResult =
  | { kind: "ok"; data: Float32Array; how: string }
  | { kind: "skip"; why: string }
  | { kind: "fail"; why: string };

function fmt(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

function list(names: readonly string[], sep = ", "): string {
  return names.length > 12
    ? `${names.slice(0, 12).join(sep)}${sep}... (${names.length - 12} more)`
    : names.join(sep);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function floatData(t: SafeTensor, name: string, where: string): Float32Array {
  if (
    t.data instanceof Float32Array && (t.dtype === "F32" || t.dtype === "F16" || t.dtype === "BF16")
  ) {
    return t.data.slice();
  }
  if (t.data instanceof Float64Array) return Float32Array.from(t.data);
  throw new Error(
    `${where}: "${name}" is ${t.dtype}; a floating-point tensor was expected ` +
      `(decode F16/BF16 files without halfAsRaw)`,
  );
}

/**
 * Adapt the first conv's weight `[O, I, K, K]` to `[O, I', k, k]`: input
 * channels as timm's `adapt_input_conv`, then the kernel size per `mode`.
 */
export function adaptFirstConv(
  data: Float32Array,
  from: readonly number[],
  to: readonly number[],
  mode: KernelMismatch = "skip",
): AdaptResult {
  const [o, i, kh, kw] = from;
  const [o2, i2, kh2, kw2] = to;
  if (o !== o2) return { kind: "fail", why: "output channels differ" };
  const how: string[] = [];
  let w = data;
  let shape = [o, i, kh, kw];
  if (kh !== kh2 || kw !== kw2) {
    if (mode === "skip") {
      return {
        kind: "skip",
        why: `kernel ${kh2}x${kw2} differs from the file's ${kh}x${kw}; kept the fresh init ` +
          `(firstConvKernel: "centerCrop" or "resample" loads it adapted)`,
      };
    }
    if (mode === "error") return { kind: "fail", why: `kernel ${kh2}x${kw2} vs ${kh}x${kw}` };
    if (kh2 > kh || kw2 > kw) {
      return { kind: "fail", why: `cannot shrink a ${kh}x${kw} kernel to a larger ${kh2}x${kw2}` };
    }
    if (mode === "centerCrop") {
      if ((kh - kh2) % 2 || (kw - kw2) % 2) {
        return { kind: "fail", why: `${kh}x${kw} has no center ${kh2}x${kw2} crop (odd margin)` };
      }
      w = centerCrop(w, shape, kh2, kw2);
      how.push(`center-cropped ${kh}x${kw} -> ${kh2}x${kw2}`);
    } else {
      w = resampleKernel(w, shape, kh2, kw2);
      how.push(`resampled ${kh}x${kw} -> ${kh2}x${kw2} (PI-resize)`);
    }
    shape = [o, i, kh2, kw2];
  }
  if (i !== i2) {
    const adapted = adaptInputChannels(w, shape, i2);
    if (!adapted) {
      return { kind: "fail", why: `cannot adapt ${i} input channels to ${i2} (only from 3)` };
    }
    w = adapted;
    how.push(
      i2 === 1
        ? `summed ${i} input channels into 1`
        : `tiled ${i} input channels to ${i2}, scaled by ${i}/${i2}`,
    );
  }
  return { kind: "ok", data: w, how: how.join("; ") };
}

/**
 * timm's `adapt_input_conv`: a conv weight `[O, I, kh, kw]` for `channels`
 * inputs — summed over I for 1 channel; for other counts (from I = 3),
 * channels repeated cyclically and scaled by `3 / channels`. Returns
 * `undefined` when not supported.
 */
export function adaptInputChannels(
  data: Float32Array,
  shape: readonly number[],
  channels: number,
): Float32Array | undefined {
  const [o, i, kh, kw] = shape;
  const k = kh * kw;
  const out = new Float32Array(o * channels * k);
  if (channels === 1) {
    for (let a = 0; a < o; a++) {
      for (let c = 0; c < i; c++) {
        for (let j = 0; j < k; j++) out[a * k + j] += data[(a * i + c) * k + j];
      }
    }
    return out;
  }
  if (i !== 3) return undefined;
  const scale = 3 / channels;
  for (let a = 0; a < o; a++) {
    for (let c = 0; c < channels; c++) {
      for (let j = 0; j < k; j++) {
        out[(a * channels + c) * k + j] = data[(a * i + (c % i)) * k + j] * scale;
      }
    }
  }
  return out;
}

function centerCrop(data: Float32Array, shape: readonly number[], kh2: number, kw2: number) {
  const [o, i, kh, kw] = shape;
  const dy = (kh - kh2) / 2;
  const dx = (kw - kw2) / 2;
  const out = new Float32Array(o * i * kh2 * kw2);
  for (let p = 0; p < o * i; p++) {
    for (let y = 0; y < kh2; y++) {
      for (let x = 0; x < kw2; x++) {
        out[(p * kh2 + y) * kw2 + x] = data[(p * kh + y + dy) * kw + x + dx];
      }
    }
  }
  return out;
}

/**
 * Row-major `[outSize, inSize]` matrix of 1-D linear interpolation as
 * PyTorch's `F.interpolate(mode="bilinear", align_corners=False)` per axis.
 */
export function linearResizeMatrix(inSize: number, outSize: number): Float64Array {
  const m = new Float64Array(outSize * inSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const src = Math.max(scale * (o + 0.5) - 0.5, 0);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    const i1 = Math.min(i0 + 1, inSize - 1);
    const l1 = Math.min(src - i0, 1);
    m[o * inSize + i0] += 1 - l1;
    m[o * inSize + i1] += l1;
  }
  return m;
}

/** `out[p] = A · X[p] · Bᵀ` for each of `planes` matrices X `[h, w]`; A `[h2, h]`, B `[w2, w]`. */
function separable(
  data: Float32Array,
  planes: number,
  h: number,
  w: number,
  a: Float64Array,
  h2: number,
  b: Float64Array,
  w2: number,
): Float32Array {
  const out = new Float32Array(planes * h2 * w2);
  const tmp = new Float64Array(h2 * w);
  for (let p = 0; p < planes; p++) {
    tmp.fill(0);
    for (let y2 = 0; y2 < h2; y2++) {
      for (let y = 0; y < h; y++) {
        const c = a[y2 * h + y];
        if (c === 0) continue;
        for (let x = 0; x < w; x++) tmp[y2 * w + x] += c * data[(p * h + y) * w + x];
      }
    }
    for (let y2 = 0; y2 < h2; y2++) {
      for (let x2 = 0; x2 < w2; x2++) {
        let s = 0;
        for (let x = 0; x < w; x++) s += b[x2 * w + x] * tmp[y2 * w + x];
        out[(p * h2 + y2) * w2 + x2] = s;
      }
    }
  }
  return out;
}

function transposeMatrix(m: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c];
  return t;
}

/**
 * Resize conv kernels `[O, I, K, K]` to a smaller `k×k` so that the response
 * to a k×k patch equals the old kernel's response to that patch upsampled
 * bilinearly to K×K (FlexiViT's PI-resize for downsizing: `ŵ = Aᵀ W A`).
 */
function resampleKernel(data: Float32Array, shape: readonly number[], kh2: number, kw2: number) {
  const [o, i, kh, kw] = shape;
  // A: [K, k] upsampling matrix (new size -> old size); ŵ = Aᵀ W A.
  const ah = transposeMatrix(linearResizeMatrix(kh2, kh), kh, kh2);
  const aw = transposeMatrix(linearResizeMatrix(kw2, kw), kw, kw2);
  return separable(data, o * i, kh, kw, ah, kh2, aw, kw2);
}

/**
 * Resample a ViT position embedding `[1, prefix + g0², D]` to
 * `[1, prefix + g², D]`: the grid part bilinearly (align_corners false),
 * the prefix (class token) unchanged.
 */
export function resamplePosEmbed(
  data: Float32Array,
  from: readonly number[],
  to: readonly number[],
  prefixTokens = 1,
): AdaptResult {
  if (from.length !== 3 || to.length !== 3 || from[0] !== 1 || to[0] !== 1) {
    return { kind: "fail", why: "expected [1, tokens, dim]" };
  }
  const d = from[2];
  if (to[2] !== d) return { kind: "fail", why: "embedding widths differ" };
  const g0 = Math.round(Math.sqrt(from[1] - prefixTokens));
  const g = Math.round(Math.sqrt(to[1] - prefixTokens));
  if (g0 * g0 !== from[1] - prefixTokens || g * g !== to[1] - prefixTokens) {
    return { kind: "fail", why: `token counts are not ${prefixTokens} + a square grid` };
  }
  // [g0*g0, D] -> D planes of [g0, g0], resample, back to [g*g, D].
  const planes = new Float32Array(d * g0 * g0);
  for (let t = 0; t < g0 * g0; t++) {
    for (let c = 0; c < d; c++) planes[c * g0 * g0 + t] = data[(prefixTokens + t) * d + c];
  }
  const m = linearResizeMatrix(g0, g);
  const resized = separable(planes, d, g0, g0, m, g, m, g);
  const out = new Float32Array(to[1] * d);
  out.set(data.subarray(0, prefixTokens * d));
  for (let t = 0; t < g * g; t++) {
    for (let c = 0; c < d; c++) out[(prefixTokens + t) * d + c] = resized[c * g * g + t];
  }
  return {
    kind: "ok",
    data: out,
    how: `position grid ${g0}x${g0} -> ${g}x${g} (bilinear), class token kept`,
  };
}

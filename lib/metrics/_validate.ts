/**
 * Input types and validation shared by the metric modules (internal).
 *
 * @module
 */

/** A 1-D vector of scores: one value per sample. */
export type Scores = Float64Array | Float32Array | readonly number[];

/** A 1-D vector of integer class labels `0..K-1`, one per sample. */
export type Labels = Int32Array | readonly number[];

/**
 * An N×K matrix of per-class scores (usually softmax probabilities), either
 * row-major flat data with `dims: [N, K]` (the shape of an ONNX Runtime
 * output tensor, so `ort.Tensor` values can be passed directly) or one array
 * per sample.
 */
export type ScoreMatrix =
  | { readonly data: ArrayLike<number>; readonly dims: readonly number[] }
  | readonly ArrayLike<number>[];

/** A validated, row-major N×K matrix of float64 values. */
export interface DenseMatrix {
  /** Row-major values, `rows * cols` long. */
  readonly data: Float64Array;
  /** Number of rows (samples). */
  readonly rows: number;
  /** Number of columns (classes). */
  readonly cols: number;
}

/**
 * Thrown when a metric is undefined for the given sample, e.g. AUC when the
 * labels hold a single class. The bootstrap counts and skips resamples that
 * raise it; every other error propagates.
 */
export class DegenerateSampleError extends Error {
  /** Create the error with a message that says what is missing. */
  constructor(message: string) {
    super(message);
    this.name = "DegenerateSampleError";
  }
}

/** Copy scores into a Float64Array, rejecting NaN/±Infinity with the index. */
export function toFloat64(scores: Scores, where: string, name = "scores"): Float64Array {
  if (scores == null || typeof scores.length !== "number") {
    throw new TypeError(`${where}: ${name} must be a number array or typed array, got ${scores}`);
  }
  const out = new Float64Array(scores.length);
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i];
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new RangeError(
        `${where}: ${name}[${i}] is ${v}; every score must be a finite number ` +
          `(check the model output for NaN/overflow)`,
      );
    }
    out[i] = v;
  }
  return out;
}

/** Copy labels into an Int32Array, rejecting non-integers and negatives. */
export function toLabels(labels: Labels, where: string, name = "labels"): Int32Array {
  if (labels == null || typeof labels.length !== "number") {
    throw new TypeError(`${where}: ${name} must be an Int32Array or number[], got ${labels}`);
  }
  const out = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
      throw new RangeError(
        `${where}: ${name}[${i}] is ${v}; labels must be non-negative integer class ` +
          `indices 0..K-1`,
      );
    }
    out[i] = v;
  }
  return out;
}

/** Throw unless two vectors have the same length. */
export function checkSameLength(a: number, b: number, where: string, what: string): void {
  if (a !== b) {
    throw new RangeError(
      `${where}: ${what} have different lengths (${a} vs ${b}); ` +
        `pass one entry per sample in both`,
    );
  }
}

/** Throw unless `n` is a positive integer. */
export function checkPositiveInt(n: number, where: string, name: string): void {
  if (!Number.isInteger(n) || n <= 0) {
    throw new RangeError(`${where}: ${name} must be a positive integer, got ${n}`);
  }
}

/** Convert either matrix form to a validated dense float64 matrix. */
export function toMatrix(probs: ScoreMatrix, where: string, name = "probs"): DenseMatrix {
  if (probs == null || typeof probs !== "object") {
    throw new TypeError(
      `${where}: ${name} must be {data, dims: [N, K]} or an array of rows, got ${probs}`,
    );
  }
  if ("dims" in probs && !Array.isArray(probs)) {
    const dims = probs.dims;
    if (dims.length !== 2) {
      throw new RangeError(
        `${where}: ${name}.dims is [${dims.join(", ")}]; expected a 2-D shape [N, K]`,
      );
    }
    const [rows, cols] = dims;
    checkPositiveInt(cols, where, `${name}.dims[1] (number of classes)`);
    if (!Number.isInteger(rows) || rows < 0) {
      throw new RangeError(`${where}: ${name}.dims[0] must be a non-negative integer`);
    }
    if (probs.data.length !== rows * cols) {
      throw new RangeError(
        `${where}: ${name}.data has ${probs.data.length} values but dims [${rows}, ${cols}] ` +
          `need ${rows * cols}`,
      );
    }
    const data = toFloat64(probs.data as Scores, where, `${name}.data`);
    return { data, rows, cols };
  }
  const rowsArr = probs as readonly ArrayLike<number>[];
  const rows = rowsArr.length;
  if (rows === 0) return { data: new Float64Array(0), rows: 0, cols: 0 };
  const cols = rowsArr[0].length;
  checkPositiveInt(cols, where, `${name}[0].length (number of classes)`);
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const row = rowsArr[i];
    if (row == null || row.length !== cols) {
      throw new RangeError(
        `${where}: ${name}[${i}] has ${row?.length} values but row 0 has ${cols}; ` +
          `every row needs one score per class`,
      );
    }
    for (let k = 0; k < cols; k++) {
      const v = row[k];
      if (typeof v !== "number" || !Number.isFinite(v)) {
        throw new RangeError(`${where}: ${name}[${i}][${k}] is ${v}; scores must be finite`);
      }
      data[i * cols + k] = v;
    }
  }
  return { data, rows, cols };
}

/**
 * Throw unless every row is a probability vector: entries in [0, 1] and the
 * row sum within `tol` of 1 (catches logits passed by mistake).
 */
export function checkProbabilities(m: DenseMatrix, where: string, tol = 1e-3): void {
  for (let i = 0; i < m.rows; i++) {
    let sum = 0;
    for (let k = 0; k < m.cols; k++) {
      const v = m.data[i * m.cols + k];
      if (v < 0 || v > 1) {
        throw new RangeError(
          `${where}: probs[${i}][${k}] is ${v}, outside [0, 1]; pass softmax probabilities, ` +
            `not logits`,
        );
      }
      sum += v;
    }
    if (Math.abs(sum - 1) > tol) {
      throw new RangeError(
        `${where}: probs row ${i} sums to ${sum}, not 1 (tolerance ${tol}); apply softmax ` +
          `to the model outputs first`,
      );
    }
  }
}

/** Throw unless every label is below `numClasses`. */
export function checkLabelRange(labels: Int32Array, numClasses: number, where: string): void {
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] >= numClasses) {
      throw new RangeError(
        `${where}: labels[${i}] is ${labels[i]} but there are only ${numClasses} classes ` +
          `(0..${numClasses - 1})`,
      );
    }
  }
}

/** Index of the largest value in each row (first one on ties, like numpy). */
export function argmaxRows(m: DenseMatrix): Int32Array {
  const out = new Int32Array(m.rows);
  for (let i = 0; i < m.rows; i++) {
    let best = 0;
    let bestV = m.data[i * m.cols];
    for (let k = 1; k < m.cols; k++) {
      const v = m.data[i * m.cols + k];
      if (v > bestV) {
        bestV = v;
        best = k;
      }
    }
    out[i] = best;
  }
  return out;
}

/** One column of a dense matrix as a new Float64Array. */
export function column(m: DenseMatrix, k: number): Float64Array {
  const out = new Float64Array(m.rows);
  for (let i = 0; i < m.rows; i++) out[i] = m.data[i * m.cols + k];
  return out;
}

/**
 * Evaluation metrics for medical image classifiers: exact AUC-ROC (binary,
 * one-vs-rest and per label for multi-label tasks), ROC curves, accuracy, balanced accuracy,
 * sensitivity/specificity, Brier score, expected calibration error, confusion
 * matrices, a one-call {@linkcode evaluateScores} report, percentile-bootstrap
 * and Student-t intervals, and DeLong's test for correlated AUCs.
 *
 * Inputs are plain number arrays or typed arrays; N×K probability matrices are
 * `{ data, dims: [N, K] }` (an ONNX Runtime tensor fits) or arrays of rows.
 *
 * ```ts
 * import { aucRoc, delongTest, evaluateScores } from "./mod.ts";
 * const labels = [0, 0, 1, 1];
 * aucRoc([0.1, 0.4, 0.35, 0.8], labels); // 0.75
 * const probs = [[0.9, 0.1], [0.6, 0.4], [0.65, 0.35], [0.2, 0.8]];
 * evaluateScores(probs, labels).binary?.sensitivity; // 0.5
 * delongTest([[0.1, 0.4, 0.35, 0.8], [0.2, 0.1, 0.6, 0.7]], labels).pValue;
 * ```
 *
 * @module
 */

export {
  aucOvr,
  type AucOvrOptions,
  aucPerClassOvr,
  aucRoc,
  midranks,
  type PositiveClassOptions,
  type RocCurve,
  rocCurve,
  type RocCurveOptions,
  rocCurvesOvr,
} from "./auc.ts";
export {
  aucPerLabel,
  evaluateMultiLabel,
  multiLabelBrierScore,
  type MultiLabelOptions,
  type MultiLabelReport,
  rocCurvesPerLabel,
} from "./multilabel.ts";
export {
  type BrierKind,
  brierKindOf,
  type DatasetTask,
  type MetricTask,
  metricTaskOf,
  taskNote,
} from "./task.ts";
export {
  accuracy,
  argmaxPredictions,
  balancedAccuracy,
  type ClassStats,
  confusionMatrix,
  type NumClassesOptions,
  perClassStats,
  type SensitivitySpecificity,
  sensitivitySpecificity,
  type ThresholdOptions,
  thresholdPredictions,
} from "./classification.ts";
export {
  binaryBrierScore,
  brierScore,
  type CalibrationOptions,
  type CalibrationReport,
  expectedCalibrationError,
  type ReliabilityBin,
  reliabilityBins,
} from "./calibration.ts";
export {
  bootstrapCi,
  type BootstrapData,
  bootstrapIndices,
  type BootstrapOptions,
  type BootstrapResult,
  type MeanCi,
  meanCi,
  type MeanCiOptions,
  type ResampledMatrix,
} from "./bootstrap.ts";
export {
  type AucCi,
  delongAucCi,
  type DelongCovariance,
  delongCovariance,
  type DelongOptions,
  delongTest,
  type DelongTestResult,
} from "./delong.ts";
export {
  type BinaryReport,
  type ClassificationReport,
  type EvaluateOptions,
  evaluateScores,
} from "./report.ts";
export { erfc, normalCdf, normalQuantile, studentTCdf, studentTQuantile } from "./stats.ts";
export { DegenerateSampleError, type Labels, type ScoreMatrix, type Scores } from "./_validate.ts";

/**
 * Data: NPY/NPZ readers, the MedMNIST datasets and the batch loader.
 *
 * @example
 * ```ts
 * import { loadBatches, loadMedMNISTSplits } from "./mod.ts";
 * const { train } = await loadMedMNISTSplits("breastmnist");
 * for await (const batch of loadBatches(train, { batchSize: 32, augment: "basic" })) {
 *   console.log(batch.x.length, batch.targets.length);
 * }
 * ```
 *
 * @module
 */

export { DataError, type DataErrorContext } from "./errors.ts";
export {
  dtypeOf,
  encodeNpy,
  type EncodeNpyOptions,
  type NpyArray,
  type NpyData,
  type NpyDtype,
  parseNpy,
  type ParseNpyOptions,
} from "./npy.ts";
export {
  crc32,
  encodeNpz,
  type EncodeNpzOptions,
  type NpzArchive,
  type NpzEntry,
  openNpz,
  type OpenNpzOptions,
  readNpz,
  readNpzFile,
} from "./npz.ts";
export {
  type ChannelStats,
  classCounts,
  computeChannelStats,
  type Dataset,
  datasetLabel,
  type Split,
  type TaskType,
  validateDataset,
} from "./dataset.ts";
export {
  ChecksumError,
  clearMedMNISTCache,
  datasetFromNpz,
  type DatasetFromNpzOptions,
  DownloadError,
  loadMedMNIST,
  type LoadMedMNISTOptions,
  loadMedMNISTSplits,
  locateMedMNIST,
  md5File,
  md5Hex,
  MEDMNIST_INFO,
  MEDMNIST_NAMES,
  MEDMNIST_SIZES,
  type MedMNISTFile,
  type MedMNISTInfo,
  medmnistInfo,
  type MedMNISTName,
  medmnistSearchDirs,
  type MedMNISTSize,
  medtuneCacheDir,
} from "./medmnist.ts";
// The augmentation types the loader's options and batches mention.
export type {
  AugmentConfig,
  Box,
  MixConfig,
  MixResult,
  Normalization,
  NormalizeOption,
  PresetName,
  Range,
} from "../augment/mod.ts";
export {
  type Batch,
  createLoader,
  epochOrder,
  loadBatches,
  type Loader,
  type LoaderOptions,
  numBatches,
} from "./loader.ts";

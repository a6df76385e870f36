/**
 * MedMNIST v2 (and MedMNIST+ 64/128/224 px) 2D datasets: an info table, file
 * lookup, optional md5-verified download from the official Zenodo record, and
 * a loader that returns typed {@linkcode Dataset}s.
 *
 * Values (URLs, MD5s, split sizes, label names) are copied from
 * `medmnist/info.py` of MedMNIST/MedMNIST version 3.0.2 (Zenodo record
 * 10519652). MedMNIST is licensed CC BY 4.0 (DermaMNIST CC BY-NC 4.0); cite
 * Yang et al., Scientific Data 10:41 (2023). Not for clinical use.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { atomicWriteFile } from "../util/fs.ts";
import { sizeOf } from "../util/shape.ts";
import type { Dataset, Split, TaskType } from "./dataset.ts";
import { DataError } from "./errors.ts";
import type { NpyArray } from "./npy.ts";
import { type NpzArchive, openNpz } from "./npz.ts";

/** The 12 MedMNIST v2 2D dataset names. */
export type MedMNISTName =
  | "pathmnist"
  | "chestmnist"
  | "dermamnist"
  | "octmnist"
  | "pneumoniamnist"
  | "retinamnist"
  | "breastmnist"
  | "bloodmnist"
  | "tissuemnist"
  | "organamnist"
  | "organcmnist"
  | "organsmnist";

/** Image side lengths MedMNIST is published in (28 = MedMNIST v2, others = MedMNIST+). */
export type MedMNISTSize = 28 | 64 | 128 | 224;

/** One downloadable file of a dataset. */
export interface MedMNISTFile {
  /** File name, e.g. `"breastmnist_64.npz"`. */
  fileName: string;
  /** Official download URL (Zenodo record 10519652). */
  url: string;
  /** Official MD5 from `medmnist/info.py`, or `undefined` when not known (verification is skipped). */
  md5: string | undefined;
}

/** Facts about one MedMNIST dataset. */
export interface MedMNISTInfo {
  /** Dataset name, e.g. `"breastmnist"`. */
  name: MedMNISTName;
  /** Class name in the Python package, e.g. `"BreastMNIST"`. */
  pythonClass: string;
  /** Task type. */
  task: TaskType;
  /** 1 (grayscale) or 3 (RGB). */
  channels: 1 | 3;
  /** Number of classes, or of labels per image for `"multi-label"`. */
  numClasses: number;
  /** Name of each class / label. */
  labelNames: string[];
  /** Number of images in each split. */
  samples: Record<Split, number>;
  /** Data license. */
  license: string;
  /** Files for each image size. */
  files: Record<MedMNISTSize, MedMNISTFile>;
}

/** Options for {@linkcode loadMedMNIST}. */
export interface LoadMedMNISTOptions {
  /** Split to load (default `"train"`). */
  split?: Split;
  /** Image size: 28 (default), 64, 128 or 224. */
  size?: MedMNISTSize;
  /**
   * Folder holding the `.npz` files. Default: env `MEDTUNE_DATA_DIR`, then the
   * cache folder (env `MEDTUNE_CACHE_DIR`, else `~/.cache/medtune`).
   */
  root?: string;
  /**
   * Download the file from the official Zenodo record when it is not found
   * (default `false`). It goes into `root` when given, else the cache folder.
   */
  download?: boolean;
  /** Check the file's MD5 against the official value (default `true`). */
  verify?: boolean;
  /** Keep the opened archive in memory for the next split's load (default `true`). */
  cache?: boolean;
  /** `fetch` to download with (default `globalThis.fetch`); lets tests and proxies step in. */
  fetch?: typeof fetch;
  /** Called during a download with bytes received and total (0 when unknown). */
  onProgress?: (received: number, total: number) => void;
  /**
   * Where to download from: a mirror folder URL that holds the files under
   * their official names (default: env `MEDTUNE_DOWNLOAD_BASE_URL`, else the
   * official Zenodo record). A hook for mirrors, proxies and tests.
   */
  baseUrl?: string;
  /**
   * The MD5 a download must have (default: the official value). Only for a
   * mirror that serves a re-packed file; the official files need no override.
   */
  md5?: string;
}

/**
 * A download that failed: the network, the server or the checksum. `url` is
 * where it was fetched from and `target` where the file belongs, so a caller
 * can say how to put it there by hand.
 */
export class DownloadError extends DataError {
  /** The URL fetched. */
  readonly url: string;
  /** Where the file belongs (the download target). */
  readonly target: string;
  /** What went wrong, without the advice (e.g. `"HTTP 404 Not Found"`). */
  readonly reason: string;

  /** Build the error; the message says what failed and how to place the file by hand. */
  constructor(reason: string, url: string, target: string) {
    super(
      `download of ${url} failed: ${reason}; check the network, or download the file by hand and put it at ${target}.`,
    );
    this.name = "DownloadError";
    this.url = url;
    this.target = target;
    this.reason = reason;
  }
}

/** Options for {@linkcode datasetFromNpz}. */
export interface DatasetFromNpzOptions {
  /** Dataset name to put in the result. */
  name: string;
  /** Split to read: members `<split>_images` and `<split>_labels`. */
  split: Split;
  /** Task type (decides the label layout and range check). */
  task: TaskType;
  /** Number of classes (or labels per image for `"multi-label"`). */
  numClasses: number;
  /** Class names (default `"0"`, `"1"`, ...). */
  labelNames?: string[];
}

const ZENODO = "https://zenodo.org/records/10519652/files";

/** The sizes MedMNIST files exist in. */
export const MEDMNIST_SIZES: readonly MedMNISTSize[] = [28, 64, 128, 224];

const ORGANS = [
  "bladder",
  "femur-left",
  "femur-right",
  "heart",
  "kidney-left",
  "kidney-right",
  "liver",
  "lung-left",
  "lung-right",
  "pancreas",
  "spleen",
];

function info(
  name: MedMNISTName,
  pythonClass: string,
  task: TaskType,
  channels: 1 | 3,
  labelNames: string[],
  samples: [number, number, number],
  md5: [string, string, string, string],
  license = "CC BY 4.0",
): MedMNISTInfo {
  const files = {} as Record<MedMNISTSize, MedMNISTFile>;
  MEDMNIST_SIZES.forEach((size, i) => {
    const fileName = size === 28 ? `${name}.npz` : `${name}_${size}.npz`;
    files[size] = { fileName, url: `${ZENODO}/${fileName}?download=1`, md5: md5[i] || undefined };
  });
  return {
    name,
    pythonClass,
    task,
    channels,
    numClasses: labelNames.length,
    labelNames,
    samples: { train: samples[0], val: samples[1], test: samples[2] },
    license,
    files,
  };
}

/**
 * Info for the 12 MedMNIST v2 2D datasets, from `medmnist/info.py` v3.0.2.
 * `files[size].md5` are the official values for 28, 64, 128 and 224 px.
 */
export const MEDMNIST_INFO: Readonly<Record<MedMNISTName, MedMNISTInfo>> = deepFreeze({
  pathmnist: info(
    "pathmnist",
    "PathMNIST",
    "multi-class",
    3,
    [
      "adipose",
      "background",
      "debris",
      "lymphocytes",
      "mucus",
      "smooth muscle",
      "normal colon mucosa",
      "cancer-associated stroma",
      "colorectal adenocarcinoma epithelium",
    ],
    [89996, 10004, 7180],
    [
      "a8b06965200029087d5bd730944a56c1",
      "55aa9c1e0525abe5a6b9d8343a507616",
      "ac42d08fb904d92c244187169d1fd1d9",
      "2c51a510bcdc9cf8ddb2af93af1eadec",
    ],
  ),
  chestmnist: info(
    "chestmnist",
    "ChestMNIST",
    "multi-label",
    1,
    [
      "atelectasis",
      "cardiomegaly",
      "effusion",
      "infiltration",
      "mass",
      "nodule",
      "pneumonia",
      "pneumothorax",
      "consolidation",
      "edema",
      "emphysema",
      "fibrosis",
      "pleural",
      "hernia",
    ],
    [78468, 11219, 22433],
    [
      "02c8a6516a18b556561a56cbdd36c4a8",
      "9de6cd0b934ebb5b7426cfba5efbae16",
      "db107e5590b27930b62dbaf558aebee3",
      "45bd33e6f06c3e8cdb481c74a89152aa",
    ],
  ),
  dermamnist: info(
    "dermamnist",
    "DermaMNIST",
    "multi-class",
    3,
    [
      "actinic keratoses and intraepithelial carcinoma",
      "basal cell carcinoma",
      "benign keratosis-like lesions",
      "dermatofibroma",
      "melanoma",
      "melanocytic nevi",
      "vascular lesions",
    ],
    [7007, 1003, 2005],
    [
      "0744692d530f8e62ec473284d019b0c7",
      "b70a2f5635c6199aeaa28c31d7202e1f",
      "2defd784463fa5243564e855ed717de1",
      "8974907d8e169bef5f5b96bc506ae45d",
    ],
    "CC BY-NC 4.0",
  ),
  octmnist: info(
    "octmnist",
    "OCTMNIST",
    "multi-class",
    1,
    [
      "choroidal neovascularization",
      "diabetic macular edema",
      "drusen",
      "normal",
    ],
    [97477, 10832, 1000],
    [
      "c68d92d5b585d8d81f7112f81e2d0842",
      "e229e9440236b774d9f0dfef9d07bdaf",
      "0a97e76651ace45c5d943ee3f65b63ae",
      "abc493b6d529d5de7569faaef2773ba3",
    ],
  ),
  pneumoniamnist: info(
    "pneumoniamnist",
    "PneumoniaMNIST",
    "binary",
    1,
    [
      "normal",
      "pneumonia",
    ],
    [4708, 524, 624],
    [
      "28209eda62fecd6e6a2d98b1501bb15f",
      "8f4eceb4ccffa70c672198ea285246c6",
      "05b46931834c231683c68f40c47b2971",
      "d6a3c71de1b945ea11211b03746c1fe1",
    ],
  ),
  retinamnist: info(
    "retinamnist",
    "RetinaMNIST",
    "ordinal-regression",
    3,
    [
      "0",
      "1",
      "2",
      "3",
      "4",
    ],
    [1080, 120, 400],
    [
      "bd4c0672f1bba3e3a89f0e4e876791e4",
      "afda852cc34dcda56f86ad2b2457dbcc",
      "e48e916a24454daf90583d4e6efb1a18",
      "eae7e3b6f3fcbda4ae613ebdcbe35348",
    ],
  ),
  breastmnist: info(
    "breastmnist",
    "BreastMNIST",
    "binary",
    1,
    [
      "malignant",
      "normal, benign",
    ],
    [546, 78, 156],
    [
      "750601b1f35ba3300ea97c75c52ff8f6",
      "742edef2a1fd1524b2efff4bd7ba9364",
      "363e4b3f8d712e9b5de15470a2aaadf1",
      "b56378a6eefa9fed602bb16d192d4c8b",
    ],
  ),
  bloodmnist: info(
    "bloodmnist",
    "BloodMNIST",
    "multi-class",
    3,
    [
      "basophil",
      "eosinophil",
      "erythroblast",
      "immature granulocytes(myelocytes, metamyelocytes and promyelocytes)",
      "lymphocyte",
      "monocyte",
      "neutrophil",
      "platelet",
    ],
    [11959, 1712, 3421],
    [
      "7053d0359d879ad8a5505303e11de1dc",
      "2b94928a2ae4916078ca51e05b6b800b",
      "adace1e0ed228fccda1f39692059dd4c",
      "b718ff6835fcbdb22ba9eacccd7b2601",
    ],
  ),
  tissuemnist: info(
    "tissuemnist",
    "TissueMNIST",
    "multi-class",
    1,
    [
      "Collecting Duct, Connecting Tubule",
      "Distal Convoluted Tubule",
      "Glomerular endothelial cells",
      "Interstitial endothelial cells",
      "Leukocytes",
      "Podocytes",
      "Proximal Tubule Segments",
      "Thick Ascending Limb",
    ],
    [165466, 23640, 47280],
    [
      "ebe78ee8b05294063de985d821c1c34b",
      "123ece2eba09d0aa5d698fda57103344",
      "61b955355d7425a89687b06cca3ce0c2",
      "b077128c4a949f0a4eb01517f9037b9c",
    ],
  ),
  organamnist: info("organamnist", "OrganAMNIST", "multi-class", 1, ORGANS, [34561, 6491, 17778], [
    "68e3f8846a6bd62f0c9bf841c0d9eacc",
    "2dcccc29b88e6da5a01161ef20cda288",
    "eeae80d0a227a8d099027e1b3cfd3b60",
    "50747347e05c87dd3aaf92c49f9f3170",
  ]),
  organcmnist: info("organcmnist", "OrganCMNIST", "multi-class", 1, ORGANS, [12975, 2392, 8216], [
    "b9ceb9546e10131b32923c5bbeaea2b1",
    "3ce34a8724ea6f548e6db4744d03b6a9",
    "773c1f009daa3fe5d9a2a201b2a7ed94",
    "050f5e875dc056f6768abf94ec9995d1",
  ]),
  organsmnist: info("organsmnist", "OrganSMNIST", "multi-class", 1, ORGANS, [13932, 2452, 8827], [
    "9ab87b696fb54e2a387ebe992d6ed5f1",
    "53a6d115339d874c25e309a994ff46d3",
    "ded0c5fa01a95dc4978b956f613e9b8e",
    "b354719e553fbbb2513d5533f52a4cb1",
  ]),
});

/** The 12 dataset names, in the order of `medmnist/info.py`. */
export const MEDMNIST_NAMES: readonly MedMNISTName[] = Object.freeze(
  Object.keys(MEDMNIST_INFO) as MedMNISTName[],
);

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Look up a dataset's info; throws a clear error for an unknown name. */
export function medmnistInfo(name: string): MedMNISTInfo {
  const key = name.toLowerCase() as MedMNISTName;
  const found = MEDMNIST_INFO[key];
  if (!found) {
    throw new DataError(
      `unknown MedMNIST dataset "${name}"; expected one of: ${MEDMNIST_NAMES.join(", ")}.`,
    );
  }
  return found;
}

/** MD5 of some bytes as lowercase hex (via `node:crypto`, since Web Crypto has no MD5). */
export function md5Hex(bytes: Uint8Array): string {
  return createHash("md5").update(bytes).digest("hex");
}

/** MD5 of a file as lowercase hex. */
export async function md5File(path: string): Promise<string> {
  return md5Hex(await Deno.readFile(path));
}

function envGet(variable: string): string | undefined {
  try {
    if (Deno.permissions.querySync({ name: "env", variable }).state !== "granted") return undefined;
    return Deno.env.get(variable) || undefined;
  } catch {
    return undefined;
  }
}

/** The cache folder: env `MEDTUNE_CACHE_DIR`, else `~/.cache/medtune`. */
export function medtuneCacheDir(): string {
  const explicit = envGet("MEDTUNE_CACHE_DIR");
  if (explicit) return explicit;
  const home = envGet("HOME") ?? envGet("USERPROFILE") ?? ".";
  return `${home}/.cache/medtune`;
}

/**
 * The folders searched for MedMNIST files, in order: `root` alone when given;
 * otherwise env `MEDTUNE_DATA_DIR` (when set), then {@linkcode medtuneCacheDir}.
 */
export function medmnistSearchDirs(root?: string): string[] {
  if (root) return [root];
  const dirs: string[] = [];
  const dataDir = envGet("MEDTUNE_DATA_DIR");
  if (dataDir) dirs.push(dataDir);
  dirs.push(medtuneCacheDir());
  return dirs;
}

interface CachedArchive {
  size: number;
  mtime: number;
  verified: boolean;
  archive: NpzArchive;
}

const archiveCache = new Map<string, CachedArchive>();

/** Drop the in-memory archives kept by {@linkcode loadMedMNIST} (frees their bytes). */
export function clearMedMNISTCache(): void {
  archiveCache.clear();
}

async function statFile(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    const st = await Deno.stat(path);
    return st.isFile ? st : undefined;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/**
 * Find (or, with `download: true`, fetch) the `.npz` for a dataset and size,
 * returning its path. Throws an error that says where to put the file and how
 * to get it when it is missing.
 */
export async function locateMedMNIST(
  name: string,
  options: Omit<LoadMedMNISTOptions, "split" | "cache"> = {},
): Promise<string> {
  const meta = medmnistInfo(name);
  const size = checkSize(options.size ?? 28);
  const file = meta.files[size];
  const dirs = medmnistSearchDirs(options.root);
  for (const dir of dirs) {
    const path = `${dir}/${file.fileName}`;
    if (await statFile(path)) return path;
  }
  if (!options.download) {
    throw new DataError(
      `MedMNIST file ${file.fileName} not found; looked in: ${
        dirs.join(", ")
      }. Put the file in one of those folders (or set MEDTUNE_DATA_DIR, or pass { root }); get it from ${file.url} (md5 ${
        file.md5 ?? "unknown"
      }), or pass { download: true } to fetch it into ${dirs[dirs.length - 1]}.`,
    );
  }
  const target = `${dirs[dirs.length - 1]}/${file.fileName}`;
  await downloadFile(file, target, options);
  return target;
}

/** The URL a file is downloaded from: `baseUrl` (or env `MEDTUNE_DOWNLOAD_BASE_URL`), else Zenodo. */
export function medmnistDownloadUrl(file: MedMNISTFile, baseUrl?: string): string {
  const base = baseUrl ?? envGet("MEDTUNE_DOWNLOAD_BASE_URL");
  return base ? `${base.replace(/\/+$/, "")}/${file.fileName}` : file.url;
}

async function downloadFile(
  file: MedMNISTFile,
  target: string,
  options: Pick<LoadMedMNISTOptions, "fetch" | "onProgress" | "verify" | "baseUrl" | "md5">,
): Promise<void> {
  const doFetch = options.fetch ?? globalThis.fetch;
  const url = medmnistDownloadUrl(file, options.baseUrl);
  let res: Response;
  try {
    res = await doFetch(url);
  } catch (err) {
    throw new DownloadError((err as Error).message, url, target);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new DownloadError(`HTTP ${res.status} ${res.statusText}`.trim(), url, target);
  }
  const total = Number(res.headers.get("content-length") ?? 0);
  const chunks: Uint8Array[] = [];
  let received = 0;
  try {
    for await (const chunk of res.body) {
      chunks.push(chunk);
      received += chunk.length;
      options.onProgress?.(received, total);
    }
  } catch (err) {
    throw new DownloadError(
      `the connection broke after ${received} bytes (${(err as Error).message})`,
      url,
      target,
    );
  }
  if (total && received !== total) {
    throw new DownloadError(`got ${received} of ${total} bytes`, url, target);
  }
  const bytes = new Uint8Array(received);
  let o = 0;
  for (const c of chunks) {
    bytes.set(c, o);
    o += c.length;
  }
  const expected = options.md5 ?? file.md5;
  if (options.verify !== false && expected) {
    const got = md5Hex(bytes);
    if (got !== expected) {
      throw new DownloadError(
        `MD5 mismatch: got ${got}, expected ${expected}${
          options.md5 ? "" : ` (official value for ${file.fileName})`
        }; the download is truncated or altered and was not kept`,
        url,
        target,
      );
    }
  }
  await atomicWriteFile(target, bytes);
}

function checkMd5(bytes: Uint8Array, file: MedMNISTFile, where: string, md5?: string): void {
  const expected = md5 ?? file.md5;
  if (!expected) {
    console.warn(
      `medtune: no official MD5 known for ${file.fileName}; skipping verification of ${where}.`,
    );
    return;
  }
  const got = md5Hex(bytes);
  if (got !== expected) {
    throw new ChecksumError(
      `MD5 mismatch for ${where}: got ${got}, expected ${expected} (official value for ${file.fileName}). The file is corrupt, truncated or a different version: delete it and load again with { download: true } (source ${file.url}), or pass { verify: false } to skip the check.`,
      { path: where, expected, actual: got, url: file.url },
    );
  }
}

/** A local MedMNIST file whose MD5 differs from the official value. */
export class ChecksumError extends DataError {
  /** The file checked. */
  readonly path: string;
  /** The MD5 it should have. */
  readonly expected: string;
  /** The MD5 it has. */
  readonly actual: string;
  /** Where the official file is. */
  readonly url: string;

  /** Build the error from its message and facts. */
  constructor(
    message: string,
    facts: { path: string; expected: string; actual: string; url: string },
  ) {
    super(message);
    this.name = "ChecksumError";
    this.path = facts.path;
    this.expected = facts.expected;
    this.actual = facts.actual;
    this.url = facts.url;
  }
}

function checkSize(size: number): MedMNISTSize {
  if (!(MEDMNIST_SIZES as readonly number[]).includes(size)) {
    throw new DataError(
      `MedMNIST size ${size} does not exist; option "size" must be one of ${
        MEDMNIST_SIZES.join(", ")
      }.`,
    );
  }
  return size as MedMNISTSize;
}

async function openArchive(
  path: string,
  file: MedMNISTFile,
  options: LoadMedMNISTOptions,
): Promise<NpzArchive> {
  const st = await statFile(path);
  const mtime = st?.mtime?.getTime() ?? 0;
  const cached = archiveCache.get(path);
  const wantVerify = options.verify !== false;
  if (
    cached && st && cached.size === st.size && cached.mtime === mtime &&
    (cached.verified || !wantVerify)
  ) {
    return cached.archive;
  }
  const bytes = await Deno.readFile(path);
  if (wantVerify) checkMd5(bytes, file, path, options.md5);
  const archive = openNpz(bytes, { file: path });
  if (options.cache !== false) {
    archiveCache.set(path, { size: bytes.length, mtime, verified: wantVerify, archive });
  }
  return archive;
}

/**
 * Load one split of a MedMNIST dataset as a typed {@linkcode Dataset}.
 *
 * The file is looked up in `root`, else `MEDTUNE_DATA_DIR`, else the cache
 * folder; it is MD5-checked on first open and kept in memory (per path) so that
 * loading the other splits does not read or verify it again. With
 * `download: true` a missing file is fetched from Zenodo record 10519652.
 *
 * @example
 * ```ts
 * const train = await loadMedMNIST("breastmnist", { split: "train" });
 * console.log(train.n, train.height, train.channels); // 546 28 1
 * ```
 */
export async function loadMedMNIST(
  name: MedMNISTName | string,
  options: LoadMedMNISTOptions = {},
): Promise<Dataset> {
  const meta = medmnistInfo(name);
  const size = checkSize(options.size ?? 28);
  const split = options.split ?? "train";
  if (split !== "train" && split !== "val" && split !== "test") {
    throw new DataError(`option "split" must be "train", "val" or "test", got "${split}".`);
  }
  const path = await locateMedMNIST(meta.name, { ...options, size });
  const archive = await openArchive(path, meta.files[size], options);
  const ds = datasetFromNpz(archive, {
    name: meta.name,
    split,
    task: meta.task,
    numClasses: meta.numClasses,
    labelNames: [...meta.labelNames],
  });
  if (ds.height !== size || ds.width !== size) {
    throw new DataError(
      `${split}_images are ${ds.height}×${ds.width} but size ${size} was asked for; the file is not the ${size} px version (file name ${
        meta.files[size].fileName
      }).`,
      { file: path },
    );
  }
  if (ds.channels !== meta.channels) {
    throw new DataError(
      `${split}_images have ${ds.channels} channel(s) but ${meta.name} has ${meta.channels}; the file is not ${meta.name}.`,
      { file: path },
    );
  }
  return ds;
}

/** Load the train, val and test splits of a dataset (the file is opened once). */
export async function loadMedMNISTSplits(
  name: MedMNISTName | string,
  options: Omit<LoadMedMNISTOptions, "split"> = {},
): Promise<Record<Split, Dataset>> {
  const train = await loadMedMNIST(name, { ...options, split: "train" });
  const val = await loadMedMNIST(name, { ...options, split: "val" });
  const test = await loadMedMNIST(name, { ...options, split: "test" });
  return { train, val, test };
}

/**
 * Build a {@linkcode Dataset} from the `<split>_images` / `<split>_labels`
 * members of any MedMNIST-format archive. Checks that images are uint8
 * N×H×W or N×H×W×C (C = 1 or 3), that image and label counts agree and that
 * every label is in range; each failure names the file and member.
 */
export function datasetFromNpz(archive: NpzArchive, options: DatasetFromNpzOptions): Dataset {
  const { split, task, numClasses } = options;
  const imagesName = `${split}_images.npy`;
  const labelsName = `${split}_labels.npy`;
  const images = archive.array(imagesName);
  const labelsArr = archive.array(labelsName);
  const file = archive.file;
  if (images.dtype !== "u1") {
    throw new DataError(
      `images must be uint8 ('|u1'), got '${images.dtype}'. Convert with arr.astype(np.uint8).`,
      { file, member: imagesName },
    );
  }
  const s = images.shape;
  const channels = s.length === 4 ? s[3] : 1;
  if ((s.length !== 3 && s.length !== 4) || (channels !== 1 && channels !== 3)) {
    throw new DataError(
      `images must have shape (N, H, W) or (N, H, W, C) with C = 1 or 3, got (${s.join(", ")}).`,
      { file, member: imagesName },
    );
  }
  const n = s[0];
  const labels = labelsToInt32(labelsArr, { file, member: labelsName });
  const ls = labelsArr.shape;
  if (ls[0] !== n) {
    throw new DataError(
      `has ${
        ls[0] ?? 0
      } labels but ${imagesName} has ${n} images; image and label counts must agree. The archive is damaged or mixes two versions.`,
      { file, member: labelsName },
    );
  }
  const perRow = sizeOf(ls.slice(1));
  const expected = task === "multi-label" ? numClasses : 1;
  if (perRow !== expected) {
    throw new DataError(
      `labels must have shape (N, ${expected})${
        expected === 1 ? " or (N,)" : ""
      } for a ${task} task with ${numClasses} classes, got (${ls.join(", ")}).`,
      { file, member: labelsName },
    );
  }
  const max = task === "multi-label" ? 1 : numClasses - 1;
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (l < 0 || l > max) {
      const row = task === "multi-label" ? Math.floor(i / numClasses) : i;
      throw new DataError(
        `label ${l} of image ${row} is out of range 0..${max} for ${options.name} (${task}, ${numClasses} classes). The file is damaged or is another dataset.`,
        { file, member: labelsName },
      );
    }
  }
  return {
    name: options.name,
    split,
    images: images.data as Uint8Array,
    labels,
    n,
    height: s[1],
    width: s[2],
    channels,
    numClasses,
    task,
    labelNames: options.labelNames ?? Array.from({ length: numClasses }, (_, i) => String(i)),
  };
}

function labelsToInt32(arr: NpyArray, ctx: { file: string; member: string }): Int32Array {
  if (arr.dtype === "f4" || arr.dtype === "f8") {
    throw new DataError(
      `labels must be integers, got float dtype '${arr.dtype}'. Convert with arr.astype(np.int64).`,
      ctx,
    );
  }
  if (arr.data instanceof Int32Array) return arr.data;
  const out = new Int32Array(arr.data.length);
  const src = arr.data as unknown as ArrayLike<number | bigint>;
  for (let i = 0; i < out.length; i++) {
    const v = Number(src[i]);
    if (v > 0x7fffffff || v < -0x80000000) {
      throw new DataError(`label ${v} of row ${i} does not fit in int32.`, ctx);
    }
    out[i] = v;
  }
  return out;
}

/**
 * Shared helpers for the data and augmentation tests: where the real MedMNIST
 * files live, and small synthetic datasets.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import type { Dataset } from "../lib/data/dataset.ts";

/** Folder with the real MedMNIST files: env MEDTUNE_DATA_DIR, else ../shared/data beside the repo. */
export const DATA_DIR: string = Deno.env.get("MEDTUNE_DATA_DIR") ??
  fileURLToPath(new URL("../../shared/data", import.meta.url));

/** Options of {@linkcode syntheticDataset}. */
export interface SyntheticOptions {
  /** Images (default 10). */
  n?: number;
  /** Side length in pixels (default 8). */
  size?: number;
  /** Channels (default 1). */
  channels?: number;
  /** Classes; labels cycle through them (default 2). */
  numClasses?: number;
}

/** A small synthetic single-label dataset with deterministic pixels. */
export function syntheticDataset(options: SyntheticOptions = {}): Dataset {
  const n = options.n ?? 10;
  const size = options.size ?? 8;
  const channels = options.channels ?? 1;
  const numClasses = options.numClasses ?? 2;
  const images = new Uint8Array(n * size * size * channels);
  for (let i = 0; i < images.length; i++) images[i] = (i * 37 + (i >> 5) * 11) & 255;
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = i % numClasses;
  return {
    name: "synthetic",
    split: "train",
    images,
    labels,
    n,
    height: size,
    width: size,
    channels,
    numClasses,
    task: numClasses === 2 ? "binary" : "multi-class",
    labelNames: Array.from({ length: numClasses }, (_, i) => `class${i}`),
  };
}

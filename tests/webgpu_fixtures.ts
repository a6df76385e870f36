// Fixtures of the webgpu tests: a PyTorch/timm-named ResNet-18 file, and a
// cut-down copy of the real BreastMNIST file (the software adapter is too
// slow to evaluate the whole of it inside a test).

import { createModel, initWeights, modelSpec } from "../lib/models/mod.ts";
import { encodeNpz, readNpz } from "../lib/data/npz.ts";
import type { NpyArray } from "../lib/data/npy.ts";
import { encodeSafetensors, type TensorInput } from "../lib/weights/safetensors.ts";

/** A PyTorch/timm-named ResNet-18 state dict (1000 classes, RGB, 7×7 stem) of known values. */
export function torchResnet18File(seed = 7): Uint8Array {
  const model = createModel("resnet18");
  const spec = modelSpec(model);
  const values = initWeights(model, { seed, spec });
  const tensors = new Map<string, TensorInput>();
  for (const t of [...spec.params, ...spec.buffers]) {
    tensors.set(t.name, { dtype: "F32", shape: t.shape, data: values.get(t.name)! });
    if (t.name.endsWith(".running_mean")) {
      tensors.set(t.name.replace("running_mean", "num_batches_tracked"), {
        dtype: "I64",
        shape: [],
        data: [1000],
      });
    }
  }
  return encodeSafetensors(tensors);
}

/**
 * Write `dir/breastmnist.npz` holding the first `counts` images of each split
 * of the real file in `dataDir` (same format, fewer images).
 */
export async function writeSmallBreastMnist(
  dataDir: string,
  dir: string,
  counts: { train: number; val: number; test: number },
): Promise<string> {
  const arrays = readNpz(await Deno.readFile(`${dataDir}/breastmnist.npz`));
  const out: Record<string, NpyArray> = {};
  for (const split of ["train", "val", "test"] as const) {
    for (const kind of ["images", "labels"]) {
      const a = arrays[`${split}_${kind}`];
      const per = a.shape.slice(1).reduce((x, y) => x * y, 1);
      out[`${split}_${kind}`] = {
        dtype: a.dtype,
        shape: [counts[split], ...a.shape.slice(1)],
        data: (a.data as Uint8Array).slice(0, counts[split] * per),
      };
    }
  }
  const path = `${dir}/breastmnist.npz`;
  await Deno.writeFile(path, encodeNpz(out));
  return path;
}

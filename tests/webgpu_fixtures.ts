// Fixtures of the webgpu tests: a PyTorch/timm-named ResNet-18 file.

import { createModel, initWeights, modelSpec } from "../lib/models/mod.ts";
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

// Compiles the tiny CNN's train step with onnxruntime's info log on (stderr):
// `medtune` through the cpu backend (MEDTUNE_ORT_LOG=1), `plain` straight
// through onnxruntime-node with every transformer. Used by engine_test.ts.

import ort from "onnxruntime-node";
import { createBackend } from "../lib/runtime/select.ts";
import { buildTrainGraph } from "../lib/train/programs.ts";
import { tinyCnn } from "./_tiny_cnn.ts";

const backend = await createBackend("cpu", { threads: 1 });
const train = buildTrainGraph(backend, tinyCnn(), {
  batchSize: 4,
  optimizer: { name: "adamw", lr: 1e-2, weightDecay: 1e-2 },
});
const bytes = (backend.lower ? backend.lower(train.ctx.graph) : train.ctx.graph).toModel();
if (Deno.args[0] === "plain") {
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ["cpu"],
    graphOptimizationLevel: "all",
    logSeverityLevel: 1,
  });
  await session.release();
} else {
  const session = await backend.createSession(bytes);
  await session.release();
}

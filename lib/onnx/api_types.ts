/**
 * The graph types that the public entry points' signatures mention (models
 * build into a {@linkcode Graph}, weights are {@linkcode TensorData}, ...):
 * re-exported from one place by the root `mod.ts` and the `./models`,
 * `./weights` and `./train` entries, for documentation and annotations.
 *
 * @module
 */

export type {
  CustomGradient,
  DType,
  Graph,
  Node,
  Shape,
  Tensor,
  TensorData,
  ToModelOptions,
} from "./graph.ts";
export type { AttributeValue, TensorProtoSpec } from "./proto.ts";

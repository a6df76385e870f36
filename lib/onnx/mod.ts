/**
 * The graph builder: typed symbolic tensors with static shapes, ONNX
 * operators with shape inference, and ModelProto encoding.
 *
 * @module
 */

export type { AttributeValue, TensorProtoSpec } from "./proto.ts";
export {
  type CustomGradient,
  dataOf,
  type DType,
  dtypeOfData,
  formatShape,
  Graph,
  type GraphOptions,
  type Node,
  OPSET,
  type Shape,
  sizeOf,
  Tensor,
  type TensorData,
  type ToModelOptions,
} from "./graph.ts";
export * as ops from "./ops.ts";

export {
  type ExportedTinyVlm,
  exportTinyVlm,
  joinWeights,
  type WeightInput,
  type WeightPlacement,
} from './export.js';
export { GraphBuilder } from './onnx-graph.js';
export { onnx, onnx as default } from './plugin.js';
export { type ExecutionProvider, OnnxPolicy, type OnnxPolicyOptions } from './policy.js';
export { writeOnnxModel } from './write-model.js';

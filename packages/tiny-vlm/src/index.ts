export {
  defaultTinyVlmConfig,
  hiddenSize,
  initialValues,
  parameterShapes,
  type TinyVlmConfig,
  tinyVlmSizeSchema,
} from './config.js';
export { type ImageNormalisation, ImagePatcher } from './images.js';
export {
  completionGrid,
  type GroupLayout,
  groupByImages,
  readCompletions,
  type SequenceInput,
} from './layout.js';
export {
  decodeSafetensors,
  encodeSafetensors,
  type NamedTensor,
  readSafetensors,
  writeFileAtomically,
} from './safetensors.js';
export { sampleToken } from './sampling.js';
export { decodeTokens, encodeCompletion, encodePrompt, specialTokens, vocabularySize } from './tokenizer.js';

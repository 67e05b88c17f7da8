export {
  defaultTinyVlmConfig,
  hiddenSize,
  initialValues,
  parameterShapes,
  patchDimension,
  rotaryTables,
  storedTinyVlmConfig,
  type TinyVlmConfig,
  tinyVlmSizeSchema,
} from './config.js';
export { type ImageNormalisation, ImagePatcher } from './images.js';
export {
  completionGrid,
  completionRoom,
  type GroupLayout,
  groupByImages,
  promptInput,
  readCompletions,
  type SequenceInput,
  splitRanges,
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

export { accuracy, accuracyScore, choiceMatches, toleranceScore } from './accuracy.js';
export { format, formatScore } from './format.js';
export { parseNumber } from './parse-number.js';
export {
  continuousCredit,
  type PerceptionPart,
  type PerceptionPreset,
  perception,
  perceptionParts,
  perceptionPresets,
  sentences,
  tagScore,
} from './perception.js';
export { type Tolerance, toleranceSchema } from './tolerance.js';
export { parseTransformations, type Transformation, transformationScore } from './transformations.js';

export { type DensityOptions, densityOptionsSchema } from './density-options.js';
export { exactIs } from './exact-is.js';
export { logImportanceWeights, logSumExp } from './importance-weights.js';
export { capWeights, snis } from './snis.js';
export { uncorrected } from './uncorrected.js';

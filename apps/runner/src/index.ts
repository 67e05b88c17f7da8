export { builtinPlugins } from './builtin-plugins.js';
export {
  type AblateOptions,
  type AblateResult,
  type AblationRun,
  ablate,
  ablationArms,
  gridArms,
  readArmsFile,
} from './commands/ablate.js';
export {
  type EvalOptions,
  type EvalResult,
  evaluateCheckpoint,
  evaluationTable,
} from './commands/eval.js';
export { listPlugins } from './commands/plugins.js';
export { collectRuns, type ReportOptions, reportCharts, writeReport } from './commands/report.js';
export { type SftOptions, type SftResult, sft } from './commands/sft.js';
export { type WriteTasksOptions, writeTasks } from './commands/tasks.js';
export { evaluationChange, type TrainOptions, type TrainResult, train } from './commands/train.js';
export { type CommandOutcome, validateConfigFile } from './commands/validate.js';
export {
  documentationFiles,
  fillGeneratedBlocks,
  type StaleFile,
  staleDocumentation,
  writeDocumentation,
} from './config-reference.js';
export { escapeHtml } from './escape-html.js';
export {
  type EvaluationOptions,
  evaluatePolicy,
  evaluationMetrics,
  type SplitEvaluation,
} from './evaluation.js';
export { main } from './main.js';
export { reportCommandError, reportError } from './report-error.js';

/** zod, re-exported so plugins build their option schemas with the same copy ekipl validates with. */
export { z } from 'zod';
export * from './advantages.js';
export * from './answer-format.js';
export { type ConfigPath, type ConfigSource, formatPath } from './config/issues.js';
export { applyOverrides } from './config/overrides.js';
export * from './config/resolve-config.js';
export * from './config/schema.js';
export { parseConfigText } from './config/source.js';
export * from './contracts/action.js';
export * from './contracts/auxiliary-sampler.js';
export * from './contracts/dataset.js';
export * from './contracts/estimator.js';
export * from './contracts/objective-settings.js';
export * from './contracts/policy-backend.js';
export * from './contracts/prompt.js';
export * from './contracts/reward-fn.js';
export * from './contracts/selector.js';
export * from './contracts/specification-version.js';
export * from './contracts/task.js';
export * from './delegating-policy.js';
export * from './ekipl-step.js';
export * from './errors/config-error.js';
export * from './errors/ekipl-error.js';
export * from './errors/plugin-error.js';
export * from './errors/provider-error.js';
export * from './learning-rate.js';
export * from './objective.js';
export * from './pass-at-k.js';
export * from './plugin/define-plugin.js';
export {
  type BuiltinPlugin,
  type LoadPluginOptions,
  loadPlugin,
  resolvePackageEntry,
} from './plugin/load-plugin.js';
export { parsePluginOptions } from './plugin/plugin-options.js';
export * from './prompt-template.js';
export * from './random.js';
export * from './weight-statistics.js';

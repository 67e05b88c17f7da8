export * from './conformance-error.js';
export * from './fakes/event-log.js';
export * from './fakes/fake-dataset.js';
export * from './fakes/fake-plugins.js';
export * from './fakes/fake-policy.js';
export * from './fakes/fake-sampler.js';
export * from './fakes/fake-task.js';
export * from './objective-conformance.js';

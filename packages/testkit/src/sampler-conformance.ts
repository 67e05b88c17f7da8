import type { AuxiliaryRequest, AuxiliarySampler, Task } from '@ekipl/core';
import { ConformanceError } from './conformance-error.js';

export interface SamplerConformanceOptions {
  /** Tasks to ask about (the sampler may read them, as oracles do). */
  tasks: readonly Task[];
  /** Answers per request (default 2). */
  n?: number;
  /** The same seed must give the same answers (default true; false for API models). */
  deterministic?: boolean;
}

/**
 * Invariants every auxiliary sampler keeps: one list of at most `n` actions per request, in order;
 * each action's `source` is the sampler's name and its `text` a string; finite costs and densities
 * where given; `n = 0` gives empty lists; a deterministic sampler answers the same for the same seed;
 * `score`, when present, returns a finite log-density <= 0 or undefined. Throws a ConformanceError.
 */
export async function samplerConformance(sampler: AuxiliarySampler, options: SamplerConformanceOptions) {
  const n = options.n ?? 2;
  const requests: AuxiliaryRequest[] = options.tasks.map((task) => ({
    task,
    prompt: { system: 'Answer in <answer> </answer> tags.', user: task.question, images: task.images },
  }));
  const failures: string[] = [];
  try {
    const result = await sampler.sample(requests, n, { seed: 7 });
    if (result.actions.length !== requests.length) {
      failures.push(`${result.actions.length} action lists for ${requests.length} requests`);
    }
    for (const [r, actions] of result.actions.entries()) {
      if (actions.length > n) failures.push(`request ${r}: ${actions.length} actions for n = ${n}`);
      for (const action of actions) {
        if (action.source !== sampler.name) {
          failures.push(`request ${r}: source ${JSON.stringify(action.source)}, not "${sampler.name}"`);
        }
        if (typeof action.text !== 'string') failures.push(`request ${r}: text is not a string`);
        if (action.behaviorLogProb !== undefined && !(action.behaviorLogProb <= 0)) {
          failures.push(`request ${r}: behaviorLogProb ${action.behaviorLogProb} is not a log-density`);
        }
        if (action.cost !== undefined && !(Number.isFinite(action.cost.usd) && action.cost.usd >= 0)) {
          failures.push(`request ${r}: cost ${action.cost.usd}`);
        }
      }
    }
    for (const [key, value] of Object.entries(result.metrics ?? {})) {
      if (!Number.isFinite(value)) failures.push(`metric ${key} = ${value}`);
    }
    if (options.deterministic ?? true) {
      const again = await sampler.sample(requests, n, { seed: 7 });
      // The answers and their densities, not the wall time each took.
      const answers = (actions: typeof result.actions) =>
        JSON.stringify(actions.map((row) => row.map(({ latencyMs: _, ...action }) => action)));
      if (answers(again.actions) !== answers(result.actions)) {
        failures.push('the same seed gave other answers');
      }
    }
    const none = await sampler.sample(requests, 0, { seed: 7 });
    if (none.actions.some((actions) => actions.length > 0)) failures.push('n = 0 gave actions');
    const first = result.actions.flat()[0];
    if (sampler.score !== undefined && first !== undefined && requests[0] !== undefined) {
      const density = await sampler.score(requests[0].prompt, first.text);
      if (density !== undefined && !(Number.isFinite(density) && density <= 0)) {
        failures.push(`score gave ${density}, not a finite log-density`);
      }
    }
  } catch (error) {
    failures.push(`threw ${error instanceof Error ? error.message : String(error)}`);
  }
  if (failures.length > 0) {
    throw new ConformanceError(
      `auxiliary sampler "${sampler.name}" broke its contract:\n  ${failures.slice(0, 20).join('\n  ')}`,
    );
  }
}

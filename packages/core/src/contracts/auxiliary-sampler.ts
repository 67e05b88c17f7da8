import type { Action } from './action.js';
import type { Prompt } from './prompt.js';
import type { SpecificationVersion } from './specification-version.js';
import type { Task } from './task.js';

/** One prompt to answer; samplers that know the task (offline oracles, replayed data) may read `task`. */
export interface AuxiliaryRequest {
  prompt: Prompt;
  task: Task;
}

export interface AuxiliarySampleOptions {
  /** Seed for this call's draws (offline samplers; API samplers pass it where the API takes one). */
  seed: number;
  /**
   * Aborted when the caller gives up on the step (`ekiplStep`'s `signal`); samplers stop issuing
   * requests. `ekipl train` lets a stopped run's last step finish, so it never aborts one.
   */
  signal?: AbortSignal;
}

export interface AuxiliarySampleResult {
  /**
   * Per request, in order, up to `n` actions. Fewer (or none) when requests failed or a budget ran
   * out: the step records the shortfall and goes on.
   */
  actions: Action[][];
  /** Options the sampler could not honour, budget stops, degraded requests: shown in the step metrics. */
  warnings?: string[];
  /** Sampler metrics for this call (retries, cache hits, cost), logged as `aux/<name>/<key>`. */
  metrics?: Record<string, number>;
}

/** A source of external actions: an API model, a local expert, a dataset's chain-of-thought. */
export interface AuxiliarySampler {
  readonly specificationVersion: SpecificationVersion;
  /** Source name of its actions (`Action.source`); unique within a run. */
  readonly name: string;
  sample(
    requests: readonly AuxiliaryRequest[],
    n: number,
    options: AuxiliarySampleOptions,
  ): Promise<AuxiliarySampleResult>;
  /**
   * log q(text | prompt) of any text under this sampler's model, tempered as it samples, when it can
   * compute one (local models). `undefined` when it cannot for this text.
   */
  score?(prompt: Prompt, text: string): Promise<number | undefined>;
  /**
   * At most what `answers` answers cost in USD, each to a prompt of about `promptTokens` tokens and as
   * long as the sampler lets an answer be, with the budget that caps it: printed before a run starts.
   * Absent: the sampler costs nothing (offline and local experts).
   */
  estimateCostUsd?(answers: number, promptTokens: number): { usd: number; budgetUsd?: number };
  /**
   * What the sampler carries from one step to the next (a provider's spend against its budget), as
   * JSON, written into each checkpoint of the run; `loadState` gets it back when the run resumes, so a
   * resumed run neither spends a budget twice nor reports a different total. Absent: nothing carries over.
   */
  saveState?(): Record<string, unknown>;
  /** Restores what `saveState` returned, before the first step of a resumed run. */
  loadState?(state: Record<string, unknown>): void;
  /** Frees what the sampler holds (a local model's weights and threads); called once when the run ends. */
  dispose?(): Promise<void>;
}

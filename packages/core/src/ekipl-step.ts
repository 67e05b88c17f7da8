/**
 * One EKIPL step (DESIGN.md "One EKIPL step"), top to bottom:
 *   sample -> reward -> select -> advantages -> score selected -> weights -> update -> metrics.
 *
 * Where this departs from the paper, and why:
 * - Ties in the top-G selection are the selector's explicit option; the paper does not say how it breaks them.
 * - The estimator's weight multiplies the clipped surrogate (see objective.ts); the paper's Appendix A
 *   states the identity, not where the weight sits in the clipped objective.
 * - A density a source cannot report is the estimator's documented fallback, counted in its diagnostics.
 * - An auxiliary sampler that fails is not fatal: its actions are missing from the pool (recorded as
 *   `aux/<name>/failed`) and the mixture shares alpha_k are computed from what actually arrived.
 * - An external text longer than the policy could have written (`maxCompletionLength` tokens, or the
 *   room the model's positions leave after the prompt) is dropped from the pool before rewards and
 *   selection, counted in `pool/dropped_overlength`: training on a cut prefix with the full text's
 *   reward taught the policy answers without their end, and inflated the prefix's weight.
 * - pi_old comes from generation for the policy's own samples only; every other text is scored, even
 *   when its sampler returned tokens of its own (another vocabulary's ids, or another model's densities).
 * - By default the k3 KL term applies to the policy's own samples only (k3 estimates
 *   KL(pi_theta || pi_ref) from samples of pi_theta; on external texts it pulls back exactly where the
 *   policy should learn), and negative advantages on external texts are masked (trained with advantage
 *   0: pushing down a text the policy would never write collapsed it); both are options.
 */
import { type AdvantageSettings, groupAdvantages, isZeroAdvantageGroup, mean } from './advantages.js';
import type { Action, ScoredAction, SelectedAction } from './contracts/action.js';
import type { AuxiliarySampleResult, AuxiliarySampler } from './contracts/auxiliary-sampler.js';
import type { Estimator, EstimatorDiagnostics, EstimatorGroup } from './contracts/estimator.js';
import type { ObjectiveSettings } from './contracts/objective-settings.js';
import type {
  ObjectiveFeature,
  PolicyBackend,
  TrainSequence,
  TrainStepResult,
} from './contracts/policy-backend.js';
import type { Prompt, SamplingSettings } from './contracts/prompt.js';
import type { RewardFn, RewardValue } from './contracts/reward-fn.js';
import type { Selector } from './contracts/selector.js';
import type { Task } from './contracts/task.js';
import { PluginError } from './errors/plugin-error.js';
import type { PromptTemplate } from './prompt-template.js';
import type { Random } from './random.js';
import { weightStatistics } from './weight-statistics.js';

/** An auxiliary sampler and how many actions it contributes per prompt (G_k). */
export interface AuxiliarySource {
  /** Source name of its actions (unique in the run; two instances of one plugin differ here). */
  name: string;
  sampler: AuxiliarySampler;
  samples: number;
}

/** A reward function and its weight in the run's total reward. */
export interface WeightedReward {
  /** Name its value is logged under (`reward/<name>`). */
  name: string;
  reward: RewardFn;
  weight: number;
}

/** The plugin instances a step runs with. */
export interface EkiplComponents {
  policy: PolicyBackend;
  auxiliary: readonly AuxiliarySource[];
  rewards: readonly WeightedReward[];
  selector: Selector;
  estimator: Estimator;
  renderPrompt: PromptTemplate;
}

export interface EkiplStepSettings {
  /** G: the size of the group the update learns from, and the policy's samples per prompt. */
  groupSize: number;
  objective: ObjectiveSettings;
  sampling: Omit<SamplingSettings, 'seed'>;
  advantage: AdvantageSettings;
  /** mu: optimiser steps over the same batch. */
  numIterations: number;
  /** How external (off-policy) texts are trained; defaults below. */
  offPolicy?: OffPolicySettings;
}

export interface OffPolicySettings {
  /** The KL term on the policy's own samples only (default), or on every selected text. */
  klOn: 'policy' | 'all';
  /**
   * Negative advantages on external texts: `mask` (default) gives them advantage 0 (no gradient; they
   * still count in the group's baseline), since pushing down a text the policy would never write spends
   * the gradient on raising arbitrary other tokens; `keep` trains them down like any sample. Measured:
   * with two oracle experts, `keep` collapsed 2 of 3 seeds, `mask` none (plugins/estimators/README.md).
   */
  negatives: 'keep' | 'mask';
  /**
   * CHORD's supervised term on the selected external texts: mu goes linearly from `start` at step 1 to
   * `end` at step `steps` (and stays there); absent: no supervised term. See `offPolicySupervised`.
   */
  supervised?: { start: number; end: number; steps: number };
}

export const defaultOffPolicySettings: OffPolicySettings = { klOn: 'policy', negatives: 'mask' };

/** What happened to one task in a step: its pool, the selected group, advantages and weights. */
export interface StepGroup {
  task: Task;
  prompt: Prompt;
  candidates: ScoredAction[];
  selected: SelectedAction[];
  weights: number[];
  estimator: EstimatorDiagnostics;
}

export interface StepResult {
  /** Slash-keyed metrics; every key is listed in docs/metrics.md. */
  metrics: Record<string, number>;
  /** Things a user should see (a sampler failed, options not honoured). */
  warnings: string[];
  groups: StepGroup[];
  train: TrainStepResult[];
}

export interface StepOptions {
  signal?: AbortSignal;
  /** Milliseconds clock, for phase timings (injectable for tests). */
  now?: () => number;
  /** The run's step number (1-based), for schedules; default 1. */
  step?: number;
}

export async function ekiplStep(
  components: EkiplComponents,
  settings: EkiplStepSettings,
  tasks: readonly Task[],
  random: Random,
  options: StepOptions = {},
): Promise<StepResult> {
  const { policy, auxiliary, rewards, selector, estimator } = components;
  const { groupSize, sampling } = settings;
  const offPolicy = settings.offPolicy ?? defaultOffPolicySettings;
  const objective = scheduledObjective(settings.objective, offPolicy, options.step ?? 1);
  const now = options.now ?? (() => performance.now());
  const metrics: Record<string, number> = {};
  const warnings: string[] = [];
  const stepStart = now();
  if (!policy.capabilities.train || policy.trainStep === undefined) {
    throw new PluginError(policy.name, `policy "${policy.name}" cannot train (capabilities.train is false)`);
  }
  checkObjectiveFeatures(policy, objective, offPolicy);
  const prompts = tasks.map((task) => components.renderPrompt(task));

  // 1. Sampling. External calls start first so their latency hides behind local generation.
  const requests = tasks.map((task, i) => ({ prompt: prompts[i]!, task }));
  const auxiliaryCalls = auxiliary.map((source) =>
    settle(
      () =>
        source.sampler.sample(requests, source.samples, {
          seed: random.split('auxiliary', source.name).uint32(),
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        }),
      now,
    ),
  );
  const generateStart = now();
  const policySamples = await policy.generate(prompts, groupSize, {
    ...sampling,
    seed: random.split('policy').uint32(),
  });
  metrics['time/generate_s'] = (now() - generateStart) / 1000;
  const auxiliaryResults = await Promise.all(auxiliaryCalls);
  metrics['time/sample_s'] = (now() - generateStart) / 1000;
  if (
    policySamples.length !== tasks.length ||
    policySamples.some((samples) => samples.length !== groupSize)
  ) {
    throw new PluginError(
      policy.name,
      `policy "${policy.name}" must return ${groupSize} samples for each of ${tasks.length} prompts`,
    );
  }
  metrics['tokens/generated'] = sum(policySamples.flat().map((sample) => sample.tokens.length));

  const entropies = policySamples.flat().flatMap((sample) => sample.entropies ?? []);
  if (entropies.length > 0) metrics['policy/entropy'] = mean(entropies);
  const pools: Action[][] = tasks.map((_, taskIndex) =>
    policySamples[taskIndex]!.map((sample) => ({
      source: 'policy',
      text: sample.text,
      tokens: sample.tokens,
      oldLogProbs: sample.logProbs,
      samplingLogProb: sum(sample.samplingLogProbs ?? sample.logProbs),
    })),
  );
  // Room for a completion after each prompt: external texts longer than the policy could write are dropped.
  const rooms = await Promise.all(
    prompts.map(async (prompt) =>
      Math.min(objective.maxCompletionLength, (await policy.completionRoom?.(prompt)) ?? Infinity),
    ),
  );
  let droppedOverlength = 0;
  auxiliary.forEach((source, k) => {
    const name = source.name;
    const outcome = auxiliaryResults[k]!;
    metrics[`aux/${name}/requested`] = tasks.length * source.samples;
    metrics[`time/aux/${name}_s`] = outcome.seconds;
    if (!outcome.ok) {
      metrics[`aux/${name}/failed`] = 1;
      metrics[`aux/${name}/received`] = 0;
      warnings.push(
        `auxiliary sampler "${name}" failed, its actions are missing this step: ${errorMessage(outcome.error)}`,
      );
      return;
    }
    const result: AuxiliarySampleResult = outcome.value;
    let received = 0;
    let dropped = 0;
    tasks.forEach((_, taskIndex) => {
      const actions = (result.actions[taskIndex] ?? []).slice(0, source.samples);
      received += actions.length;
      for (const action of actions) {
        // Always the policy's own tokenisation, whatever the sampler returned.
        const tokens = policy.encode(action.text);
        if (tokens.length > rooms[taskIndex]!) {
          dropped++;
          continue;
        }
        const { oldLogProbs: _, ...external } = action;
        pools[taskIndex]!.push({ ...external, source: name, tokens });
      }
    });
    droppedOverlength += dropped;
    metrics[`aux/${name}/received`] = received;
    metrics[`aux/${name}/dropped_overlength`] = dropped;
    metrics[`aux/${name}/failed`] = 0;
    for (const [key, value] of Object.entries(result.metrics ?? {})) metrics[`aux/${name}/${key}`] = value;
    for (const warning of result.warnings ?? []) warnings.push(`${name}: ${warning}`);
  });

  // 2. Rewards: every candidate gets the weighted sum of the reward functions; each part is kept.
  const rewardStart = now();
  const scoredPools: ScoredAction[][] = await Promise.all(
    pools.map((pool, taskIndex) =>
      Promise.all(pool.map((action, index) => scoreAction(action, index, tasks[taskIndex]!, rewards))),
    ),
  );
  metrics['time/reward_s'] = (now() - rewardStart) / 1000;

  // 3. Selection of G per task, and 4. group-relative advantages.
  const selectedGroups: SelectedAction[][] = scoredPools.map((candidates, taskIndex) => {
    const chosen = selector.select(candidates, groupSize, random.split('select', taskIndex));
    checkSelection(selector, candidates, chosen, groupSize);
    const advantages = groupAdvantages(
      chosen.map((action) => action.reward),
      candidates.map((action) => action.reward),
      settings.advantage,
    );
    return chosen.map((action, i) => ({ ...action, advantage: advantages[i]! }));
  });

  // 5. Only selected external actions are scored under pi_old (= the current weights, since nothing
  // has been updated yet this step); reference log-probs only when beta > 0, by default only for the
  // policy's own samples.
  const scoreStart = now();
  const toScore: { action: SelectedAction; prompt: Prompt }[] = [];
  selectedGroups.forEach((group, taskIndex) => {
    for (const action of group) {
      if (action.source !== 'policy') toScore.push({ action, prompt: prompts[taskIndex]! });
    }
  });
  if (toScore.length > 0) {
    const scored = await policy.score(
      toScore.map(({ action, prompt }) => ({ prompt, tokens: action.tokens! })),
      'current',
      sampling.temperature,
    );
    toScore.forEach(({ action }, i) => {
      action.oldLogProbs = scored[i]!;
    });
  }
  const withKl = (action: SelectedAction) =>
    objective.beta > 0 && (offPolicy.klOn === 'all' || action.source === 'policy');
  const klRequests = selectedGroups.flatMap((group, taskIndex) =>
    group.filter(withKl).map((action) => ({ action, prompt: prompts[taskIndex]!, tokens: action.tokens! })),
  );
  const referenceLogProbs = new Map<SelectedAction, number[]>();
  if (klRequests.length > 0) {
    const scored = await policy.score(klRequests, 'reference', sampling.temperature);
    klRequests.forEach(({ action }, i) => {
      referenceLogProbs.set(action, scored[i]!);
    });
  }
  // Densities of selected texts under samplers that can score text (local models), for the estimator.
  const behaviorLogProbs = await Promise.all(
    selectedGroups.map((group, taskIndex) =>
      Promise.all(group.map((action) => auxiliaryDensities(action, prompts[taskIndex]!, auxiliary))),
    ),
  );
  metrics['time/score_s'] = (now() - scoreStart) / 1000;
  metrics['pool/dropped_overlength'] = droppedOverlength;

  // 6. Importance weights per group, against the mixture the pool was actually drawn from.
  const estimates = selectedGroups.map((group, taskIndex) => {
    const pool = scoredPools[taskIndex]!;
    const mixture: Record<string, number> = {};
    for (const action of pool) mixture[action.source] = (mixture[action.source] ?? 0) + 1 / pool.length;
    const estimatorGroup: EstimatorGroup = {
      mixture,
      actions: group.map((action, i) => ({
        source: action.source,
        oldLogProb: sum(action.oldLogProbs!),
        tokens: action.tokens!.length,
        behaviorLogProbs: behaviorLogProbs[taskIndex]![i]!,
        ...(action.samplingLogProb === undefined ? {} : { samplingLogProb: action.samplingLogProb }),
      })),
    };
    const estimate = estimator.weights(estimatorGroup);
    if (
      estimate.weights.length !== group.length ||
      estimate.weights.some((weight) => !Number.isFinite(weight) || weight < 0)
    ) {
      throw new PluginError(
        estimator.name,
        `estimator "${estimator.name}" must return ${group.length} finite, non-negative weights, got [${estimate.weights.join(', ')}]`,
      );
    }
    return estimate;
  });

  // 7. The update: mu optimiser steps over the same batch.
  let maskedNegatives = 0;
  const sequences: TrainSequence[] = selectedGroups.flatMap((group, taskIndex) =>
    group.map((action, i) => {
      const masked = offPolicy.negatives === 'mask' && action.source !== 'policy' && action.advantage < 0;
      if (masked) maskedNegatives++;
      const reference = referenceLogProbs.get(action);
      return {
        prompt: prompts[taskIndex]!,
        tokens: action.tokens!,
        oldLogProbs: action.oldLogProbs!,
        ...(reference === undefined ? {} : { refLogProbs: reference }),
        advantage: masked ? 0 : action.advantage,
        weight: estimates[taskIndex]!.weights[i]!,
        source: action.source,
      };
    }),
  );
  metrics['selected/masked_negatives'] = maskedNegatives;
  if (objective.offPolicySupervised !== undefined) {
    metrics['train/supervised_weight'] = objective.offPolicySupervised.weight;
  }
  const trainStart = now();
  const train: TrainStepResult[] = [];
  for (let iteration = 0; iteration < settings.numIterations; iteration++) {
    train.push(await policy.trainStep({ sequences }, objective, sampling.temperature));
  }
  const trainSeconds = (now() - trainStart) / 1000;

  // 8. Metrics.
  const groups: StepGroup[] = tasks.map((task, taskIndex) => ({
    task,
    prompt: prompts[taskIndex]!,
    candidates: scoredPools[taskIndex]!,
    selected: selectedGroups[taskIndex]!,
    weights: estimates[taskIndex]!.weights,
    estimator: estimates[taskIndex]!.diagnostics,
  }));
  Object.assign(metrics, rewardMetrics(groups, rewards), selectionMetrics(groups, auxiliary));
  Object.assign(metrics, estimatorMetrics(groups));
  Object.assign(metrics, trainMetrics(train));
  const trainedTokens = sum(sequences.map((sequence) => sequence.tokens.length));
  metrics['tokens/trained'] = trainedTokens * settings.numIterations;
  metrics['time/train_s'] = trainSeconds;
  metrics['throughput/train_tokens_per_s'] = trainSeconds > 0 ? metrics['tokens/trained'] / trainSeconds : 0;
  metrics['throughput/generate_tokens_per_s'] =
    metrics['time/generate_s'] > 0 ? metrics['tokens/generated'] / metrics['time/generate_s'] : 0;
  metrics['cost/usd'] = sum(pools.flat().map((action) => action.cost?.usd ?? 0));
  metrics['time/step_s'] = (now() - stepStart) / 1000;
  return { metrics, warnings, groups, train };
}

/** The objective at this step: CHORD's mu from its linear schedule, when one is set. */
export function scheduledObjective(
  objective: ObjectiveSettings,
  offPolicy: OffPolicySettings,
  step: number,
): ObjectiveSettings {
  const schedule = offPolicy.supervised;
  if (schedule === undefined) return objective;
  const progress = schedule.steps <= 1 ? 1 : Math.min(1, Math.max(0, (step - 1) / (schedule.steps - 1)));
  return {
    ...objective,
    offPolicySupervised: { weight: schedule.start + (schedule.end - schedule.start) * progress },
  };
}

/** Settings that need an optional objective feature the backend does not declare are refused. */
function checkObjectiveFeatures(
  policy: PolicyBackend,
  objective: ObjectiveSettings,
  offPolicy: OffPolicySettings,
): void {
  const needed: ObjectiveFeature[] = [];
  if (objective.beta > 0 && offPolicy.klOn === 'policy') needed.push('kl-per-sequence');
  if (objective.offPolicyShaping !== undefined) needed.push('policy-shaping');
  if (objective.offPolicySupervised !== undefined) needed.push('supervised-term');
  if (objective.offPolicyMis !== undefined) needed.push('rl-plus-ratio');
  const missing = needed.filter((feature) => !(policy.capabilities.objective ?? []).includes(feature));
  if (missing.length > 0) {
    throw new PluginError(
      policy.name,
      `policy "${policy.name}" does not implement the objective feature(s) ${missing.join(', ')} these settings need ` +
        '(klOn: policy with beta > 0 needs kl-per-sequence; offPolicyShaping needs policy-shaping; offPolicySupervised needs supervised-term; offPolicyMis needs rl-plus-ratio)',
    );
  }
}

async function scoreAction(
  action: Action,
  index: number,
  task: Task,
  rewards: readonly WeightedReward[],
): Promise<ScoredAction> {
  const rewardParts: Record<string, number> = {};
  let reward = 0;
  for (const weighted of rewards) {
    const { total, parts } = await rewardOf(weighted, action, task);
    rewardParts[weighted.name] = total;
    for (const [part, partValue] of Object.entries(parts))
      rewardParts[`${weighted.name}/${part}`] = partValue;
    reward += weighted.weight * total;
  }
  return { ...action, index, reward, rewardParts };
}

/**
 * One reward's value of an action (its total and named parts). A reward that throws, or returns a
 * value that is not finite, is a PluginError naming it and the task.
 */
export async function rewardOf(
  { name, reward }: WeightedReward,
  action: Action,
  task: Task,
): Promise<{ total: number; parts: Record<string, number> }> {
  let value: RewardValue;
  try {
    value = await reward.score(action, task);
  } catch (error) {
    throw new PluginError(name, `reward "${name}" threw on task ${task.id}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  const total = typeof value === 'number' ? value : value.value;
  if (!Number.isFinite(total)) {
    throw new PluginError(name, `reward "${name}" returned ${total} on task ${task.id}`);
  }
  return { total, parts: typeof value === 'number' ? {} : value.parts };
}

function checkSelection(
  selector: Selector,
  candidates: readonly ScoredAction[],
  chosen: readonly ScoredAction[],
  groupSize: number,
): void {
  const known = new Set(candidates);
  const distinct = new Set(chosen);
  if (
    chosen.length !== groupSize ||
    distinct.size !== groupSize ||
    chosen.some((action) => !known.has(action))
  ) {
    throw new PluginError(
      selector.name,
      `selector "${selector.name}" must return ${groupSize} distinct candidates of the ${candidates.length} it was given, got ${chosen.length} (${distinct.size} distinct)`,
    );
  }
}

/** log q_k(text) for every auxiliary source that knows it: its own reported density, or its score(). */
async function auxiliaryDensities(
  action: SelectedAction,
  prompt: Prompt,
  auxiliary: readonly AuxiliarySource[],
): Promise<Record<string, number>> {
  const densities: Record<string, number> = {};
  await Promise.all(
    auxiliary.map(async ({ name, sampler }) => {
      if (name === action.source && action.behaviorLogProb !== undefined) {
        densities[name] = action.behaviorLogProb;
        return;
      }
      if (sampler.score === undefined) return;
      const density = await sampler.score(prompt, action.text);
      if (density !== undefined && !Number.isNaN(density)) densities[name] = density;
    }),
  );
  return densities;
}

function rewardMetrics(
  groups: readonly StepGroup[],
  rewards: readonly WeightedReward[],
): Record<string, number> {
  const metrics: Record<string, number> = {};
  const policyActions = groups.flatMap((group) =>
    group.candidates.filter((action) => action.source === 'policy'),
  );
  metrics['reward/mean'] = mean(policyActions.map((action) => action.reward));
  const partNames = new Set(policyActions.flatMap((action) => Object.keys(action.rewardParts)));
  for (const { name } of rewards) partNames.add(name);
  for (const part of partNames) {
    metrics[`reward/${part}`] = mean(policyActions.map((action) => action.rewardParts[part] ?? 0));
  }
  metrics['pool/reward_mean'] = mean(
    groups.flatMap((group) => group.candidates.map((action) => action.reward)),
  );
  metrics['selected/reward_mean'] = mean(
    groups.flatMap((group) => group.selected.map((action) => action.reward)),
  );
  return metrics;
}

function selectionMetrics(
  groups: readonly StepGroup[],
  auxiliary: readonly AuxiliarySource[],
): Record<string, number> {
  const metrics: Record<string, number> = {};
  const selected = groups.flatMap((group) => group.selected);
  const candidates = groups.flatMap((group) => group.candidates);
  for (const source of ['policy', ...auxiliary.map(({ name }) => name)]) {
    const fromSource = candidates.filter((action) => action.source === source);
    metrics[`source/${source}/candidates`] = fromSource.length;
    metrics[`source/${source}/reward_mean`] = mean(fromSource.map((action) => action.reward));
    metrics[`source/${source}/selected_share`] =
      selected.length === 0
        ? 0
        : selected.filter((action) => action.source === source).length / selected.length;
  }
  const zeroGroups = groups.filter((group) =>
    isZeroAdvantageGroup(group.selected.map((action) => action.advantage)),
  );
  metrics['groups/zero_advantage_fraction'] = groups.length === 0 ? 0 : zeroGroups.length / groups.length;
  return metrics;
}

function estimatorMetrics(groups: readonly StepGroup[]): Record<string, number> {
  const all = weightStatistics(groups.flatMap((group) => group.weights));
  const essValues = groups.map((group) => group.estimator.ess_mean);
  return {
    'estimator/ess_mean': mean(essValues),
    'estimator/ess_min': essValues.length === 0 ? 0 : Math.min(...essValues),
    'estimator/weight_mean': all.mean,
    'estimator/weight_p95': all.p95,
    'estimator/weight_max': all.max,
    'estimator/log_weight_range': Math.max(0, ...groups.map((group) => group.estimator.log_weight_range)),
    'estimator/fallbacks_own': sum(groups.map((group) => group.estimator.fallbacks_own)),
    'estimator/fallbacks_cross': sum(groups.map((group) => group.estimator.fallbacks_cross)),
  };
}

function trainMetrics(train: readonly TrainStepResult[]): Record<string, number> {
  const metrics: Record<string, number> = {
    'train/loss': mean(train.map((result) => result.loss)),
    'train/kl': mean(train.map((result) => result.kl)),
    'train/clip_fraction': mean(train.map((result) => result.clipFraction)),
  };
  const gradNorms = train.flatMap((result) => (result.gradNorm === undefined ? [] : [result.gradNorm]));
  if (gradNorms.length > 0) metrics['train/grad_norm'] = mean(gradNorms);
  const updateNorms = train.flatMap((result) => (result.updateNorm === undefined ? [] : [result.updateNorm]));
  if (updateNorms.length > 0) metrics['train/update_norm'] = mean(updateNorms);
  const last = train.at(-1);
  if (last?.learningRate !== undefined) metrics['train/learning_rate'] = last.learningRate;
  return metrics;
}

type Settled<T> = { ok: true; value: T; seconds: number } | { ok: false; error: unknown; seconds: number };

/** Attaches handlers at once, so a sampler failing while the policy generates is never an unhandled rejection. */
function settle<T>(start: () => Promise<T>, now: () => number): Promise<Settled<T>> {
  const startedAt = now();
  let promise: Promise<T>;
  try {
    promise = start();
  } catch (error) {
    promise = Promise.reject(error);
  }
  return promise.then(
    (value) => ({ ok: true, value, seconds: (now() - startedAt) / 1000 }),
    (error: unknown) => ({ ok: false, error, seconds: (now() - startedAt) / 1000 }),
  );
}

function sum(values: readonly number[]): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

import {
  type Action,
  type Estimator,
  type EstimatorGroup,
  estimatorDiagnostics,
  type RewardFn,
  type RewardValue,
  type ScoredAction,
  type Selector,
  specificationVersion,
  type Task,
} from '@ekipl/core';

/** A reward from a function. */
export function createFakeReward(name: string, score: (action: Action, task: Task) => RewardValue): RewardFn {
  return { specificationVersion, name, score };
}

/** 1 when the text equals the task's answer, else 0. */
export const exactAnswerReward: RewardFn = createFakeReward('exact', (action, task) =>
  action.text === task.answer ? 1 : 0,
);

/**
 * Keeps the G highest rewards; ties go to the earlier pool position (policy samples first). A fixed,
 * obvious rule for tests; the configurable top-k lives in the selectors plugin.
 */
export const stableTopSelector: Selector = {
  specificationVersion,
  name: 'stable-top',
  select: (candidates: readonly ScoredAction[], groupSize: number) =>
    candidates
      .slice()
      .sort((a, b) => b.reward - a.reward || a.index - b.index)
      .slice(0, groupSize),
};

/** Weights from a function of the group; diagnostics computed from them. */
export function createFakeEstimator(
  name: string,
  weigh: (group: EstimatorGroup) => number[],
): Estimator & {
  groups: EstimatorGroup[];
} {
  const groups: EstimatorGroup[] = [];
  return {
    specificationVersion,
    name,
    groups,
    weights(group) {
      groups.push(group);
      const weights = weigh(group);
      return { weights, diagnostics: estimatorDiagnostics(weights, undefined, { own: 0, cross: 0 }) };
    },
  };
}

/** w = 1 for every action (the uncorrected estimator's behaviour), recording the groups it saw. */
export function createUnitEstimator() {
  return createFakeEstimator('unit', (group) => group.actions.map(() => 1));
}

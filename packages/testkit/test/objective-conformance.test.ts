import { evaluateObjective, type ObjectiveSettings, type TrainBatch } from '@ekipl/core';
import { describe, expect, it } from 'vitest';
import { ConformanceError, FakePolicy, objectiveConformance } from '../src/index.js';

/** Puts the estimator weight inside the clip: clip(w r) instead of w clip(r), the mistake DESIGN.md warns of. */
class WeightInsideClipPolicy extends FakePolicy {
  override async objectiveGradient(batch: TrainBatch, objective: ObjectiveSettings, temperature: number) {
    const current = await this.score(batch.sequences, 'current', temperature);
    const evaluation = evaluateObjective(
      batch.sequences.map((sequence, i) => ({
        ...sequence,
        logProbs: current[i]!.map((logProb) => logProb + Math.log(sequence.weight)),
        weight: 1,
      })),
      objective,
    );
    return { loss: evaluation.loss, logProbGradients: evaluation.gradient };
  }
}

/** Ignores the configured aggregation and always averages over tokens. */
class AlwaysTokenMeanPolicy extends FakePolicy {
  override async objectiveGradient(batch: TrainBatch, objective: ObjectiveSettings, temperature: number) {
    return super.objectiveGradient(batch, { ...objective, aggregation: 'token-mean' }, temperature);
  }
}

/** Declares LUFFY shaping but trains every token on the clipped ratio. */
class IgnoresShapingPolicy extends FakePolicy {
  override async objectiveGradient(batch: TrainBatch, objective: ObjectiveSettings, temperature: number) {
    const { offPolicyShaping: _, ...unshaped } = objective;
    return super.objectiveGradient(batch, unshaped, temperature);
  }
}

/** Declares CHORD's supervised term but leaves it out. */
class IgnoresSupervisedPolicy extends FakePolicy {
  override async objectiveGradient(batch: TrainBatch, objective: ObjectiveSettings, temperature: number) {
    const { offPolicySupervised: _, ...without } = objective;
    return super.objectiveGradient(batch, without, temperature);
  }
}

/** Declares the per-sequence KL but applies the KL term to every sequence (l_ref = 0 where it has none). */
class KlEverywherePolicy extends FakePolicy {
  override async objectiveGradient(batch: TrainBatch, objective: ObjectiveSettings, temperature: number) {
    const sequences = batch.sequences.map((sequence) => ({
      ...sequence,
      refLogProbs:
        objective.beta > 0 ? (sequence.refLogProbs ?? sequence.tokens.map(() => 0)) : sequence.refLogProbs,
    }));
    return super.objectiveGradient({ sequences }, objective, temperature);
  }
}

describe('objectiveConformance', () => {
  it('passes a backend that computes the objective correctly, on every case', async () => {
    const report = await objectiveConformance(() => new FakePolicy({ seed: 3 }));
    expect(report.cases.map((result) => result.name)).toEqual(
      ['sequence-mean', 'token-mean', 'fixed-length'].flatMap((aggregation) => [
        `${aggregation}, eps 0.2/0.2, beta 0`,
        `${aggregation}, eps 0.2/0.28, beta 0.04`,
        `${aggregation}, eps 0.2/0.28, beta 0.04, KL on policy samples only`,
        `${aggregation}, eps 0.2/0.2, beta 0.04, KL on policy samples only, shaping gamma 0.1`,
        `${aggregation}, eps 0.2/0.28, beta 0.04, KL on policy samples only, supervised term mu 0.3`,
        `${aggregation}, eps 0.2/0.2, beta 0.04, KL on policy samples only, RL-PLUS ratio, exponent 0.5`,
      ]),
    );
    for (const result of report.cases) {
      expect(result.gradientError).toBeLessThan(1e-9);
      expect(result.lossError).toBeLessThan(1e-9);
      expect(result.trainStepLossError).toBeLessThan(1e-9);
    }
  });

  it('fails a backend that puts the estimator weight inside the clip', async () => {
    await expect(objectiveConformance(() => new WeightInsideClipPolicy({ seed: 3 }))).rejects.toThrow(
      /objective conformance failed in 18 of 18 cases/,
    );
  });

  it('fails a backend that ignores the aggregation, only in the cases where it matters', async () => {
    const error = await objectiveConformance(() => new AlwaysTokenMeanPolicy({ seed: 3 })).catch(
      (caught) => caught,
    );
    expect(error).toBeInstanceOf(ConformanceError);
    expect(error.message).toMatch(/failed in 12 of 18 cases/);
    expect(error.message).toMatch(/sequence-mean, eps 0.2\/0.2, beta 0: gradient error/);
    expect(error.message).not.toMatch(/ token-mean, eps/);
  });

  // A backend that declares a feature but gets it wrong fails exactly the cases that exercise it.
  for (const [what, Backend, failures, marker] of [
    ['ignores LUFFY shaping', IgnoresShapingPolicy, 3, 'shaping gamma 0.1'],
    ['puts the KL term on every sequence', KlEverywherePolicy, 12, 'KL on policy samples only'],
    ["ignores CHORD's supervised term", IgnoresSupervisedPolicy, 3, 'supervised term mu 0.3'],
  ] as const) {
    it(`fails a backend that ${what}, only in the cases with "${marker}"`, async () => {
      const error = await objectiveConformance(() => new Backend({ seed: 3 })).catch((caught) => caught);
      expect(error.message).toMatch(new RegExp(`failed in ${failures} of 18 cases`));
      const failedCases = error.message.split('\n').slice(1);
      expect(failedCases).toHaveLength(failures);
      expect(failedCases.every((line: string) => line.includes(marker))).toBe(true);
    });
  }

  it('checks an optional feature only when the backend declares it', async () => {
    const report = await objectiveConformance(() => {
      const policy = new FakePolicy({ seed: 3 });
      Object.assign(policy, { capabilities: { train: true } });
      return policy;
    });
    expect(report.cases).toHaveLength(6);
  });

  it('refuses a backend that cannot train', async () => {
    const policy = new FakePolicy();
    Object.assign(policy, { capabilities: { train: false } });
    await expect(objectiveConformance(() => policy)).rejects.toThrow(
      /must implement trainStep and objectiveGradient/,
    );
  });
});

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

describe('objectiveConformance', () => {
  it('passes a backend that computes the objective correctly, on every case', async () => {
    const report = await objectiveConformance(() => new FakePolicy({ seed: 3 }));
    expect(report.cases.map((result) => result.name)).toEqual([
      'sequence-mean, eps 0.2/0.2, beta 0',
      'sequence-mean, eps 0.2/0.28, beta 0.04',
      'token-mean, eps 0.2/0.2, beta 0',
      'token-mean, eps 0.2/0.28, beta 0.04',
      'fixed-length, eps 0.2/0.2, beta 0',
      'fixed-length, eps 0.2/0.28, beta 0.04',
    ]);
    for (const result of report.cases) {
      expect(result.gradientError).toBeLessThan(1e-9);
      expect(result.lossError).toBeLessThan(1e-9);
      expect(result.trainStepLossError).toBeLessThan(1e-9);
    }
  });

  it('fails a backend that puts the estimator weight inside the clip', async () => {
    await expect(objectiveConformance(() => new WeightInsideClipPolicy({ seed: 3 }))).rejects.toThrow(
      /objective conformance failed in 6 of 6 cases/,
    );
  });

  it('fails a backend that ignores the aggregation, only in the cases where it matters', async () => {
    const error = await objectiveConformance(() => new AlwaysTokenMeanPolicy({ seed: 3 })).catch(
      (caught) => caught,
    );
    expect(error).toBeInstanceOf(ConformanceError);
    expect(error.message).toMatch(/failed in 4 of 6 cases/);
    expect(error.message).toMatch(/sequence-mean, eps 0.2\/0.2, beta 0: gradient error/);
    expect(error.message).not.toMatch(/ token-mean, eps/);
  });

  it('refuses a backend that cannot train', async () => {
    const policy = new FakePolicy();
    Object.assign(policy, { capabilities: { train: false } });
    await expect(objectiveConformance(() => policy)).rejects.toThrow(
      /must implement trainStep and objectiveGradient/,
    );
  });
});

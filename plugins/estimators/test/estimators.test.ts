import { type Estimator, type EstimatorGroup, Random } from '@ekipl/core';
import { estimatorConformance } from '@ekipl/testkit';
import { describe, expect, it } from 'vitest';
import { exactIs, snis, uncorrected } from '../src/index.js';

async function create(
  plugin: typeof exactIs | typeof snis | typeof uncorrected,
  options: Record<string, unknown> = {},
) {
  const parsed = plugin.options.parse(options);
  return (await plugin.create(parsed as never, {
    name: plugin.name,
    random: Random.fromSeed(1),
    configDirectory: '.',
    warn: () => {},
  })) as Estimator;
}

// Two sources, half the pool each. Densities (probabilities of the whole text):
//   a0 from the policy: pi_old = 0.20, gpt = 0.05  -> mu = 0.5 * 0.20 + 0.5 * 0.05 = 0.125 -> w = 0.20 / 0.125 = 1.6
//   a1 from gpt:        pi_old = 0.01, gpt = 0.30  -> mu = 0.5 * 0.01 + 0.5 * 0.30 = 0.155 -> w = 0.01 / 0.155 = 0.0645161290322581
const twoSources: EstimatorGroup = {
  mixture: { policy: 0.5, gpt: 0.5 },
  actions: [
    { source: 'policy', oldLogProb: Math.log(0.2), tokens: 4, behaviorLogProbs: { gpt: Math.log(0.05) } },
    { source: 'gpt', oldLogProb: Math.log(0.01), tokens: 5, behaviorLogProbs: { gpt: Math.log(0.3) } },
  ],
};

describe('exact-is: hand-worked', () => {
  it('a two-source mixture with known densities', async () => {
    const { weights, diagnostics } = (await create(exactIs)).weights(twoSources);
    expect(weights[0]).toBeCloseTo(1.6, 12);
    expect(weights[1]).toBeCloseTo(0.06451612903225806, 12);
    expect(diagnostics.fallbacks_own).toBe(0);
    expect(diagnostics.fallbacks_cross).toBe(0);
    // ESS = (1.6 + 0.0645)^2 / (1.6^2 + 0.0645^2) = 2.770613944 / 2.564162331 = 1.0805
    expect(diagnostics.ess_mean).toBeCloseTo(
      (1.6 + 0.06451612903225806) ** 2 / (1.6 ** 2 + 0.06451612903225806 ** 2),
      10,
    );
    expect(diagnostics.log_weight_range).toBeCloseTo(Math.log(1.6 / 0.06451612903225806), 10);
  });

  it('own-density fallback: gpt reports nothing for its own sample', async () => {
    const group: EstimatorGroup = {
      mixture: { policy: 0.5, gpt: 0.5 },
      actions: [{ source: 'gpt', oldLogProb: Math.log(0.01), tokens: 5 }],
    };
    // constant c = 0 (behaviour probability 1): mu = 0.5 * 0.01 + 0.5 * 1 = 0.505 -> w = 0.01 / 0.505 = 0.0198019801980198
    const byDefault = (await create(exactIs)).weights(group);
    expect(byDefault.weights[0]).toBeCloseTo(0.019801980198019802, 12);
    expect(byDefault.diagnostics.fallbacks_own).toBe(1);
    // c = -1 per token, 5 tokens: q = e^-5 = 0.006737947; mu = 0.005 + 0.0033689735 = 0.0083689735 -> w = 1.19488967
    const perToken = (await create(exactIs, { ownLogProbPerToken: -1 })).weights(group);
    expect(perToken.weights[0]).toBeCloseTo(1.1948896720184838, 12);
    // q := pi_old: mu = pi_old -> w = 1
    const asPolicy = (await create(exactIs, { ownDensity: 'policy' })).weights(group);
    expect(asPolicy.weights[0]).toBeCloseTo(1, 12);
  });

  it('cross-density fallback: neither gpt nor claude can score the policy text', async () => {
    const group: EstimatorGroup = {
      mixture: { policy: 0.5, gpt: 0.25, claude: 0.25 },
      actions: [{ source: 'policy', oldLogProb: Math.log(0.2), tokens: 3 }],
    };
    // assume-zero: mu = 0.5 * 0.2 = 0.1 -> w = 2
    const zero = (await create(exactIs)).weights(group);
    expect(zero.weights[0]).toBeCloseTo(2, 12);
    expect(zero.diagnostics.fallbacks_cross).toBe(2);
    expect(zero.diagnostics.fallbacks_own).toBe(0);
    // policy: mu = 0.5 * 0.2 + 0.25 * 0.2 + 0.25 * 0.2 = 0.2 -> w = 1
    expect((await create(exactIs, { crossDensity: 'policy' })).weights(group).weights[0]).toBeCloseTo(1, 12);
    // constant c = 0: mu = 0.1 + 0.25 + 0.25 = 0.6 -> w = 0.2 / 0.6 = 1/3
    expect((await create(exactIs, { crossDensity: 'constant' })).weights(group).weights[0]).toBeCloseTo(
      1 / 3,
      12,
    );
  });

  it('truncation caps weights at maxWeight: [1.6, 0.0645] -> [1.5, 0.0645]', async () => {
    const { weights } = (await create(exactIs, { maxWeight: 1.5 })).weights(twoSources);
    expect(weights[0]).toBeCloseTo(1.5, 12);
    expect(weights[1]).toBeCloseTo(0.06451612903225806, 12);
  });
});

describe('snis: hand-worked', () => {
  it('self-normalises the exact-is weights to sum to G: 2 x 1.6 / 1.6645 = 1.92248, 2 x 0.0645 / 1.6645 = 0.07752', async () => {
    const { weights } = (await create(snis)).weights(twoSources);
    expect(weights[0]).toBeCloseTo(1.9224806201550388, 12);
    expect(weights[1]).toBeCloseTo(0.07751937984496124, 12);
    expect(weights[0]! + weights[1]!).toBeCloseTo(2, 12);
  });

  it('sums to G on random groups of every size', async () => {
    const estimator = await create(snis);
    const random = Random.fromSeed('snis-sum');
    for (let size = 1; size <= 9; size++) {
      const group = randomGroup(random, size);
      const total = estimator.weights(group).weights.reduce((sum, weight) => sum + weight, 0);
      expect(total).toBeCloseTo(size, 10);
    }
  });
});

describe('properties', () => {
  it('uncorrected weights are all 1', async () => {
    const estimator = await create(uncorrected);
    const random = Random.fromSeed('uncorrected');
    for (let trial = 0; trial < 20; trial++) {
      const group = randomGroup(random, 1 + random.int(8));
      expect(estimator.weights(group).weights).toEqual(group.actions.map(() => 1));
    }
  });

  it('exact-is on an all-policy group with no auxiliary pool is all 1', async () => {
    const estimator = await create(exactIs);
    const random = Random.fromSeed('on-policy');
    const group: EstimatorGroup = {
      mixture: { policy: 1 },
      actions: Array.from({ length: 8 }, () => ({
        source: 'policy',
        oldLogProb: -200 * random.float(),
        tokens: 10,
      })),
    };
    for (const weight of estimator.weights(group).weights) expect(weight).toBeCloseTo(1, 12);
  });

  it('snis is invariant to adding a constant to every log-density', async () => {
    const estimator = await create(snis);
    const random = Random.fromSeed('shift');
    for (let trial = 0; trial < 10; trial++) {
      const group = randomGroup(random, 2 + random.int(6));
      const shift = 500 * random.normal();
      const shifted: EstimatorGroup = {
        mixture: group.mixture,
        actions: group.actions.map((action) => ({
          ...action,
          oldLogProb: action.oldLogProb + shift,
          behaviorLogProbs: Object.fromEntries(
            Object.entries(action.behaviorLogProbs ?? {}).map(([source, value]) => [source, value + shift]),
          ),
        })),
      };
      const before = estimator.weights(group).weights;
      const after = estimator.weights(shifted).weights;
      after.forEach((weight, i) => {
        expect(weight).toBeCloseTo(before[i]!, 9);
      });
    }
  });
});

describe('edge cases have defined results, never NaN or Infinity', () => {
  it('log-probs of -300 and -3000 (exact-is underflows to 0, snis stays in log space)', async () => {
    const group: EstimatorGroup = {
      mixture: { policy: 0.5, gpt: 0.5 },
      actions: [
        { source: 'policy', oldLogProb: -3000, tokens: 500, behaviorLogProbs: { gpt: -300 } },
        { source: 'gpt', oldLogProb: -3001, tokens: 500, behaviorLogProbs: { gpt: -300 } },
      ],
    };
    // log w = L_old - log(0.5 e^L_old + 0.5 e^-300) ~ -3000 + 300 + log 2: underflows to exactly 0.
    const exact = (await create(exactIs)).weights(group);
    expect(exact.weights).toEqual([0, 0]);
    expect(exact.diagnostics.ess_mean).toBe(0);
    expect(exact.diagnostics.log_weight_range).toBeCloseTo(1, 9);
    // snis: w~ = 2 e^{l_i} / (e^{l_0} + e^{l_1}) with l_1 = l_0 - 1: 2 / (1 + e^-1) = 1.4621171572600098
    const normalised = (await create(snis)).weights(group);
    expect(normalised.weights[0]).toBeCloseTo(1.4621171572600098, 12);
    expect(normalised.weights[1]).toBeCloseTo(2 - 1.4621171572600098, 12);
  });

  it('a group of one: snis gives 1', async () => {
    const group: EstimatorGroup = { mixture: { policy: 0.5, gpt: 0.5 }, actions: [twoSources.actions[1]!] };
    expect((await create(snis)).weights(group).weights).toEqual([1]);
  });

  it('a source with alpha 0 is not part of the mixture', async () => {
    const group: EstimatorGroup = {
      mixture: { policy: 1, gpt: 0 },
      actions: [
        { source: 'policy', oldLogProb: Math.log(0.2), tokens: 3, behaviorLogProbs: { gpt: Math.log(0.9) } },
      ],
    };
    expect((await create(exactIs)).weights(group).weights[0]).toBeCloseTo(1, 12);
  });

  it('an action no source in the mixture could produce gets weight 0; all-zero snis groups get 1 each', async () => {
    const group: EstimatorGroup = {
      mixture: { policy: 1 },
      actions: [
        { source: 'gpt', oldLogProb: Number.NEGATIVE_INFINITY, tokens: 3 },
        { source: 'gpt', oldLogProb: Number.NaN, tokens: 3 },
      ],
    };
    expect((await create(exactIs)).weights(group).weights).toEqual([0, 0]);
    expect((await create(snis)).weights(group).weights).toEqual([1, 1]);
  });
});

describe('conformance', () => {
  for (const plugin of [uncorrected, exactIs, snis]) {
    it(`${plugin.name} passes estimatorConformance`, async () => {
      await estimatorConformance(await create(plugin));
    });
  }
});

function randomGroup(random: Random, size: number): EstimatorGroup {
  const sources = ['policy', 'gpt', 'claude'];
  return {
    mixture: { policy: 0.5, gpt: 0.25, claude: 0.25 },
    actions: Array.from({ length: size }, () => {
      const source = random.pick(sources);
      return {
        source,
        oldLogProb: -50 * random.float(),
        tokens: 1 + random.int(40),
        behaviorLogProbs: { gpt: -50 * random.float(), claude: -50 * random.float() },
      };
    }),
  };
}

describe('the policy proposal is its sampling density (issue 10, item 3)', () => {
  it('a policy sample drawn under top-p: q_policy = 0.4 (sampling) while pi_old = 0.2', async () => {
    // mu = 0.5 * 0.4 + 0.5 * 0.05 = 0.225 -> w = 0.2 / 0.225 = 0.8888888888888888 (was 1.6 with q = pi_old)
    const group: EstimatorGroup = {
      mixture: { policy: 0.5, gpt: 0.5 },
      actions: [{ ...twoSources.actions[0]!, samplingLogProb: Math.log(0.4) }],
    };
    const { weights } = (await create(exactIs)).weights(group);
    expect(weights[0]).toBeCloseTo(0.2 / 0.225, 12);
  });
});

describe('snis maxWeight truncates after normalising and keeps the group total G (issue 10, item 6)', () => {
  it('capWeights: [2.4, 0.3, 0.3] at 1.5 -> [1.5, 0.75, 0.75]; [1.8, 1.0, 0.2] at 1.2 -> [1.2, 1.2, 0.6]', async () => {
    const { capWeights } = await import('../src/index.js');
    const once = capWeights([2.4, 0.3, 0.3], 1.5);
    expect(once.map((value) => Number(value.toFixed(12)))).toEqual([1.5, 0.75, 0.75]);
    // Second round: 1.0 rescaled to 1.5 exceeds the cap too.
    const twice = capWeights([1.8, 1.0, 0.2], 1.2);
    expect(twice.map((value) => Number(value.toFixed(12)))).toEqual([1.2, 1.2, 0.6]);
    expect(capWeights([3, 0, 0], 0.5)).toEqual([0.5, 0, 0]);
  });

  it('on a group: no weight above maxWeight, the total still G', async () => {
    // Normalised twoSources: 2 x [1.6, 0.0645] / 1.6645 = [1.92248, 0.07752]; at 1.5 -> [1.5, 0.5]
    const { weights } = (await create(snis, { maxWeight: 1.5 })).weights(twoSources);
    expect(weights[0]).toBeCloseTo(1.5, 12);
    expect(weights[1]).toBeCloseTo(0.5, 12);
  });
});

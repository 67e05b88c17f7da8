// Runs on the built package, the way a user's config loads it: `npm test` builds first.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { estimatorConformance, instantiatePlugin } from '@ekipl/testkit';
import tis from '../dist/index.js';

// One policy sample the expert cannot score (w = 0.3 / (0.5 x 0.3) = 2) and three expert answers
// with pi_old 0.01 and q 0.49 (w = 0.01 / (0.5 x 0.01 + 0.5 x 0.49) = 0.04). Mean 0.53, G = 4, so
// the cap is 0.53 x 4^(1/2) = 1.06: weights [1.06, 0.04, 0.04, 0.04], sum 1.18.
const group = {
  mixture: { policy: 0.5, expert: 0.5 },
  actions: [
    { source: 'policy', oldLogProb: Math.log(0.3), tokens: 5 },
    ...[1, 2, 3].map(() => ({
      source: 'expert',
      oldLogProb: Math.log(0.01),
      tokens: 7,
      behaviorLogProbs: { expert: Math.log(0.49) },
    })),
  ],
};

function assertClose(actual, expected) {
  assert.equal(actual.length, expected.length);
  for (const [i, value] of actual.entries()) {
    assert.ok(Math.abs(value - expected[i]) < 1e-9, `${actual} vs ${expected}`);
  }
}

test('truncates at mean x sqrt(G), by hand', async () => {
  const { instance } = await instantiatePlugin(tis, { selfNormalise: false });
  const { weights, diagnostics } = instance.weights(group);
  assertClose(weights, [1.06, 0.04, 0.04, 0.04]);
  assert.equal(diagnostics.fallbacks_cross, 1); // the expert could not score the policy's sample
  assert.equal(diagnostics.fallbacks_own, 0);
});

test('self-normalised by default: the truncated weights rescaled to sum to G', async () => {
  const { instance, options } = await instantiatePlugin(tis);
  assert.deepEqual(options, { exponent: 0.5, selfNormalise: true, missingOwnLogProbPerToken: 0 });
  const { weights, diagnostics } = instance.weights(group);
  const scale = 4 / 1.18;
  assertClose(weights, [1.06 * scale, 0.04 * scale, 0.04 * scale, 0.04 * scale]);
  // ESS = (sum w)^2 / sum w^2 = 1.18^2 / (1.06^2 + 3 x 0.04^2) = 1.3924 / 1.1284
  assert.ok(Math.abs(diagnostics.ess_mean - 1.3924 / 1.1284) < 1e-9);
});

test('exponent 1 never truncates: plain self-normalised importance sampling', async () => {
  const { instance } = await instantiatePlugin(tis, { exponent: 1 });
  assertClose(instance.weights(group).weights, [
    2 * (4 / 2.12),
    0.04 * (4 / 2.12),
    0.04 * (4 / 2.12),
    0.04 * (4 / 2.12),
  ]);
});

test("passes testkit's estimator conformance suite, with and without self-normalisation", async () => {
  for (const options of [{}, { selfNormalise: false }, { exponent: 0 }]) {
    const { instance } = await instantiatePlugin(tis, options);
    await estimatorConformance(instance);
  }
});

test('bad options are rejected with the field named', async () => {
  await assert.rejects(instantiatePlugin(tis, { exponent: 2 }), /options\.exponent/);
});

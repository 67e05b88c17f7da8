import { describe, expect, it } from 'vitest';
import {
  type Aggregation,
  evaluateObjective,
  type ObjectiveSequence,
  type ObjectiveTerms,
  Random,
} from '../src/index.js';

const base: ObjectiveTerms = {
  clipLow: 0.2,
  clipHigh: 0.2,
  beta: 0,
  aggregation: 'sequence-mean',
  maxCompletionLength: 16,
};

/** One token whose ratio pi_theta / pi_old is `ratio` (l_old = 0, l_theta = ln ratio). */
function oneToken(ratio: number, advantage: number, weight = 1): ObjectiveSequence {
  return { logProbs: [Math.log(ratio)], oldLogProbs: [0], advantage, weight };
}

describe('evaluateObjective: hand-worked single tokens (eps 0.2, beta 0, w 1)', () => {
  it('clip inactive, positive advantage: r = 1.1, A = 2 -> surrogate r A = 2.2, gradient -r A', () => {
    const result = evaluateObjective([oneToken(1.1, 2)], base);
    expect(result.loss).toBeCloseTo(-2.2, 12);
    expect(result.gradient[0]![0]).toBeCloseTo(-2.2, 12);
    expect(result.clipFraction).toBe(0);
  });

  it('clip active, positive advantage: r = 1.5, A = 2 -> min(3, 1.2 * 2) = 2.4, gradient 0', () => {
    const result = evaluateObjective([oneToken(1.5, 2)], base);
    expect(result.loss).toBeCloseTo(-2.4, 12);
    expect(result.gradient[0]![0]).toBe(-0);
    expect(result.clipFraction).toBe(1);
  });

  it('above the clip with a negative advantage the unclipped branch binds: r = 1.5, A = -1 -> -1.5, gradient 1.5', () => {
    const result = evaluateObjective([oneToken(1.5, -1)], base);
    expect(result.loss).toBeCloseTo(1.5, 12);
    expect(result.gradient[0]![0]).toBeCloseTo(1.5, 12);
    expect(result.clipFraction).toBe(0);
  });

  it('clip active, negative advantage: r = 0.5, A = -1 -> min(-0.5, -0.8) = -0.8, gradient 0', () => {
    const result = evaluateObjective([oneToken(0.5, -1)], base);
    expect(result.loss).toBeCloseTo(0.8, 12);
    expect(result.gradient[0]![0]).toBe(-0);
    expect(result.clipFraction).toBe(1);
  });

  it('below the clip with a positive advantage the unclipped branch binds: r = 0.5, A = 2 -> 1.0, gradient -1.0', () => {
    const result = evaluateObjective([oneToken(0.5, 2)], base);
    expect(result.loss).toBeCloseTo(-1.0, 12);
    expect(result.gradient[0]![0]).toBeCloseTo(-1.0, 12);
  });

  it('the estimator weight multiplies the clipped surrogate, outside the clip: w = 3, r = 1.5, A = 2 -> 3 * 2.4 = 7.2', () => {
    // Inside the clip (clip(w r)) it would be min(9, 2.4) = 2.4: the weight would be silenced.
    const result = evaluateObjective([oneToken(1.5, 2, 3)], base);
    expect(result.loss).toBeCloseTo(-7.2, 12);
    const inside = evaluateObjective([oneToken(1.1, 2, 3)], base);
    expect(inside.loss).toBeCloseTo(-6.6, 12); // 3 * 1.1 * 2
    expect(inside.gradient[0]![0]).toBeCloseTo(-6.6, 12);
  });

  it('clip-higher: eps_high 0.28 lets r = 1.25, A = 1 through unclipped', () => {
    const result = evaluateObjective([oneToken(1.25, 1)], { ...base, clipHigh: 0.28 });
    expect(result.loss).toBeCloseTo(-1.25, 12);
    expect(result.gradient[0]![0]).toBeCloseTo(-1.25, 12);
    const symmetric = evaluateObjective([oneToken(1.25, 1)], base);
    expect(symmetric.loss).toBeCloseTo(-1.2, 12);
  });

  it('k3 KL: l_theta = -1, l_ref = -1.5, r = 1, A = 1, beta = 0.1', () => {
    // d = l_ref - l_theta = -0.5; k3 = e^-0.5 + 0.5 - 1 = 0.10653065971263342
    // term = 1 - 0.1 * 0.10653065971263342 = 0.9893469340287367
    // d term / d l_theta = r A - beta (1 - e^-0.5) = 1 - 0.1 * 0.3934693402873666 = 0.9606530659712633
    const result = evaluateObjective(
      [{ logProbs: [-1], oldLogProbs: [-1], refLogProbs: [-1.5], advantage: 1, weight: 1 }],
      { ...base, beta: 0.1 },
    );
    expect(result.loss).toBeCloseTo(-0.9893469340287367, 12);
    expect(result.gradient[0]![0]).toBeCloseTo(-0.9606530659712633, 12);
    expect(result.kl).toBeCloseTo(0.10653065971263342, 12);
  });

  it('the KL term is not weighted by w', () => {
    const sequence = { logProbs: [-1], oldLogProbs: [-1], refLogProbs: [-1.5], advantage: 0, weight: 5 };
    const result = evaluateObjective([sequence], { ...base, beta: 0.1 });
    expect(result.loss).toBeCloseTo(0.1 * 0.10653065971263342, 12);
  });
});

describe('evaluateObjective: aggregations', () => {
  // Two sequences at r = 1: one token with A = 1, three tokens with A = 0.5. Per-token terms 1 | 0.5 0.5 0.5.
  const sequences: ObjectiveSequence[] = [
    { logProbs: [0], oldLogProbs: [0], advantage: 1, weight: 1 },
    { logProbs: [0, 0, 0], oldLogProbs: [0, 0, 0], advantage: 0.5, weight: 1 },
  ];

  it('sequence-mean: (1/1 + 1.5/3) / 2 = 0.75', () => {
    const result = evaluateObjective(sequences, base);
    expect(result.loss).toBeCloseTo(-0.75, 12);
    expect(result.gradient[0]).toEqual([expect.closeTo(-0.5, 12)]);
    expect(result.gradient[1]).toEqual([0, 0, 0].map(() => expect.closeTo(-0.5 / 6, 12)));
  });

  it('token-mean: (1 + 1.5) / 4 tokens = 0.625', () => {
    const result = evaluateObjective(sequences, { ...base, aggregation: 'token-mean' });
    expect(result.loss).toBeCloseTo(-0.625, 12);
    expect(result.gradient[0]![0]).toBeCloseTo(-0.25, 12);
    expect(result.gradient[1]![2]).toBeCloseTo(-0.125, 12);
  });

  it('fixed-length: (1 + 1.5) / (2 sequences x 4 max tokens) = 0.3125', () => {
    const result = evaluateObjective(sequences, {
      ...base,
      aggregation: 'fixed-length',
      maxCompletionLength: 4,
    });
    expect(result.loss).toBeCloseTo(-0.3125, 12);
    expect(result.gradient[0]![0]).toBeCloseTo(-0.125, 12);
    expect(result.gradient[1]![1]).toBeCloseTo(-0.0625, 12);
  });

  it('fixed-length refuses sequences longer than maxCompletionLength', () => {
    expect(() =>
      evaluateObjective(sequences, { ...base, aggregation: 'fixed-length', maxCompletionLength: 2 }),
    ).toThrow(/3 tokens, more than maxCompletionLength = 2/);
  });

  it('an empty batch and an empty sequence give zero, not NaN', () => {
    expect(evaluateObjective([], base)).toEqual({
      loss: -0,
      gradient: [],
      kl: 0,
      clipFraction: 0,
      tokens: 0,
    });
    const result = evaluateObjective(
      [{ logProbs: [], oldLogProbs: [], advantage: 1, weight: 1 }, oneToken(1, 1)],
      base,
    );
    expect(result.loss).toBeCloseTo(-0.5, 12);
  });

  it('rejects mismatched lengths', () => {
    expect(() =>
      evaluateObjective([{ logProbs: [0, 0], oldLogProbs: [0], advantage: 1, weight: 1 }], base),
    ).toThrow(/2 log-probs but 1 old/);
  });

  it('the KL term applies only to sequences with reference log-probs; kl is their mean k3', () => {
    // Sequence 1: l_theta = -1, l_ref = -1.5: k3 = e^-0.5 + 0.5 - 1 = 0.10653065971263342.
    // Sequence 2: no reference (an external text): surrogate only. r = 1, A = 1 for both.
    const withReference = { logProbs: [-1], oldLogProbs: [-1], refLogProbs: [-1.5], advantage: 1, weight: 1 };
    const without = { logProbs: [-1], oldLogProbs: [-1], advantage: 1, weight: 1 };
    const result = evaluateObjective([withReference, without], { ...base, beta: 0.1 });
    const k3 = Math.exp(-0.5) + 0.5 - 1;
    // sequence-mean: ((1 - 0.1 k3) + 1) / 2
    expect(result.loss).toBeCloseTo(-(2 - 0.1 * k3) / 2, 12);
    expect(result.kl).toBeCloseTo(k3, 12);
    // d/dl: sequence 1 -(1 - 0.1 (1 - e^-0.5)) / 2; sequence 2 -1 / 2 (no KL gradient).
    expect(result.gradient[0]![0]).toBeCloseTo(-(1 - 0.1 * (1 - Math.exp(-0.5))) / 2, 12);
    expect(result.gradient[1]![0]).toBeCloseTo(-0.5, 12);
  });
});

describe("evaluateObjective: CHORD's supervised term on off-policy sequences", () => {
  it('mu 0.25: (1 - mu) x the clipped objective + mu x the mean log-prob of the off-policy tokens', () => {
    // On-policy: r = 1.1, A = 2 -> surrogate 2.2 (1 token). Off-policy: 2 tokens, l = ln 0.5 and ln 0.25,
    // r = 1, A = 1 -> surrogate 1 per token. sequence-mean: (2.2 + 1) / 2 = 1.6 for the policy-gradient part.
    const onPolicy = { logProbs: [Math.log(1.1)], oldLogProbs: [0], advantage: 2, weight: 1 };
    const offPolicy = {
      logProbs: [Math.log(0.5), Math.log(0.25)],
      oldLogProbs: [Math.log(0.5), Math.log(0.25)],
      advantage: 1,
      weight: 1,
      offPolicy: true,
    };
    const result = evaluateObjective([onPolicy, offPolicy], {
      ...base,
      offPolicySupervised: { weight: 0.25 },
    });
    const meanLogProb = (Math.log(0.5) + Math.log(0.25)) / 2;
    expect(result.loss).toBeCloseTo(-(0.75 * 1.6 + 0.25 * meanLogProb), 12);
    // d/dl: on-policy -(0.75 x r A / 2) = -0.825; off-policy -(0.75 x 1 / (2 x 2)) - 0.25 / 2 per token.
    expect(result.gradient[0]![0]).toBeCloseTo(-0.75 * 1.1, 12);
    expect(result.gradient[1]![0]).toBeCloseTo(-0.75 * 0.25 - 0.125, 12);
    // No off-policy token in the batch: nothing to imitate, the objective stays whole.
    const alone = evaluateObjective([onPolicy], { ...base, offPolicySupervised: { weight: 0.25 } });
    expect(alone.loss).toBeCloseTo(-2.2, 12);
  });
});

describe('evaluateObjective: RL-PLUS ratio and exploration advantage on off-policy sequences', () => {
  it('p = 0.25, p_old = 0.5, A = 2, exponent 0.5: r = 0.5 / 1.25 = 0.4, s = sqrt(0.75); term r A s, gradient -r A s', () => {
    const sequence = {
      logProbs: [Math.log(0.25)],
      oldLogProbs: [Math.log(0.5)],
      advantage: 2,
      weight: 1,
      offPolicy: true,
    };
    const result = evaluateObjective([sequence], { ...base, offPolicyMis: { exponent: 0.5 } });
    const term = 0.4 * 2 * Math.sqrt(0.75);
    expect(result.loss).toBeCloseTo(-term, 12);
    // (1 - p)^0.5 is held constant: the gradient is the ratio's alone, r A s.
    expect(result.gradient[0]![0]).toBeCloseTo(-term, 12);
    // On-policy sequences keep the clipped ratio: r = 0.5 -> clipped branch binds? A > 0, r < 1 - eps: r A.
    const onPolicy = evaluateObjective([{ ...sequence, offPolicy: false }], {
      ...base,
      offPolicyMis: { exponent: 0.5 },
    });
    expect(onPolicy.loss).toBeCloseTo(-0.5 * 2, 12);
  });
});

describe('evaluateObjective: LUFFY policy shaping on off-policy sequences', () => {
  const shaping = { ...base, offPolicyShaping: { gamma: 0.1 } };
  it('p = 0.3, gamma 0.1, A = 2: f = 0.3 / 0.4 = 0.75, term 1.5; gradient -p gamma / (p + gamma)^2 A = -0.375', () => {
    const sequence = {
      logProbs: [Math.log(0.3)],
      oldLogProbs: [Math.log(0.9)],
      advantage: 2,
      weight: 1,
      offPolicy: true,
    };
    const result = evaluateObjective([sequence], shaping);
    expect(result.loss).toBeCloseTo(-1.5, 12);
    expect(result.gradient[0]![0]).toBeCloseTo(-((0.3 * 0.1) / 0.4 ** 2) * 2, 12);
    expect(result.clipFraction).toBe(0);
  });

  it('is unclipped where the ratio would clip, and leaves on-policy sequences to the clipped ratio', () => {
    // l_old far below l_theta: the ratio 5 would clip (gradient 0); shaping still gives a gradient.
    const offPolicy = {
      logProbs: [Math.log(0.5)],
      oldLogProbs: [Math.log(0.1)],
      advantage: 1,
      weight: 1,
      offPolicy: true,
    };
    const onPolicy = { ...offPolicy, offPolicy: false };
    const shaped = evaluateObjective([offPolicy, onPolicy], shaping);
    // sequence-mean over 2: f(0.5) = 0.5 / 0.6; clipped ratio 1.2.
    expect(shaped.loss).toBeCloseTo(-(0.5 / 0.6 + 1.2) / 2, 12);
    expect(shaped.gradient[0]![0]).toBeCloseTo(-((0.5 * 0.1) / 0.6 ** 2) / 2, 12);
    expect(shaped.gradient[1]![0]).toBe(-0);
    expect(shaped.clipFraction).toBe(0.5);
  });
});

describe('evaluateObjective: gradient equals central finite differences (1e-6 relative)', () => {
  const aggregations: Aggregation[] = ['sequence-mean', 'token-mean', 'fixed-length'];
  const clips = [
    { clipLow: 0.2, clipHigh: 0.2 },
    { clipLow: 0.2, clipHigh: 0.28 },
    { clipLow: 0.1, clipHigh: 0.4 },
  ];
  const betas = [0, 0.04, 0.5];

  for (const aggregation of aggregations) {
    for (const clip of clips) {
      for (const beta of betas) {
        it(`${aggregation}, eps ${clip.clipLow}/${clip.clipHigh}, beta ${beta}`, () => {
          // Every other case shapes its off-policy sequences (LUFFY, gamma 0.1).
          const shaped = (clips.indexOf(clip) + betas.indexOf(beta)) % 2 === 1;
          const settings: ObjectiveTerms = {
            ...clip,
            beta,
            aggregation,
            maxCompletionLength: 8,
            ...(shaped ? { offPolicyShaping: { gamma: 0.1 } } : {}),
            // And every third mixes in CHORD's supervised term.
            ...(betas.indexOf(beta) === 2 ? { offPolicySupervised: { weight: 0.3 } } : {}),
          };
          const random = Random.fromSeed(`${aggregation}/${clip.clipLow}/${clip.clipHigh}/${beta}`);
          const sequences = randomBatch(random, settings);
          const { gradient } = evaluateObjective(sequences, settings);
          const step = 1e-5;
          let checked = 0;
          let clippedTokens = 0;
          sequences.forEach((sequence, i) => {
            sequence.logProbs.forEach((_, t) => {
              const shifted = (delta: number) =>
                sequences.map((other, j) =>
                  j !== i
                    ? other
                    : {
                        ...other,
                        logProbs: other.logProbs.map((value, u) => (u === t ? value + delta : value)),
                      },
                );
              const numeric =
                (evaluateObjective(shifted(step), settings).loss -
                  evaluateObjective(shifted(-step), settings).loss) /
                (2 * step);
              const analytic = gradient[i]![t]!;
              expect(Math.abs(analytic - numeric)).toBeLessThanOrEqual(
                1e-6 * Math.max(Math.abs(analytic), Math.abs(numeric)) + 1e-11,
              );
              if (analytic === 0 || Object.is(analytic, -0)) clippedTokens++;
              checked++;
            });
          });
          expect(checked).toBeGreaterThan(10);
          // The random ratios must exercise the clip for the check to mean something when beta = 0.
          if (beta === 0) expect(clippedTokens).toBeGreaterThan(0);
        });
      }
    }
  }
});

/** A batch with ratios spread around the clip range (but not within 1e-3 of its kinks, where FD is undefined). */
function randomBatch(random: Random, settings: ObjectiveTerms): ObjectiveSequence[] {
  const count = 5 + random.int(3);
  return Array.from({ length: count }, () => {
    const length = 2 + random.int(settings.maxCompletionLength - 2);
    const oldLogProbs = Array.from({ length }, () => -0.1 - 3 * random.float());
    const logProbs = oldLogProbs.map((old) => {
      for (;;) {
        const delta = 0.35 * random.normal();
        const ratio = Math.exp(delta);
        if (
          Math.abs(ratio - (1 + settings.clipHigh)) > 1e-3 &&
          Math.abs(ratio - (1 - settings.clipLow)) > 1e-3
        ) {
          return old + delta;
        }
      }
    });
    const refLogProbs = oldLogProbs.map((old) => old + 0.5 * random.normal());
    // A third are external texts: off-policy (shaped when the settings say so) and without a KL term.
    const offPolicy = random.float() < 1 / 3;
    return {
      logProbs,
      oldLogProbs,
      ...(offPolicy ? { offPolicy } : { refLogProbs }),
      advantage: random.normal(),
      weight: 0.2 + 2.8 * random.float(),
    };
  });
}

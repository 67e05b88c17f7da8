import {
  type Aggregation,
  evaluateObjective,
  type ObjectiveFeature,
  type ObjectiveSettings,
  objectiveSequence,
  type PolicyBackend,
  type Prompt,
  Random,
  type TrainBatch,
  type TrainSequence,
} from '@ekipl/core';
import { ConformanceError } from './conformance-error.js';

export interface ObjectiveConformanceOptions {
  /** Prompts the backend accepts (a VLM backend needs images of its size). Default: two text-only prompts. */
  prompts?: Prompt[];
  /** Relative tolerance on the loss and each gradient entry (float32 backends: 1e-4). */
  tolerance?: number;
  /** Sequences per prompt in each random batch. */
  samplesPerPrompt?: number;
  /** Completion length limit of the sampled sequences. */
  maxTokens?: number;
  temperature?: number;
  seed?: number;
}

export interface ObjectiveConformanceCase {
  name: string;
  /** Largest |backend - reference| / scale over the gradient entries. */
  gradientError: number;
  /** |backend loss - reference loss| / max(|reference loss|, 1e-3 scale). */
  lossError: number;
  /** Same for the loss `trainStep` reported. */
  trainStepLossError: number;
  passed: boolean;
}

export interface ObjectiveConformanceReport {
  cases: ObjectiveConformanceCase[];
}

const defaultPrompts: Prompt[] = [
  { system: 'Answer in <answer> tags.', user: 'How many cubes?', images: [] },
  { system: 'Answer in <answer> tags.', user: 'Which shape is largest?', images: [] },
];

/**
 * Proves a trainable backend minimises ekipl's objective: for every aggregation, with and without the
 * KL term, symmetric and clip-higher clipping, and estimator weights != 1, plus each optional feature
 * the backend declares in `capabilities.objective` (the KL term on the policy's samples only; LUFFY's
 * shaping of off-policy tokens; CHORD's supervised term; RL-PLUS's ratio), on random batches of the
 * backend's own samples, the loss and the gradient with respect to the per-token log-probs that the
 * backend computes (`objectiveGradient`) equal core's reference implementation, and the loss
 * `trainStep` reports at the starting weights equals it too.
 *
 * Old log-probs are the current ones shifted by random amounts (kept 1e-3 away from the clip's kinks,
 * where the gradient is undefined), so the clip binds on a good share of tokens.
 *
 * `createBackend` is called once per case: `trainStep` changes the weights.
 * Throws a ConformanceError listing failing cases; returns the report when all pass.
 */
export async function objectiveConformance(
  createBackend: () => PolicyBackend | Promise<PolicyBackend>,
  options: ObjectiveConformanceOptions = {},
): Promise<ObjectiveConformanceReport> {
  const tolerance = options.tolerance ?? 1e-4;
  const temperature = options.temperature ?? 0.9;
  const prompts = options.prompts ?? defaultPrompts;
  const aggregations: Aggregation[] = ['sequence-mean', 'token-mean', 'fixed-length'];
  // Each optional objective feature is checked when the backend declares it (and only then).
  const variants: {
    clipLow: number;
    clipHigh: number;
    beta: number;
    klPerSequence?: boolean;
    offPolicyShaping?: { gamma: number };
    offPolicySupervised?: { weight: number };
    offPolicyMis?: { exponent: number };
    needs: ObjectiveFeature[];
  }[] = [
    { clipLow: 0.2, clipHigh: 0.2, beta: 0, needs: [] },
    { clipLow: 0.2, clipHigh: 0.28, beta: 0.04, needs: [] },
    { clipLow: 0.2, clipHigh: 0.28, beta: 0.04, klPerSequence: true, needs: ['kl-per-sequence'] },
    {
      clipLow: 0.2,
      clipHigh: 0.2,
      beta: 0.04,
      klPerSequence: true,
      offPolicyShaping: { gamma: 0.1 },
      needs: ['kl-per-sequence', 'policy-shaping'],
    },
    {
      clipLow: 0.2,
      clipHigh: 0.28,
      beta: 0.04,
      klPerSequence: true,
      offPolicySupervised: { weight: 0.3 },
      needs: ['kl-per-sequence', 'supervised-term'],
    },
    {
      clipLow: 0.2,
      clipHigh: 0.2,
      beta: 0.04,
      klPerSequence: true,
      offPolicyMis: { exponent: 0.5 },
      needs: ['kl-per-sequence', 'rl-plus-ratio'],
    },
  ];
  const cases: ObjectiveConformanceCase[] = [];
  for (const aggregation of aggregations) {
    for (const { needs, klPerSequence, ...variant } of variants) {
      const features = [
        ...(klPerSequence === true ? ['KL on policy samples only'] : []),
        ...(variant.offPolicyShaping === undefined
          ? []
          : [`shaping gamma ${variant.offPolicyShaping.gamma}`]),
        ...(variant.offPolicySupervised === undefined
          ? []
          : [`supervised term mu ${variant.offPolicySupervised.weight}`]),
        ...(variant.offPolicyMis === undefined
          ? []
          : [`RL-PLUS ratio, exponent ${variant.offPolicyMis.exponent}`]),
      ];
      const name = `${aggregation}, eps ${variant.clipLow}/${variant.clipHigh}, beta ${variant.beta}${features.map((feature) => `, ${feature}`).join('')}`;
      const random = Random.fromSeed(options.seed ?? 1).split('objective-conformance', name);
      const maxTokens = options.maxTokens ?? 12;
      const objective: ObjectiveSettings = {
        ...variant,
        aggregation,
        // Above the longest sequence, so fixed-length differs from token-mean.
        maxCompletionLength: maxTokens + 4,
        learningRate: 1e-3,
      };
      const backend = await createBackend();
      if (needs.some((feature) => !(backend.capabilities.objective ?? []).includes(feature))) {
        await backend.dispose?.();
        continue;
      }
      if (
        !backend.capabilities.train ||
        backend.trainStep === undefined ||
        backend.objectiveGradient === undefined
      ) {
        throw new ConformanceError(
          `backend "${backend.name}" must implement trainStep and objectiveGradient (capabilities.train) for objective conformance`,
        );
      }
      const batch = await randomBatch(backend, prompts, random, objective, {
        samplesPerPrompt: options.samplesPerPrompt ?? 3,
        maxTokens,
        temperature,
        klPerSequence: klPerSequence === true,
      });
      const current = await backend.score(batch.sequences, 'current', temperature);
      const reference = evaluateObjective(
        batch.sequences.map((sequence, i) => objectiveSequence(sequence, current[i]!)),
        objective,
      );
      const probe = await backend.objectiveGradient(batch, objective, temperature);
      const trained = await backend.trainStep(batch, objective, temperature);
      await backend.dispose?.();

      const gradientScale = Math.max(...reference.gradient.flat().map(Math.abs), 1e-12);
      let gradientError = 0;
      reference.gradient.forEach((row, i) => {
        const backendRow = probe.logProbGradients[i];
        if (backendRow === undefined || backendRow.length !== row.length) {
          gradientError = Number.POSITIVE_INFINITY;
          return;
        }
        row.forEach((expected, t) => {
          // Entry-wise relative error, with a floor at 1% of the largest entry: float32 rounding of
          // near-zero entries is not a disagreement.
          const scale = Math.max(Math.abs(expected), 1e-2 * gradientScale);
          gradientError = Math.max(gradientError, Math.abs(backendRow[t]! - expected) / scale);
        });
      });
      const lossScale = Math.max(Math.abs(reference.loss), 1e-3);
      const lossError = Math.abs(probe.loss - reference.loss) / lossScale;
      const trainStepLossError = Math.abs(trained.loss - reference.loss) / lossScale;
      cases.push({
        name,
        gradientError,
        lossError,
        trainStepLossError,
        passed: gradientError <= tolerance && lossError <= tolerance && trainStepLossError <= tolerance,
      });
    }
  }
  const failed = cases.filter((result) => !result.passed);
  if (failed.length > 0) {
    throw new ConformanceError(
      `objective conformance failed in ${failed.length} of ${cases.length} cases (tolerance ${tolerance}):\n${failed
        .map(
          (result) =>
            `  ${result.name}: gradient error ${result.gradientError.toExponential(2)}, loss error ${result.lossError.toExponential(2)}, trainStep loss error ${result.trainStepLossError.toExponential(2)}`,
        )
        .join('\n')}`,
    );
  }
  return { cases };
}

async function randomBatch(
  backend: PolicyBackend,
  prompts: readonly Prompt[],
  random: Random,
  objective: ObjectiveSettings,
  settings: { samplesPerPrompt: number; maxTokens: number; temperature: number; klPerSequence: boolean },
): Promise<TrainBatch> {
  const samples = await backend.generate(prompts, settings.samplesPerPrompt, {
    temperature: settings.temperature,
    topP: 1,
    topK: 0,
    maxTokens: settings.maxTokens,
    seed: random.split('generate').uint32(),
  });
  // Prefixes of random lengths: with equal lengths sequence-mean and token-mean coincide, and a
  // backend that confused them would pass.
  const sequences: TrainSequence[] = samples.flatMap((group, p) =>
    group
      .filter((sample) => sample.tokens.length > 0)
      .map((sample) => {
        const length = 1 + random.int(sample.tokens.length);
        return {
          ...sample,
          tokens: sample.tokens.slice(0, length),
          logProbs: sample.logProbs.slice(0, length),
        };
      })
      .map((sample) => ({
        prompt: prompts[p]!,
        tokens: sample.tokens,
        oldLogProbs: sample.logProbs.map((logProb) => logProb - shiftAwayFromKinks(random, objective)),
        advantage: random.normal(),
        weight: 0.25 + 2.75 * random.float(),
        source: random.float() < 0.5 ? 'policy' : 'aux',
      })),
  );
  if (objective.beta > 0) {
    const referenceLogProbs = await backend.score(sequences, 'reference', settings.temperature);
    sequences.forEach((sequence, i) => {
      // Shifted too, so the KL term is not trivially zero at the starting weights.
      const shifted = referenceLogProbs[i]!.map((logProb) => logProb + 0.3 * random.normal());
      if (!settings.klPerSequence || sequence.source === 'policy') sequence.refLogProbs = shifted;
    });
  }
  return { sequences };
}

/** delta = l_theta - l_old with ratio e^delta spread over the clip range but not within 1e-3 of its kinks. */
function shiftAwayFromKinks(random: Random, objective: ObjectiveSettings): number {
  for (;;) {
    const delta = 0.3 * random.normal();
    const ratio = Math.exp(delta);
    if (
      Math.abs(ratio - (1 + objective.clipHigh)) > 1e-3 &&
      Math.abs(ratio - (1 - objective.clipLow)) > 1e-3
    ) {
      return delta;
    }
  }
}

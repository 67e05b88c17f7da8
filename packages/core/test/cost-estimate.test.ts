import { describe, expect, it } from 'vitest';
import { configSchema } from '../src/config/schema.js';
import {
  type AuxiliarySampler,
  costEstimate,
  estimatedPromptTokens,
  type RunComponents,
  specificationVersion,
} from '../src/index.js';

const sampler = (name: string, usdPerAnswer?: number, budgetUsd?: number): AuxiliarySampler => ({
  specificationVersion,
  name,
  sample: async () => ({ actions: [] }),
  ...(usdPerAnswer === undefined
    ? {}
    : {
        estimateCostUsd: (answers: number, promptTokens: number) => {
          expect(promptTokens).toBe(estimatedPromptTokens);
          return { usd: answers * usdPerAnswer, ...(budgetUsd === undefined ? {} : { budgetUsd }) };
        },
      }),
});

describe('costEstimate', () => {
  it('prices each charging sampler over the run, caps it by its budget and sums; silent when free', () => {
    const config = configSchema.parse({
      run: { steps: 10, batchSize: 4 },
      dataset: { use: 'd' },
      policy: { use: 'p' },
      auxiliary: [{ use: 'a' }],
      warmStart: { steps: 5, batchSize: 2, teacher: { use: 'oracle' } },
    });
    const components = {
      auxiliary: [
        { name: 'gpt', sampler: sampler('gpt', 0.01, 0.2), samples: 2 },
        { name: 'claude', sampler: sampler('claude', 0.005), samples: 1 },
        { name: 'oracle', sampler: sampler('oracle'), samples: 4 },
      ],
      teacher: { name: 'teacher', sampler: sampler('teacher', 0.1), samples: 1 },
    } as unknown as RunComponents;
    // gpt: 10 steps x 4 prompts x 2 = 80 answers, $0.80, capped at $0.20; claude: 40 answers, $0.20;
    // the teacher: 5 x 2 = 10 answers, $1.00. Total $1.40.
    expect(costEstimate(components, config, 10)).toEqual([
      'external cost: at most $1.40 (about 1000 prompt tokens per request, every answer at its longest):',
      '  gpt: 80 answers, up to $0.80, budget $0.20',
      '  claude: 40 answers, up to $0.20',
      '  teacher: 10 answers, up to $1.00',
    ]);
    expect(
      costEstimate({ auxiliary: [components.auxiliary[2]] } as unknown as RunComponents, config, 10),
    ).toEqual([]);
  });
});

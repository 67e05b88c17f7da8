import { defaultTinyVlmConfig, initialValues } from '@ekipl/tiny-vlm';
import { describe, expect, it } from 'vitest';
import { OnnxPolicy } from '../src/index.js';

const config = {
  ...defaultTinyVlmConfig,
  dimension: 16,
  layers: 1,
  heads: 2,
  visionDimension: 12,
  visionLayers: 1,
  visionHeads: 2,
  imageSize: 16,
  patchSize: 8,
  maxPositions: 64,
};

describe('OnnxPolicy', () => {
  it('a scorer that failed to start fails its score call, not a later weight sync or dispose', async () => {
    const weights = initialValues(config, 1);
    const policy = await OnnxPolicy.create({ name: 'onnx', config, maxPromptTokens: 16, weights });
    // The scoring graph is built lazily at the first score call; bytes ONNX Runtime cannot parse stand
    // in for a provider that cannot run it.
    const sessions = (policy as unknown as { sessions: { scorer: { graph: Uint8Array } } }).sessions;
    sessions.scorer.graph = Uint8Array.of(1, 2, 3);
    const request = { prompt: { system: '', user: 'How many?', images: [] }, tokens: [5, 72, 101] };
    await expect(policy.score([request], 'current', 1)).rejects.toThrow(
      'could not load the exported tiny VLM',
    );
    // The sync builds the graphs again, the scorer with them.
    await policy.setWeights(weights);
    expect((await policy.score([request], 'current', 1))[0]).toHaveLength(3);
    await expect(policy.dispose()).resolves.toBeUndefined();
  });
});

import { defaultTinyVlmConfig, initialValues, parameterShapes, rotaryTables } from '@ekipl/tiny-vlm';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { exportTinyVlm, GraphBuilder, joinWeights, OnnxPolicy } from '../src/index.js';

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

describe('ONNX export', () => {
  it('GraphBuilder writes a model ONNX Runtime runs: (x + 1) * w', async () => {
    const graph = new GraphBuilder('affine');
    const x = graph.input('x', 'float', ['n', 2]);
    const w = graph.floats('w', Float32Array.of(2, 3), [2]);
    graph.output(graph.op('Mul', [graph.op('Add', [x, graph.scalar(1)]), w]), 'y', 'float', ['n', 2]);
    const session = await ort.InferenceSession.create(graph.toBytes());
    const { y } = await session.run({ x: new ort.Tensor('float32', Float32Array.of(0, 1, 2, 3), [2, 2]) });
    expect(Array.from(y!.data as Float32Array)).toEqual([2, 6, 6, 12]);
    await session.release();
  });

  it('weights as inputs use every parameter once; as initializers they must all be given', () => {
    const exported = exportTinyVlm(config, 'inputs');
    const parts = [...exported.visionWeights, ...exported.decoderWeights].flatMap((input) => input.parts);
    expect(parts.slice().sort()).toEqual(
      parameterShapes(config)
        .map(([name]) => name)
        .sort(),
    );
    expect(exported.decoderWeights).toContainEqual({
      name: 'blocks.0.attn.q.weight+blocks.0.attn.k.weight+blocks.0.attn.v.weight',
      parts: ['blocks.0.attn.q.weight', 'blocks.0.attn.k.weight', 'blocks.0.attn.v.weight'],
    });
    expect(() => exportTinyVlm(config, 'initializers', new Map())).toThrow('no value for weight');
  });

  it("the scorer graph gives the decoder's tempered log-softmax of each next text token, masked as the policy masks", async () => {
    const exported = exportTinyVlm(config, 'initializers', initialValues(config, 3));
    const [decoder, scorer] = await Promise.all([
      ort.InferenceSession.create(exported.decoder),
      ort.InferenceSession.create(exported.scorer),
    ]);
    const [batch, length, hd] = [2, 5, config.dimension / config.heads];
    const tokens = [5, 72, 101, 33, 9, 5, 200, 64, 64, 7];
    const tables = rotaryTables(config);
    const rows = (table: Float32Array) =>
      Float32Array.from(
        { length: batch * length * hd },
        (_, i) => table[(Math.floor(i / hd) % length) * hd + (i % hd)]!,
      );
    // Row 1's first position holds no token (as a left-padded row would): no query may attend to it.
    const keyValid = Float32Array.of(1, 1, 1, 1, 1, 0, 1, 1, 1, 1);
    const mask = Float32Array.from({ length: batch * length * length }, (_, i) => {
      const [row, query, key] = [Math.floor(i / length ** 2), Math.floor(i / length) % length, i % length];
      return key <= query && keyValid[row * length + key] === 1 ? 0 : -1e9;
    });
    const emptyPast = Object.fromEntries(
      ['k', 'v'].map((kind) => [
        `past_${kind}_0`,
        new ort.Tensor('float32', new Float32Array(0), [batch, 2, 0, hd]),
      ]),
    );
    const inputs = {
      ...emptyPast,
      image_tokens: new ort.Tensor('float32', new Float32Array(0), [batch, 0, config.dimension]),
      tokens: new ort.Tensor('int64', BigInt64Array.from(tokens, BigInt), [batch, length]),
      cos: new ort.Tensor('float32', rows(tables.cos), [batch, 1, length, hd]),
      sin: new ort.Tensor('float32', rows(tables.sin), [batch, 1, length, hd]),
    };
    const temperature = 0.7;
    const decoded = await decoder.run({
      ...inputs,
      mask: new ort.Tensor('float32', mask, [batch, 1, length, length]),
    });
    const logits = decoded['logits']!.data as Float32Array;
    // The scorer builds that mask itself from the keys' validity.
    const scored = await scorer.run({
      ...inputs,
      key_valid: new ort.Tensor('float32', keyValid, [batch, length]),
      temperature: new ort.Tensor('float32', Float32Array.of(temperature), []),
    });
    const output = scored['target_log_probs']!;
    expect(output.dims).toEqual([batch, length - 1]);
    const vocabulary = config.vocabularySize;
    for (let row = 0; row < batch; row++) {
      for (let t = 0; t < length - 1; t++) {
        const offset = (row * length + t) * vocabulary;
        const tempered = Array.from(
          logits.subarray(offset, offset + vocabulary),
          (value) => value / temperature,
        );
        const max = Math.max(...tempered);
        const logTotal = Math.log(tempered.reduce((sum, value) => sum + Math.exp(value - max), 0)) + max;
        const expected = tempered[tokens[row * length + t + 1]!]! - logTotal;
        expect((output.data as Float32Array)[row * (length - 1) + t]).toBeCloseTo(expected, 5);
      }
    }
    await Promise.all([decoder.release(), scorer.release()]);
  });

  it('joins weights along their last axis', () => {
    const joined = joinWeights([
      { data: Float32Array.of(1, 2, 3, 4), shape: [2, 2] },
      { data: Float32Array.of(5, 6), shape: [2, 1] },
    ]);
    expect(joined.shape).toEqual([2, 3]);
    expect(Array.from(joined.data)).toEqual([1, 2, 5, 3, 4, 6]);
  });

  it('generates well-formed samples, stops at the token limit, and refuses reference scoring', async () => {
    const policy = await OnnxPolicy.create({
      name: 'onnx',
      config,
      maxPromptTokens: 16,
      weights: initialValues(config, 1),
    });
    const prompt = { system: '', user: 'hi', images: [] };
    const [samples] = await policy.generate([prompt], 2, {
      temperature: 1,
      topP: 1,
      topK: 0,
      maxTokens: 5,
      seed: 1,
    });
    for (const sample of samples!) {
      expect(sample.tokens.length).toBeGreaterThan(0);
      expect(sample.tokens.length).toBeLessThanOrEqual(5);
      expect(sample.logProbs).toHaveLength(sample.tokens.length);
      expect(sample.text).toBe(policy.decode(sample.tokens));
    }
    expect(policy.completionRoom(prompt)).toBe(64 - 3); // <bos> h i
    await expect(policy.score([{ prompt, tokens: [1] }], 'reference', 1)).rejects.toThrow(
      'one set of weights',
    );
    await policy.dispose();
  });
});

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

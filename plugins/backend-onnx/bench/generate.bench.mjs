// Generation speed of the default tiny VLM on ONNX Runtime, at backend-tfjs's bench shape: batch 32,
// one 64 px image (64 patches), prompt 64 + completion 96 tokens, KV cache; median of BENCH_STEPS (3)
// calls, one JSON line per thread count (BENCH_THREADS, default "1,2"), worker count (BENCH_WORKERS,
// default "2": threads of one intra-op thread each, sharing the batch) and weight placement. Also the
// time of a weight sync (new weights from a trainer), per placement. Run: npm run build && npm run bench.
import { Random } from '@ekipl/core';
import { defaultTinyVlmConfig, initialValues } from '@ekipl/tiny-vlm';
import sharp from 'sharp';
import { OnnxPolicy } from '../dist/index.js';

const batch = 32;
const promptTokens = 64;
const completionTokens = 96;
const steps = Number(process.env.BENCH_STEPS ?? 3);
const threadCounts = (process.env.BENCH_THREADS ?? '1,2').split(',').map(Number);
// Worker threads (the policy's `workers`), each running one intra-op thread.
const workerCounts = (process.env.BENCH_WORKERS ?? '2').split(',').map(Number);
const random = Random.fromSeed('bench');
const png = new Uint8Array(
  await sharp(Buffer.from(Uint8Array.from({ length: 64 * 64 * 3 }, () => random.int(256))), {
    raw: { width: 64, height: 64, channels: 3 },
  })
    .png()
    .toBuffer(),
);
const text = (length) => Array.from({ length }, () => String.fromCharCode(97 + random.int(26))).join('');
// <bos> + 63 bytes = 64 prompt tokens.
const prompts = Array.from({ length: batch }, () => ({
  system: '',
  user: text(promptTokens - 1),
  images: [{ data: png, mediaType: 'image/png' }],
}));
const median = (values) => values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)];
const config = defaultTinyVlmConfig;
const weights = initialValues(config, 1);
const sampling = { temperature: 1, topP: 1, topK: 0, maxTokens: completionTokens };

const settings = [
  ...threadCounts.map((threads) => ({ threads, workers: 1 })),
  ...workerCounts.filter((workers) => workers > 1).map((workers) => ({ threads: 1, workers })),
];
for (const placement of ['inputs', 'initializers']) {
  for (const { threads, workers } of settings) {
    const policy = await OnnxPolicy.create({
      name: 'onnx',
      config,
      maxPromptTokens: promptTokens,
      weights,
      threads,
      workers,
      placement,
    });
    // Warm-up on the whole batch, so that worker threads start here rather than in a timed call.
    await policy.generate(prompts, 1, { ...sampling, maxTokens: 4, seed: 0 });
    const seconds = [];
    const tokens = [];
    for (let step = 0; step < steps; step++) {
      const started = performance.now();
      const samples = await policy.generate(prompts, 1, { ...sampling, seed: step + 1 });
      seconds.push((performance.now() - started) / 1000);
      tokens.push(samples.flat().reduce((sum, sample) => sum + sample.tokens.length, 0));
    }
    const syncs = [];
    for (let step = 0; step < steps; step++) {
      const started = performance.now();
      await policy.setWeights(weights);
      syncs.push((performance.now() - started) / 1000);
    }
    const time = median(seconds);
    console.log(
      JSON.stringify({
        bench: 'onnx-generate',
        engine: 'onnxruntime-cpu',
        placement,
        threads,
        workers,
        batch,
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        image_px: 64,
        generate_s: Number(time.toFixed(3)),
        generate_tokens_per_s: Math.round(median(tokens) / time),
        sync_s: Number(median(syncs).toFixed(4)),
        parameters: [...weights.values()].reduce((sum, { data }) => sum + data.length, 0),
      }),
    );
    await policy.dispose();
  }
}

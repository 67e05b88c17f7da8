// Speed of the default tiny VLM, one JSON line per engine available and thread count. The shape is fixed so figures stay
// comparable across commits: batch 32, prompt 64 + completion 96 tokens, one 64 px image (64 patches).
// train: one supervised optimiser step (forward + backward + AdamW); model GFLOP/s = 6 x params x
// tokens / time, tokens = batch x (image patches + prompt + completion), the usual convention.
// generate: batch 32 with the KV cache, 96 new tokens, median of BENCH_STEPS (3) calls; generate_4x8:
// the EKIPL shape, 4 prompts x 8 samples. Run: npm run build && npm run bench.
// BENCH_ENGINES=wasm,cpu (default: wasm, plus tensorflow when @tensorflow/tfjs-node is installed);
// BENCH_WORKERS=1,2 (default): one line per engine and thread count (the policy's `workers` option).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Random } from '@ekipl/core';
import sharp from 'sharp';
import { defaultOptimizerSettings, defaultTinyVlmConfig, selectEngine, TfjsPolicy } from '../dist/index.js';

const batch = 32;
const promptTokens = 64;
const completionTokens = 96;
const steps = Number(process.env.BENCH_STEPS ?? 3);
const engines = (process.env.BENCH_ENGINES ?? 'wasm,tensorflow').split(',');
const workerCounts = (process.env.BENCH_WORKERS ?? '1,2').split(',').map(Number);
// Each configuration runs in its own process, so peak RSS is that configuration's alone.
if (engines.length * workerCounts.length > 1) {
  for (const engine of engines) {
    for (const workers of workerCounts) {
      const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], {
        stdio: 'inherit',
        env: { ...process.env, BENCH_ENGINES: engine, BENCH_WORKERS: String(workers) },
      });
      if (child.status !== 0) process.exit(child.status ?? 1);
    }
  }
  process.exit(0);
}
const random = Random.fromSeed('bench');
const png = new Uint8Array(
  await sharp(Buffer.from(Uint8Array.from({ length: 64 * 64 * 3 }, () => random.int(256))), {
    raw: { width: 64, height: 64, channels: 3 },
  })
    .png()
    .toBuffer(),
);
const text = (length) => Array.from({ length }, () => String.fromCharCode(97 + random.int(26))).join('');
// <bos> + 63 bytes = 64 prompt tokens; 95 bytes + <eos> = 96 completion tokens.
const prompts = Array.from({ length: batch }, () => ({
  system: '',
  user: text(promptTokens - 1),
  images: [{ data: png, mediaType: 'image/png' }],
}));
const examples = prompts.map((prompt) => ({ prompt, tokens: [...Buffer.from(text(completionTokens - 1))] }));
for (const example of examples) example.tokens.push(257);
const median = (values) => values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)];

for (const engine of engines) {
  try {
    await selectEngine(engine);
  } catch (error) {
    if (engine !== 'tensorflow') throw error;
    continue; // not installed: no line for it
  }
  for (const workers of workerCounts) {
    const policy = new TfjsPolicy({
      name: 'bench',
      config: defaultTinyVlmConfig,
      maxPromptTokens: promptTokens,
      optimizer: defaultOptimizerSettings,
      seed: 1,
      workers,
    });
    const params = policy.parameterCount();
    const tokens = batch * ((64 / 8) ** 2 + promptTokens + completionTokens);
    await policy.supervisedStep(examples, { learningRate: 1e-4 }); // warm-up (kernels, image cache)
    const trainTimes = [];
    for (let i = 0; i < steps; i++) {
      const start = performance.now();
      await policy.supervisedStep(examples, { learningRate: 1e-4 });
      trainTimes.push((performance.now() - start) / 1000);
    }
    const sampling = { temperature: 0.9, topP: 1, topK: 0, maxTokens: completionTokens, seed: 1 };
    await policy.generate(prompts, 1, { ...sampling, maxTokens: 4 }); // warm-up (memory, image cache)
    const generateTimes = [];
    const generateRates = [];
    for (let i = 0; i < steps; i++) {
      const start = performance.now();
      const samples = await policy.generate(prompts, 1, { ...sampling, seed: i });
      generateTimes.push((performance.now() - start) / 1000);
      const generated = samples.flat().reduce((sum, sample) => sum + sample.tokens.length, 0);
      generateRates.push(generated / generateTimes.at(-1));
    }
    // The EKIPL shape: 4 prompts x 8 samples (each prompt's prefix computed once for its samples).
    const ekiplTimes = [];
    const ekiplRates = [];
    for (let i = 0; i < steps; i++) {
      const start = performance.now();
      const samples = await policy.generate(prompts.slice(0, 4), 8, { ...sampling, seed: 100 + i });
      ekiplTimes.push((performance.now() - start) / 1000);
      const ekiplTokens = samples.flat().reduce((sum, sample) => sum + sample.tokens.length, 0);
      ekiplRates.push(ekiplTokens / ekiplTimes.at(-1));
    }
    const trainSeconds = median(trainTimes);
    console.log(
      JSON.stringify({
        bench: 'tiny-vlm',
        engine,
        workers,
        params,
        train_step_s: Number(trainSeconds.toFixed(3)),
        train_tokens_per_s: Math.round(tokens / trainSeconds),
        model_gflops: Number(((6 * params * tokens) / trainSeconds / 1e9).toFixed(2)),
        // Medians over `steps` calls with seeds 0, 1, ...: rows that stop early (<eos>) lower the rate.
        generate_tokens_per_s: Math.round(median(generateRates)),
        generate_s: Number(median(generateTimes).toFixed(3)),
        generate_4x8_tokens_per_s: Math.round(median(ekiplRates)),
        peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
        dims: { batch, promptTokens, completionTokens, image: 64, patch: 8, ...defaultTinyVlmConfig },
      }),
    );
    await policy.dispose();
  }
}

// Memory over long runs (issue 14: every weight sync on a worker kept a copy of the model, ~4.5 MB a
// step, until a worker's wasm heap aborted). The default tiny VLM with `workers: auto` (the machine's
// cores, at most 4), one 64 px image a prompt; resident memory (MB) and each thread's wasm heap after
// SOAK_SUPERVISED_STEPS[0] and [1] supervised steps (default 50, 1000; batch SOAK_BATCH = 4), then
// after 50 and SOAK_RL_STEPS (default 500) RL steps (generate 2 prompts x 4 samples of up to 32 tokens,
// score under the reference, trainStep). A leak shows as growth between the lines of a phase; flat
// memory gives rss_growth (against the phase's first line) near 1. Run: npm run build && npm run bench (about 6 minutes on two cores).
import { availableParallelism } from 'node:os';
import { Random } from '@ekipl/core';
import sharp from 'sharp';
import { defaultOptimizerSettings, defaultTinyVlmConfig, selectEngine, TfjsPolicy } from '../dist/index.js';

const [firstMark, supervisedSteps] = (process.env.SOAK_SUPERVISED_STEPS ?? '50,1000').split(',').map(Number);
const rlSteps = Number(process.env.SOAK_RL_STEPS ?? 500);
const batch = Number(process.env.SOAK_BATCH ?? 4);
const workers = Math.min(4, availableParallelism());

await selectEngine('wasm');
const random = Random.fromSeed('soak');
const image = async () => ({
  data: new Uint8Array(
    await sharp(Buffer.from(Uint8Array.from({ length: 64 * 64 * 3 }, () => random.int(256))), {
      raw: { width: 64, height: 64, channels: 3 },
    })
      .png()
      .toBuffer(),
  ),
  mediaType: 'image/png',
});
// A pool of distinct prompts, cycled, so image decoding and batch shapes vary as in a run.
const pool = await Promise.all(
  Array.from({ length: 16 }, async (_, i) => ({
    system: '',
    user: `How many ${['circles', 'squares', 'triangles', 'shapes'][i % 4]} are in the image?`,
    images: [await image()],
  })),
);
const policy = new TfjsPolicy({
  name: 'soak',
  config: defaultTinyVlmConfig,
  maxPromptTokens: 64,
  optimizer: defaultOptimizerSettings,
  seed: 1,
  workers,
});
const prompts = (step, count) =>
  Array.from({ length: count }, (_, i) => pool[(step * count + i) % pool.length]);

const started = performance.now();
const marks = [];
async function mark(phase, step) {
  const threads = await policy.memory();
  const line = {
    bench: 'soak',
    engine: 'wasm',
    workers,
    phase,
    step,
    rss_mb: Math.round(process.memoryUsage().rss / 2 ** 20),
    heap_mb: threads.map((thread) => Math.round((thread.heapBytes ?? 0) / 2 ** 20)),
    tensors: threads.map((thread) => thread.tensors),
    elapsed_s: Math.round((performance.now() - started) / 1000),
  };
  // Growth against the first mark of the same phase (RL holds a reference copy and generation buffers).
  const first = marks.find((mark) => mark.phase === phase);
  if (first !== undefined) line.rss_growth = Number((line.rss_mb / first.rss_mb).toFixed(3));
  marks.push(line);
  console.log(JSON.stringify(line));
}

for (let step = 1; step <= supervisedSteps; step++) {
  const examples = prompts(step, batch).map((prompt, i) => ({
    prompt,
    tokens: policy.encode(`<think>I count them one by one.</think><answer>${(step + i) % 10}</answer>`),
  }));
  await policy.supervisedStep(examples, { learningRate: 1e-4 });
  if (step === firstMark || step === supervisedSteps) await mark('supervised', step);
}
const objective = {
  clipLow: 0.2,
  clipHigh: 0.28,
  beta: 0.04,
  aggregation: 'token-mean',
  maxCompletionLength: 32,
  learningRate: 1e-5,
};
for (let step = 1; step <= rlSteps; step++) {
  const inputs = prompts(step, 2);
  const samples = await policy.generate(inputs, 4, {
    temperature: 1,
    topP: 1,
    topK: 0,
    maxTokens: 32,
    seed: step,
  });
  const requests = samples.flatMap((group, p) =>
    group.map((sample) => ({ prompt: inputs[p], tokens: sample.tokens })),
  );
  const reference = await policy.score(requests, 'reference', 1);
  const sequences = requests.map((request, j) => ({
    ...request,
    oldLogProbs: samples[Math.floor(j / 4)][j % 4].logProbs,
    refLogProbs: reference[j],
    advantage: j % 2 === 0 ? 1 : -1,
    weight: 1,
    source: 'policy',
  }));
  await policy.trainStep({ sequences }, objective, 1);
  if (step === firstMark || step === rlSteps) await mark('rl', step);
}
await policy.dispose();

// Time of each reward on adversarial inputs (1 MB texts, 10 000 tags, long call lists): median and max
// over repeats, in milliseconds. One JSON line per reward. Run: npm run bench (after npm run build).
import { Random } from '@ekipl/core';
import { adversarialTexts } from '@ekipl/testkit';
import { accuracy, format, perception } from '../dist/index.js';

const repeats = Number(process.env.BENCH_REPEATS ?? 5);
const tasks = [
  { id: 'c', family: 'counting', images: [], question: 'q', answer: '3', split: 'train' },
  { id: 's', family: 'structure', images: [], question: 'q', answer: '12.5', split: 'train' },
  {
    id: 't',
    family: 'spatial',
    images: [],
    question: 'q',
    answer: 'change_color(1, red), change_size(2, small)',
    split: 'train',
  },
];
const texts = adversarialTexts();
for (const plugin of [format, accuracy, perception]) {
  const reward = await plugin.create(plugin.options.parse({}), {
    name: plugin.name,
    random: Random.fromSeed(1),
    configDirectory: '.',
    warn: () => {},
  });
  const perInput = [];
  for (const text of texts) {
    const times = [];
    for (let r = 0; r < repeats; r++) {
      const start = performance.now();
      for (const task of tasks) await reward.score({ source: 'policy', text }, task);
      times.push((performance.now() - start) / tasks.length);
    }
    times.sort((a, b) => a - b);
    perInput.push({
      chars: text.length,
      head: text.slice(0, 24),
      median_ms: times[Math.floor(times.length / 2)],
    });
  }
  const medians = perInput.map((input) => input.median_ms).sort((a, b) => a - b);
  const slowest = perInput.reduce((a, b) => (b.median_ms > a.median_ms ? b : a));
  console.log(
    JSON.stringify({
      bench: 'reward-adversarial',
      reward: plugin.name,
      inputs: perInput.length,
      repeats,
      median_ms: Number(medians[Math.floor(medians.length / 2)].toFixed(4)),
      max_median_ms: Number(slowest.median_ms.toFixed(3)),
      slowest_input: { chars: slowest.chars, head: slowest.head },
    }),
  );
}

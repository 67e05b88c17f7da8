import { type Action, Random, type RewardFn, type Task } from '@ekipl/core';
import { ConformanceError } from './conformance-error.js';

export interface RewardConformanceOptions {
  /** Tasks to score against (one per family the reward handles). */
  tasks: readonly Task[];
  /** The reward's documented range, inclusive. */
  range: readonly [number, number];
  seed?: number;
  /** Random strings on top of the adversarial ones. */
  randomTrials?: number;
  /**
   * A call slower than this is reported. Not a speed target (that is the benchmark's job): a guard
   * against catastrophic regex backtracking, which takes seconds to hours on these inputs.
   */
  hangMilliseconds?: number;
}

/**
 * A reward is total: on any text (empty, 1 MB, 10 000 unclosed `<think>` tags, nested and unbalanced
 * tags, control characters, random bytes) it returns a finite number in its documented range, without
 * throwing or hanging. Throws a ConformanceError listing failures.
 */
export async function rewardConformance(reward: RewardFn, options: RewardConformanceOptions) {
  const random = Random.fromSeed(options.seed ?? 1).split('reward-conformance');
  const texts = [
    ...adversarialTexts(),
    ...Array.from({ length: options.randomTrials ?? 200 }, () => randomText(random)),
  ];
  const [low, high] = options.range;
  const hang = options.hangMilliseconds ?? 2000;
  const failures: string[] = [];
  for (const task of options.tasks) {
    for (const [i, text] of texts.entries()) {
      const action: Action = { source: 'policy', text };
      const label = `task ${task.id} (${task.family}), text #${i} (${text.length} chars: ${JSON.stringify(text.slice(0, 40))})`;
      const start = performance.now();
      let value: number;
      try {
        const result = await reward.score(action, task);
        value = typeof result === 'number' ? result : result.value;
      } catch (error) {
        failures.push(`${label}: threw ${error instanceof Error ? error.message : String(error)}`);
        continue;
      }
      const elapsed = performance.now() - start;
      if (!Number.isFinite(value) || value < low || value > high)
        failures.push(`${label}: ${value} outside [${low}, ${high}]`);
      if (elapsed > hang) failures.push(`${label}: took ${elapsed.toFixed(0)} ms`);
    }
  }
  if (failures.length > 0) {
    throw new ConformanceError(
      `reward "${reward.name}" broke its contract:\n  ${failures.slice(0, 20).join('\n  ')}`,
    );
  }
}

/** Inputs that break naive parsers and backtracking regular expressions. */
export function adversarialTexts(): string[] {
  const megabyte = 1 << 20;
  return [
    '',
    ' ',
    '\n\n\t',
    'a'.repeat(megabyte),
    '<think>'.repeat(10_000),
    '</think>'.repeat(10_000),
    `<think>${'a'.repeat(megabyte)}`,
    `<think>x</think>${' '.repeat(100_000)}<answer>`,
    `<think>${'</think> '.repeat(10_000)}<answer>${'</answer>'.repeat(10_000)}`,
    '<answer>'.repeat(10_000),
    `<answer>${'9'.repeat(100_000)}</answer>`,
    '<think><think></think></think><answer><answer>3</answer></answer>',
    '<answer>3</answer><think>late</think>',
    '<think>ok</think><answer>3',
    '<THINK>x</THINK><ANSWER>3</ANSWER>',
    '<think>\u0000\u0001</think><answer>\u0000</answer>',
    '<think>🤔 ∑∫ 三</think><answer>３</answer>',
    `<answer>${'change_color(1, red), '.repeat(20_000)}</answer>`,
    `<answer>${'change_color('.repeat(20_000)}</answer>`,
    `<answer>${'('.repeat(50_000)}${')'.repeat(50_000)}</answer>`,
    `<answer>${'a,'.repeat(50_000)}</answer>`,
    '<image-description>' + 'The cube is red. '.repeat(5_000) + '</image-description>',
    '<rethink>' + 'Wait. '.repeat(20_000),
    `${'1.'.repeat(50_000)}`,
    '<answer>NaN</answer>',
    '<answer>Infinity</answer>',
    '<answer>-1e309</answer>',
    '<answer>1e-400</answer>',
  ];
}

function randomText(random: Random): string {
  const pieces = [
    '<think>',
    '</think>',
    '<answer>',
    '</answer>',
    '<image-description>',
    '</image-description>',
    '<rethink>',
    '</rethink>',
    '<visual>',
    '</visual>',
    ' ',
    '\n',
    '3',
    '-2.5',
    '(',
    ')',
    ',',
    'change_color',
    'A',
    '(B)',
    '.',
    'red',
    'The sphere is big.',
    '\u0000',
    'é',
  ];
  const length = random.int(60);
  let text = '';
  for (let i = 0; i < length; i++) {
    text += random.float() < 0.8 ? random.pick(pieces) : String.fromCharCode(random.int(0x3000));
  }
  return text;
}

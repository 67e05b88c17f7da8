import { type AnyPluginDefinition, Random, type RewardFn, type Task } from '@ekipl/core';

export async function createReward(
  plugin: AnyPluginDefinition,
  options: Record<string, unknown> = {},
): Promise<RewardFn> {
  return (await plugin.create(plugin.options.parse(options), {
    name: plugin.name,
    random: Random.fromSeed(1),
    configDirectory: '.',
    warn: () => {},
  })) as RewardFn;
}

export function task(family: string, answer: string, choices?: string[]): Task {
  return {
    id: `${family}-${answer}`,
    family,
    images: [],
    question: 'q',
    answer,
    split: 'train',
    ...(choices ? { choices } : {}),
  };
}

export async function value(reward: RewardFn, text: string, forTask: Task): Promise<number> {
  const result = await reward.score({ source: 'policy', text }, forTask);
  return typeof result === 'number' ? result : result.value;
}

import type { PromptTemplate } from '@ekipl/core';
import { passAtK, type RunComponents, rewardOf, type SamplingSettings, type Task } from '@ekipl/core';
import { blankTask, imageReliance } from './image-reliance.js';

export interface EvaluationOptions {
  /** Test splits to evaluate (default: every split but `train`). */
  splits?: readonly string[];
  /** Tasks per split (the first ones). */
  limit: number;
  /** pass@k for each k: n = the largest k samples per task at the run's sampling settings. */
  passAt?: readonly number[];
  /** The run's sampling settings (temperature, top-p, top-k, length), for the pass@k samples. */
  sampling: Omit<SamplingSettings, 'seed'>;
  /** Seed of the pass@k samples. */
  seed?: number;
  /**
   * Replace every image with a flat grey one: what the policy earns from the question alone. Its gap
   * to the real images' accuracy is the perception the policy has.
   */
  blankImages?: boolean;
  /** Keep each task's greedy answer in the results (`answers`), to see which tasks a policy gets right. */
  answers?: boolean;
}

/** One task's greedy answer: the task, what it expects, what the policy wrote, and the rewards. */
export interface EvaluatedAnswer {
  id: string;
  question: string;
  expected: string;
  text: string;
  rewards: Record<string, number>;
}

/** One split's results: greedy means of every reward (and the weighted total), and pass@k. */
export interface SplitEvaluation {
  split: string;
  tasks: number;
  /** `reward` (the weighted total) and each reward's mean over the greedy answers. */
  greedy: Record<string, number>;
  /** pass@k by the unbiased estimator, keyed by k; a sample is correct when its `accuracy` reward is 1. */
  passAt: Record<number, number>;
  /** Samples per task behind pass@k (0 without it). */
  samples: number;
  /**
   * Mean |shift| of the greedy answers' log-prob (nats, the whole completion) when the images are
   * blanked; ~0 for a policy blind to its images. Absent with blank images or tasks without images.
   */
  imageReliance?: number;
  /** Every task's greedy answer, with `answers`. */
  answers?: EvaluatedAnswer[];
}

/**
 * Greedy answers (top-k 1) to the first `limit` tasks of each split, scored by the run's rewards, and,
 * with `passAt`, n samples per task at the run's sampling settings and pass@k from their correct count.
 */
export async function evaluatePolicy(
  components: RunComponents,
  renderPrompt: PromptTemplate,
  options: EvaluationOptions,
): Promise<SplitEvaluation[]> {
  const splits = options.splits ?? components.dataset.splits.filter((name) => name !== 'train');
  const passAt = [...(options.passAt ?? [])].sort((a, b) => a - b);
  const samples = passAt.at(-1) ?? 0;
  const accuracy = components.rewards.find(({ name }) => name === 'accuracy');
  const results: SplitEvaluation[] = [];
  for (const split of splits) {
    const tasks: Task[] = [];
    for await (const task of components.dataset.tasks(split, { limit: options.limit })) {
      tasks.push(options.blankImages === true ? blankTask(task) : task);
    }
    if (tasks.length === 0) continue;
    const prompts = tasks.map((task) => renderPrompt(task));
    const greedyAnswers = await components.policy.generate(prompts, 1, {
      ...options.sampling,
      topK: 1,
      seed: 0,
    });
    const totals: Record<string, number> = { reward: 0 };
    const answers: EvaluatedAnswer[] = [];
    for (const [i, task] of tasks.entries()) {
      const text = greedyAnswers[i]![0]!.text;
      const scores = await scoreText(components, text, task);
      for (const [name, value] of Object.entries(scores)) totals[name] = (totals[name] ?? 0) + value;
      answers.push({ id: task.id, question: task.question, expected: task.answer, text, rewards: scores });
    }
    const greedy = Object.fromEntries(
      Object.entries(totals).map(([name, total]) => [name, total / tasks.length]),
    );
    const passAtSplit: Record<number, number> = {};
    if (samples > 0 && accuracy !== undefined) {
      const drawn = await components.policy.generate(prompts, samples, {
        ...options.sampling,
        seed: options.seed ?? 1,
      });
      const correct = await Promise.all(
        tasks.map(async (task, i) => {
          let count = 0;
          for (const sample of drawn[i]!) {
            if ((await rewardOf(accuracy, { source: 'policy', text: sample.text }, task)).total >= 1) count++;
          }
          return count;
        }),
      );
      for (const k of passAt) {
        passAtSplit[k] = correct.reduce((sum, c) => sum + passAtK(samples, c, k), 0) / tasks.length;
      }
    }
    const result: SplitEvaluation = {
      split,
      tasks: tasks.length,
      greedy,
      passAt: passAtSplit,
      samples,
      ...(options.answers === true ? { answers } : {}),
    };
    if (options.blankImages !== true) {
      const reliance = await imageReliance(
        components.policy,
        renderPrompt,
        tasks.map((task, i) => ({ task, text: greedyAnswers[i]![0]!.text })),
        options.sampling.temperature,
      );
      if (reliance.answers > 0) result.imageReliance = reliance.meanAbsoluteShift;
    }
    results.push(result);
  }
  return results;
}

/** Every reward's value for a text, and `reward`, the weighted total. */
async function scoreText(
  components: RunComponents,
  text: string,
  task: Task,
): Promise<Record<string, number>> {
  const scores: Record<string, number> = { reward: 0 };
  for (const weighted of components.rewards) {
    const score = (await rewardOf(weighted, { source: 'policy', text }, task)).total;
    scores[weighted.name] = score;
    scores['reward']! += weighted.weight * score;
  }
  return scores;
}

/** `eval/<split>/<name>` metrics of the greedy results and `eval/<split>/pass@<k>`. */
export function evaluationMetrics(results: readonly SplitEvaluation[]): Record<string, number> {
  const metrics: Record<string, number> = {};
  for (const result of results) {
    for (const [name, value] of Object.entries(result.greedy))
      metrics[`eval/${result.split}/${name}`] = value;
    for (const [k, value] of Object.entries(result.passAt)) metrics[`eval/${result.split}/pass@${k}`] = value;
    if (result.imageReliance !== undefined)
      metrics[`eval/${result.split}/image_reliance`] = result.imageReliance;
  }
  return metrics;
}

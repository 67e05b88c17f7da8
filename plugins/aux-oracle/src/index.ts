/**
 * An offline expert for the synthetic datasets: it reads the scene facts the generator left in the
 * task (`metadata.reasoning`, step-by-step statements, and `metadata.distractors`, plausible wrong
 * answers that earn no accuracy credit) and writes `<think>...</think><answer>...</answer>`. With
 * probability `accuracy` the final answer is right; otherwise it is a distractor (an off-by-one
 * count, a value more than 20 % off, another option, transformations of the wrong kind), reached by
 * reasoning that skips the last step. It reports no density (estimators use their fallbacks).
 *
 * It is the offline stand-in for GPT-4o / Gemini in the quickstart, the tests and the benchmark: two
 * oracles with different `style` and `accuracy` behave like two different external models.
 */
import {
  type Action,
  type AuxiliaryRequest,
  definePlugin,
  formatAnswer,
  PluginError,
  Random,
  specificationVersion,
  z,
} from '@ekipl/core';

export type OracleStyle = 'terse' | 'verbose' | 'brief';

/** One answer for a synthetic task: right with probability `accuracy`, else a distractor. */
export function oracleAnswer(
  request: AuxiliaryRequest,
  random: Random,
  accuracy: number,
  style: OracleStyle,
): string {
  const { task } = request;
  const reasoning = task.metadata?.['reasoning'];
  const distractors = task.metadata?.['distractors'];
  if (!Array.isArray(reasoning) || !Array.isArray(distractors) || reasoning.length === 0) {
    throw new PluginError(
      'oracle',
      `task ${task.id} has no scene facts (metadata.reasoning / metadata.distractors): the oracle knows only the synthetic datasets' tasks; for Reason-RFT data use aux-replay`,
    );
  }
  const steps = reasoning.map(String);
  const right = random.float() < accuracy || distractors.length === 0;
  const answer = right ? task.answer : String(random.pick(distractors));
  // A wrong answer comes from reasoning that stops short of the decisive last step.
  const used = right ? steps : steps.slice(0, -1);
  const thinking =
    style === 'verbose'
      ? `${used.join(' ')}${used.length > 0 ? ' ' : ''}So the answer is ${answer}.`
      : style === 'brief'
        ? `Answer: ${answer}.`
        : `${right ? steps.at(-1)! : (steps[0] ?? '')} Answer: ${answer}.`;
  return formatAnswer(thinking, answer);
}

export const oracle = definePlugin({
  kind: 'auxiliary',
  name: 'oracle',
  description: 'offline expert for the synthetic tasks, right with probability `accuracy`',
  options: z.strictObject({
    accuracy: z.number().min(0).max(1).default(0.7).describe('Probability that an answer is right.'),
    style: z
      .enum(['terse', 'verbose', 'brief'])
      .default('verbose')
      .describe(
        '`verbose` explains every step; `terse` gives one line; `brief` only the answer (`Answer: N.`).',
      ),
  }),
  create: (options, context) => ({
    specificationVersion,
    name: context.name,
    async sample(requests, n, { seed }) {
      const random = Random.fromSeed(seed).split('oracle', context.name);
      return {
        actions: requests.map((request): Action[] =>
          Array.from({ length: n }, (_, sample) => ({
            source: context.name,
            text: oracleAnswer(
              request,
              random.split(request.task.id, sample),
              options.accuracy,
              options.style,
            ),
            cost: { usd: 0 },
            latencyMs: 0,
          })),
        ),
      };
    },
  }),
});

export default oracle;

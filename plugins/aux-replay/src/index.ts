/**
 * External actions at no cost: the chain-of-thought a dataset already carries (Reason-RFT-CoT's `cot`
 * field, which external models wrote), as one answer per task. A cot already in the
 * `<think>...</think><answer>...</answer>` format is used as it is; otherwise it becomes the thinking
 * and the task's own answer (tags stripped) the answer. Tasks without a cot yield no action (counted
 * as `missing`). One action per request, whatever `n`: there is one recorded chain per task.
 */
import {
  type Action,
  definePlugin,
  extractAnswer,
  formatAnswer,
  specificationVersion,
  tagContents,
  z,
} from '@ekipl/core';

export function replayText(cot: string, answer: string): string {
  const trimmed = cot.trim();
  if (tagContents(trimmed, 'think').length > 0 && tagContents(trimmed, 'answer').length > 0) return trimmed;
  return formatAnswer(trimmed, extractAnswer(answer));
}

export const replay = definePlugin({
  kind: 'auxiliary',
  name: 'replay',
  description: "replays the dataset's own chain-of-thought (Reason-RFT-CoT `cot`) as an answer",
  options: z.strictObject({
    field: z.string().min(1).default('cot').describe('The task metadata field holding the chain-of-thought.'),
  }),
  create: (options, context) => ({
    specificationVersion,
    name: context.name,
    async sample(requests, n) {
      let missing = 0;
      const actions = requests.map(({ task }): Action[] => {
        const cot = task.metadata?.[options.field];
        if (typeof cot !== 'string' || cot.trim() === '' || n === 0) {
          missing++;
          return [];
        }
        return [{ source: context.name, text: replayText(cot, task.answer), cost: { usd: 0 }, latencyMs: 0 }];
      });
      return { actions, metrics: { missing } };
    },
  }),
});

export default replay;

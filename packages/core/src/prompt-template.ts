import type { Prompt } from './contracts/prompt.js';
import type { Task } from './contracts/task.js';

/** Renders a task into what samplers see. Datasets and configs may supply their own. */
export type PromptTemplate = (task: Task) => Prompt;

/** The system instruction that asks every sampler for Reason-RFT's answer format. */
export const answerFormatInstruction =
  'You are a careful visual reasoning assistant. Think step by step about the image(s), then answer. ' +
  'Output the thinking process in <think> </think> and the final answer in <answer> </answer> tags.';

const answerKindByFamily: Record<string, string> = {
  counting: 'number',
  structure: 'number or option letter',
  spatial: 'a comma-separated list of transformations such as change_color(1, red)',
};

/**
 * Reason-RFT's wording: "{question} Output the thinking process in <think> </think> and final answer
 * (number) in <answer> </answer> tags.", with the answer kind adapted to the family and the choices
 * of a multiple-choice task listed as `A. ...` lines.
 */
export const reasonRftPromptTemplate: PromptTemplate = (task) => {
  const choices =
    task.choices === undefined || task.choices.length === 0
      ? ''
      : `\n${task.choices.map((choice, i) => `${String.fromCharCode(65 + i)}. ${choice}`).join('\n')}`;
  const answerKind =
    task.choices !== undefined && task.choices.length > 0
      ? 'option letter'
      : (answerKindByFamily[task.family] ?? 'answer');
  return {
    system: answerFormatInstruction,
    user: `${task.question}${choices}\nOutput the thinking process in <think> </think> and final answer (${answerKind}) in <answer> </answer> tags.`,
    images: task.images,
  };
};

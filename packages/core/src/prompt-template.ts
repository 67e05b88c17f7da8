import type { Prompt } from './contracts/prompt.js';
import type { Task } from './contracts/task.js';

/** Renders a task into what samplers see. */
export type PromptTemplate = (task: Task) => Prompt;

/** The config's `prompt` section: a system text, and user templates by family. */
export interface PromptSettings {
  /** System text for every family; when absent, each family's default. */
  system?: string | undefined;
  /**
   * User templates by family (`counting`, `structure`, `spatial`, any other, or `default`), with
   * `{question}` and `{choices}` (the options as `\nA. ...` lines, or nothing) filled in.
   */
  templates?: Record<string, string>;
}

const formatSuffix =
  'Output the thinking process in <think> </think> and final answer in <answer> </answer> tags.';

/** The system text that asks for Reason-RFT's answer format (after open-r1's general system prompt). */
export const answerFormatInstruction =
  'A conversation between User and Assistant. The user asks a question and the Assistant solves it: it first ' +
  'thinks about the reasoning process, then gives the answer. The reasoning process and the answer are ' +
  'enclosed in <think> </think> and <answer> </answer> tags: <think> reasoning here </think><answer> answer here </answer>';

const spatialSystem =
  `${answerFormatInstruction}\nThe task: given an initial and a final image of a scene and the initial objects ` +
  'as (object_id, shape, size, color, material), find the transformations that turn one into the other, as calls ' +
  'func(object_id, value): change_size (small, medium, large), change_color (yellow, gray, cyan, blue, brown, green, ' +
  'red, purple), change_material (glass, metal, rubber), change_shape (cube, sphere, cylinder), change_position ' +
  '(front, behind, left, right, front_left, front_right, behind_left, behind_right).';

/** Reason-RFT's question wording per family; `{choices}` is empty for open questions. */
export const defaultPromptTemplates: Readonly<Record<string, string>> = {
  counting: `{question} Output the thinking process in <think> </think> and final answer (number) in <answer> </answer> tags.`,
  structure: `{question}{choices} ${formatSuffix}`,
  spatial: `{question} ${formatSuffix}`,
  default: `{question}{choices} ${formatSuffix}`,
};

const defaultSystems: Readonly<Record<string, string>> = { spatial: spatialSystem };

/** A prompt template from the config's `prompt` section, falling back to Reason-RFT's wording. */
export function createPromptTemplate(settings: PromptSettings = {}): PromptTemplate {
  return (task) => {
    const template =
      settings.templates?.[task.family] ??
      settings.templates?.['default'] ??
      defaultPromptTemplates[task.family] ??
      defaultPromptTemplates['default']!;
    const choices =
      task.choices === undefined || task.choices.length === 0
        ? ''
        : `\n${task.choices.map((choice, i) => `${String.fromCharCode(65 + i)}. ${choice}`).join('\n')}`;
    return {
      system: settings.system ?? defaultSystems[task.family] ?? answerFormatInstruction,
      user: template.replaceAll('{question}', task.question).replaceAll('{choices}', choices),
      images: task.images,
    };
  };
}

/** Reason-RFT's wording for every family (the default of `createPromptTemplate`). */
export const reasonRftPromptTemplate: PromptTemplate = createPromptTemplate();

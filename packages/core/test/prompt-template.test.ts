import { describe, expect, it } from 'vitest';
import {
  createPromptTemplate,
  parseConfigText,
  reasonRftPromptTemplate,
  resolveConfig,
  type Task,
} from '../src/index.js';
import { testBuiltins } from './fixtures/builtins.js';

const task = (family: string, choices?: string[]): Task => ({
  id: 't',
  family,
  images: [],
  question: 'How many cubes are there?',
  answer: '2',
  split: 'train',
  ...(choices === undefined ? {} : { choices }),
});

describe('prompt templates', () => {
  it("default: Reason-RFT's question wording, with (number) for counting", () => {
    expect(reasonRftPromptTemplate(task('counting')).user).toBe(
      'How many cubes are there? Output the thinking process in <think> </think> and final answer (number) in <answer> </answer> tags.',
    );
    expect(reasonRftPromptTemplate(task('counting')).system).toMatch(
      /<think> reasoning here <\/think><answer> answer here <\/answer>$/,
    );
  });

  it('lists multiple-choice options as A. / B. lines; spatial gets the function list as its system text', () => {
    expect(reasonRftPromptTemplate(task('structure', ['3', '4'])).user).toBe(
      'How many cubes are there?\nA. 3\nB. 4 Output the thinking process in <think> </think> and final answer in <answer> </answer> tags.',
    );
    expect(reasonRftPromptTemplate(task('spatial')).system).toContain('change_position (front, behind');
  });

  it('config templates by family, then the config `default`, then the built-ins; a system text overrides every family', () => {
    const template = createPromptTemplate({
      system: 'Be brief.',
      templates: { counting: 'Q: {question}', default: '{question}{choices}?' },
    });
    expect(template(task('counting'))).toMatchObject({
      system: 'Be brief.',
      user: 'Q: How many cubes are there?',
    });
    // The config's `default` applies to every family it does not name, built-in ones included.
    expect(template(task('structure', ['x'])).user).toBe('How many cubes are there?\nA. x?');
    expect(template(task('charts')).user).toBe('How many cubes are there??');
  });

  it('a template without {question} is a config error at its path', async () => {
    const { raw, source } = parseConfigText('prompt:\n  templates:\n    counting: Count!\n', 'p.yaml');
    await expect(resolveConfig(raw, { builtins: testBuiltins, source })).rejects.toThrow(
      'p.yaml:3:15: prompt.templates.counting: a template must contain {question}',
    );
  });
});

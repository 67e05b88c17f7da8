import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  type ConfigIssue,
  loadConfig,
  parseConfigText,
  resolveConfig,
  stepSettings,
  stringifyConfig,
} from '../src/index.js';
import { testBuiltins } from './fixtures/builtins.js';

const fixtures = join(import.meta.dirname, 'fixtures');
const scratch = mkdtempSync(join(tmpdir(), 'ekipl-config-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function issuesOf(text: string, file = 'config.yaml'): Promise<ConfigIssue[]> {
  try {
    const { raw, source } = parseConfigText(text, file);
    await resolveConfig(raw, { builtins: testBuiltins, source, configDirectory: fixtures });
  } catch (error) {
    if (ConfigError.isInstance(error)) return [...error.issues];
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('config defaults', () => {
  it('an empty mapping resolves to the documented defaults, plugin options included', async () => {
    const { raw, source } = parseConfigText('{}', 'empty.yaml');
    const resolved = await resolveConfig(raw, { builtins: testBuiltins, source, configDirectory: fixtures });
    expect(resolved.config.run).toEqual({
      name: 'ekipl',
      seed: 1,
      steps: 200,
      batchSize: 4,
      groupSize: 8,
      evalEvery: 25,
      evalLimit: 50,
      checkpointEvery: 50,
      keepCheckpoints: 2,
      reuseWarmStart: true,
      outputDir: 'runs',
    });
    expect(resolved.config.objective).toMatchObject({
      clip: 0.2,
      beta: 0.04,
      learningRate: 1e-6,
      temperature: 0.9,
    });
    expect(resolved.config.dataset).toEqual({ use: 'synthetic-counting', options: { imageSize: 64 } });
    expect(resolved.config.selector).toEqual({ use: 'top-k', options: { ties: 'random' } });
    expect(resolved.config.reward.map((entry) => entry.use)).toEqual(['format', 'accuracy']);
    expect(resolved.config.auxiliary).toEqual([]);
    expect(resolved.config.estimator).toEqual({ use: 'uncorrected', options: {} });
    // External texts: KL on the policy's samples only, negative advantages masked.
    expect(stepSettings(resolved.config).offPolicy).toEqual({ klOn: 'policy', negatives: 'mask' });
    expect(stringifyConfig(resolved.config)).toContain('groupSize: 8');
  });

  it('step settings: clipHigh falls back to clip; sampling comes from the objective section', async () => {
    const { raw } = parseConfigText(
      'objective: { clip: 0.1, temperature: 0.7, aggregation: token-mean }',
      'c.yaml',
    );
    const resolved = await resolveConfig(raw, { builtins: testBuiltins, configDirectory: fixtures });
    const settings = stepSettings(resolved.config);
    expect(settings.objective).toMatchObject({ clipLow: 0.1, clipHigh: 0.1, aggregation: 'token-mean' });
    expect(settings.sampling).toEqual({ temperature: 0.7, topP: 0.9, topK: 50, maxTokens: 512 });
    expect(settings.advantage).toEqual({ baseline: 'selected', scaleByStd: true });
  });

  it('auxiliary samplers get G_k = groupSize by default and distinct names', async () => {
    const { raw } = parseConfigText(
      'run: { groupSize: 4 }\nauxiliary:\n  - { use: oracle }\n  - { use: oracle, name: verbose-oracle, samples: 2, options: { style: verbose } }',
      'c.yaml',
    );
    const resolved = await resolveConfig(raw, { builtins: testBuiltins, configDirectory: fixtures });
    expect(
      resolved.plugins.auxiliary.map((entry) => [entry.name, entry.samples, entry.options['style']]),
    ).toEqual([
      ['oracle', 4, 'terse'],
      ['verbose-oracle', 2, 'verbose'],
    ]);
  });
});

describe('config errors name the file, line, column and path', () => {
  it('reports a wrong type, an unknown key, an unknown plugin and a wrong kind together', async () => {
    const text = [
      'run:', //                                  1
      '  steps: ten', //                          2
      'auxiliary:', //                            3
      '  - use: oracle', //                       4
      '    name: second', //                      5
      '    options:', //                          6
      '      accuracy: high', //                  7
      '      stlye: terse', //                    8
      'objective:', //                            9
      '  clipp: 0.3', //                          10
      'selector:', //                             11
      '  use: top-kk', //                         12
      'estimator:', //                            13
      '  use: top-k', //                          14
    ].join('\n');
    const issues = await issuesOf(text, 'bad.yaml');
    const byPath = Object.fromEntries(issues.map((issue) => [issue.path, issue]));
    expect(byPath['run.steps']).toEqual({
      path: 'run.steps',
      message: 'expected number, got string "ten"',
      file: 'bad.yaml',
      line: 2,
      column: 10,
    });
    expect(byPath['objective.clipp']).toMatchObject({
      message: 'unknown key "clipp" (did you mean "clip"?)',
      line: 10,
      column: 3,
    });
    expect(byPath['auxiliary[0].options.accuracy']).toMatchObject({
      message: 'expected number, got string "high"',
      line: 7,
    });
    expect(byPath['auxiliary[0].options.stlye']).toMatchObject({
      message: 'unknown key "stlye" (did you mean "style"?)',
      line: 8,
    });
    expect(byPath['selector.use']?.message).toMatch(
      /^unknown plugin "top-kk" \(did you mean "top-k"\?\): not a built-in/,
    );
    expect(byPath['selector.use']?.line).toBe(12);
    expect(byPath['estimator.use']).toMatchObject({
      message: 'plugin "top-k" is a selector, but this section needs an estimator',
      line: 14,
      column: 8,
    });
    expect(issues).toHaveLength(6);
  });

  it('formats each issue as file:line:column path: message', async () => {
    try {
      const { raw, source } = parseConfigText('run:\n  batchSize: 0\n', 'x.yaml');
      await resolveConfig(raw, { builtins: testBuiltins, source, configDirectory: fixtures });
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toBe('x.yaml:2:14: run.batchSize: must be > 0, got number 0');
    }
  });

  it('nested unknown keys of a plain z.object are rejected too', async () => {
    const issues = await issuesOf(
      'auxiliary:\n  - use: oracle\n    options:\n      prices: { input: 1, output: 2, cached: 3 }\n',
    );
    expect(issues).toEqual([
      expect.objectContaining({
        path: 'auxiliary[0].options.prices.cached',
        message: 'unknown key "cached" (allowed: input, output)',
      }),
    ]);
  });

  it('cross-field checks say the values and the fix', async () => {
    const issues = await issuesOf('run: { groupSize: 1 }\nobjective: { clip: 0.2, clipHigh: 0.1 }\n');
    expect(issues.map((issue) => `${issue.path}: ${issue.message}`)).toEqual([
      'run.groupSize: must be >= 2, got 1: a group of one has no relative advantage',
      'objective.clipHigh: clipHigh (0.1) is below clip (0.2); clip-higher needs clipHigh >= clip, or leave it out',
    ]);
  });

  it('enum values and missing required fields', async () => {
    const issues = await issuesOf('objective: { aggregation: mean }\nselector: { options: {} }\n');
    expect(issues.map((issue) => `${issue.path}: ${issue.message}`)).toEqual([
      'objective.aggregation: expected one of "sequence-mean" | "token-mean" | "fixed-length", got string "mean"',
      'selector.use: required (expected string)',
    ]);
  });

  it('duplicate sampler names and the reserved name policy', async () => {
    const issues = await issuesOf(
      'auxiliary: [ { use: oracle }, { use: oracle }, { use: oracle, name: policy } ]\n',
    );
    expect(issues.map((issue) => issue.message)).toEqual([
      'auxiliary[0] and auxiliary[1] are both named "oracle"; give each of the auxiliary samplers a distinct `name`',
      '"policy" is the policy\'s own source name; choose another name',
    ]);
  });

  it('YAML syntax errors and duplicate keys carry their position', async () => {
    const syntax = await issuesOf('run:\n  steps: [1, 2\n');
    expect(syntax[0]).toMatchObject({ file: 'config.yaml', line: 3 });
    const duplicate = await issuesOf('run: {}\nrun: {}\n');
    expect(duplicate[0]?.message).toMatch(/unique/i);
    expect(duplicate[0]?.line).toBe(2);
  });

  it('a file that is not a mapping, and a missing file', async () => {
    expect((await issuesOf('- a\n- b\n'))[0]?.message).toMatch(/must be a mapping of sections/);
    await expect(loadConfig(join(scratch, 'missing.yaml'), { builtins: testBuiltins })).rejects.toThrow(
      /missing\.yaml: file not found/,
    );
  });

  it('JSON configs are located by line too', async () => {
    const issues = await issuesOf('{\n  "run": {\n    "steps": "ten"\n  }\n}', 'c.json');
    expect(issues[0]).toMatchObject({ path: 'run.steps', file: 'c.json', line: 3 });
  });
});

describe('plugin loading', () => {
  it('a relative .mjs path, resolved from the config folder, with its own zod copy', async () => {
    const file = join(fixtures, 'relative.yaml');
    writeFileSync(join(scratch, 'placeholder'), '');
    const { raw, source } = parseConfigText(
      'selector:\n  use: ./selector-plugin.mjs\n  options: { offset: 1 }\n',
      file,
    );
    const resolved = await resolveConfig(raw, { builtins: testBuiltins, source, configDirectory: fixtures });
    expect(resolved.plugins.selector.name).toBe('first-g');
    expect(resolved.plugins.selector.options).toEqual({ offset: 1 });
  });

  it('path errors: missing file, TypeScript file, module without a plugin, module that fails to import', async () => {
    const messages = (
      await issuesOf(
        [
          'auxiliary:',
          '  - use: ./nope.mjs',
          '  - use: ./plugin.ts',
          '  - use: ./not-a-plugin.mjs',
          '  - use: ./broken-plugin.mjs',
        ].join('\n'),
      )
    ).map((issue) => `${issue.path}: ${issue.message}`);
    expect(messages[0]).toMatch(/^auxiliary\[0\]\.use: plugin file not found: .*nope\.mjs/);
    expect(messages[1]).toMatch(
      /^auxiliary\[1\]\.use: plugin file .*plugin\.ts must be JavaScript .*compile the TypeScript first/,
    );
    expect(messages[2]).toMatch(
      /^auxiliary\[2\]\.use: .*not-a-plugin\.mjs exports no plugin: .*\(it exports: helper\)/,
    );
    expect(messages[3]).toMatch(
      /^auxiliary\[3\]\.use: plugin "\.\/broken-plugin\.mjs" failed to load from .*broken-plugin\.mjs: \S/,
    );
  });

  it('an npm package installed next to the config just works, and #name picks one of several', async () => {
    const project = join(scratch, 'project');
    const packageDirectory = join(project, 'node_modules', 'ekipl-plugin-pair');
    mkdirSync(join(packageDirectory, 'dist'), { recursive: true });
    writeFileSync(
      join(packageDirectory, 'package.json'),
      JSON.stringify({
        name: 'ekipl-plugin-pair',
        type: 'module',
        exports: { '.': { types: './x.d.ts', import: './dist/index.js' } },
      }),
    );
    const plugin = (name: string) =>
      `{ specificationVersion: 'v1', kind: 'reward', name: '${name}', options: { safeParse: (value) => ({ success: true, data: value }) }, create: () => ({}) }`;
    writeFileSync(
      join(packageDirectory, 'dist', 'index.js'),
      `export const a = ${plugin('a')};\nexport const b = ${plugin('b')};\n`,
    );
    mkdirSync(join(project, 'configs'), { recursive: true });
    const configFile = join(project, 'configs', 'run.yaml');
    writeFileSync(configFile, 'reward:\n  - use: ekipl-plugin-pair#b\n  - use: ekipl-plugin-pair\n');
    const error = await loadConfig(configFile, { builtins: testBuiltins }).catch((caught: unknown) => caught);
    expect(ConfigError.isInstance(error)).toBe(true);
    const issues = (error as ConfigError).issues;
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: 'reward[1].use', line: 3 });
    expect(issues[0]?.message).toMatch(
      /exports several plugins \(a, b\); write "ekipl-plugin-pair#<name>" to pick one/,
    );

    writeFileSync(configFile, 'reward:\n  - use: ekipl-plugin-pair#b\n');
    const resolved = await loadConfig(configFile, { builtins: testBuiltins });
    expect(resolved.plugins.reward[0]?.name).toBe('b');
    expect(resolved.configDirectory).toBe(join(project, 'configs'));
  });

  it('a package folder by path, file#export and package#export, each error naming the real problem', async () => {
    const folder = join(scratch, 'ekipl-plugin-folder');
    mkdirSync(join(folder, 'dist'), { recursive: true });
    writeFileSync(
      join(folder, 'package.json'),
      JSON.stringify({ name: 'ekipl-plugin-folder', type: 'module', exports: { '.': './dist/index.js' } }),
    );
    const plugin = (name: string) =>
      `{ specificationVersion: 'v1', kind: 'reward', name: '${name}', options: { safeParse: (value) => ({ success: true, data: value }) }, create: () => ({}) }`;
    writeFileSync(
      join(folder, 'dist', 'index.js'),
      `export default ${plugin('from-folder')};\nexport const extra = ${plugin('extra')};\n`,
    );
    const configFile = join(scratch, 'folder.yaml');
    writeFileSync(
      configFile,
      'reward:\n  - use: ./ekipl-plugin-folder\n  - use: ./ekipl-plugin-folder#extra\n  - { use: ./ekipl-plugin-folder/dist/index.js#extra, name: again }\n',
    );
    const resolved = await loadConfig(configFile, { builtins: testBuiltins });
    expect(resolved.plugins.reward.map((entry) => entry.name)).toEqual(['from-folder', 'extra', 'again']);

    writeFileSync(
      configFile,
      [
        'reward:',
        '  - use: ./ekipl-plugin-folder/dist/index.js#missing',
        '  - use: ./ekipl-plugin-folder#missing',
        '  - use: ./empty-folder',
        '  - use: ./unbuilt',
      ].join('\n'),
    );
    mkdirSync(join(scratch, 'empty-folder'), { recursive: true });
    mkdirSync(join(scratch, 'unbuilt'), { recursive: true });
    writeFileSync(
      join(scratch, 'unbuilt', 'package.json'),
      JSON.stringify({ name: 'unbuilt', main: 'dist/index.js' }),
    );
    const error = await loadConfig(configFile, { builtins: testBuiltins }).catch((caught: unknown) => caught);
    const messages = (error as ConfigError).issues.map((issue) => issue.message);
    expect(messages[0]).toMatch(/dist\/index\.js has no plugin "missing" \(it exports: default, extra\)/);
    expect(messages[1]).toMatch(/dist\/index\.js has no plugin "missing" \(it exports: default, extra\)/);
    expect(messages[2]).toMatch(
      /empty-folder has no package\.json and no index\.js: point use: at the plugin's \.js file/,
    );
    expect(messages[3]).toMatch(
      /unbuilt: its entry file .*unbuilt\/dist\/index\.js does not exist; build the package first/,
    );
  });

  it('an unknown name that is neither built-in nor installed lists the built-ins of that kind', async () => {
    const issues = await issuesOf('estimator: { use: ekipl-estimator-missing }\n');
    expect(issues[0]?.message).toMatch(
      /unknown plugin "ekipl-estimator-missing": not a built-in \(built-in estimator plugins: uncorrected, snis, exact-is\), and no npm package "ekipl-estimator-missing" is installed in /,
    );
  });
});

describe('warmStart.teacher', () => {
  it('a sampler entry of its own: loaded and validated like an auxiliary entry, no RL experts needed', async () => {
    const { raw, source } = parseConfigText(
      'warmStart: { steps: 5, teacher: { use: oracle, name: teacher, options: { accuracy: 0.9 } } }\n',
      'config.yaml',
    );
    const resolved = await resolveConfig(raw, { builtins: testBuiltins, source, configDirectory: fixtures });
    expect(resolved.plugins.teacher?.name).toBe('teacher');
    expect(resolved.config.auxiliary).toEqual([]);
    expect(resolved.config.warmStart.teacher).toMatchObject({ use: 'oracle', name: 'teacher' });

    const issues = await issuesOf(
      'warmStart:\n  steps: 5\n  teacher: { use: oracle, options: { acuracy: 0.9 } }\n',
    );
    expect(issues.map((issue) => [issue.path, issue.line])).toEqual([
      ['warmStart.teacher.options.acuracy', 3],
    ]);
    expect((await issuesOf('warmStart: { steps: 5 }\n'))[0]?.message).toMatch(
      /needs a teacher: .*or give warmStart.teacher a sampler of its own/,
    );
  });
});

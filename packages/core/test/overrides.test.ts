import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyOverrides, ConfigError, loadConfig, stepSettings } from '../src/index.js';
import { testBuiltins } from './fixtures/builtins.js';

const scratch = mkdtempSync(join(tmpdir(), 'ekipl-overrides-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('applyOverrides (--set path=value)', () => {
  it('sets nested fields, list entries and whole sections from YAML values, leaving the input alone', () => {
    const raw = {
      objective: { learningRate: 1e-4 },
      auxiliary: [{ use: 'oracle', options: { accuracy: 0.9 } }],
    };
    const result = applyOverrides(raw, [
      'objective.learningRate=3e-4',
      'auxiliary[0].options.accuracy=0.5',
      'estimator={ use: snis }',
      'run.name=ablation-a',
    ]);
    expect(result).toEqual({
      objective: { learningRate: 3e-4 },
      auxiliary: [{ use: 'oracle', options: { accuracy: 0.5 } }],
      estimator: { use: 'snis' },
      run: { name: 'ablation-a' },
    });
    expect(raw.objective.learningRate).toBe(1e-4);
    expect(applyOverrides(raw, ['auxiliary=none'])).toMatchObject({ auxiliary: [] });
  });

  it('rejects a malformed override with a config error naming it', () => {
    expect(() => applyOverrides({}, ['objective.learningRate'])).toThrow(
      /--set objective.learningRate: expected path=value/,
    );
    expect(() => applyOverrides({ run: { seed: 1 } }, ['run.seed.x=2'])).toThrow(
      /run\.seed is 1, not a section/,
    );
    expect(() => applyOverrides({}, ['run..seed=2'])).toThrow(ConfigError);
    const twoExperts = { auxiliary: [{ use: 'oracle' }, { use: 'oracle' }] };
    expect(() => applyOverrides(twoExperts, ['auxiliary[5].options.accuracy=0.5'])).toThrow(
      '--set auxiliary[5].options.accuracy=0.5: auxiliary has 2 entries; index 5 is past its end (0-1 to change one, 2 to add one)',
    );
    expect(applyOverrides(twoExperts, ['auxiliary[2]={ use: oracle, name: third }'])).toMatchObject({
      auxiliary: [{ use: 'oracle' }, { use: 'oracle' }, { use: 'oracle', name: 'third' }],
    });
  });
});

describe('loadConfig with overrides', () => {
  it('validates an override like the file, and says an error came from --set', async () => {
    const file = join(scratch, 'run.yaml');
    writeFileSync(file, 'objective: { learningRate: 1.0e-4 }\n');
    const resolved = await loadConfig(file, {
      builtins: testBuiltins,
      overrides: ['objective.learningRate=3e-4'],
    });
    expect(stepSettings(resolved.config).objective.learningRate).toBe(3e-4);
    const error = await loadConfig(file, {
      builtins: testBuiltins,
      overrides: ['objective.learningRat=3e-4'],
    }).catch((caught: unknown) => caught);
    expect(ConfigError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(
      /objective.*learningRat.*\(from --set objective\.learningRat=\.\.\.\)/,
    );
    await expect(
      loadConfig(file, { builtins: testBuiltins, overrides: ['objective.learningRate=-1'] }),
    ).rejects.toThrow(/^objective\.learningRate: .*\(from --set objective\.learningRate=\.\.\.\)$/);
  });
});

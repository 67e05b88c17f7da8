import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { builtinPlugins, documentationFiles, fillGeneratedBlocks, staleDocumentation } from '../src/index.js';
import { schemaFields } from '../src/schema-fields.js';

const repositoryRoot = join(import.meta.dirname, '..', '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'ekipl-docs-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the generated config reference', () => {
  it('every committed generated block matches the schemas (run `npm run docs` after changing one)', async () => {
    const stale = await staleDocumentation(documentationFiles(repositoryRoot));
    expect(stale.map(({ file }) => relative(repositoryRoot, file))).toEqual([]);
  });

  it('a deliberately stale file is caught, and regenerating it fixes it', async () => {
    const committed = readFileSync(join(repositoryRoot, 'docs', 'config-reference.md'), 'utf8');
    const file = join(scratch, 'config-reference.md');
    // A default changed by hand in the file, not in the schema.
    const edited = committed.replace(
      '| `groupSize`       | integer      | `8`',
      '| `groupSize`       | integer      | `16`',
    );
    expect(edited).not.toBe(committed);
    writeFileSync(file, edited);
    const [stale] = await staleDocumentation([file]);
    expect(stale?.file).toBe(file);
    expect(stale?.expected).toBe(committed);
  });

  it('covers every section and every built-in plugin, and every field has a description', async () => {
    const reference = readFileSync(join(repositoryRoot, 'docs', 'config-reference.md'), 'utf8');
    for (const section of ['run', 'objective', 'prompt', 'warmStart'])
      expect(reference).toContain(`## \`${section}\``);
    for (const builtin of builtinPlugins) {
      expect(reference).toContain(`#### \`${builtin.name}\` (${builtin.packageName})`);
      const fields = schemaFields((await builtin.load()).options as never) ?? [];
      for (const field of fields) expect(field.description, `${builtin.name} ${field.path}`).toBeTruthy();
    }
    expect(reference).toContain('| `objective.offPolicyNegatives`'.replace('objective.', ''));
    expect(reference).toMatch(
      /\| `learningRate` +\| number > 0 +\| `0.000001` +\| The policy optimiser's learning rate/,
    );
  });

  it('an unknown block name is an error naming it', async () => {
    await expect(
      fillGeneratedBlocks('<!-- generated: options nope -->\n<!-- /generated -->'),
    ).rejects.toThrow('no built-in plugin "nope"');
    await expect(fillGeneratedBlocks('<!-- generated: tables -->\n<!-- /generated -->')).rejects.toThrow(
      'unknown generated block "tables"',
    );
  });
});

#!/usr/bin/env node
// Regenerates the blocks of the docs and READMEs that come from the zod schemas (the config
// reference, each plugin's options table). `--check` writes nothing and exits 1 when a file is stale.
// Needs the packages built: npm run build && npm run docs
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { documentationFiles, staleDocumentation, writeDocumentation } from '../apps/runner/dist/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
if (process.argv.includes('--check')) {
  const stale = await staleDocumentation(documentationFiles(root));
  for (const { file } of stale) console.error(`stale: ${relative(root, file)} (run npm run docs)`);
  process.exit(stale.length === 0 ? 0 : 1);
}
const written = await writeDocumentation(root);
console.log(written.length === 0 ? 'docs up to date' : `rewrote ${written.join(', ')}`);

#!/usr/bin/env node
// The `ekipl` command. A committed file (not dist/), so npm links it at install time even in a clone
// that has not been built yet; it runs the built CLI.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/bin.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('ekipl is not built yet: run `npm run build` in the repository first\n');
  process.exit(2);
}
await import(cli.href);

#!/usr/bin/env node
// Adds lockfile entries for platform-specific optional packages (other OSes' and CPUs' binaries of
// biome, rollup, turbo, esbuild...) that `npm install` left out because the registry it used did not
// serve them (a partial mirror, an offline cache). Without those entries `npm ci` refuses the lockfile ("Missing: ... from
// lock file"); with them, npm ci sees the os/cpu/libc fields, skips them as foreign and fetches nothing.
// Run after every `npm install` that changes package-lock.json: node scripts/complete-lockfile.mjs
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const lockPath = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
const packages = lock.packages;

/** os / cpu / libc from the registry, or from the package name when the registry has no manifest. */
function platformOf(name) {
  try {
    const text = execFileSync('npm', ['view', name, 'os', 'cpu', 'libc', '--json'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const fields = text.trim() === '' ? {} : JSON.parse(text);
    if (fields.os !== undefined) return fields;
  } catch {
    // fall through to the name
  }
  const os = ['android', 'darwin', 'freebsd', 'linux', 'win32', 'openbsd', 'netbsd', 'sunos', 'aix'].find(
    (candidate) => name.includes(candidate),
  );
  const cpu = ['arm64', 'x64', 'ia32', 'arm', 'loong64', 'ppc64', 'riscv64', 's390x'].find((candidate) =>
    name.includes(candidate),
  );
  if (os === undefined || cpu === undefined) throw new Error(`cannot tell the platform of ${name}`);
  return { os: [os], cpu: [cpu] };
}

let added = 0;
for (const entry of Object.values(packages)) {
  for (const [dependency, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${dependency}`;
    if (packages[key] !== undefined) continue;
    const platform = platformOf(dependency);
    packages[key] = {
      version,
      ...(entry.dev ? { dev: true } : {}),
      optional: true,
      ...(platform.os ? { os: platform.os } : {}),
      ...(platform.cpu ? { cpu: platform.cpu } : {}),
      ...(platform.libc ? { libc: platform.libc } : {}),
    };
    added++;
  }
}
writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} platform entries`);

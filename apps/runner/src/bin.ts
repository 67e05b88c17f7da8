#!/usr/bin/env node
import { type ArgsDef, type CommandDef, runMain } from 'citty';
import { main } from './main.js';
import { unknownFlags } from './unknown-flags.js';

// An option the command does not declare is an error (exit 2), not silently ignored.
const [name, ...rest] = process.argv.slice(2);
const subCommands = main.subCommands as Record<string, () => Promise<CommandDef<ArgsDef>>>;
if (name !== undefined && Object.hasOwn(subCommands, name)) {
  const command = await subCommands[name]!();
  const args = (typeof command.args === 'function' ? await command.args() : await command.args) ?? {};
  const unknown = unknownFlags(args, rest);
  if (unknown.length > 0) {
    for (const flag of unknown) {
      const joined = /^--?[\w-]+ /.test(flag)
        ? ': an option and its value in one argument; give them as two, or join them with ='
        : '';
      process.stderr.write(
        `ekipl ${name}: unknown option ${JSON.stringify(flag)}${joined} (ekipl ${name} --help lists them)\n`,
      );
    }
    process.exit(2);
  }
}
await runMain(main);

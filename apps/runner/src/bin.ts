#!/usr/bin/env node
import { type ArgsDef, type CommandDef, runMain } from 'citty';
import { main } from './main.js';
import { flagsWithoutValue, unknownFlags } from './unknown-flags.js';

// An option the command does not declare, or a string option without a value, is an error (exit 2), not
// silently ignored or read as ''.
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
  const withoutValue = flagsWithoutValue(args, rest);
  if (withoutValue.length > 0) {
    for (const flag of withoutValue) process.stderr.write(`ekipl ${name}: ${flag} needs a value\n`);
    process.exit(2);
  }
}
await runMain(main);

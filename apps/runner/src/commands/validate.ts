import {
  type BuiltinPlugin,
  ConfigError,
  costEstimate,
  createComponents,
  disposeComponents,
  formatConfigIssue,
  loadConfig,
  Random,
  stringifyConfig,
} from '@ekipl/core';
import { defineCommand } from 'citty';
import { builtinPlugins } from '../builtin-plugins.js';
import { reportError } from '../report-error.js';
import { setFlags } from '../set-flags.js';

export interface CommandOutcome {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * `ekipl validate -c FILE`: exit 0 with the resolved config (every default filled in) on stdout, or
 * exit 2 with one line per problem (`file:line:column path: message`) on stderr. The plugins are
 * created (and disposed), so what only creating them shows is caught here too.
 */
export async function validateConfigFile(
  file: string,
  builtins: readonly BuiltinPlugin[] = builtinPlugins,
  overrides: readonly string[] = [],
): Promise<CommandOutcome> {
  try {
    const resolved = await loadConfig(file, { builtins, overrides });
    // Every plugin is created too (a missing checkpoint or API key, an instance without its kind's
    // methods), so a config that validates does not fail at step 1 for a reason seen here.
    const components = await createComponents(resolved, Random.fromSeed(resolved.config.run.seed));
    const cost = costEstimate(components, resolved.config, resolved.config.run.steps);
    await disposeComponents(components);
    return {
      exitCode: 0,
      stdout: stringifyConfig(resolved.config),
      stderr: cost.map((line) => `${line}\n`).join(''),
    };
  } catch (error) {
    if (ConfigError.isInstance(error)) {
      const count = error.issues.length;
      const lines = error.issues.map((issue) => formatConfigIssue(issue));
      return {
        exitCode: 2,
        stdout: '',
        stderr: `${file}: ${count} ${count === 1 ? 'problem' : 'problems'}\n${lines.join('\n')}\n`,
      };
    }
    let stderr = '';
    const exitCode = reportError(error, (text) => {
      stderr += text;
    });
    return { exitCode, stdout: '', stderr };
  }
}

export default defineCommand({
  meta: {
    name: 'validate',
    description: 'Check a config and print it resolved, with every default filled in',
  },
  args: {
    config: { type: 'string', alias: 'c', description: 'Config file (YAML or JSON)', required: true },
    set: { type: 'string', description: 'Override a config field, path=value (repeatable)' },
  },
  async run({ args, rawArgs }) {
    const outcome = await validateConfigFile(args.config, builtinPlugins, setFlags(rawArgs));
    process.stdout.write(outcome.stdout);
    process.stderr.write(outcome.stderr);
    process.exitCode = outcome.exitCode;
  },
});

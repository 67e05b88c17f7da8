import { type BuiltinPlugin, loadConfig, type ResolvedConfig } from '@ekipl/core';
import { builtinPlugins } from './builtin-plugins.js';

/** A command's config: the file with its `--set` overrides, against the built-ins unless others are given. */
export function loadCommandConfig(options: {
  config: string;
  overrides?: readonly string[] | undefined;
  builtins?: readonly BuiltinPlugin[] | undefined;
}): Promise<ResolvedConfig> {
  return loadConfig(options.config, {
    builtins: options.builtins ?? builtinPlugins,
    ...(options.overrides === undefined ? {} : { overrides: options.overrides }),
  });
}

import type { BuiltinPlugin } from '@ekipl/core';

/**
 * Plugins shipped with ekipl, addressed in configs by short name. Each entry imports its package
 * lazily, so a command loads only the plugins its config names.
 */
export const builtinPlugins: readonly BuiltinPlugin[] = [];

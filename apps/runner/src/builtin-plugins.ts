import type { AnyPluginDefinition, BuiltinPlugin, PluginKind } from '@ekipl/core';

/** A built-in entry: its package is imported only when a config names it (or `ekipl plugins` lists it). */
function builtin(
  name: string,
  kind: PluginKind,
  packageName: string,
  load: () => Promise<AnyPluginDefinition>,
): BuiltinPlugin {
  return { name, kind, packageName, load };
}

const estimators = () => import('@ekipl/estimators');
const selectors = () => import('@ekipl/selectors');
const rewards = () => import('@ekipl/rewards');
const datasets = () => import('@ekipl/datasets');

/** Plugins shipped with ekipl, addressed in configs by short name. */
export const builtinPlugins: readonly BuiltinPlugin[] = [
  builtin('uncorrected', 'estimator', '@ekipl/estimators', async () => (await estimators()).uncorrected),
  builtin('exact-is', 'estimator', '@ekipl/estimators', async () => (await estimators()).exactIs),
  builtin('snis', 'estimator', '@ekipl/estimators', async () => (await estimators()).snis),
  builtin('top-k', 'selector', '@ekipl/selectors', async () => (await selectors()).topK),
  builtin('replace-worst', 'selector', '@ekipl/selectors', async () => (await selectors()).replaceWorst),
  builtin('quota', 'selector', '@ekipl/selectors', async () => (await selectors()).quota),
  builtin('ampo', 'selector', '@ekipl/selectors', async () => (await selectors()).ampo),
  builtin('format', 'reward', '@ekipl/rewards', async () => (await rewards()).format),
  builtin('accuracy', 'reward', '@ekipl/rewards', async () => (await rewards()).accuracy),
  builtin('perception', 'reward', '@ekipl/rewards', async () => (await rewards()).perception),
  builtin(
    'synthetic-counting',
    'dataset',
    '@ekipl/datasets',
    async () => (await datasets()).syntheticCounting,
  ),
  builtin(
    'synthetic-structure',
    'dataset',
    '@ekipl/datasets',
    async () => (await datasets()).syntheticStructure,
  ),
  builtin('synthetic-spatial', 'dataset', '@ekipl/datasets', async () => (await datasets()).syntheticSpatial),
  builtin('reason-rft', 'dataset', '@ekipl/datasets', async () => (await datasets()).reasonRft),
  builtin('tfjs', 'policy', '@ekipl/backend-tfjs', async () => (await import('@ekipl/backend-tfjs')).tfjs),
  builtin('onnx', 'policy', '@ekipl/backend-onnx', async () => (await import('@ekipl/backend-onnx')).onnx),
  builtin('oracle', 'auxiliary', '@ekipl/aux-oracle', async () => (await import('@ekipl/aux-oracle')).oracle),
  builtin('local', 'auxiliary', '@ekipl/aux-local', async () => (await import('@ekipl/aux-local')).local),
  builtin(
    'openai',
    'auxiliary',
    '@ekipl/provider-openai',
    async () => (await import('@ekipl/provider-openai')).openai,
  ),
  builtin(
    'gemini',
    'auxiliary',
    '@ekipl/provider-gemini',
    async () => (await import('@ekipl/provider-gemini')).gemini,
  ),
  builtin(
    'anthropic',
    'auxiliary',
    '@ekipl/provider-anthropic',
    async () => (await import('@ekipl/provider-anthropic')).anthropic,
  ),
  builtin('replay', 'auxiliary', '@ekipl/aux-replay', async () => (await import('@ekipl/aux-replay')).replay),
];

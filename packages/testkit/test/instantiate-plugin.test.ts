import { ConfigError, definePlugin, z } from '@ekipl/core';
import { describe, expect, it } from 'vitest';
import { estimatorConformance, instantiatePlugin } from '../src/index.js';

const halving = definePlugin({
  kind: 'estimator',
  name: 'halving',
  options: z.strictObject({ factor: z.number().positive().default(0.5) }),
  create: (options, context) => {
    if (options.factor > 1) context.warn(`factor ${options.factor} > 1 inflates every weight`);
    return {
      specificationVersion: 'v1',
      name: context.name,
      weights: (group) => {
        const weights = group.actions.map(() => options.factor);
        const ess = weights.length;
        return {
          weights,
          diagnostics: {
            ess_mean: ess,
            ess_min: ess,
            weight_mean: options.factor,
            weight_p95: options.factor,
            weight_max: options.factor,
            log_weight_range: 0,
            fallbacks_own: 0,
            fallbacks_cross: 0,
          },
        };
      },
    };
  },
});

describe('instantiatePlugin', () => {
  it('validates the options as a config would, fills defaults and hands the instance to a suite', async () => {
    const { instance, options, warnings } = await instantiatePlugin(halving);
    expect(options).toEqual({ factor: 0.5 });
    expect(warnings).toEqual([]);
    expect(instance.name).toBe('halving');
    expect(instance.weights({ mixture: { policy: 1 }, actions: [] }).weights).toEqual([]);
    await estimatorConformance(instance);
  });

  it("names the instance, collects the plugin's warnings, and rejects bad options with a ConfigError", async () => {
    const { instance, warnings } = await instantiatePlugin(halving, { factor: 2 }, { name: 'double' });
    expect(instance.name).toBe('double');
    expect(warnings).toEqual(['factor 2 > 1 inflates every weight']);
    const error = await instantiatePlugin(halving, { factr: 1, factor: -1 }).catch(
      (caught: unknown) => caught,
    );
    expect(ConfigError.isInstance(error)).toBe(true);
    expect((error as ConfigError).issues.map((issue) => issue.path).sort()).toEqual([
      'options.factor',
      'options.factr',
    ]);
  });
});

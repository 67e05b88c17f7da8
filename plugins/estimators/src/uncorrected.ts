import { definePlugin, estimatorDiagnostics, specificationVersion, z } from '@ekipl/core';

/** w_i = 1: every action treated as on-policy (pi_theta / pi_old). Ablation (A) of Appendix A.7. */
export const uncorrected = definePlugin({
  kind: 'estimator',
  name: 'uncorrected',
  description: 'w = 1 for every action (no off-policy correction)',
  options: z.strictObject({}),
  create: (_, context) => ({
    specificationVersion,
    name: context.name,
    weights(group) {
      const weights = group.actions.map(() => 1);
      return {
        weights,
        diagnostics: estimatorDiagnostics(
          weights,
          weights.map(() => 0),
          { own: 0, cross: 0 },
        ),
      };
    },
  }),
});

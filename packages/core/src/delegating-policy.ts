import type { PolicyBackend } from './contracts/policy-backend.js';
import { EkiplError } from './errors/ekipl-error.js';

/** A trainer with other backends in its roles: `rollout:` (its samples) and `reference:` (KL anchor). */
export interface DelegatingPolicy extends PolicyBackend {
  /** Seconds spent handing the trainer's weights to the other backends since the last call. */
  takeSyncSeconds(): number;
}

/**
 * The policy a run trains, with other backends in its roles; everything else is the trainer's.
 *
 * `rollout` generates its samples: after every update it is stale, and the next `generate` first
 * hands it the trainer's model (`snapshot` -> `restore`), so it always samples from the weights being
 * trained and a warm start costs no syncs; until the next update it also scores under them.
 *
 * `reference` scores the frozen starting weights, the KL anchor: it takes over the trainer's
 * reference weights (`snapshot('reference')`) at the first reference scoring, which in a run comes
 * before any update, and again after the trainer loads a checkpoint (a resumed run's anchor is the
 * one it started from, stored in the checkpoint).
 */
export function delegatingPolicy(
  trainer: PolicyBackend,
  roles: { rollout?: PolicyBackend | undefined; reference?: PolicyBackend | undefined },
): DelegatingPolicy {
  for (const [role, backend] of Object.entries(roles)) {
    if (backend === undefined) continue;
    if (trainer.snapshot === undefined || backend.restore === undefined) {
      throw new EkiplError(
        `${role}: ${trainer.snapshot === undefined ? `policy "${trainer.name}" cannot hand over its model (no snapshot)` : `"${backend.name}" cannot take over a model (no restore)`}`,
      );
    }
  }
  const { rollout, reference } = roles;
  const snapshot = trainer.snapshot?.bind(trainer);
  let stale = true;
  let referenceTaken = false;
  let syncSeconds = 0;
  const timed = async (work: () => Promise<void>) => {
    const started = performance.now();
    await work();
    syncSeconds += (performance.now() - started) / 1000;
  };
  const updated = <A extends unknown[], R>(method: ((...args: A) => Promise<R>) | undefined, load = false) =>
    method === undefined
      ? undefined
      : async (...args: A): Promise<R> => {
          const result = await method.apply(trainer, args);
          stale = true;
          if (load) referenceTaken = false;
          return result;
        };
  const policy: DelegatingPolicy = {
    specificationVersion: trainer.specificationVersion,
    name: trainer.name,
    capabilities: trainer.capabilities,
    info: {
      ...trainer.info,
      ...(rollout === undefined ? {} : { rollout: rollout.name, ...prefixed('rollout', rollout.info) }),
      ...(reference === undefined
        ? {}
        : { reference: reference.name, ...prefixed('reference', reference.info) }),
    },
    async generate(prompts, n, sampling) {
      if (rollout === undefined) return trainer.generate(prompts, n, sampling);
      if (stale) {
        await timed(async () => rollout.restore!(await snapshot!()));
        stale = false;
      }
      return rollout.generate(prompts, n, sampling);
    },
    async score(requests, which, temperature) {
      if (which === 'current') {
        // While the rollout backend holds the trainer's weights (no update since its last sync), it
        // scores them too: the same model on the faster engine (old log-probs of external texts).
        return rollout !== undefined && !stale
          ? rollout.score(requests, 'current', temperature)
          : trainer.score(requests, 'current', temperature);
      }
      if (reference === undefined) return trainer.score(requests, which, temperature);
      if (!referenceTaken) {
        await timed(async () => reference.restore!(await snapshot!('reference')));
        referenceTaken = true;
      }
      return reference.score(requests, 'current', temperature);
    },
    encode: trainer.encode.bind(trainer),
    decode: trainer.decode.bind(trainer),
    takeSyncSeconds() {
      const seconds = syncSeconds;
      syncSeconds = 0;
      return seconds;
    },
    async dispose() {
      await Promise.all([trainer.dispose?.(), rollout?.dispose?.(), reference?.dispose?.()]);
    },
  };
  const optional = policy as unknown as Record<string, unknown>;
  if (trainer.completionRoom !== undefined) optional['completionRoom'] = trainer.completionRoom.bind(trainer);
  if (trainer.objectiveGradient !== undefined) {
    optional['objectiveGradient'] = trainer.objectiveGradient.bind(trainer);
  }
  if (trainer.save !== undefined) optional['save'] = trainer.save.bind(trainer);
  if (trainer.resetOptimizer !== undefined) optional['resetOptimizer'] = trainer.resetOptimizer.bind(trainer);
  if (trainer.snapshot !== undefined) optional['snapshot'] = snapshot;
  optional['trainStep'] = updated(trainer.trainStep);
  optional['supervisedStep'] = updated(trainer.supervisedStep);
  optional['load'] = updated(trainer.load, true);
  for (const key of ['trainStep', 'supervisedStep', 'load'])
    if (optional[key] === undefined) delete optional[key];
  return policy;
}

function prefixed(role: string, info: Readonly<Record<string, string | number | boolean>> | undefined) {
  return Object.fromEntries(Object.entries(info ?? {}).map(([key, value]) => [`${role}_${key}`, value]));
}

import type { PolicyBackend } from './contracts/policy-backend.js';
import { EkiplError } from './errors/ekipl-error.js';

/** A trainer whose samples another backend generates (the `rollout:` role). */
export interface RolloutPolicy extends PolicyBackend {
  /** Seconds spent handing the trainer's weights to the rollout backend since the last call. */
  takeSyncSeconds(): number;
}

/**
 * The policy a run trains, with generation done by `rollout` (a faster inference backend running the
 * same model). Everything but `generate` is the trainer's. After every update the rollout backend is
 * stale; the next `generate` first hands it the trainer's model (`snapshot` -> `restore`), so it
 * always samples from the weights being trained and a warm start costs no syncs.
 */
export function rolloutPolicy(trainer: PolicyBackend, rollout: PolicyBackend): RolloutPolicy {
  if (trainer.snapshot === undefined || rollout.restore === undefined) {
    throw new EkiplError(
      `rollout: ${trainer.snapshot === undefined ? `policy "${trainer.name}" cannot hand over its model (no snapshot)` : `"${rollout.name}" cannot take over a model (no restore)`}`,
    );
  }
  const snapshot = trainer.snapshot.bind(trainer);
  const restore = rollout.restore.bind(rollout);
  let stale = true;
  let syncSeconds = 0;
  const updated = <A extends unknown[], R>(method: ((...args: A) => Promise<R>) | undefined) =>
    method === undefined
      ? undefined
      : async (...args: A): Promise<R> => {
          const result = await method.apply(trainer, args);
          stale = true;
          return result;
        };
  const policy: RolloutPolicy = {
    specificationVersion: trainer.specificationVersion,
    name: trainer.name,
    capabilities: trainer.capabilities,
    info: { ...trainer.info, rollout: rollout.name, ...prefixed(rollout.info) },
    async generate(prompts, n, sampling) {
      if (stale) {
        const started = performance.now();
        await restore(await snapshot());
        syncSeconds += (performance.now() - started) / 1000;
        stale = false;
      }
      return rollout.generate(prompts, n, sampling);
    },
    score: trainer.score.bind(trainer),
    encode: trainer.encode.bind(trainer),
    decode: trainer.decode.bind(trainer),
    takeSyncSeconds() {
      const seconds = syncSeconds;
      syncSeconds = 0;
      return seconds;
    },
    async dispose() {
      await Promise.all([trainer.dispose?.(), rollout.dispose?.()]);
    },
  };
  const optional = policy as unknown as Record<string, unknown>;
  if (trainer.completionRoom !== undefined) optional['completionRoom'] = trainer.completionRoom.bind(trainer);
  if (trainer.objectiveGradient !== undefined) {
    optional['objectiveGradient'] = trainer.objectiveGradient.bind(trainer);
  }
  if (trainer.save !== undefined) optional['save'] = trainer.save.bind(trainer);
  if (trainer.snapshot !== undefined) optional['snapshot'] = snapshot;
  optional['trainStep'] = updated(trainer.trainStep);
  optional['supervisedStep'] = updated(trainer.supervisedStep);
  optional['load'] = updated(trainer.load);
  for (const key of ['trainStep', 'supervisedStep', 'load'])
    if (optional[key] === undefined) delete optional[key];
  return policy;
}

function prefixed(info: Readonly<Record<string, string | number | boolean>> | undefined) {
  return Object.fromEntries(Object.entries(info ?? {}).map(([key, value]) => [`rollout_${key}`, value]));
}

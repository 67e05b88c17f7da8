/**
 * A local model as an expert: any policy backend (a stronger tiny-VLM checkpoint in tfjs or ONNX, or a
 * third-party backend) answers the prompts, and because its weights are here it also reports exact
 * densities: log q of each of its own answers as it drew them, and `score` for any other text. With it,
 * `exact-is` and `snis` run on the true mixture density, with no fallbacks (Appendix A).
 *
 * Exactness needs sampling without truncation (`topP: 1`, `topK: 0`, the defaults): `score` gives the
 * tempered density softmax(logits / T), which is the density the expert sampled from only when nothing
 * was cut. With truncation its own answers keep their exact density and other texts get the tempered one
 * (a warning says so).
 */
import {
  type Action,
  definePlugin,
  PluginError,
  type PolicyBackend,
  specificationVersion,
  z,
} from '@ekipl/core';

const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);

export const local = definePlugin({
  kind: 'auxiliary',
  name: 'local',
  description: 'a local model (any policy backend) as an expert that reports exact densities',
  options: z.strictObject({
    policy: z
      .strictObject({
        use: z.string().min(1).describe('A policy backend: `tfjs`, `onnx`, or a plugin package / file.'),
        options: z.record(z.string(), z.unknown()).default({}).describe("The backend's options."),
      })
      .describe(
        'The expert model, written like the `policy:` section: `{ use: tfjs, options: { checkpoint: ./expert/checkpoint, size: {...} } }`.',
      ),
    temperature: z.number().positive().default(1).describe('Sampling temperature T of the expert.'),
    topP: z
      .number()
      .gt(0)
      .max(1)
      .default(1)
      .describe('Nucleus mass; 1 (no truncation) keeps `score` exact for every text.'),
    topK: z
      .int()
      .min(0)
      .default(0)
      .describe('Keep the k most likely tokens; 0 (no truncation) keeps `score` exact for every text.'),
    maxTokens: z.int().positive().default(256).describe('Longest answer in tokens.'),
  }),
  async create(options, context) {
    if (context.createPlugin === undefined) {
      throw new PluginError(
        'local',
        'this host cannot create the expert model (PluginContext.createPlugin is missing): run it with ekipl >= 0.1',
      );
    }
    const model: PolicyBackend = await context.createPlugin('policy', options.policy, 'policy');
    if (options.topP < 1 || options.topK > 0) {
      context.warn(
        `topP ${options.topP} / topK ${options.topK} truncate its sampling: its own answers keep their exact density, other texts are scored by the tempered density (an approximation)`,
      );
    }
    return {
      specificationVersion,
      name: context.name,
      async sample(requests, n, { seed }) {
        const started = Date.now();
        const samples = await model.generate(
          requests.map((request) => request.prompt),
          n,
          {
            temperature: options.temperature,
            topP: options.topP,
            topK: options.topK,
            maxTokens: options.maxTokens,
            seed,
          },
        );
        const latencyMs = Date.now() - started;
        return {
          actions: samples.map((row) =>
            row.map(
              (sample): Action => ({
                source: context.name,
                text: sample.text,
                // The density it was drawn with: after truncation, when there was any.
                behaviorLogProb: sum(sample.samplingLogProbs ?? sample.logProbs),
                cost: { usd: 0 },
                latencyMs,
              }),
            ),
          ),
        };
      },
      async score(prompt, text) {
        const tokens = model.encode(text);
        const room = (await model.completionRoom?.(prompt)) ?? Number.POSITIVE_INFINITY;
        // A text longer than the expert can write has density 0 under it.
        if (tokens.length > Math.min(room, options.maxTokens)) return Number.NEGATIVE_INFINITY;
        const [logProbs] = await model.score([{ prompt, tokens }], 'current', options.temperature);
        return sum(logProbs!);
      },
      async dispose() {
        await model.dispose?.();
      },
    };
  },
});

export default local;

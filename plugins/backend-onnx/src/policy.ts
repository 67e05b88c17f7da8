import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  EkiplError,
  type PolicyBackend,
  type PolicyCapabilities,
  type PolicySample,
  type PolicySnapshot,
  type Prompt,
  Random,
  type SamplingSettings,
  type ScoreRequest,
  type ScoreWeights,
  specificationVersion,
} from '@ekipl/core';
import {
  completionRoom,
  decodeTokens,
  encodeCompletion,
  type GroupLayout,
  groupByImages,
  ImagePatcher,
  patchDimension,
  promptInput,
  readCompletions,
  rotaryTables,
  type SequenceInput,
  sampleToken,
  specialTokens,
  splitRanges,
  type TinyVlmConfig,
} from '@ekipl/tiny-vlm';
import * as ort from 'onnxruntime-node';
import { exportTinyVlm, joinWeights, type WeightInput, type WeightPlacement } from './export.js';
import { Helper } from './helpers.js';

export type ExecutionProvider = 'cpu' | 'cuda';

/** The fewest sequences a thread is given a share of (below, a batch stays on fewer threads). */
const rowsPerThread = 16;

/** The model format this backend runs (what backend-tfjs's snapshots and checkpoints carry). */
const tinyVlmFormat = 'ekipl-tiny-vlm/1';

export interface OnnxPolicyOptions {
  name: string;
  config: TinyVlmConfig;
  /** The prompt's user text is cut to this many byte tokens (<bos> included), as backend-tfjs does. */
  maxPromptTokens: number;
  weights: ReadonlyMap<string, { data: Float32Array; shape: number[] }>;
  executionProvider?: ExecutionProvider;
  /** Intra-op threads on the CPU (default: ONNX Runtime's choice, the machine's cores). */
  threads?: number;
  /**
   * Where the weights live (default `auto`: stored in the graphs, the faster runs, until weights change
   * a second time, a trainer's sync, then fed as inputs, so that syncs cost nothing).
   */
  placement?: WeightPlacement | 'auto';
  /**
   * A model of the built-in architecture exported elsewhere (ONNX bytes, weights inside as
   * initializers, the inputs and outputs `exportTinyVlm` gives): run as it is, `weights` unused.
   * Without `scorer`, scoring reads the decoder's logits.
   */
  graphs?: { vision: Uint8Array; decoder: Uint8Array; scorer?: Uint8Array };
  /**
   * Threads that generate and score (default 1): the main thread and `workers - 1` worker threads,
   * each with its own sessions and a contiguous share of the prompts.
   */
  workers?: number;
}

type Weights = ReadonlyMap<string, { data: Float32Array; shape: number[] }>;
type Feeds = Record<string, ort.Tensor>;

/**
 * The tiny VLM on ONNX Runtime, for inference: generation (KV cache, finished rows leave the batch)
 * and teacher-forced scoring with backend-tfjs's exact semantics: the same layout, tempered log-probs,
 * top-k then top-p, and the same seeded draws (sample j of prompt p draws from split(p, j)), so given
 * the same weights it samples what backend-tfjs samples, up to float rounding near ties.
 */
export class OnnxPolicy implements PolicyBackend {
  readonly specificationVersion = specificationVersion;
  readonly name: string;
  readonly capabilities: PolicyCapabilities = { train: false };
  readonly info: Record<string, string | number | boolean>;
  private patcher: ImagePatcher;
  private headDimension: number;
  /** The model's rotary tables, [maxPositions, hd] each. */
  private rotaryTables: { cos: Float32Array; sin: Float32Array };
  private patchesPerImage: number;
  private sessions!: {
    vision: ort.InferenceSession;
    decoder: ort.InferenceSession;
    /**
     * The scoring graph (the log-softmax inside), its session started on the first score call so that
     * a policy that only generates never builds it; a user's own model has none (scored from logits).
     */
    scorer: { graph: Uint8Array; session?: Promise<ort.InferenceSession> } | undefined;
    visionWeights: WeightInput[];
    decoderWeights: WeightInput[];
    scorerWeights: WeightInput[];
  };
  /** The graphs must be (re)built: at creation, and when a restored model has another architecture. */
  private graphsStale = true;
  private weightFeeds = new Map<string, ort.Tensor>();
  /** The worker threads beside the main one (up to `workers` - 1), started on first need. */
  private helpers: Helper[] = [];
  /** The weights last set, what a helper starts from. */
  private latestWeights: Weights = new Map();
  /** Where the current graphs keep their weights. */
  private placement: WeightPlacement | undefined;

  /** Where the weights live now (`auto` moves them from the graphs to inputs at the first sync). */
  get weightPlacement(): WeightPlacement | undefined {
    return this.placement;
  }

  private constructor(private options: OnnxPolicyOptions) {
    this.name = options.name;
    const { config } = options;
    this.patcher = ImagePatcher.forModel(config);
    this.headDimension = config.dimension / config.heads;
    this.rotaryTables = rotaryTables(config);
    this.patchesPerImage = (config.imageSize / config.patchSize) ** 2;
    this.info = {
      engine: 'onnxruntime',
      executionProvider: options.executionProvider ?? 'cpu',
      placement: options.placement ?? 'auto',
    };
  }

  static async create(options: OnnxPolicyOptions): Promise<OnnxPolicy> {
    const policy = new OnnxPolicy(options);
    await policy.setOwnWeights(options.weights);
    return policy;
  }

  /**
   * New weights (a sync from the trainer): fed as inputs, or the sessions rebuilt around them. They
   * replace a user's own model (`graphs`) with the built-in export.
   */
  async setWeights(weights: Weights): Promise<void> {
    const { graphs: _, ...options } = this.options;
    this.options = options;
    await Promise.all([
      this.setOwnWeights(weights),
      ...this.helpers.map((helper) => helper.call('setWeights', weights)),
    ]);
  }

  private async setOwnWeights(weights: Weights): Promise<void> {
    this.latestWeights = weights;
    const given = this.options.graphs;
    // A user's own model at creation; a restored snapshot replaces it with graphs built here.
    const chosen = this.options.placement ?? 'auto';
    const placement: WeightPlacement =
      (given !== undefined && this.graphsStale) || (chosen === 'auto' && this.placement === undefined)
        ? 'initializers'
        : chosen === 'auto'
          ? 'inputs'
          : chosen;
    if (this.graphsStale || placement === 'initializers' || placement !== this.placement) {
      const exported =
        given !== undefined && this.graphsStale
          ? { ...given, visionWeights: [], decoderWeights: [], scorerWeights: [] }
          : exportTinyVlm(this.options.config, placement, weights);
      const sessionOptions = this.sessionOptions();
      const [vision, decoder] = await Promise.all([
        ort.InferenceSession.create(exported.vision, sessionOptions),
        ort.InferenceSession.create(exported.decoder, sessionOptions),
      ]).catch((error: unknown) => {
        throw providerError(this.options.executionProvider ?? 'cpu', error);
      });
      const cacheOutputs = Array.from({ length: this.options.config.layers }, (_, i) => [
        `key_${i}`,
        `value_${i}`,
      ]);
      const missing = ['logits', ...cacheOutputs.flat()].filter(
        (name) => !decoder.outputNames.includes(name),
      );
      if (missing.length > 0) {
        await Promise.all([vision.release(), decoder.release()]);
        throw new EkiplError(
          `${this.name}: the decoder model has no output ${missing.join(', ')}: it is not the built-in architecture as this version exports it (earlier versions returned the whole cache as present_k_i / present_v_i); write it again with writeOnnxModel`,
        );
      }
      await this.release();
      this.graphsStale = false;
      this.placement = placement;
      this.sessions = {
        vision,
        decoder,
        scorer: exported.scorer && { graph: exported.scorer },
        visionWeights: exported.visionWeights,
        decoderWeights: exported.decoderWeights,
        scorerWeights: exported.scorerWeights,
      };
    }
    if (placement === 'inputs') {
      this.weightFeeds = new Map(
        [...this.sessions.visionWeights, ...this.sessions.decoderWeights].map(({ name, parts }) => {
          const { data, shape } = joinWeights(parts.map((part) => weights.get(part)!));
          return [name, new ort.Tensor('float32', data, shape)];
        }),
      );
    }
  }

  /**
   * Becomes the model a trainer hands over (`ekipl-tiny-vlm/1`): its weights, and its architecture and
   * prompt limit when they differ from this one's (the graphs are then rebuilt).
   */
  async restore(snapshot: PolicySnapshot): Promise<void> {
    await Promise.all([
      this.restoreOwn(snapshot),
      ...this.helpers.map((helper) => helper.call('restore', snapshot)),
    ]);
  }

  private async restoreOwn(snapshot: PolicySnapshot): Promise<void> {
    if (snapshot.format !== tinyVlmFormat) {
      throw new EkiplError(`${this.name}: cannot run a ${snapshot.format} model (only ${tinyVlmFormat})`);
    }
    const settings = snapshot.settings as { config: TinyVlmConfig; maxPromptTokens: number };
    const sameModel =
      JSON.stringify(settings.config) === JSON.stringify(this.options.config) &&
      settings.maxPromptTokens === this.options.maxPromptTokens;
    // The snapshot's model replaces a user's own one.
    const { graphs: _, ...options } = this.options;
    this.options = options;
    if (!sameModel) {
      this.graphsStale = true;
      this.options = { ...this.options, config: settings.config, maxPromptTokens: settings.maxPromptTokens };
      const { config } = this.options;
      this.patcher = ImagePatcher.forModel(config);
      this.headDimension = config.dimension / config.heads;
      this.rotaryTables = rotaryTables(config);
      this.patchesPerImage = (config.imageSize / config.patchSize) ** 2;
    }
    await this.setOwnWeights(snapshot.tensors);
  }

  encode(text: string): number[] {
    return encodeCompletion(text);
  }

  decode(tokens: readonly number[]): string {
    return decodeTokens(tokens);
  }

  completionRoom(prompt: Prompt): number {
    return completionRoom(prompt, this.options.config, this.options.maxPromptTokens);
  }

  async generate(
    prompts: readonly Prompt[],
    n: number,
    sampling: SamplingSettings,
  ): Promise<PolicySample[][]> {
    return this.shared(prompts.length, n, ([start, end], helper) => {
      const share = prompts.slice(start, end);
      const indices = Array.from(share, (_, i) => start + i);
      return helper === undefined
        ? this.generateAt(share, indices, n, sampling)
        : helper.call<PolicySample[][]>('generateAt', share, indices, n, sampling);
    });
  }

  /**
   * `n` samples for each prompt, prompt `i` drawing as prompt `indices[i]` of a whole batch does (its
   * seeded streams), so that a share of a batch samples what the whole batch would.
   */
  async generateAt(
    prompts: readonly Prompt[],
    indices: readonly number[],
    n: number,
    sampling: SamplingSettings,
  ): Promise<PolicySample[][]> {
    const inputs = await Promise.all(prompts.map((prompt) => this.promptInput(prompt)));
    const results: PolicySample[][] = prompts.map(() => new Array<PolicySample>(n));
    const random = Random.fromSeed(sampling.seed);
    for (const group of groupByImages(inputs, this.patchesPerImage, this.options.config.maxPositions)) {
      const randoms = group.indices.flatMap((p) =>
        Array.from({ length: n }, (_, j) => random.split(indices[p]!, j)),
      );
      const samples = await this.generateGroup(group, n, sampling, randoms);
      group.indices.forEach((p, row) => {
        for (let j = 0; j < n; j++) results[p]![j] = samples[row * n + j]!;
      });
    }
    return results;
  }

  async score(
    requests: readonly ScoreRequest[],
    which: ScoreWeights,
    temperature: number,
  ): Promise<number[][]> {
    return this.shared(requests.length, 1, ([start, end], helper) =>
      helper === undefined
        ? this.scoreOwn(requests.slice(start, end), which, temperature)
        : helper.call<number[][]>('score', requests.slice(start, end), which, temperature),
    );
  }

  /**
   * A batch of `count` items (`rows` sequences each) in contiguous shares, one per thread, each
   * thread given at least `rowsPerThread` sequences (smaller shares cost more in messages than they
   * save: measured on the quickstart's 16). The helpers' calls are posted first, so that they compute
   * while this thread computes the first share; results in order.
   */
  private async shared<T>(
    count: number,
    rows: number,
    compute: (range: [number, number], helper: Helper | undefined) => Promise<T[]>,
  ): Promise<T[]> {
    const threads = Math.max(
      1,
      Math.min(this.options.workers ?? 1, Math.floor((count * rows) / rowsPerThread)),
    );
    if (count === 0) return [];
    this.startHelpers(threads - 1);
    const [own, ...others] = splitRanges(count, threads) as [[number, number], ...[number, number][]];
    const remote = Promise.all(others.map((range, i) => compute(range, this.helpers[i])));
    remote.catch(() => {}); // awaited below; an early failure must not go unhandled meanwhile
    const local = await compute(own, undefined);
    return [...local, ...(await remote).flat()];
  }

  /**
   * Worker threads up to `count` (at most `workers` - 1), started on first need with this policy's
   * current model, so that a policy whose batches are too small to share never starts one.
   */
  private startHelpers(count: number): void {
    const { workers = 1, ...setup } = this.options;
    while (this.helpers.length < Math.min(count, workers - 1)) {
      const name = `${this.name} worker ${this.helpers.length + 2} of ${workers}`;
      this.helpers.push(new Helper({ ...setup, weights: this.latestWeights }, name));
    }
  }

  private async scoreOwn(
    requests: readonly ScoreRequest[],
    which: ScoreWeights,
    temperature: number,
  ): Promise<number[][]> {
    if (which === 'reference') {
      throw new EkiplError(
        `${this.name}: ONNX policies hold one set of weights; score the reference on another backend`,
      );
    }
    const sequences = await Promise.all(
      requests.map(async (request) => ({
        ...(await this.promptInput(request.prompt)),
        completion: [...request.tokens],
      })),
    );
    const result: number[][] = new Array(requests.length);
    for (const group of groupByImages(sequences, this.patchesPerImage, this.options.config.maxPositions)) {
      const grid = await this.textLogProbs(group, temperature);
      readCompletions(group, grid).forEach((row, i) => {
        result[group.indices[i]!] = row;
      });
    }
    return result;
  }

  async dispose(): Promise<void> {
    await Promise.all([this.release(), ...this.helpers.map((helper) => helper.terminate())]);
  }

  private sessionOptions(): ort.InferenceSession.SessionOptions {
    return {
      executionProviders: [this.options.executionProvider ?? 'cpu'],
      graphOptimizationLevel: 'all',
      ...(this.options.threads === undefined ? {} : { intraOpNumThreads: this.options.threads }),
    };
  }

  private async release(): Promise<void> {
    if (this.sessions === undefined) return; // before the first graphs
    const scorer = this.sessions.scorer?.session;
    await Promise.all([
      this.sessions.vision.release(),
      this.sessions.decoder.release(),
      // A scorer that failed to start has nothing to release; its error was the score call's.
      scorer?.then(
        (session) => session.release(),
        () => undefined,
      ),
    ]);
  }

  private promptInput(prompt: Prompt): Promise<SequenceInput> {
    return promptInput(prompt, this.patcher, this.options.config, this.options.maxPromptTokens);
  }

  /** Each text token's tempered log-prob given those before it, [B, Lt - 1]. */
  private async textLogProbs(group: GroupLayout, temperature: number): Promise<Float32Array> {
    const { scorer, scorerWeights } = this.sessions;
    if (scorer !== undefined) {
      scorer.session ??= ort.InferenceSession.create(scorer.graph, this.sessionOptions()).then(
        async (session) => {
          if (session.outputNames.includes('target_log_probs')) return session;
          await session.release();
          throw new EkiplError(
            `${this.name}: the scorer model has no output target_log_probs: it is not the built-in architecture's scoring graph; write it again with writeOnnxModel, or leave scorer.onnx out`,
          );
        },
        (error: unknown) => {
          throw providerError(this.options.executionProvider ?? 'cpu', error);
        },
      );
      const length = group.imageTokens + group.textLength;
      const output = await (await scorer.session).run({
        ...this.feeds(scorerWeights),
        ...(await this.prefixInputs(group)),
        key_valid: new ort.Tensor('float32', group.keyValid, [group.batch, length]),
        temperature: new ort.Tensor('float32', Float32Array.of(temperature), []),
      });
      return output['target_log_probs']!.data as Float32Array;
    }
    const { logits } = await this.prefix(group);
    const vocabulary = this.options.config.vocabularySize;
    const length = group.imageTokens + group.textLength;
    const columns = group.textLength - 1;
    const grid = new Float32Array(group.batch * columns);
    for (let row = 0; row < group.batch; row++) {
      for (let t = 0; t < columns; t++) {
        const offset = (row * length + group.imageTokens + t) * vocabulary;
        const target = group.tokens[row * group.textLength + t + 1]!;
        grid[row * columns + t] = logSoftmaxAt(logits, offset, vocabulary, temperature, target);
      }
    }
    return grid;
  }

  /** The whole laid-out group through the model: logits [B, L, V] and every layer's keys / values. */
  private async prefix(group: GroupLayout): Promise<{ logits: Float32Array; cache: Float32Array[][] }> {
    const length = group.imageTokens + group.textLength;
    const mask = new Float32Array(group.batch * length * length);
    for (let row = 0; row < group.batch; row++) {
      for (let query = 0; query < length; query++) {
        for (let key = 0; key < length; key++) {
          const allowed = key <= query && group.keyValid[row * length + key] === 1;
          mask[(row * length + query) * length + key] = allowed ? 0 : -1e9;
        }
      }
    }
    const output = await this.sessions.decoder.run({
      ...this.feeds(this.sessions.decoderWeights),
      ...(await this.prefixInputs(group)),
      mask: new ort.Tensor('float32', mask, [group.batch, 1, length, length]),
    });
    return { logits: output['logits']!.data as Float32Array, cache: this.presentOf(output) };
  }

  /**
   * The inputs of a whole laid-out group but its mask (image tokens from the vision graph; no past):
   * the decoder takes the mask built here, the scorer builds it from the keys' validity.
   */
  private async prefixInputs(group: GroupLayout): Promise<Feeds> {
    const { config } = this.options;
    const length = group.imageTokens + group.textLength;
    let imageTokens: Float32Array = new Float32Array(0);
    if (group.patches !== undefined) {
      const output = await this.sessions.vision.run({
        ...this.feeds(this.sessions.visionWeights),
        patches: new ort.Tensor('float32', group.patches, [
          group.batch,
          group.images,
          this.patchesPerImage,
          patchDimension(config),
        ]),
        image_ids: new ort.Tensor(
          'int64',
          BigInt64Array.from({ length: group.images }, (_, i) => BigInt(i)),
          [group.images],
        ),
      });
      imageTokens = output['image_tokens']!.data as Float32Array;
    }
    const { cos, sin } = this.rotary(group.positions, group.batch, length);
    return {
      ...this.emptyPast(group.batch),
      image_tokens: new ort.Tensor('float32', imageTokens, [
        group.batch,
        group.imageTokens,
        config.dimension,
      ]),
      tokens: new ort.Tensor(
        'int64',
        BigInt64Array.from(group.tokens, (token) => BigInt(token)),
        [group.batch, group.textLength],
      ),
      cos,
      sin,
    };
  }

  /** `n` samples for each of the group's prompts, prompt-major: row r * n + j is sample j of prompt r. */
  private async generateGroup(
    group: GroupLayout,
    n: number,
    sampling: SamplingSettings,
    randoms: Random[],
  ): Promise<PolicySample[]> {
    const { config } = this.options;
    const vocabulary = config.vocabularySize;
    const batch = group.batch * n;
    const length = group.imageTokens + group.textLength;
    const maxTokens = Math.min(sampling.maxTokens, config.maxPositions - length);
    const samples = Array.from({ length: batch }, () => ({
      tokens: [] as number[],
      logProbs: [] as number[],
      samplingLogProbs: [] as number[],
      entropies: [] as number[],
    }));
    const prefix = await this.prefix(group);
    const promptOf = (row: number) => Math.floor(row / n);
    const { heads } = config;
    const hd = this.headDimension;
    // Each layer's keys / values of the generating rows, [rows, H, capacity, hd], filled up to
    // `filled`; the slots past it are masked. Each token's keys are written into their slot, so the
    // cache is copied only when rows finish (they leave the batch) or the capacity grows by `chunk`.
    const chunk = 32;
    let capacity = length + chunk;
    let filled = length;
    const prompts = Array.from({ length: batch }, (_, row) => promptOf(row));
    let cache = prefix.cache.map((layer) =>
      layer.map((values) => gatherRows(values, prompts, heads, hd, length, capacity, length)),
    );
    let keyValid = gatherRows(group.keyValid, prompts, 1, 1, length, capacity, length);
    let logits: Float32Array = new Float32Array(batch * vocabulary);
    for (let row = 0; row < batch; row++) {
      const offset = (promptOf(row) * length + length - 1) * vocabulary;
      logits.set(prefix.logits.subarray(offset, offset + vocabulary), row * vocabulary);
    }
    const firstPosition = (row: number) => group.imageTokens + group.promptLength[promptOf(row)]!;
    let active = Array.from({ length: batch }, (_, row) => row);
    for (let step = 0; step < maxTokens && active.length > 0; step++) {
      const next: number[] = [];
      const chosen: number[] = [];
      active.forEach((row, i) => {
        const drawn = sampleToken(
          logits.subarray(i * vocabulary, (i + 1) * vocabulary),
          sampling,
          randoms[row]!,
        );
        const sample = samples[row]!;
        sample.tokens.push(drawn.token);
        sample.logProbs.push(drawn.logProb);
        sample.samplingLogProbs.push(drawn.samplingLogProb);
        sample.entropies.push(drawn.entropy);
        if (drawn.token !== specialTokens.eos) {
          next.push(i);
          chosen.push(drawn.token);
        }
      });
      if (step === maxTokens - 1 || next.length === 0) break;
      // Keep the rows still generating (in cache order), with room for this token's keys. Finished
      // rows are squeezed out in place: a fresh buffer per finished row (megabytes each, at the
      // bench's shape) cost more in allocation and garbage collection than the decoding around it.
      const kept = next.length;
      if (filled === capacity) {
        const grown = capacity + chunk;
        cache = cache.map((layer) =>
          layer.map((values) => gatherRows(values, next, heads, hd, capacity, grown, filled)),
        );
        keyValid = gatherRows(keyValid, next, 1, 1, capacity, grown, filled);
        capacity = grown;
      } else if (kept !== active.length) {
        for (const layer of cache) {
          for (const values of layer) compactRows(values, next, heads, hd, capacity, filled);
        }
        compactRows(keyValid, next, 1, 1, capacity, filled);
      }
      active = next.map((i) => active[i]!);
      const positions = Int32Array.from(active, (row) => firstPosition(row) + step);
      const { cos, sin } = this.rotary(positions, kept, 1);
      const mask = new Float32Array(kept * (capacity + 1));
      for (let row = 0; row < kept; row++) {
        for (let slot = 0; slot < capacity; slot++) {
          if (keyValid[row * capacity + slot] !== 1) mask[row * (capacity + 1) + slot] = -1e9;
        }
      }
      const past: Feeds = {};
      const rowsOf = (values: Float32Array) => values.subarray(0, kept * heads * capacity * hd);
      cache.forEach(([k, v], i) => {
        past[`past_k_${i}`] = new ort.Tensor('float32', rowsOf(k!), [kept, heads, capacity, hd]);
        past[`past_v_${i}`] = new ort.Tensor('float32', rowsOf(v!), [kept, heads, capacity, hd]);
      });
      const output = await this.sessions.decoder.run({
        ...this.feeds(this.sessions.decoderWeights),
        ...past,
        image_tokens: new ort.Tensor('float32', new Float32Array(0), [kept, 0, config.dimension]),
        tokens: new ort.Tensor(
          'int64',
          BigInt64Array.from(chosen, (token) => BigInt(token)),
          [kept, 1],
        ),
        cos,
        sin,
        mask: new ort.Tensor('float32', mask, [kept, 1, 1, capacity + 1]),
      });
      logits = output['logits']!.data as Float32Array;
      this.presentOf(output).forEach((layer, i) => {
        layer.forEach((values, j) => {
          const buffer = cache[i]![j]!;
          for (let block = 0; block < kept * heads; block++) {
            buffer.set(values.subarray(block * hd, (block + 1) * hd), (block * capacity + filled) * hd);
          }
        });
      });
      for (let row = 0; row < kept; row++) keyValid[row * capacity + filled] = 1;
      filled++;
    }
    return samples.map((sample) => ({ ...sample, text: decodeTokens(sample.tokens) }));
  }

  private feeds(inputs: readonly WeightInput[]): Feeds {
    if (this.placement === 'initializers') return {};
    return Object.fromEntries(inputs.map(({ name }) => [name, this.weightFeeds.get(name)!]));
  }

  private emptyPast(batch: number): Feeds {
    const feeds: Feeds = {};
    for (let i = 0; i < this.options.config.layers; i++) {
      for (const kind of ['k', 'v']) {
        feeds[`past_${kind}_${i}`] = new ort.Tensor('float32', new Float32Array(0), [
          batch,
          this.options.config.heads,
          0,
          this.headDimension,
        ]);
      }
    }
    return feeds;
  }

  private presentOf(output: ort.InferenceSession.OnnxValueMapType): Float32Array[][] {
    return Array.from({ length: this.options.config.layers }, (_, i) => [
      output[`key_${i}`]!.data as Float32Array,
      output[`value_${i}`]!.data as Float32Array,
    ]);
  }

  /** Rotary tables [B, 1, L, hd] for positions [B, L]: rows of the model's tables. */
  private rotary(
    positions: ArrayLike<number>,
    batch: number,
    length: number,
  ): { cos: ort.Tensor; sin: ort.Tensor } {
    const hd = this.headDimension;
    const cos = new Float32Array(batch * length * hd);
    const sin = new Float32Array(batch * length * hd);
    for (let i = 0; i < batch * length; i++) {
      const row = positions[i]! * hd;
      cos.set(this.rotaryTables.cos.subarray(row, row + hd), i * hd);
      sin.set(this.rotaryTables.sin.subarray(row, row + hd), i * hd);
    }
    return {
      cos: new ort.Tensor('float32', cos, [batch, 1, length, hd]),
      sin: new ort.Tensor('float32', sin, [batch, 1, length, hd]),
    };
  }
}

/**
 * Rows `sources` of a [rows, blocks, from, width] buffer in a new one of [sources, blocks, to, width]:
 * the first `filled` positions of each block copied, the rest zero.
 */
function gatherRows(
  values: Float32Array,
  sources: readonly number[],
  blocks: number,
  width: number,
  from: number,
  to: number,
  filled: number,
): Float32Array {
  const result = new Float32Array(sources.length * blocks * to * width);
  sources.forEach((source, row) => {
    for (let block = 0; block < blocks; block++) {
      const start = (source * blocks + block) * from * width;
      result.set(values.subarray(start, start + filled * width), (row * blocks + block) * to * width);
    }
  });
  return result;
}

/**
 * Rows `sources` (ascending) of a [rows, blocks, capacity, width] buffer moved, in place, to its first
 * `sources.length` rows: the first `filled` positions of each block. A row only ever moves to a lower
 * index, so the moves never overwrite a row still to be read; positions past `filled` keep stale
 * values, which the mask hides.
 */
function compactRows(
  values: Float32Array,
  sources: readonly number[],
  blocks: number,
  width: number,
  capacity: number,
  filled: number,
): void {
  sources.forEach((source, row) => {
    if (source === row) return;
    for (let block = 0; block < blocks; block++) {
      const from = (source * blocks + block) * capacity * width;
      values.copyWithin((row * blocks + block) * capacity * width, from, from + filled * width);
    }
  });
}

/** log softmax(logits / T)[target] of one row. */
function logSoftmaxAt(
  logits: Float32Array,
  offset: number,
  size: number,
  temperature: number,
  target: number,
): number {
  let max = -Infinity;
  for (let i = 0; i < size; i++) max = Math.max(max, logits[offset + i]! / temperature);
  let total = 0;
  for (let i = 0; i < size; i++) total += Math.exp(logits[offset + i]! / temperature - max);
  return logits[offset + target]! / temperature - max - Math.log(total);
}

/**
 * onnxruntime-node's own install script, where this process loads it from: run by hand it fetches the
 * CUDA files whatever npm does with dependencies' install scripts (newer npm versions skip those not
 * listed in the project's allowScripts, as this repository's package.json does on purpose).
 */
function onnxRuntimeInstallScript(): string {
  const manifest = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
  return join(dirname(manifest), 'script', 'install.js');
}

/** A session that could not start, with the fix when it is the CUDA provider's files. */
function providerError(provider: ExecutionProvider, error: unknown): EkiplError {
  const message = error instanceof Error ? error.message : String(error);
  if (provider === 'cuda') {
    return new EkiplError(
      `ONNX Runtime could not start the CUDA execution provider (${message.split('\n')[0]}). Its CUDA files are not part of the npm package: install them with ONNXRUNTIME_NODE_INSTALL=cuda12 node "${onnxRuntimeInstallScript()}" (downloads them from NuGet; needs CUDA 12 and cuDNN 9 installed), or use executionProvider: cpu`,
      { cause: error },
    );
  }
  return new EkiplError(`ONNX Runtime could not load the exported tiny VLM: ${message}`, { cause: error });
}

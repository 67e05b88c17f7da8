import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  EkiplError,
  type ObjectiveGradient,
  type ObjectiveSettings,
  objectiveFactors,
  objectiveFeatures,
  type PolicyBackend,
  type PolicyCapabilities,
  type PolicySample,
  type PolicySnapshot,
  type Prompt,
  Random,
  type SamplingSettings,
  type ScoreRequest,
  type ScoreWeights,
  type SupervisedExample,
  type SupervisedStepResult,
  specificationVersion,
  type TrainBatch,
  type TrainStepResult,
} from '@ekipl/core';
import {
  completionGrid,
  completionRoom,
  decodeTokens,
  encodeCompletion,
  encodeSafetensors,
  type GroupLayout,
  groupByImages,
  ImagePatcher,
  type NamedTensor,
  promptInput,
  readCompletions,
  readSafetensors,
  type SequenceInput,
  sampleToken,
  specialTokens,
  splitRanges,
  storedTinyVlmConfig,
  writeFileAtomically,
} from '@ekipl/tiny-vlm';
import * as tf from '@tensorflow/tfjs-core';
import { pooledKernelBytes } from './attention-kernel.js';
import { decoderInputs } from './decoder-inputs.js';
import { KernelDecoding } from './kernel-decoding.js';
import { type ObjectiveTensors, objectiveLoss } from './objective-loss.js';
import { AdamW, type OptimizerSettings } from './optimizer.js';
import { Replica, type ReplicaRequest, type ShardGradients, type ShardTerms } from './replicas.js';
import {
  type AttentionImplementation,
  type Cache,
  initialParameters,
  type ModelParameters,
  TinyVlm,
  type TinyVlmConfig,
} from './tiny-vlm.js';
import { assignValues, variableOf } from './variables.js';

export interface TfjsPolicyOptions {
  name: string;
  config: TinyVlmConfig;
  /** The prompt's user text is cut to this many byte tokens (<bos> included). */
  maxPromptTokens: number;
  optimizer: OptimizerSettings;
  seed: number;
  /** Attention by the SIMD kernel or tfjs batched matMuls; by default the kernel unless the engine is native. */
  attention?: AttentionImplementation;
  /**
   * Threads that share each batch (data parallel): 1 runs everything on the calling thread; N adds N - 1
   * worker threads, each with a copy of the model. Results equal one thread's up to float rounding.
   */
  workers?: number;
}

const checkpointFormat = 'ekipl-tiny-vlm/1';

/** What one thread of a policy holds in memory (a diagnostic: flat over steps when nothing leaks). */
export interface ThreadMemory {
  /** 'main', or 'worker N' (1-based) for the replicas. */
  thread: string;
  /** Live TensorFlow.js tensors and their bytes. */
  tensors: number;
  tensorBytes: number;
  /** The wasm engine's heap (it grows, never shrinks); absent on other engines. */
  heapBytes?: number;
  /** The idle attention-kernel instances' memories. */
  kernelBytes: number;
  /** Decoded images cached by the thread's model copy (bounded). */
  imageCacheBytes: number;
}

/** Most sequences one scoring forward pass takes (its activations stay far below the wasm heap). */
const scoreChunk = 64;

/**
 * A PolicyBackend on TensorFlow.js around the tiny VLM. All log-probs are of softmax(logits / T) at
 * the temperature each call passes. The reference weights (the KL anchor) are a frozen copy of the
 * weights at the first moment they are needed (a `score(..., 'reference')` or a trainStep with
 * beta > 0), which in a run is before any update: the starting weights. They are kept only then.
 */
export class TfjsPolicy implements PolicyBackend {
  readonly specificationVersion = specificationVersion;
  readonly name: string;
  /** It implements every optional part of the objective (objectiveConformance covers each). */
  readonly capabilities: PolicyCapabilities = { train: true, objective: objectiveFeatures };
  readonly model: TinyVlm;
  readonly info: Readonly<Record<string, string | number>>;
  parameters: ModelParameters;
  private reference: Map<string, tf.Tensor> | undefined;
  readonly optimizer: AdamW;
  private readonly patcher: ImagePatcher;
  private replicas: Replica[] | undefined;
  /** Bumped whenever the weights / reference change, so replicas know when to take a fresh copy. */
  private weightsVersion = 0;
  private referenceVersion = 0;
  private weightArrays: { version: number; arrays: Float32Array[] } | undefined;

  constructor(private readonly options: TfjsPolicyOptions) {
    this.name = options.name;
    this.model = new TinyVlm(options.config, options.attention);
    this.parameters = initialParameters(options.config, options.seed);
    this.info = {
      engine: tf.getBackend(),
      workers: options.workers ?? 1,
      attention: this.model.attention,
      parameters: this.parameterCount(),
    };
    this.optimizer = new AdamW(options.optimizer);
    this.patcher = ImagePatcher.forModel(options.config);
  }

  encode(text: string): number[] {
    return encodeCompletion(text);
  }

  /** Positions left for a completion after this prompt's images and (cut) text. */
  completionRoom(prompt: Prompt): number {
    return completionRoom(prompt, this.options.config, this.options.maxPromptTokens);
  }

  decode(tokens: readonly number[]): string {
    return decodeTokens(tokens);
  }

  /** The model's size in words, for errors: `dimension 128, layers 4, ... (1.08 M parameters)`. */
  describeModel(): string {
    const { dimension, layers, heads, visionDimension, visionLayers, imageSize, maxPositions } =
      this.options.config;
    const millions = (this.parameterCount() / 1e6).toFixed(2);
    return (
      `dimension ${dimension}, layers ${layers}, heads ${heads}, vision ${visionDimension} x ${visionLayers} layers, ` +
      `${imageSize} px images, ${maxPositions} positions (${millions} M parameters, engine ${tf.getBackend()})`
    );
  }

  parameterCount(): number {
    let count = 0;
    for (const parameter of this.parameters.values()) count += parameter.size;
    return count;
  }

  // ------------------------------------------------------------------------------------ generation

  async generate(
    prompts: readonly Prompt[],
    n: number,
    sampling: SamplingSettings,
  ): Promise<PolicySample[][]> {
    const shares = await this.inParallel(
      prompts.length,
      (start, end) => ({
        type: 'generate',
        prompts: prompts.slice(start, end),
        promptIndices: range(start, end),
        n,
        sampling,
      }),
      (start, end) => this.generateLocal(prompts.slice(start, end), range(start, end), n, sampling),
    );
    return shares.flat() as PolicySample[][];
  }

  /**
   * `n` samples of each prompt on this thread. Sample j of a prompt draws from the stream
   * split(its index in the caller's whole list, j), so any way of sharing out prompts gives the same
   * samples.
   */
  async generateLocal(
    prompts: readonly Prompt[],
    promptIndices: readonly number[],
    n: number,
    sampling: SamplingSettings,
  ): Promise<PolicySample[][]> {
    const inputs = await Promise.all(prompts.map((prompt) => this.promptInput(prompt)));
    const results: PolicySample[][] = prompts.map(() => new Array<PolicySample>(n));
    const random = Random.fromSeed(sampling.seed);
    // Grouped by prompt, not by sample: each prompt's prefix is computed once for its n samples.
    for (const group of groupByImages(inputs, this.model.patchesPerImage, this.options.config.maxPositions)) {
      const randoms = group.indices.flatMap((p) =>
        Array.from({ length: n }, (_, j) => random.split(promptIndices[p]!, j)),
      );
      const samples = this.generateGroup(group, n, sampling, randoms);
      group.indices.forEach((p, row) => {
        for (let j = 0; j < n; j++) results[p]![j] = samples[row * n + j]!;
      });
    }
    return results;
  }

  /** `n` samples for each of the group's prompts, prompt-major: row r * n + j is sample j of prompt r. */
  private generateGroup(
    group: GroupLayout,
    n: number,
    sampling: SamplingSettings,
    randoms: Random[],
  ): PolicySample[] {
    const batch = group.batch * n;
    const length = group.imageTokens + group.textLength;
    const maxTokens = Math.min(sampling.maxTokens, this.options.config.maxPositions - length);
    const tokens: number[][] = Array.from({ length: batch }, () => []);
    const logProbs: number[][] = Array.from({ length: batch }, () => []);
    const samplingLogProbs: number[][] = Array.from({ length: batch }, () => []);
    const entropies: number[][] = Array.from({ length: batch }, () => []);
    const finished = new Array<boolean>(batch).fill(false);
    // Prefix: one full forward pass, keeping every layer's keys / values. Each prompt's row is repeated
    // for its n samples (copied into the kernel's cache, or a forward-only gather).
    const rows = Array.from({ length: batch }, (_, row) => Math.floor(row / n));
    const prefix = tf.tidy(() => {
      const result = this.model.forward(decoderInputs(group, this.patcher.patchDimension), this.parameters);
      const last = tf.slice(result.hidden, [0, length - 1, 0], [group.batch, 1, -1]);
      const prefixLogits = tf.reshape(this.model.logits(last, this.parameters), [group.batch, -1]);
      const rowIndices = tf.tensor1d(rows, 'int32');
      const firstLogits = tf.gather(prefixLogits, rowIndices) as tf.Tensor2D;
      if (this.model.attention === 'kernel') return { logits: firstLogits, cache: result.cache };
      return {
        logits: firstLogits,
        cache: {
          layers: result.cache.layers.map((layer) => ({
            k: tf.gather(layer.k, rowIndices),
            v: tf.gather(layer.v, rowIndices),
          })),
          keyValid: tf.gather(result.cache.keyValid, rowIndices) as tf.Tensor2D,
        },
      };
    });
    let logits = prefix.logits;
    let cache: Cache | KernelDecoding = prefix.cache;
    if (this.model.attention === 'kernel') {
      cache = this.model.startKernelDecoding(prefix.cache, rows, length + maxTokens, this.parameters);
      disposeCache(prefix.cache);
    }
    // Rotary position of each row's first generated token: its image tokens, then its prompt.
    const firstPosition = Array.from(
      { length: batch },
      (_, row) => group.imageTokens + group.promptLength[Math.floor(row / n)]!,
    );
    // The rows `logits` holds, in order: every row at first. The kernel path then steps only the rows
    // still generating (finished rows cost nothing); the tfjs path feeds them <pad>.
    let stepping = Array.from({ length: batch }, (_, row) => row);
    try {
      for (let step = 0; step < maxTokens && finished.some((done) => !done); step++) {
        const values = logits.dataSync();
        const vocabulary = values.length / stepping.length;
        const chosen = new Int32Array(batch).fill(specialTokens.pad);
        stepping.forEach((row, i) => {
          if (finished[row]) return;
          const drawn = sampleToken(
            values.subarray(i * vocabulary, (i + 1) * vocabulary),
            sampling,
            randoms[row]!,
          );
          const token = drawn.token;
          chosen[row] = token;
          tokens[row]!.push(token);
          logProbs[row]!.push(drawn.logProb);
          samplingLogProbs[row]!.push(drawn.samplingLogProb);
          entropies[row]!.push(drawn.entropy);
          if (token === specialTokens.eos) finished[row] = true;
        });
        if (step === maxTokens - 1 || finished.every((done) => done)) break;
        logits.dispose();
        if (cache instanceof KernelDecoding) {
          const decoding = cache; // grows in place
          stepping = stepping.filter((row) => !finished[row]);
          const rows = Int32Array.from(stepping);
          const positions = rows.map((row) => firstPosition[row]! + step);
          const stepTokens = rows.map((row) => chosen[row]!);
          logits = tf.tidy(() => decoding.step(stepTokens, positions, rows));
        } else {
          const previous = cache;
          const stepTokens = tf.tensor1d(chosen, 'int32');
          const stepPositions = tf.tensor1d(
            firstPosition.map((position) => position + step),
            'int32',
          );
          const next = tf.tidy(() => this.model.step(stepTokens, stepPositions, previous, this.parameters));
          disposeCache(previous);
          tf.dispose([stepTokens, stepPositions]);
          logits = next.logits;
          cache = next.cache;
        }
      }
    } finally {
      logits.dispose();
      if (cache instanceof KernelDecoding) cache.dispose();
      else disposeCache(cache);
    }
    return tokens.map((rowTokens, row) => ({
      text: decodeTokens(rowTokens),
      tokens: rowTokens,
      logProbs: logProbs[row]!,
      samplingLogProbs: samplingLogProbs[row]!,
      entropies: entropies[row]!,
    }));
  }

  // ---------------------------------------------------------------------------- teacher forcing

  async score(
    requests: readonly ScoreRequest[],
    which: ScoreWeights,
    temperature: number,
  ): Promise<number[][]> {
    if (which === 'reference') this.ensureReference();
    const shares = await this.inParallel(
      requests.length,
      (start, end) => ({ type: 'score', requests: requests.slice(start, end), which, temperature }),
      (start, end) => this.scoreLocal(requests.slice(start, end), which, temperature),
    );
    return shares.flat() as number[][];
  }

  /** Teacher-forced log-probs on this thread. */
  async scoreLocal(
    requests: readonly ScoreRequest[],
    which: ScoreWeights,
    temperature: number,
  ): Promise<number[][]> {
    if (which === 'reference') this.ensureReference();
    // A bounded batch per forward pass: scoring 500 image prompts at once (an evaluation's image
    // reliance) outgrew the WebAssembly heap and aborted the process.
    if (requests.length > scoreChunk) {
      const rows: number[][] = [];
      for (let start = 0; start < requests.length; start += scoreChunk) {
        rows.push(...(await this.scoreLocal(requests.slice(start, start + scoreChunk), which, temperature)));
      }
      return rows;
    }
    const weights = which === 'current' ? this.parameters : (this.reference as unknown as ModelParameters);
    const sequences = await this.sequenceInputs(requests);
    const result: number[][] = new Array(requests.length);
    for (const group of groupByImages(
      sequences,
      this.model.patchesPerImage,
      this.options.config.maxPositions,
    )) {
      const grid = tf.tidy(() => this.completionLogProbs(group, weights, temperature).dataSync());
      readCompletions(group, grid).forEach((row, i) => {
        result[group.indices[i]!] = row;
      });
    }
    return result;
  }

  /** log softmax(logits / T) of each next text token, [B, Lt - 1]. */
  private completionLogProbs(group: GroupLayout, weights: ModelParameters, temperature: number): tf.Tensor2D {
    const inputs = decoderInputs(group, this.patcher.patchDimension);
    const { hidden } = this.model.forward(inputs, weights);
    const predicting = tf.slice(hidden, [0, group.imageTokens, 0], [group.batch, group.textLength - 1, -1]);
    const logits = tf.div(this.model.logits(predicting, weights), temperature);
    const targets = tf.slice(inputs.tokens, [0, 1], [group.batch, group.textLength - 1]);
    const oneHot = tf.oneHot(targets as tf.Tensor2D, this.options.config.vocabularySize);
    return tf.sum(tf.mul(tf.logSoftmax(logits), oneHot), -1) as tf.Tensor2D;
  }

  // ------------------------------------------------------------------------------------- training

  async trainStep(
    batch: TrainBatch,
    objective: ObjectiveSettings,
    temperature: number,
  ): Promise<TrainStepResult> {
    if (objective.beta > 0) this.ensureReference();
    const tokens = batch.sequences.reduce((sum, sequence) => sum + sequence.tokens.length, 0);
    // The per-token factors (aggregation, CHORD's mix) depend on the whole batch: computed before sharing out.
    const coefficients = sequenceFactors(batch, objective);
    const { loss, kl, klTokens, clipped, gradients } = await this.gradientsInParallel(
      batch.sequences.length,
      (start, end) => ({
        type: 'objective',
        sequences: batch.sequences.slice(start, end),
        coefficients: coefficients.slice(start, end),
        objective,
        temperature,
      }),
      (start, end) =>
        this.objectiveGradients(
          batch.sequences.slice(start, end),
          coefficients.slice(start, end),
          objective,
          temperature,
        ),
    );
    const { gradNorm, updateNorm, learningRate } = this.applyGradients(gradients, objective.learningRate);
    return {
      loss,
      kl: klTokens === 0 ? 0 : kl / klTokens,
      clipFraction: tokens === 0 ? 0 : clipped / tokens,
      gradNorm,
      updateNorm,
      learningRate,
      tokens,
    };
  }

  /** The objective's loss terms over some of a batch's sequences and their gradient (tensors keyed by variable). */
  private async objectiveGradients(
    sequences: TrainBatch['sequences'],
    coefficients: readonly SequenceFactors[],
    objective: ObjectiveSettings,
    temperature: number,
  ) {
    const prepared = await this.prepareObjective(sequences, coefficients, objective);
    let kl = 0;
    let klTokens = 0;
    let clipped = 0;
    try {
      const { value, grads } = tf.variableGrads(() => {
        let total: tf.Scalar = tf.scalar(0);
        for (const { group, tensors } of prepared) {
          const logProbs = this.completionLogProbs(group, this.parameters, temperature);
          const terms = objectiveLoss(logProbs, tensors, objective);
          total = tf.add(total, terms.loss);
          kl += terms.kl.dataSync()[0]!;
          klTokens += terms.klTokens.dataSync()[0]!;
          clipped += terms.clipped.dataSync()[0]!;
        }
        return total;
      }, [...this.parameters.values()]);
      const loss = value.dataSync()[0]!;
      value.dispose();
      return { loss, kl, klTokens, clipped, gradients: grads };
    } finally {
      disposePrepared(prepared);
    }
  }

  /** A worker's share of trainStep: `objectiveGradients` as arrays in parameter order. */
  async objectiveShard(
    sequences: TrainBatch['sequences'],
    coefficients: readonly SequenceFactors[],
    objective: ObjectiveSettings,
    temperature: number,
  ): Promise<ShardGradients> {
    return this.toShard(await this.objectiveGradients(sequences, coefficients, objective, temperature));
  }

  async objectiveGradient(
    batch: TrainBatch,
    objective: ObjectiveSettings,
    temperature: number,
  ): Promise<ObjectiveGradient> {
    if (objective.beta > 0) this.ensureReference();
    const coefficients = sequenceFactors(batch, objective);
    const prepared = await this.prepareObjective(batch.sequences, coefficients, objective);
    let loss = 0;
    const logProbGradients: number[][] = new Array(batch.sequences.length);
    for (const { group, tensors } of prepared) {
      const [groupLoss, gradient] = tf.tidy(() => {
        const logProbs = this.completionLogProbs(group, this.parameters, temperature);
        const lossOf = (lp: tf.Tensor) => objectiveLoss(lp, tensors, objective).loss;
        return [lossOf(logProbs).dataSync()[0]!, tf.grad(lossOf)(logProbs).dataSync()] as const;
      });
      loss += groupLoss;
      readCompletions(group, gradient).forEach((row, i) => {
        logProbGradients[group.indices[i]!] = row;
      });
    }
    disposePrepared(prepared);
    return { loss, logProbGradients };
  }

  async supervisedStep(
    examples: readonly SupervisedExample[],
    settings: { learningRate: number },
  ): Promise<SupervisedStepResult> {
    const { loss, tokens, gradients } = await this.supervisedGradients(examples);
    const { gradNorm, updateNorm, learningRate } = this.applyGradients(gradients, settings.learningRate);
    return { loss, tokens, gradNorm, updateNorm, learningRate };
  }

  /**
   * Mean cross-entropy of the completion tokens (untempered) and its gradient with respect to every
   * parameter (keyed by tfjs variable name; the caller disposes them). A diagnostic on its own (tests
   * check it against finite differences) and the first half of `supervisedStep`.
   */
  async supervisedGradients(examples: readonly SupervisedExample[]) {
    const tokens = examples.reduce((sum, example) => sum + example.tokens.length, 0);
    const { loss, gradients } = await this.gradientsInParallel(
      examples.length,
      (start, end) => ({ type: 'supervised', examples: examples.slice(start, end), totalTokens: tokens }),
      (start, end) => this.supervisedShareGradients(examples.slice(start, end), tokens),
    );
    return { loss, tokens, gradients };
  }

  /** Cross-entropy summed over some examples, divided by the whole batch's token count, and its gradient. */
  private async supervisedShareGradients(examples: readonly SupervisedExample[], totalTokens: number) {
    const sequences = await this.sequenceInputs(examples);
    const groups = groupByImages(sequences, this.model.patchesPerImage, this.options.config.maxPositions);
    const masks = groups.map((group) =>
      tf.tensor2d(
        completionGrid(group, () => 1 / totalTokens),
        [group.batch, group.textLength - 1],
      ),
    );
    try {
      const { value, grads } = tf.variableGrads(() => {
        let total: tf.Scalar = tf.scalar(0);
        groups.forEach((group, g) => {
          total = tf.sub(
            total,
            tf.sum(tf.mul(this.completionLogProbs(group, this.parameters, 1), masks[g]!)),
          );
        });
        return total;
      }, [...this.parameters.values()]);
      const loss = value.dataSync()[0]!;
      value.dispose();
      return { loss, kl: 0, klTokens: 0, clipped: 0, gradients: grads };
    } finally {
      tf.dispose(masks);
    }
  }

  /** A worker's share of supervisedStep. */
  async supervisedShard(
    examples: readonly SupervisedExample[],
    totalTokens: number,
  ): Promise<ShardGradients> {
    return this.toShard(await this.supervisedShareGradients(examples, totalTokens));
  }

  // ------------------------------------------------------------------------------- data parallel

  /**
   * Shares `count` items out in contiguous ranges: the first to `local` on this thread, the others to
   * the replicas (their weights refreshed first), all at once. Results in range order.
   */
  private async inParallel<T>(
    count: number,
    remote: (start: number, end: number) => ReplicaRequest,
    local: (start: number, end: number) => Promise<T>,
  ): Promise<T[]> {
    const replicas = this.readyReplicas();
    const ranges = splitRanges(count, replicas.length + 1);
    // Posted before the local share starts, so the workers compute while this thread does.
    const shares = ranges.slice(1).map(([start, end], i) => {
      const replica = replicas[i]!;
      const request = remote(start, end);
      this.refresh(replica, request.type === 'score' && request.which === 'reference');
      return replica.call<T>(request);
    });
    const settled = await Promise.allSettled([local(...ranges[0]!), ...shares]);
    const failed = settled.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    return settled.map((result) => (result as PromiseFulfilledResult<T>).value);
  }

  /** `inParallel` for gradients: loss terms added, gradients summed (tensors keyed by variable name). */
  private async gradientsInParallel(
    count: number,
    remote: (start: number, end: number) => ReplicaRequest,
    local: (start: number, end: number) => Promise<ShardTerms & { gradients: tf.NamedTensorMap }>,
  ) {
    const shares = await this.inParallel<ShardGradients | Awaited<ReturnType<typeof local>>>(
      count,
      remote,
      local,
    );
    const [own, ...others] = shares as [Awaited<ReturnType<typeof local>>, ...ShardGradients[]];
    const gradients = own.gradients;
    [...this.parameters.values()].forEach((parameter, i) => {
      for (const other of others) {
        const values = other.gradients[i];
        if (values === null || values === undefined) continue;
        const received = tf.tensor(values, parameter.shape);
        const mine = gradients[parameter.name];
        if (mine === undefined || mine === null) gradients[parameter.name] = received;
        else {
          gradients[parameter.name] = tf.add(mine, received);
          tf.dispose([mine, received]);
        }
      }
    });
    const sum = (key: keyof ShardTerms) => others.reduce((total, other) => total + other[key], own[key]);
    return {
      loss: sum('loss'),
      kl: sum('kl'),
      klTokens: sum('klTokens'),
      clipped: sum('clipped'),
      gradients,
    };
  }

  /** Gradient tensors (keyed by variable name) as arrays in parameter order; disposes the tensors. */
  private toShard(result: ShardTerms & { gradients: tf.NamedTensorMap }): ShardGradients {
    const gradients = [...this.parameters.values()].map((parameter) => {
      const gradient = result.gradients[parameter.name];
      // A copy: the cpu backend hands out its own storage, and these buffers are transferred.
      return gradient === undefined || gradient === null
        ? null
        : (gradient.dataSync() as Float32Array).slice();
    });
    tf.dispose(Object.values(result.gradients).filter((gradient) => gradient !== null));
    const { loss, kl, klTokens, clipped } = result;
    return { loss, kl, klTokens, clipped, gradients };
  }

  /** The worker threads (workers - 1 of them), started on first use. */
  private readyReplicas(): Replica[] {
    const extra = Math.max(0, (this.options.workers ?? 1) - 1);
    if (extra === 0) return [];
    if (this.replicas === undefined) {
      const { workers: _, ...options } = this.options;
      const model = this.describeModel();
      this.replicas = Array.from(
        { length: extra },
        (_, i) =>
          new Replica(
            { options: { ...options, attention: this.model.attention }, engine: tf.getBackend() },
            `worker ${i + 1} of ${extra}`,
            model,
          ),
      );
    }
    return this.replicas;
  }

  /** Queues fresh weights (and the reference, for reference scoring) on a replica that lacks them. */
  private refresh(replica: Replica, withReference: boolean): void {
    if (replica.weightsVersion !== this.weightsVersion) {
      if (this.weightArrays?.version !== this.weightsVersion) {
        this.weightArrays = {
          version: this.weightsVersion,
          arrays: [...this.parameters.values()].map((parameter) => parameter.dataSync() as Float32Array),
        };
      }
      // Not awaited: the worker answers in order, so the request that follows sees these weights.
      replica.call({ type: 'weights', weights: this.weightArrays.arrays }).catch(() => {});
      replica.weightsVersion = this.weightsVersion;
    }
    if (withReference && this.reference !== undefined && replica.referenceVersion !== this.referenceVersion) {
      const weights = [...this.reference.values()].map((tensor) => tensor.dataSync() as Float32Array);
      replica.call({ type: 'reference', weights }).catch(() => {});
      replica.referenceVersion = this.referenceVersion;
    }
  }

  /**
   * Memory of the main thread and of every started worker, in that order (see `threadMemory`).
   */
  async memory(options: { collectGarbage?: boolean } = {}): Promise<ThreadMemory[]> {
    const collectGarbage = options.collectGarbage ?? false;
    const workers = await Promise.all(
      (this.replicas ?? []).map(async (replica, i) => ({
        ...(await replica.call<ThreadMemory>({ type: 'memory', collectGarbage })),
        thread: `worker ${i + 1}`,
      })),
    );
    return [this.localMemory('main', collectGarbage), ...workers];
  }

  /**
   * This thread's `ThreadMemory`; `collectGarbage` first runs V8's collector where node exposes it
   * (`--expose-gc`), so that what is measured is what is still referenced.
   */
  localMemory(thread: string, collectGarbage: boolean): ThreadMemory {
    if (collectGarbage) (globalThis as { gc?: () => void }).gc?.();
    const { numTensors, numBytes } = tf.memory();
    const heap = (tf.backend() as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8?.length;
    return {
      thread,
      tensors: numTensors,
      tensorBytes: numBytes,
      ...(heap === undefined ? {} : { heapBytes: heap }),
      kernelBytes: pooledKernelBytes(),
      imageCacheBytes: this.patcher.bytes,
    };
  }

  /**
   * The model for inference, for a rollout backend (`restore`); with `'reference'`, the frozen
   * reference weights (taken now if not kept yet), for a reference backend.
   */
  snapshot(weights: ScoreWeights = 'current'): PolicySnapshot {
    if (weights === 'reference') this.ensureReference();
    return {
      format: checkpointFormat,
      settings: { config: this.options.config, maxPromptTokens: this.options.maxPromptTokens },
      tensors: copies(weights === 'reference' ? this.reference! : this.parameters),
    };
  }

  /** The current weights by parameter name (copies): what another backend running the same model syncs to. */
  weights(): Map<string, { data: Float32Array; shape: number[] }> {
    return copies(this.parameters);
  }

  /** Replaces the weights (parameter order); a replica's copy. */
  setWeights(weights: readonly Float32Array[]): void {
    [...this.parameters.values()].forEach((parameter, i) => {
      assignValues(parameter, weights[i]!);
    });
    this.weightsVersion++;
  }

  /** Replaces the reference weights (parameter order); a replica's copy. */
  setReference(weights: readonly Float32Array[]): void {
    if (this.reference !== undefined) for (const tensor of this.reference.values()) tensor.dispose();
    this.reference = new Map(
      [...this.parameters].map(([name, parameter], i) => [
        name,
        tf.keep(tf.tensor(weights[i]!, parameter.shape)),
      ]),
    );
    this.referenceVersion++;
  }

  /**
   * One optimiser step from tfjs's gradients, which are keyed by tfjs's variable names and missing for
   * parameters the batch did not touch (the vision encoder on text-only input): those get zeros.
   */
  private applyGradients(gradients: tf.NamedTensorMap, learningRate: number) {
    const named: tf.NamedTensorMap = {};
    for (const [name, parameter] of this.parameters) {
      const gradient = gradients[parameter.name];
      named[name] = gradient ?? tf.zerosLike(parameter);
    }
    try {
      return this.optimizer.apply(this.parameters, named, learningRate);
    } finally {
      this.weightsVersion++;
      tf.dispose(Object.values(named));
      tf.dispose(Object.values(gradients).filter((gradient) => gradient !== null));
    }
  }

  /** Tensors of the objective for these sequences; `coefficients` are each one's factors (`sequenceFactors`). */
  private async prepareObjective(
    batchSequences: TrainBatch['sequences'],
    coefficients: readonly SequenceFactors[],
    objective: ObjectiveSettings,
  ) {
    const sequences = await this.sequenceInputs(batchSequences);
    return groupByImages(sequences, this.model.patchesPerImage, this.options.config.maxPositions).map(
      (group) => {
        const shape: [number, number] = [group.batch, group.textLength - 1];
        const of = (row: number) => batchSequences[group.indices[row]!]!;
        // The KL term applies to exactly the sequences that carry reference log-probs.
        const withReference = batchSequences.some((sequence) => sequence.refLogProbs !== undefined);
        const perRow = (value: (index: number) => number) =>
          tf.tensor2d(group.indices.map(value), [group.batch, 1]);
        const tensors: ObjectiveTensors = {
          mask: tf.tensor2d(
            completionGrid(group, () => 1),
            shape,
          ),
          old: tf.tensor2d(
            completionGrid(group, (row, c) => of(row).oldLogProbs[c]!),
            shape,
          ),
          ...(withReference
            ? {
                reference: tf.tensor2d(
                  completionGrid(group, (row, c) => of(row).refLogProbs?.[c] ?? 0),
                  shape,
                ),
                klMask: perRow((index) => (batchSequences[index]!.refLogProbs === undefined ? 0 : 1)),
              }
            : {}),
          ...(objective.offPolicyShaping === undefined && objective.offPolicyMis === undefined
            ? {}
            : { offPolicy: perRow((index) => (batchSequences[index]!.source === 'policy' ? 0 : 1)) }),
          coefficient: tf.tensor2d(
            completionGrid(group, (row) => coefficients[group.indices[row]!]!.policyGradient),
            shape,
          ),
          ...(objective.offPolicySupervised === undefined
            ? {}
            : { supervised: perRow((index) => coefficients[index]!.supervised) }),
          advantage: perRow((index) => batchSequences[index]!.advantage),
          weight: perRow((index) => batchSequences[index]!.weight),
        };
        return { group, tensors };
      },
    );
  }

  // ---------------------------------------------------------------------------------- inputs

  private promptInput(prompt: Prompt): Promise<SequenceInput> {
    return promptInput(prompt, this.patcher, this.options.config, this.options.maxPromptTokens);
  }

  private async sequenceInputs(
    requests: readonly { prompt: Prompt; tokens: readonly number[] }[],
  ): Promise<SequenceInput[]> {
    return Promise.all(
      requests.map(async (request) => ({
        ...(await this.promptInput(request.prompt)),
        completion: [...request.tokens],
      })),
    );
  }

  private ensureReference(): void {
    if (this.reference !== undefined) return;
    this.reference = new Map(
      [...this.parameters].map(([name, parameter]) => [name, tf.keep(parameter.clone())]),
    );
    this.referenceVersion++;
  }

  // ---------------------------------------------------------------------------------- checkpoints

  /** model.safetensors, optimizer.safetensors, reference.safetensors (when kept) and state.json, each written atomically. */
  async save(directory: string): Promise<void> {
    await mkdir(directory, { recursive: true });
    const collect = (tensors: Iterable<[string, tf.Tensor]>) => {
      const result: Record<string, NamedTensor> = {};
      for (const [name, tensor] of tensors)
        result[name] = { shape: tensor.shape, data: tensor.dataSync() as Float32Array };
      return result;
    };
    const metadata = { format: checkpointFormat };
    await writeFileAtomically(
      join(directory, 'model.safetensors'),
      encodeSafetensors(collect(this.parameters), metadata),
    );
    const moments = [
      ...[...this.optimizer.first].map(([name, tensor]) => [`first.${name}`, tensor] as [string, tf.Tensor]),
      ...[...this.optimizer.second].map(
        ([name, tensor]) => [`second.${name}`, tensor] as [string, tf.Tensor],
      ),
    ];
    await writeFileAtomically(
      join(directory, 'optimizer.safetensors'),
      encodeSafetensors(collect(moments), metadata),
    );
    if (this.reference !== undefined) {
      await writeFileAtomically(
        join(directory, 'reference.safetensors'),
        encodeSafetensors(collect(this.reference), metadata),
      );
    }
    const state = {
      format: checkpointFormat,
      config: this.options.config,
      maxPromptTokens: this.options.maxPromptTokens,
      optimizer: { step: this.optimizer.step, settings: this.optimizer.settings },
      reference: this.reference !== undefined,
    };
    await writeFileAtomically(join(directory, 'state.json'), `${JSON.stringify(state, null, 2)}\n`);
  }

  /** Fresh AdamW moments and step count (the weights stay): the next update is a first update. */
  async resetOptimizer(): Promise<void> {
    this.optimizer.dispose();
    this.optimizer.step = 0;
  }

  async load(directory: string): Promise<void> {
    const state = JSON.parse(
      await readCheckpointFile(directory, 'state.json', (file) => readFile(file, 'utf8')),
    ) as {
      format: string;
      config: TinyVlmConfig;
      optimizer: { step: number };
      reference: boolean;
    };
    if (state.format !== checkpointFormat)
      throw new EkiplError(`${directory}: not an ${checkpointFormat} checkpoint (format ${state.format})`);
    const stored = storedTinyVlmConfig(state.config);
    for (const key of Object.keys(this.options.config) as (keyof TinyVlmConfig)[]) {
      if (stored[key] !== this.options.config[key]) {
        throw new EkiplError(
          `${directory}: checkpoint has ${key} = ${stored[key]}, this model ${this.options.config[key]}`,
        );
      }
    }
    const { tensors } = await readCheckpointFile(directory, 'model.safetensors', readSafetensors);
    for (const [name, parameter] of this.parameters) {
      const stored = tensors[name];
      if (stored === undefined) throw new Error(`${directory}/model.safetensors has no tensor ${name}`);
      assignValues(parameter, stored.data, stored.shape);
    }
    this.optimizer.dispose();
    const optimizerTensors = (await readCheckpointFile(directory, 'optimizer.safetensors', readSafetensors))
      .tensors;
    for (const [key, stored] of Object.entries(optimizerTensors)) {
      const [kind, ...rest] = key.split('.');
      const map = kind === 'first' ? this.optimizer.first : this.optimizer.second;
      map.set(
        rest.join('.'),
        variableOf(() => tf.tensor(stored.data, stored.shape), false),
      );
    }
    this.optimizer.step = state.optimizer.step;
    this.weightsVersion++;
    this.referenceVersion++;
    if (this.reference !== undefined) for (const tensor of this.reference.values()) tensor.dispose();
    this.reference = undefined;
    if (state.reference) {
      const reference = (await readCheckpointFile(directory, 'reference.safetensors', readSafetensors))
        .tensors;
      this.reference = new Map(
        Object.entries(reference).map(([name, stored]) => [
          name,
          tf.keep(tf.tensor(stored.data, stored.shape)),
        ]),
      );
    }
  }

  async dispose(): Promise<void> {
    await Promise.all((this.replicas ?? []).map((replica) => replica.terminate()));
    this.replicas = undefined;
    for (const parameter of this.parameters.values()) parameter.dispose();
    if (this.reference !== undefined) for (const tensor of this.reference.values()) tensor.dispose();
    this.optimizer.dispose();
    this.model.dispose();
  }
}

/** Per sequence: the factor of its tokens' policy-gradient terms and of their log-probs in CHORD's term. */
export interface SequenceFactors {
  policyGradient: number;
  supervised: number;
}

function sequenceFactors(batch: TrainBatch, objective: ObjectiveSettings): SequenceFactors[] {
  const { policyGradient, supervised } = objectiveFactors(
    batch.sequences.map((sequence) => ({
      logProbs: sequence.tokens,
      offPolicy: sequence.source !== 'policy',
    })),
    objective,
  );
  return policyGradient.map((factor, i) => ({ policyGradient: factor, supervised: supervised[i]! }));
}

/** Reads one file of a checkpoint; a missing or unreadable one is an EkiplError naming the checkpoint. */
async function readCheckpointFile<T>(
  directory: string,
  name: string,
  read: (file: string) => Promise<T>,
): Promise<T> {
  try {
    return await read(join(directory, name));
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? `has no ${name}: not a checkpoint directory (ekipl train writes them under <run>/checkpoint)`
        : `${name} cannot be read: ${error instanceof Error ? error.message : String(error)}`;
    throw new EkiplError(`checkpoint ${directory} ${reason}`, { cause: error });
  }
}

function range(start: number, end: number): number[] {
  return Array.from({ length: end - start }, (_, i) => start + i);
}

function disposeCache(cache: Cache): void {
  for (const layer of cache.layers) tf.dispose([layer.k, layer.v]);
  cache.keyValid.dispose();
}

function disposePrepared(prepared: { tensors: ObjectiveTensors }[]): void {
  for (const { tensors } of prepared) tf.dispose(Object.values(tensors));
}

/** Each tensor's values by name (copies). */
function copies(
  tensors: ReadonlyMap<string, tf.Tensor>,
): Map<string, { data: Float32Array; shape: number[] }> {
  return new Map(
    [...tensors].map(([name, tensor]) => [
      name,
      { data: tensor.dataSync() as Float32Array, shape: tensor.shape },
    ]),
  );
}

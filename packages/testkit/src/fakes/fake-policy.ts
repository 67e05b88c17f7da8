import {
  evaluateObjective,
  type ObjectiveGradient,
  type ObjectiveSettings,
  objectiveFeatures,
  objectiveSequence,
  type PolicyBackend,
  type PolicyCapabilities,
  type PolicySample,
  type Prompt,
  Random,
  type SamplingSettings,
  type ScoreRequest,
  type ScoreWeights,
  specificationVersion,
  type TrainBatch,
  type TrainStepResult,
} from '@ekipl/core';
import { delay, type EventLog } from './event-log.js';

/** Byte-level vocabulary: token b < 256 is byte b, 256 is end-of-sequence. */
export const fakeEndOfSequence = 256;
const vocabularySize = 257;

export interface FakePolicyOptions {
  name?: string;
  /** Texts the policy "samples" for a prompt, by sample index; log-probs are the model's own for those tokens. */
  script?: (prompt: Prompt, sampleIndex: number) => string;
  /** Positions with their own logits; position t uses row t % positions. */
  positions?: number;
  /** Spread of the random initial logits. */
  initialScale?: number;
  seed?: number;
  /** Records `policy.generate:start` / `:end` when given. */
  events?: EventLog;
  /** Time `generate` takes, to overlap with slow samplers. */
  generateDelayMs?: number;
}

/**
 * A small trainable policy for tests: per-position logits over a byte vocabulary (no prompt
 * dependence), SGD on the objective by core's reference gradient, teacher-forced scoring, and an
 * optional script of texts. Records every `score` call.
 */
export class FakePolicy implements PolicyBackend {
  readonly specificationVersion = specificationVersion;
  readonly name: string;
  /** The reference objective implements every optional feature. */
  readonly capabilities: PolicyCapabilities = { train: true, objective: objectiveFeatures };
  /** Every score call: which weights and the token sequences scored. */
  readonly scoreCalls: { which: ScoreWeights; tokens: number[][] }[] = [];
  /** Every batch trainStep received. */
  readonly trainBatches: TrainBatch[] = [];
  private logits: Float64Array;
  private readonly reference: Float64Array;
  private readonly positions: number;

  constructor(private readonly options: FakePolicyOptions = {}) {
    this.name = options.name ?? 'fake-policy';
    this.positions = options.positions ?? 8;
    const random = Random.fromSeed(options.seed ?? 0).split('fake-policy', 'init');
    const scale = options.initialScale ?? 1;
    this.logits = Float64Array.from(
      { length: this.positions * vocabularySize },
      () => scale * random.normal(),
    );
    this.reference = this.logits.slice();
  }

  encode(text: string): number[] {
    return [...new TextEncoder().encode(text), fakeEndOfSequence];
  }

  decode(tokens: readonly number[]): string {
    return new TextDecoder().decode(Uint8Array.from(tokens.filter((token) => token < 256)));
  }

  async generate(
    prompts: readonly Prompt[],
    n: number,
    sampling: SamplingSettings,
  ): Promise<PolicySample[][]> {
    this.options.events?.record('policy.generate:start');
    if (this.options.generateDelayMs !== undefined) await delay(this.options.generateDelayMs);
    const random = Random.fromSeed(sampling.seed);
    const result = prompts.map((prompt) =>
      Array.from({ length: n }, (_, sampleIndex) => {
        const tokens =
          this.options.script === undefined
            ? this.sampleTokens(random, sampling)
            : this.encode(this.options.script(prompt, sampleIndex)).slice(0, sampling.maxTokens);
        return {
          text: this.decode(tokens),
          tokens,
          logProbs: this.logProbs(this.logits, tokens, sampling.temperature),
        };
      }),
    );
    this.options.events?.record('policy.generate:end');
    return result;
  }

  async score(
    requests: readonly ScoreRequest[],
    which: ScoreWeights,
    temperature: number,
  ): Promise<number[][]> {
    this.scoreCalls.push({ which, tokens: requests.map((request) => request.tokens.slice()) });
    const weights = which === 'current' ? this.logits : this.reference;
    return requests.map((request) => this.logProbs(weights, request.tokens, temperature));
  }

  async objectiveGradient(
    batch: TrainBatch,
    objective: ObjectiveSettings,
    temperature: number,
  ): Promise<ObjectiveGradient> {
    const evaluation = this.evaluate(batch, objective, temperature);
    return { loss: evaluation.loss, logProbGradients: evaluation.gradient };
  }

  async trainStep(
    batch: TrainBatch,
    objective: ObjectiveSettings,
    temperature: number,
  ): Promise<TrainStepResult> {
    this.trainBatches.push(batch);
    const evaluation = this.evaluate(batch, objective, temperature);
    // Chain rule through the tempered log-softmax: d l / d logit_k = (1[k = token] - p_k) / T.
    const gradient = new Float64Array(this.logits.length);
    batch.sequences.forEach((sequence, i) => {
      sequence.tokens.forEach((token, t) => {
        const row = (t % this.positions) * vocabularySize;
        const probabilities = this.probabilities(this.logits, row, temperature);
        const upstream = evaluation.gradient[i]![t]!;
        for (let k = 0; k < vocabularySize; k++) {
          gradient[row + k]! += (upstream * ((k === token ? 1 : 0) - probabilities[k]!)) / temperature;
        }
      });
    });
    let squares = 0;
    for (let k = 0; k < gradient.length; k++) {
      squares += gradient[k]! ** 2;
      this.logits[k]! -= objective.learningRate * gradient[k]!;
    }
    return {
      loss: evaluation.loss,
      kl: evaluation.kl,
      clipFraction: evaluation.clipFraction,
      gradNorm: Math.sqrt(squares),
      // Plain gradient descent: the weights move by the rate times the gradient.
      updateNorm: objective.learningRate * Math.sqrt(squares),
      learningRate: objective.learningRate,
      tokens: evaluation.tokens,
    };
  }

  private evaluate(batch: TrainBatch, objective: ObjectiveSettings, temperature: number) {
    return evaluateObjective(
      batch.sequences.map((sequence) =>
        objectiveSequence(sequence, this.logProbs(this.logits, sequence.tokens, temperature)),
      ),
      objective,
    );
  }

  private sampleTokens(random: Random, sampling: SamplingSettings): number[] {
    const tokens: number[] = [];
    while (tokens.length < sampling.maxTokens) {
      const row = (tokens.length % this.positions) * vocabularySize;
      const probabilities = this.probabilities(this.logits, row, sampling.temperature);
      let draw = random.float();
      let token = vocabularySize - 1;
      for (let k = 0; k < vocabularySize; k++) {
        draw -= probabilities[k]!;
        if (draw < 0) {
          token = k;
          break;
        }
      }
      tokens.push(token);
      if (token === fakeEndOfSequence) break;
    }
    return tokens;
  }

  private logProbs(weights: Float64Array, tokens: readonly number[], temperature: number): number[] {
    return tokens.map((token, t) => {
      const row = (t % this.positions) * vocabularySize;
      return Math.log(this.probabilities(weights, row, temperature)[token]!);
    });
  }

  private probabilities(weights: Float64Array, row: number, temperature: number): Float64Array {
    let max = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < vocabularySize; k++) max = Math.max(max, weights[row + k]! / temperature);
    const result = new Float64Array(vocabularySize);
    let total = 0;
    for (let k = 0; k < vocabularySize; k++) {
      result[k] = Math.exp(weights[row + k]! / temperature - max);
      total += result[k]!;
    }
    for (let k = 0; k < vocabularySize; k++) result[k]! /= total;
    return result;
  }
}

export function createFakePolicy(options: FakePolicyOptions = {}): FakePolicy {
  return new FakePolicy(options);
}

import {
  type Action,
  type AuxiliaryRequest,
  type AuxiliarySampleOptions,
  type AuxiliarySampleResult,
  type AuxiliarySampler,
  type Prompt,
  specificationVersion,
} from '@ekipl/core';
import { delay, type EventLog } from './event-log.js';

export interface FakeSamplerOptions {
  name: string;
  /** The answer (text, or a partial Action) for request `requestIndex`, sample `sampleIndex`. */
  answer: (request: AuxiliaryRequest, sampleIndex: number, requestIndex: number) => string | Partial<Action>;
  /** Records `<name>.sample:start` / `:end` when given. */
  events?: EventLog;
  delayMs?: number;
  /** Throw this error from `sample` (a provider that is down). */
  failWith?: Error;
  /** log q(text) for any text, making this a sampler that can score (a local model). */
  score?: (prompt: Prompt, text: string) => number | undefined;
}

/** A scripted auxiliary sampler; records its calls. */
export class FakeSampler implements AuxiliarySampler {
  readonly specificationVersion = specificationVersion;
  readonly name: string;
  readonly calls: { requests: number; n: number; seed: number }[] = [];
  readonly scoreCalls: string[] = [];
  readonly score?: (prompt: Prompt, text: string) => Promise<number | undefined>;

  constructor(private readonly options: FakeSamplerOptions) {
    this.name = options.name;
    const scoreText = options.score;
    if (scoreText !== undefined) {
      this.score = async (prompt, text) => {
        this.scoreCalls.push(text);
        return scoreText(prompt, text);
      };
    }
  }

  async sample(
    requests: readonly AuxiliaryRequest[],
    n: number,
    options: AuxiliarySampleOptions,
  ): Promise<AuxiliarySampleResult> {
    this.calls.push({ requests: requests.length, n, seed: options.seed });
    this.options.events?.record(`${this.name}.sample:start`);
    if (this.options.delayMs !== undefined) await delay(this.options.delayMs);
    this.options.events?.record(`${this.name}.sample:end`);
    if (this.options.failWith !== undefined) throw this.options.failWith;
    return {
      actions: requests.map((request, requestIndex) =>
        Array.from({ length: n }, (_, sampleIndex) => {
          const answer = this.options.answer(request, sampleIndex, requestIndex);
          return typeof answer === 'string'
            ? { source: this.name, text: answer }
            : { source: this.name, text: '', ...answer };
        }),
      ),
    };
  }
}

export function createFakeSampler(options: FakeSamplerOptions): FakeSampler {
  return new FakeSampler(options);
}

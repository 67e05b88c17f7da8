/**
 * Seeded, splittable pseudo-random numbers: every place that draws randomness (policy sampling,
 * selection ties, datasets, oracles) gets its own stream by `split(label)`, so one run seed
 * reproduces a run and adding draws in one component never shifts another's stream.
 *
 * The generator is xoshiro128** (Blackman & Vigna), 128 bits of state; a stream's initial state is
 * derived from its key (the run seed plus the labels of every split leading to it) by hashing, so a
 * child stream depends only on its key, never on how many numbers the parent has drawn.
 */

/** Serialisable state of a stream: restoring it continues the sequence exactly (`--resume`). */
export interface RandomState {
  key: string;
  words: [number, number, number, number];
}

export type RandomLabel = string | number;

export class Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  private constructor(
    /** Identifies the stream: `seed`, `seed/step/12/policy`, ... */
    readonly key: string,
    words: readonly [number, number, number, number],
  ) {
    [this.s0, this.s1, this.s2, this.s3] = words;
  }

  /** The root stream of a run. */
  static fromSeed(seed: number | string): Random {
    const key = String(seed);
    return new Random(key, seedWords(key));
  }

  static fromState(state: RandomState): Random {
    return new Random(state.key, state.words);
  }

  /** An independent child stream; the same labels give the same stream whatever the parent has drawn. */
  split(...labels: RandomLabel[]): Random {
    if (labels.length === 0) throw new Error('Random.split needs at least one label');
    const key = `${this.key}/${labels.join('/')}`;
    return new Random(key, seedWords(key));
  }

  state(): RandomState {
    return { key: this.key, words: [this.s0, this.s1, this.s2, this.s3] };
  }

  /** Uniform integer in [0, 2^32). */
  uint32(): number {
    const result = Math.imul(rotateLeft(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const shifted = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= shifted;
    this.s3 = rotateLeft(this.s3, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 53 random bits. */
  float(): number {
    const high = this.uint32() >>> 5; // 27 bits
    const low = this.uint32() >>> 6; // 26 bits
    return (high * 67108864 + low) / 9007199254740992;
  }

  /** Uniform integer in [0, bound), unbiased (rejection sampling). `bound` must be in [1, 2^32]. */
  int(bound: number): number {
    if (!Number.isInteger(bound) || bound < 1 || bound > 2 ** 32) {
      throw new RangeError(`Random.int: bound must be an integer in [1, 2^32], got ${bound}`);
    }
    const limit = 2 ** 32 - (2 ** 32 % bound);
    for (;;) {
      const value = this.uint32();
      if (value < limit) return value % bound;
    }
  }

  /** Standard normal draw (Box-Muller; one draw per call so the state stays a plain 128 bits). */
  normal(): number {
    const u1 = 1 - this.float(); // (0, 1]: log stays finite
    const u2 = this.float();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** A shuffled copy (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const copy = items.slice();
    for (let i = copy.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    return copy;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Random.pick: empty list');
    return items[this.int(items.length)]!;
  }
}

function rotateLeft(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Four well-mixed, not-all-zero 32-bit words from a key (murmur3-style hashing of its UTF-16 units). */
function seedWords(key: string): [number, number, number, number] {
  const lanes = [0x9e3779b9, 0x85ebca6b, 0xc2b2ae35, 0x27d4eb2f].map((laneSeed) => {
    let h = laneSeed ^ key.length;
    for (let i = 0; i < key.length; i++) {
      let k = Math.imul(key.charCodeAt(i), 0xcc9e2d51);
      k = rotateLeft(k, 15);
      k = Math.imul(k, 0x1b873593);
      h ^= k;
      h = rotateLeft(h, 13);
      h = (Math.imul(h, 5) + 0xe6546b64) | 0;
    }
    return finalMix(h);
  }) as [number, number, number, number];
  if (lanes.every((word) => word === 0)) lanes[0] = 1;
  return lanes;
}

function finalMix(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

import { describe, expect, it } from 'vitest';
import { Random } from '../src/index.js';

describe('Random', () => {
  it('one seed gives one sequence', () => {
    const a = Random.fromSeed(42);
    const b = Random.fromSeed(42);
    const drawsA = Array.from({ length: 100 }, () => a.uint32());
    expect(Array.from({ length: 100 }, () => b.uint32())).toEqual(drawsA);
    expect(Array.from({ length: 5 }, () => Random.fromSeed(43).uint32())).not.toEqual(drawsA.slice(0, 5));
  });

  it('a child stream depends on its labels, not on what the parent drew', () => {
    const fresh = Random.fromSeed(7);
    const used = Random.fromSeed(7);
    for (let i = 0; i < 1000; i++) used.float();
    expect(used.split('select', 3).uint32()).toBe(fresh.split('select', 3).uint32());
    expect(fresh.split('select', 3).uint32()).not.toBe(fresh.split('select', 4).uint32());
    expect(fresh.split('a', 'b').key).toBe('7/a/b');
  });

  it('state round-trips, so a resumed run continues the exact sequence', () => {
    const random = Random.fromSeed('resume');
    for (let i = 0; i < 17; i++) random.uint32();
    const restored = Random.fromState(JSON.parse(JSON.stringify(random.state())));
    expect(Array.from({ length: 20 }, () => restored.float())).toEqual(
      Array.from({ length: 20 }, () => random.float()),
    );
  });

  it('floats are uniform in [0, 1): mean 0.5 and variance 1/12 within sampling error over 100k draws', () => {
    const random = Random.fromSeed(1);
    const draws = Array.from({ length: 100_000 }, () => random.float());
    const mean = draws.reduce((sum, x) => sum + x, 0) / draws.length;
    const variance = draws.reduce((sum, x) => sum + (x - mean) ** 2, 0) / draws.length;
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(1);
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.005); // standard error 0.0009
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(0.002);
  });

  it('int(6) hits each face about equally (chi-square below the 0.1% critical value 20.5)', () => {
    const random = Random.fromSeed(2);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60_000; i++) counts[random.int(6)]++;
    const chiSquare = counts.reduce((sum, count) => sum + (count - 10_000) ** 2 / 10_000, 0);
    expect(chiSquare).toBeLessThan(20.5);
  });

  it('normal draws have mean 0 and variance 1 within sampling error', () => {
    const random = Random.fromSeed(3);
    const draws = Array.from({ length: 50_000 }, () => random.normal());
    const mean = draws.reduce((sum, x) => sum + x, 0) / draws.length;
    const variance = draws.reduce((sum, x) => sum + (x - mean) ** 2, 0) / draws.length;
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(variance - 1)).toBeLessThan(0.03);
  });

  it('shuffle permutes, pick and int reject bad input', () => {
    const random = Random.fromSeed(4);
    const shuffled = random.shuffle([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(shuffled.slice().sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(() => random.int(0)).toThrow(RangeError);
    expect(() => random.pick([])).toThrow(RangeError);
  });
});

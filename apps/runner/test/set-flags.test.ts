import { describe, expect, it } from 'vitest';
import { setFlags } from '../src/set-flags.js';

describe('setFlags', () => {
  it('collects every --set, in order, in both spellings (citty keeps only the last)', () => {
    expect(
      setFlags([
        'train',
        '-c',
        'run.yaml',
        '--set',
        'objective.learningRate=3e-4',
        '--out',
        'x',
        '--set=estimator.use=snis',
      ]),
    ).toEqual(['objective.learningRate=3e-4', 'estimator.use=snis']);
    expect(setFlags(['train', '--set'])).toEqual([]);
  });
});

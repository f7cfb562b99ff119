// Tests "did you mean" suggestions: close typos are corrected, unrelated words are not.
import { describe, expect, it } from 'vitest';
import { didYouMean, editDistance, nearest } from '../../src/manifest/suggest.js';

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['run', 'run', 0],
    ['rn', 'run', 1],
    ['nmae', 'name', 1],
    ['kitten', 'sitting', 3],
    ['', 'abc', 3],
  ])('%s → %s is %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
  });
});

describe('nearest', () => {
  const stepKeys = ['run', 'task', 'put', 'sudo', 'warn', 'env', 'name', 'args', 'to', 'mode'];
  it.each([
    ['rn', 'run'],
    ['tsak', 'task'],
    ['sduo', 'sudo'],
    ['Args', 'args'],
    ['nmae', 'name'],
    ['imagse', undefined],
    ['id', undefined],
    ['x', undefined],
    ['completely-different', undefined],
  ])('%s → %s', (word, expected) => {
    expect(nearest(word, stepKeys)).toBe(expected);
  });

  it('prefers the closest and, on a tie, the earlier candidate', () => {
    expect(nearest('RegionTow', ['RegionOne', 'RegionTwo'])).toBe('RegionTwo');
    expect(nearest('ab', ['xy'])).toBe(undefined);
    expect(nearest('ab', ['xb', 'ax'])).toBe('xb');
    expect(nearest('abcd', ['abcx', 'abxd'])).toBe('abcx');
  });

  it('gives nothing for no candidates', () => {
    expect(nearest('run', [])).toBe(undefined);
  });
});

describe('didYouMean', () => {
  it('formats a suggestion for the end of a message, or nothing', () => {
    expect(didYouMean('rn', ['run'])).toBe(' — did you mean "run"?');
    expect(didYouMean('zzz', ['run'])).toBe('');
  });
});

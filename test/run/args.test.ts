// --arg key=value: JSON values when they parse, strings otherwise, and the errors for bad keys.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { parseArgValue, parseTaskArgs } from '../../src/run/args.js';

describe('parseArgValue', () => {
  it.each([
    ['4', 4],
    ['-1.5', -1.5],
    ['true', true],
    ['null', null],
    ['"4"', '4'],
    ['[1,2]', [1, 2]],
    ['{"a":{"b":1}}', { a: { b: 1 } }],
    ['web', 'web'],
    ['', ''],
    ['a=b', 'a=b'],
    ['{not json', '{not json'],
  ])('%j → %j', (text, value) => {
    expect(parseArgValue(text)).toEqual(value);
  });
});

describe('parseTaskArgs', () => {
  it('builds one object, splitting at the first "="', () => {
    expect(parseTaskArgs(['workers=4', 'name=web', 'query=a=b', 'install=false'])).toEqual({ workers: 4, name: 'web', query: 'a=b', install: false });
  });

  it('keeps __proto__ as a plain key instead of changing the prototype', () => {
    const args = parseTaskArgs(['__proto__={"polluted":true}']);
    expect(Object.getPrototypeOf(args)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(args)).toEqual(['__proto__']);
  });

  it.each([
    ['workers', '--arg "workers": expected key=value, e.g. --arg workers=4'],
    ['=4', '--arg "=4": key "" must be letters, digits, "_" or "-", starting with a letter'],
    ['a b=1', /key "a b" must be/],
  ])('refuses %j', (raw, message) => {
    expect(() => parseTaskArgs([raw])).toThrow(UsageError);
    expect(() => parseTaskArgs([raw])).toThrow(message);
  });

  it('refuses a key given twice', () => {
    expect(() => parseTaskArgs(['a=1', 'a=2'])).toThrow('--arg "a=2": a is given twice; pass each key once');
  });
});

// Tests JSON text parsing: line:column of syntax errors, and keys given twice.
import { describe, expect, it } from 'vitest';
import { lineColumnAt, parseJsonText } from '../../src/manifest/json-text.js';

describe('lineColumnAt', () => {
  it('counts lines and columns from 1', () => {
    const text = 'ab\ncd\n\nef';
    expect(lineColumnAt(text, 0)).toEqual({ line: 1, column: 1 });
    expect(lineColumnAt(text, 4)).toEqual({ line: 2, column: 2 });
    expect(lineColumnAt(text, 7)).toEqual({ line: 4, column: 1 });
    expect(lineColumnAt(text, 99)).toEqual({ line: 4, column: 3 });
  });
});

describe('parseJsonText', () => {
  it.each([
    ['{\n  "a": 1\n  "b": 2\n}', 3, 3, "Expected ',' or '}' after property value"],
    ['{"a": [1,]}', 1, 10, "Unexpected token ']'"],
    ['{"a": tru}', 1, 10, "Unexpected token '}'"],
    ['{\n  "a": 1,\n', 3, 1, 'Expected double-quoted property name'],
    ['{\n  "a": [1,\n\n', 2, 11, 'Unexpected end of JSON input'],
    ['{"a": "x\ny"}', 1, 9, 'Bad control character in string literal'],
    ['{} x', 1, 4, 'Unexpected non-whitespace character after JSON'],
  ])('%j → %i:%i %s', (text, line, column, message) => {
    expect(parseJsonText(text)).toEqual({ ok: false, at: { line, column }, message });
  });

  it('parses valid JSON, ignoring a byte order mark', () => {
    expect(parseJsonText('\uFEFF{"a": [1, {"b": null}]}')).toEqual({ ok: true, value: { a: [1, { b: null }] }, duplicateKeys: [] });
  });

  it('finds keys given twice, with their path and positions', () => {
    const result = parseJsonText('{\n "x": [ { "k": 1,\n  "k": 2 } ],\n "y": 1, "y": 2 }');
    expect(result).toMatchObject({
      ok: true,
      duplicateKeys: [
        { path: ['x', 0], key: 'k', first: { line: 2, column: 11 }, second: { line: 3, column: 3 } },
        { path: [], key: 'y', first: { line: 4, column: 2 }, second: { line: 4, column: 10 } },
      ],
    });
  });

  it('compares keys by their decoded value', () => {
    const result = parseJsonText('{"a": 1, "\\u0061": 2}');
    expect(result).toMatchObject({ ok: true, duplicateKeys: [{ key: 'a' }] });
  });
});

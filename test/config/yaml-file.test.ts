// Key paths to line numbers, scalar source text, and syntax errors of YAML config files.
import { describe, expect, it } from 'vitest';
import { locate, parseYamlFile, scalarSource } from '../../src/config/yaml-file.js';
import { ConfigError } from '../../src/errors.js';

const keep = (s: string): string => s;
const parse = (text: string) => parseYamlFile('/x/clouds.yaml', 'clouds.yaml', text, keep);

describe('locate', () => {
  const file = parse(
    ['# comment', 'clouds:', '', '  acme:', '    regions:', '      - R1', '      - name: R2', '    auth: {auth_url: "u", password: p}'].join('\n'),
  );

  it('gives the line of the key at a path, through lists and flow mappings', () => {
    expect(locate(file, ['clouds'])).toEqual({ line: 2, exact: true });
    expect(locate(file, ['clouds', 'acme'])).toEqual({ line: 4, exact: true });
    expect(locate(file, ['clouds', 'acme', 'regions', 1, 'name'])).toEqual({ line: 7, exact: true });
    expect(locate(file, ['clouds', 'acme', 'auth', 'password'])).toEqual({ line: 8, exact: true });
  });

  it('falls back to the nearest ancestor for a missing key', () => {
    expect(locate(file, ['clouds', 'acme', 'auth', 'token'])).toEqual({ line: 8, exact: false });
    expect(locate(file, ['clouds', 'other', 'auth'])).toEqual({ line: 2, exact: false });
  });
});

describe('scalarSource', () => {
  it('returns plain scalars as written', () => {
    const file = parse('a: 0123\nb: 1.50\nc: "quoted"\nd: [1]\n');
    expect(scalarSource(file, ['a'])).toBe('0123');
    expect(scalarSource(file, ['b'])).toBe('1.50');
    expect(scalarSource(file, ['c'])).toBe('quoted');
    expect(scalarSource(file, ['d'])).toBeUndefined();
    expect(scalarSource(file, ['missing'])).toBeUndefined();
  });
});

describe('parseYamlFile', () => {
  it('an empty file is null, not an error', () => {
    expect(parse('').value).toBeNull();
    expect(parse('# only a comment\n').value).toBeNull();
  });

  it('reports the first syntax error as one line with line and column', () => {
    let err: unknown;
    try {
      parse('clouds:\n  a: 1\n b: [\n');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/^clouds\.yaml:3:\d+: \S[^\n]*$/);
  });

  it('applies the redactor to parser messages', () => {
    expect(() => parseYamlFile('/x/c.yaml', 'c.yaml', 'a: *hidden\n', (s) => s.replaceAll('hidden', '***'))).toThrow(
      'c.yaml:1: alias **** refers to no anchor; define &*** before it',
    );
  });

  it('resolves merge keys as PyYAML does', () => {
    expect(parse('base: &b {x: 1}\nc:\n  <<: *b\n  y: 2\n').value).toEqual({ base: { x: 1 }, c: { x: 1, y: 2 } });
  });
});

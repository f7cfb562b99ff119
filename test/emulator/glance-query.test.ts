import { describe, expect, it } from 'vitest';
import { GlanceBadRequest, parseImageListQuery, splitFilterOp, splitFilterValueForQuotes } from '../../src/emulator/glance-query.js';

const limits = { defaultLimit: 25, maxLimit: 1000 };
const parse = (qs: string) => parseImageListQuery([...new URLSearchParams(qs)], limits);

describe('Glance filter value parsing', () => {
  it.each([
    ['a,b', ['a', 'b']],
    ['"a,b",c', ['a,b', 'c']],
    ['c,"a,b"', ['c', 'a,b']],
    ['"x"', ['x']],
    ['single', ['single']],
  ])('splits %s', (value, expected) => {
    expect(splitFilterValueForQuotes(value)).toEqual(expected);
  });

  it.each([
    ['"a,b', /quote is not closed/],
    ['x"a",b', /no comma before opening/],
    ['"a"x,b', /no comma after closing/],
  ])('refuses %s', (value, message) => {
    expect(() => splitFilterValueForQuotes(value)).toThrow(message);
  });

  it.each([
    ['in:a,b', { op: 'in', value: 'a,b' }],
    ['eq:a:b', { op: 'eq', value: 'a:b' }],
    ['plain', { op: 'eq', value: 'plain' }],
    ['a:b', { op: 'a', value: 'b' }],
    ['2026-01-01T00:00:00Z', { op: 'eq', value: '2026-01-01T00:00:00Z' }],
  ])('splits the operator of %s', (expr, expected) => {
    expect(splitFilterOp(expr)).toEqual(expected);
  });
});

describe('parseImageListQuery', () => {
  it('defaults to created_at desc then id, page size from options, hidden left out', () => {
    expect(parse('')).toMatchObject({ limit: 25, sortKeys: ['created_at', 'id'], sortDirs: ['desc', 'desc'], osHidden: false });
  });

  it('caps limit and refuses bad ones', () => {
    expect(parse('limit=5000').limit).toBe(1000);
    expect(() => parse('limit=-1')).toThrow(/must be positive/);
    expect(() => parse('limit=x')).toThrow(/must be an integer/);
  });

  it('reads both sort syntaxes, extending with created_at and id in the single direction', () => {
    expect(parse('sort=name:asc,size')).toMatchObject({
      sortKeys: ['name', 'size', 'created_at', 'id'],
      sortDirs: ['asc', 'desc', 'desc', 'desc'],
    });
    expect(parse('sort_key=name&sort_dir=asc')).toMatchObject({
      sortKeys: ['name', 'created_at', 'id'],
      sortDirs: ['asc', 'asc', 'asc'],
    });
    expect(() => parse('sort_key=name&sort_key=size&sort_dir=asc&sort_dir=desc&sort_dir=asc')).toThrow(/does not match/);
    expect(() => parse('sort=name:sideways')).toThrow(/Invalid sort direction/);
  });

  it('sorts filters into attributes, tags, properties and flags', () => {
    const q = parse('name=in:"a,b",c&status=active&tag=x&tag=y&os_distro=debian&protected=true&visibility=all&owner=p');
    expect(q.attrs).toEqual({ name: ['a,b', 'c'], status: ['active'] });
    expect(q.tags).toEqual(['x', 'y']);
    expect(q.properties).toEqual({ os_distro: 'debian' });
    expect(q).toMatchObject({ protected: true, visibility: 'all', owner: 'p' });
    expect(() => parse('name=gt:x')).toThrow(GlanceBadRequest);
    expect(() => parse('changes-since=2020-01-01')).toThrow(/no longer available/);
  });
});

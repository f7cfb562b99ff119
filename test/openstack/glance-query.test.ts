import { describe, expect, it } from 'vitest';
import { nameQueries, resolveNext } from '../../src/openstack/glance.js';

describe('nameQueries', () => {
  it('puts several names in one in: filter, sorted and unique', () => {
    expect(nameQueries(['b', 'a', 'b'])).toEqual([`name=${encodeURIComponent('in:a,b')}`]);
  });

  it('uses an exact filter for a single name', () => {
    expect(nameQueries(['only'])).toEqual(['name=only']);
  });

  it('quotes names with commas, and queries names with quotes on their own', () => {
    const q = nameQueries(['a,b', 'plain', 'say "hi"']);
    expect(q).toContain(`name=${encodeURIComponent('in:"a,b",plain')}`);
    expect(q).toContain(`name=${encodeURIComponent('say "hi"')}`);
  });

  it('says eq: for a lone name with a colon, which Glance would read as an operator', () => {
    expect(nameQueries(['ubuntu:24.04'])).toEqual([`name=${encodeURIComponent('eq:ubuntu:24.04')}`]);
    expect(nameQueries(['a:b', 'c'])).toEqual([`name=${encodeURIComponent('in:a:b,c')}`]);
  });

  it('batches long lists under the URL budget', () => {
    const names = Array.from({ length: 300 }, (_, i) => `image-with-a-rather-long-name-${String(i).padStart(3, '0')}`);
    const q = nameQueries(names, 1000);
    expect(q.length).toBeGreaterThan(5);
    for (const part of q) expect(part.length).toBeLessThan(1100);
    const back = q.flatMap((p) => decodeURIComponent(p.slice('name='.length)).replace(/^in:/, '').split(','));
    expect(back.sort()).toEqual([...names].sort());
  });
});

describe('resolveNext', () => {
  it('joins a host-root-relative next onto the versioned base, keeping a path prefix', () => {
    expect(resolveNext('http://h:1/image/RegionOne/v2', '/v2/images?limit=2&marker=x')).toBe('http://h:1/image/RegionOne/v2/images?limit=2&marker=x');
    expect(resolveNext('http://g:9292/v2', '/v2/images?marker=y')).toBe('http://g:9292/v2/images?marker=y');
  });

  it('keeps an absolute next as it is', () => {
    expect(resolveNext('http://g:9292/v2', 'http://other/v2/images?marker=z')).toBe('http://other/v2/images?marker=z');
  });
});

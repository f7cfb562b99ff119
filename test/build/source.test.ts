// Finding the source image per target: the name for a cloud or a target, Glance metadata filters, the choice among matches.
import { describe, expect, it } from 'vitest';
import { describeSpec, filterQuery, matchesFilter, selectSource, sourceRead, sourceSpecFor, sourceVaries } from '../../src/build/source.js';
import type { GlanceImage } from '../../src/openstack/glance.js';
import { sourceFound, sourceReads } from '../../src/plan/sources.js';
import type { WantedImage } from '../../src/manifest/schema.js';

const alpha = { cloud: 'alpha', region: 'RegionOne' };
const alpha2 = { cloud: 'alpha', region: 'RegionTwo' };
const beta = { cloud: 'beta', region: 'RegionOne' };

function img(id: string, over: Partial<GlanceImage> = {}): GlanceImage {
  return { id, name: `name-${id}`, status: 'active', visibility: 'public', owner: 'p1', tags: [], created_at: `2026-01-0${id.length}T00:00:00Z`, ...over };
}

describe('sourceSpecFor', () => {
  it('one name for every target', () => {
    expect(sourceSpecFor({ image: 'debian-12', pick: 'only' }, alpha)).toEqual({ name: 'debian-12', filter: undefined, pick: 'only' });
  });
  it('a map: cloud/region wins over cloud; a target the map does not name has no name', () => {
    const source = { image: { alpha: 'Debian 12 bookworm', 'alpha/RegionTwo': 'debian-12-r2', beta: 'debian-12-genericcloud' }, pick: 'newest' as const };
    expect(sourceSpecFor(source, alpha).name).toBe('Debian 12 bookworm');
    expect(sourceSpecFor(source, alpha2).name).toBe('debian-12-r2');
    expect(sourceSpecFor(source, beta)).toMatchObject({ name: 'debian-12-genericcloud', pick: 'newest' });
    expect(sourceSpecFor({ image: { alpha: 'x' }, filter: { os_distro: 'debian' } }, beta)).toEqual({ name: undefined, filter: { os_distro: 'debian' }, pick: 'only' });
  });
  it('varies when the name is per target or a filter is given', () => {
    expect(sourceVaries({ image: 'a' })).toBe(false);
    expect(sourceVaries({ image: { alpha: 'a' } })).toBe(true);
    expect(sourceVaries({ filter: { os_distro: 'debian' } })).toBe(true);
  });
});

describe('filterQuery', () => {
  it('asks Glance for active images, newest first, with visibility, owner, tags and properties', () => {
    const q = filterQuery({ os_distro: 'debian', os_version: '12', visibility: 'public', owner: 'abc', tags: ['prod', 'ready'], properties: { hw_firmware_type: 'uefi' } });
    const params = new URLSearchParams(q.slice('images?'.length));
    expect(q.startsWith('images?')).toBe(true);
    expect(params.get('status')).toBe('active');
    expect(params.get('visibility')).toBe('public');
    expect(params.get('owner')).toBe('abc');
    expect(params.getAll('tag')).toEqual(['prod', 'ready']);
    expect(params.get('os_distro')).toBe('debian');
    expect(params.get('os_version')).toBe('12');
    expect(params.get('hw_firmware_type')).toBe('uefi');
    expect(params.get('sort')).toBe('created_at:desc');
  });
  it('a value with a colon is an exact match (eq:), not an operator', () => {
    expect(new URLSearchParams(filterQuery({ properties: { build: 'a:b' } }).slice(7)).get('build')).toBe('eq:a:b');
  });
  it('the same filter gives the same query (one listing per filter and target)', () => {
    expect(filterQuery({ properties: { b: '1', a: '2' } })).toBe(filterQuery({ properties: { a: '2', b: '1' } }));
  });
});

describe('matchesFilter', () => {
  const f = { os_distro: 'debian', os_version: '12', tags: ['prod'], visibility: 'public' as const, owner: 'p1', properties: { hw_disk_bus: 'virtio' } };
  const good = img('a', { os_distro: 'debian', os_version: '12', tags: ['prod', 'x'], hw_disk_bus: 'virtio' });
  it('holds when every criterion holds', () => {
    expect(matchesFilter(good, f)).toBe(true);
  });
  it.each([
    ['another distro', { os_distro: 'ubuntu' }],
    ['another version', { os_version: '11' }],
    ['a missing tag', { tags: ['x'] }],
    ['another visibility', { visibility: 'private' }],
    ['another owner', { owner: 'p2' }],
    ['another property value', { hw_disk_bus: 'scsi' }],
    ['a hidden image (deprecated by its owner)', { os_hidden: true }],
    ['an image imagesync built (it inherits its source\'s os_distro: a filter must not pick its own build)', { imagesync_recipe: 'ab12' }],
  ])('fails on %s', (_what, over) => {
    expect(matchesFilter({ ...good, ...over } as GlanceImage, f)).toBe(false);
  });
});

describe('selectSource with a filter', () => {
  const f = { os_distro: 'debian' };
  const a = img('a', { name: 'debian-12-20260101', os_distro: 'debian', created_at: '2026-01-01T00:00:00Z' });
  const b = img('b', { name: 'debian-12-20260201', os_distro: 'debian', created_at: '2026-02-01T00:00:00Z' });
  const u = img('u', { name: 'ubuntu', os_distro: 'ubuntu', created_at: '2026-03-01T00:00:00Z' });
  it('takes the newest of several matches with pick newest, and says of how many', () => {
    expect(selectSource([a, b, u], { filter: f, pick: 'newest' })).toMatchObject({ ok: true, image: { id: 'b' }, of: 2 });
  });
  it('refuses several matches with pick only, naming them', () => {
    const r = selectSource([a, b, u], { filter: f, pick: 'only' });
    expect(r).toEqual({ ok: false, problem: '2 active images match source filter os_distro=debian (b "debian-12-20260201", a "debian-12-20260101"); set "source": { "pick": "newest" } to take the newest' });
  });
  it('says what was looked for when nothing matches', () => {
    expect(selectSource([u], { filter: f, pick: 'only' })).toEqual({ ok: false, problem: 'no active image matches source filter os_distro=debian' });
  });
  it('a name and a filter: both must hold', () => {
    expect(selectSource([a, b], { name: 'debian-12-20260101', filter: f, pick: 'only' })).toMatchObject({ ok: true, image: { id: 'a' } });
    expect(selectSource([a], { name: 'debian-12-20260101', filter: { os_distro: 'ubuntu' }, pick: 'only' })).toEqual({
      ok: false,
      problem: 'no active image matches source "debian-12-20260101" with filter os_distro=ubuntu (1 image named "debian-12-20260101" does not match the filter, or is not active)',
    });
  });
  it('describes what it looks for', () => {
    expect(describeSpec({ name: 'x', filter: { os_distro: 'debian', tags: ['a'], owner: 'o' } })).toBe('"x" with filter os_distro=debian, tags a, owner=o');
  });
});

describe('plan sources', () => {
  const image = (source: WantedImage['source']) => ({ name: 'web', source, build: { steps: [{ run: 'true' }] } }) as WantedImage;
  it('reads names where a name is given, a filter listing where only a filter is', () => {
    const images = [image({ image: { alpha: 'Debian 12' }, filter: { os_distro: 'debian' }, pick: 'newest' }), image({ image: 'cirros', pick: 'only' })];
    expect(sourceReads(images, alpha)).toEqual({ names: ['Debian 12', 'cirros'], queries: [] });
    expect(sourceReads(images, beta)).toEqual({ names: ['cirros'], queries: [filterQuery({ os_distro: 'debian' })] });
    expect(sourceRead({ pick: 'only' })).toBeUndefined();
  });
  it('finds the source in the observation: by name in its images, by filter in its listing', () => {
    const wanted = image({ image: { alpha: 'Debian 12' }, filter: { os_distro: 'debian' }, pick: 'newest' });
    const named = img('n', { name: 'Debian 12', os_distro: 'debian' });
    const q = filterQuery({ os_distro: 'debian' });
    const listed = [img('x', { name: 'd-1', os_distro: 'debian', created_at: '2026-05-01' }), img('y', { name: 'd-0', os_distro: 'debian', created_at: '2026-04-01' })];
    const obs = (t: typeof alpha, extra: object = {}) => ({ ...t, ok: true as const, via: 'glance' as const, images: [named], durationMs: 1, ...extra });
    expect(sourceFound(wanted, obs(alpha))).toMatchObject({ ok: true, source: { id: 'n', name: 'Debian 12', by: '"Debian 12" with filter os_distro=debian', of: 1 } });
    expect(sourceFound(wanted, obs(beta, { sourceLists: { [q]: listed } }))).toMatchObject({ ok: true, source: { id: 'x', name: 'd-1', by: 'filter os_distro=debian', of: 2 } });
    expect(sourceFound(wanted, obs(beta))).toMatchObject({ ok: false, problem: expect.stringMatching(/needs the image service \(Glance\)/) });
  });
});

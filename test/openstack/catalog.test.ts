import { describe, expect, it } from 'vitest';
import { catalogRegions, findEndpoint, imageApiFor, imageV2Base, type Catalog } from '../../src/openstack/catalog.js';
import { CatalogError } from '../../src/errors.js';

const catalog: Catalog = [
  { type: 'identity', endpoints: [{ interface: 'public', region_id: 'RegionOne', url: 'http://ks/v3' }] },
  {
    type: 'image',
    endpoints: [
      { interface: 'public', region_id: 'RegionOne', url: 'http://g1:9292' },
      { interface: 'internal', region_id: 'RegionOne', url: 'http://g1-int:9292/' },
      { interface: 'public', region: 'RegionTwo', url: 'https://img.example/image/v2/' },
    ],
  },
  {
    type: 'compute',
    endpoints: [
      { interface: 'public', region_id: 'RegionOne', url: 'http://n1/v2.1' },
      { interface: 'public', region_id: 'Legacy', url: 'http://n9/v2.1/abc123/' },
    ],
  },
];

describe('catalog', () => {
  it('finds by type, region and interface', () => {
    expect(findEndpoint(catalog, { type: 'image', region: 'RegionOne', interface: 'public' })).toBe('http://g1:9292');
    expect(findEndpoint(catalog, { type: 'image', region: 'RegionOne', interface: 'internal' })).toBe('http://g1-int:9292/');
    expect(findEndpoint(catalog, { type: 'image', region: 'Legacy', interface: 'public' })).toBeUndefined();
  });

  it('lists regions from region_id or region', () => {
    expect(catalogRegions(catalog)).toEqual(['Legacy', 'RegionOne', 'RegionTwo']);
  });

  it('versions the image endpoint once', () => {
    expect(imageV2Base('http://g1:9292')).toBe('http://g1:9292/v2');
    expect(imageV2Base('https://img.example/image/v2/')).toBe('https://img.example/image/v2');
    expect(imageV2Base('https://img.example/v2.1')).toBe('https://img.example/v2');
  });

  it('prefers Glance, falls back to the compute proxy', () => {
    expect(imageApiFor(catalog, { cloud: 'c', region: 'RegionOne' }, 'public')).toEqual({ kind: 'glance', url: 'http://g1:9292/v2' });
    expect(imageApiFor(catalog, { cloud: 'c', region: 'Legacy' }, 'public')).toEqual({ kind: 'compute-proxy', url: 'http://n9/v2.1/abc123' });
  });

  it('names the catalog regions when a region is not there', () => {
    expect(() => imageApiFor(catalog, { cloud: 'acme', region: 'RegionX' }, 'public')).toThrowError(
      new CatalogError('acme/RegionX: region "RegionX" is not in the catalog of cloud "acme" (regions: Legacy, RegionOne, RegionTwo)'),
    );
  });

  it('says which services a region has when it has neither image nor compute', () => {
    expect(() => imageApiFor(catalog, { cloud: 'acme', region: 'RegionTwo' }, 'admin')).toThrow(
      /acme\/RegionTwo: the catalog has no admin image or compute endpoint in region "RegionTwo" \(services there: image\)/,
    );
  });
});

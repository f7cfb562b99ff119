// Tests the pure target helpers: expansion order, narrowing by image regions, build settings merge order.
import { describe, expect, it } from 'vitest';
import { ManifestSchema, type ManifestInput } from '../../src/manifest/schema.js';
import { buildSettingsFor, expandTargets, imageTargets, mergeBuildSettings } from '../../src/manifest/targets.js';

function manifest(overrides: Partial<ManifestInput> = {}) {
  return ManifestSchema.parse({
    defaults: {
      build: {
        flavor: 'default-flavor',
        network: 'default-net',
        securityGroups: ['default', 'ssh'],
        ssh: { user: 'root', port: 22, connectTimeoutSeconds: 10 },
        timeouts: { bootSeconds: 600, sshSeconds: 300 },
        concurrency: 1,
      },
    },
    targets: [
      { cloud: 'acme', regions: ['RegionOne', 'RegionTwo'], build: { flavor: 'acme-flavor', ssh: { user: 'debian' }, timeouts: { sshSeconds: 120 } } },
      { cloud: 'other', regions: ['RegionOne', 'Far'], build: { network: 'other-net', securityGroups: ['only-this'] } },
      { cloud: 'acme', regions: ['RegionThree'] },
    ],
    images: [
      { name: 'everywhere', source: { image: 'src' }, build: { steps: [{ run: 'true' }] } },
      {
        name: 'narrow',
        source: { image: 'src' },
        build: { flavor: 'image-flavor', ssh: { port: 2222 }, timeouts: { stepSeconds: 30 }, steps: [{ run: 'true' }] },
        regions: ['RegionOne', 'RegionThree'],
      },
    ],
    ...overrides,
  });
}

describe('expandTargets', () => {
  it('lists every cloud and region in manifest order, each once', () => {
    const m = manifest({ targets: [{ cloud: 'a', regions: ['R1', 'R2', 'R1'] }, { cloud: 'b', regions: ['R1'] }, { cloud: 'a', regions: ['R2', 'R3'] }] });
    expect(expandTargets(m)).toEqual([
      { cloud: 'a', region: 'R1' },
      { cloud: 'a', region: 'R2' },
      { cloud: 'b', region: 'R1' },
      { cloud: 'a', region: 'R3' },
    ]);
  });
});

describe('imageTargets', () => {
  it('is every target when the image lists no regions', () => {
    const m = manifest();
    expect(imageTargets(m, m.images[0]!)).toEqual(expandTargets(m));
  });

  it("narrows to the image's regions, in every cloud that has them", () => {
    const m = manifest();
    expect(imageTargets(m, m.images[1]!)).toEqual([
      { cloud: 'acme', region: 'RegionOne' },
      { cloud: 'other', region: 'RegionOne' },
      { cloud: 'acme', region: 'RegionThree' },
    ]);
  });
});

describe('buildSettingsFor', () => {
  it('merges defaults < target < image, ssh and timeouts key by key, without the steps', () => {
    const m = manifest();
    expect(buildSettingsFor(m, m.images[1]!, 'acme', 'RegionOne')).toEqual({
      flavor: 'image-flavor',
      network: 'default-net',
      securityGroups: ['default', 'ssh'],
      ssh: { user: 'debian', port: 2222, connectTimeoutSeconds: 10 },
      timeouts: { bootSeconds: 600, sshSeconds: 120, stepSeconds: 30 },
      concurrency: 1,
    });
  });

  it('takes the build settings of the target that holds the cloud and region', () => {
    const m = manifest();
    const other = buildSettingsFor(m, m.images[0]!, 'other', 'RegionOne');
    expect(other).toMatchObject({ flavor: 'default-flavor', network: 'other-net', securityGroups: ['only-this'] });
    expect(other.ssh).toEqual({ user: 'root', port: 22, connectTimeoutSeconds: 10 });
    expect(buildSettingsFor(m, m.images[0]!, 'acme', 'RegionThree').flavor).toBe('default-flavor');
  });

  it('works without defaults', () => {
    const m = manifest({ defaults: undefined });
    expect(buildSettingsFor(m, m.images[0]!, 'other', 'Far')).toEqual({ network: 'other-net', securityGroups: ['only-this'] });
  });

  it('throws for a cloud and region that is not a target', () => {
    const m = manifest();
    expect(() => buildSettingsFor(m, m.images[0]!, 'acme', 'Far')).toThrow(/acme\/Far is not a target/);
  });
});

describe('mergeBuildSettings', () => {
  it('never lets an undefined value override', () => {
    expect(mergeBuildSettings({ flavor: 'a', ssh: { user: 'u' } }, { flavor: undefined, ssh: { user: undefined, port: 2 } }, undefined)).toEqual({
      flavor: 'a',
      ssh: { user: 'u', port: 2 },
    });
  });
});

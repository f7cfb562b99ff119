// Lookup order and display of config file paths.
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { candidates, displayPath, findConfigFile, lookedFor } from '../../src/config/files.js';
import { makeFixture, type Fixture } from './fixture.js';

let fx: Fixture;
beforeEach(async () => {
  fx = await makeFixture();
});
afterEach(async () => {
  await fx.cleanup();
});

describe('candidates', () => {
  it('cwd, then ~/.config/openstack, then the system dir; .yaml, .yml, .json in each', () => {
    expect(candidates(fx.opts(), 'clouds')).toEqual([
      join(fx.cwd, 'clouds.yaml'),
      join(fx.cwd, 'clouds.yml'),
      join(fx.cwd, 'clouds.json'),
      join(fx.userDir, 'clouds.yaml'),
      join(fx.userDir, 'clouds.yml'),
      join(fx.userDir, 'clouds.json'),
      join(fx.etc, 'clouds.yaml'),
      join(fx.etc, 'clouds.yml'),
      join(fx.etc, 'clouds.json'),
    ]);
  });

  it('defaults the system dir to /etc/openstack', () => {
    expect(candidates({ env: {}, cwd: fx.cwd, home: fx.home }, 'secure').at(-3)).toBe('/etc/openstack/secure.yaml');
    expect(lookedFor({ env: {}, cwd: fx.cwd, home: fx.home }, 'clouds')).toBe(
      './clouds.yaml, ~/.config/openstack/clouds.yaml, /etc/openstack/clouds.yaml',
    );
  });
});

describe('findConfigFile', () => {
  it('a .yml in cwd beats a .yaml in home; a .json is found too', async () => {
    await fx.write(join(fx.userDir, 'clouds.yaml'), 'clouds: {}\n');
    await fx.write(join(fx.cwd, 'clouds.yml'), 'clouds: {}\n');
    expect(await findConfigFile(fx.opts(), 'clouds', 'OS_CLIENT_CONFIG_FILE')).toBe(join(fx.cwd, 'clouds.yml'));
    await fx.write(join(fx.etc, 'secure.json'), '{"clouds": {}}');
    expect(await findConfigFile(fx.opts(), 'secure', 'OS_CLIENT_SECURE_FILE')).toBe(join(fx.etc, 'secure.json'));
  });

  it('undefined when nothing exists', async () => {
    expect(await findConfigFile(fx.opts(), 'clouds', 'OS_CLIENT_CONFIG_FILE')).toBeUndefined();
  });

  it('the variable must name an existing file', async () => {
    await expect(findConfigFile(fx.opts({ OS_CLIENT_SECURE_FILE: 'nope.yaml' }), 'secure', 'OS_CLIENT_SECURE_FILE')).rejects.toThrow(
      'OS_CLIENT_SECURE_FILE=nope.yaml: no such file; fix the variable or unset it to use ./secure.yaml',
    );
  });
});

describe('displayPath', () => {
  it('relative below cwd, ~/ below home, absolute elsewhere', () => {
    expect(displayPath(join(fx.cwd, 'sub', 'clouds.yaml'), fx.opts())).toBe(join('sub', 'clouds.yaml'));
    expect(displayPath(join(fx.userDir, 'clouds.yaml'), fx.opts())).toBe('~/.config/openstack/clouds.yaml');
    expect(displayPath('/etc/openstack/clouds.yaml', fx.opts())).toBe('/etc/openstack/clouds.yaml');
  });
});

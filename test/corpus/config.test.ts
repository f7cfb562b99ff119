// Bad-input corpus, clouds.yaml / secure.yaml / OS_*: exit 3, one line naming file:line (or the variable), nothing contacted.
import { chmod, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { useEmulator } from '../helpers/emulator.js';
import { PASSWORD, expectInputError, manifestWith, openToOthers, runAsNobody, runUntouched, useCorpus } from './fixture.js';

const emulator = useEmulator();
const c = useCorpus(emulator);
let good: string;
beforeAll(() => {
  good = emulator.cloudsYaml();
});
beforeEach(async () => {
  await c.manifest(manifestWith());
});

/** The emulator's clouds.yaml with one change; the line numbers below refer to this layout. */
function edit(from: RegExp, to: string): string {
  expect(good).toMatch(from);
  return good.replace(from, to);
}
const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

interface ConfigCase {
  name: string;
  clouds?: () => string | null;
  secure?: () => string;
  env?: () => NodeJS.ProcessEnv;
  manifestCloud?: string;
  headline: () => RegExp;
}

const cases: ConfigCase[] = [
  {
    name: 'no clouds.yaml anywhere, although OS_CLOUD is set',
    clouds: () => null,
    env: () => ({ OS_CLIENT_CONFIG_FILE: '', OS_CLOUD: 'emulator' }),
    headline: () => /^imagesync: cloud "emulator" is not defined: no clouds\.yaml found \(looked for \.\/clouds\.yaml, \.config\/openstack\/clouds\.yaml, \/etc\/openstack\/clouds\.yaml\) and OS_AUTH_URL is not set$/,
  },
  {
    name: 'OS_CLIENT_CONFIG_FILE names a file that does not exist',
    env: () => ({ OS_CLIENT_CONFIG_FILE: 'nope/clouds.yaml' }),
    headline: () => /^imagesync: OS_CLIENT_CONFIG_FILE=nope\/clouds\.yaml: no such file; fix the variable or unset it to use \.\/clouds\.yaml$/,
  },
  {
    name: 'auth is a number',
    clouds: () => 'clouds:\n  emulator:\n    auth: 42\n',
    headline: () => /^imagesync: clouds\.yaml:3: clouds\.emulator\.auth: expected a mapping, not a number$/,
  },
  {
    name: 'a cloud entry is a list',
    clouds: () => 'clouds:\n  emulator: [a, b]\n',
    headline: () => /^imagesync: clouds\.yaml:2: clouds\.emulator: expected a mapping, not a list$/,
  },
  {
    name: 'regions is a number even though region_name is set',
    clouds: () => edit(/regions:\n\s+- RegionOne\n\s+- RegionTwo/, 'regions: 7'),
    headline: () => new RegExp(`^imagesync: clouds\\.yaml:${lineOf(edit(/regions:\n\s+- RegionOne\n\s+- RegionTwo/, 'regions: 7'), 'regions: 7')}: clouds\\.emulator\\.regions: expected a list, not a number$`),
  },
  {
    name: 'auth_url is not a URL',
    clouds: () => edit(/auth_url: .*/, 'auth_url: keystone.example:5000/v3'),
    headline: () => /^imagesync: clouds\.yaml:5: cloud "emulator": clouds\.emulator\.auth\.auth_url is not an http\(s\) URL$/,
  },
  {
    name: 'an unknown auth_type',
    clouds: () => edit(/interface: public/, 'interface: public\n    auth_type: v3oidcpassword'),
    headline: () => /^imagesync: clouds\.yaml:16: cloud "emulator": auth_type "v3oidcpassword" is not supported \(password, v3applicationcredential, token\)$/,
  },
  {
    name: 'a YAML syntax error has line:column',
    clouds: () => edit(/username: admin/, 'username: [admin'),
    headline: () => /^imagesync: clouds\.yaml:7:7: Flow sequence in block collection must be sufficiently indented and end with a \]$/,
  },
  {
    name: 'a tab in the indentation has line:column',
    clouds: () => edit(/ {4}username/, '\tusername'),
    headline: () => /^imagesync: clouds\.yaml:6:3: Tabs are not allowed as indentation$/,
  },
  {
    name: 'a YAML error right after the password never quotes it',
    clouds: () => edit(/password: .*/, `password: "${PASSWORD}`),
    headline: () => /^imagesync: clouds\.yaml:\d+:\d+: (?!.*emulator-secret).*$/,
  },
  {
    name: 'verify: maybe',
    clouds: () => edit(/interface: public/, 'interface: public\n    verify: maybe'),
    headline: () => /^imagesync: clouds\.yaml:16: clouds\.emulator\.verify: expected true or false, not "maybe"$/,
  },
  {
    name: 'interface: pubic',
    clouds: () => edit(/interface: public/, 'interface: pubic'),
    headline: () => /^imagesync: clouds\.yaml:15: cloud "emulator": clouds\.emulator\.interface "pubic" is not one of public, internal, admin$/,
  },
  {
    name: 'the password one level too high is found and pointed at',
    clouds: () => edit(/ {6}password: .*\n/, '').replace('interface: public', `interface: public\n    password: ${PASSWORD}`),
    headline: () => /^imagesync: clouds\.yaml:15: cloud "emulator": clouds\.emulator\.auth\.password is missing \(needed for auth_type password\) \(found clouds\.emulator\.password: move it under auth\)$/,
  },
  {
    name: 'secure.yaml without "clouds:" (the cloud at its top level) is pointed at',
    clouds: () => edit(/ {6}password: .*\n/, ''),
    secure: () => `emulator:\n  auth:\n    password: ${PASSWORD}\n`,
    headline: () => /^imagesync: clouds\.yaml:4: cloud "emulator": clouds\.emulator\.auth\.password is missing \(needed for auth_type password\); secure\.yaml:1 has "emulator" at the top level, where it is ignored: put it under "clouds:", as in clouds\.yaml$/,
  },
  {
    name: 'secure.yaml whose clouds is a list',
    clouds: () => edit(/ {6}password: .*\n/, ''),
    secure: () => 'clouds:\n  - emulator\n',
    headline: () => /^imagesync: secure\.yaml:1: clouds: expected a mapping of cloud names, not a list$/,
  },
  {
    name: 'secure.yaml with the password as a list',
    clouds: () => edit(/ {6}password: .*\n/, ''),
    secure: () => `clouds:\n  emulator:\n    auth:\n      password: [${PASSWORD}]\n`,
    headline: () => /^imagesync: secure\.yaml:4: clouds\.emulator\.auth\.password: expected a string, not a list$/,
  },
  {
    name: 'OS_CLOUD and the manifest name a cloud clouds.yaml lacks',
    env: () => ({ OS_CLOUD: 'acme' }),
    manifestCloud: 'acme',
    headline: () => /^imagesync: cloud "acme" is not defined in clouds\.yaml \(defined: emulator\)$/,
  },
  {
    name: 'envvars without OS_PASSWORD names the variable and what to do',
    clouds: () => null,
    env: () => ({ OS_CLIENT_CONFIG_FILE: '', OS_AUTH_URL: emulator.authUrl, OS_USERNAME: 'admin', OS_PROJECT_NAME: 'admin' }),
    manifestCloud: 'envvars',
    headline: () => /^imagesync: environment \(OS_\*\): cloud "envvars": OS_PASSWORD is not set \(needed for auth_type password\); export it, or name a clouds\.yaml cloud instead of "envvars" in the manifest's targets$/,
  },
  {
    name: 'envvars with an application credential id but no secret',
    clouds: () => null,
    env: () => ({ OS_CLIENT_CONFIG_FILE: '', OS_AUTH_URL: emulator.authUrl, OS_APPLICATION_CREDENTIAL_ID: 'e4c1a7d0' }),
    manifestCloud: 'envvars',
    headline: () => /^imagesync: environment \(OS_\*\): cloud "envvars": OS_APPLICATION_CREDENTIAL_SECRET is not set \(needed for auth_type v3applicationcredential\)/,
  },
  {
    name: 'envvars with an OS_AUTH_URL that is not a URL',
    clouds: () => null,
    env: () => ({ OS_CLIENT_CONFIG_FILE: '', OS_AUTH_URL: 'keystone:5000', OS_USERNAME: 'admin', OS_PASSWORD: PASSWORD }),
    manifestCloud: 'envvars',
    headline: () => /^imagesync: environment \(OS_\*\): cloud "envvars": OS_AUTH_URL is not an http\(s\) URL$/,
  },
];

describe('cloud configuration that is refused (exit 3, nothing contacted)', () => {
  it.each(cases)('$name', async (k) => {
    if (k.clouds) {
      const text = k.clouds();
      if (text === null) await rm(join(c.dir, 'clouds.yaml'));
      else await writeFile(join(c.dir, 'clouds.yaml'), text);
    }
    if (k.secure) await writeFile(join(c.dir, 'secure.yaml'), k.secure());
    if (k.manifestCloud) await c.manifest({ ...manifestWith(), targets: [{ cloud: k.manifestCloud, regions: ['RegionOne'] }] });
    const env = k.env?.() ?? {};
    // An empty OS_CLIENT_CONFIG_FILE means "not set" here: drop it so the search order applies.
    if (env.OS_CLIENT_CONFIG_FILE === '') env.OS_CLIENT_CONFIG_FILE = undefined;
    const r = await runUntouched(c, ['plan'], env);
    expectInputError(r, k.headline());
    expect(r.stderr).not.toContain(PASSWORD);
  });

  it('an unreadable clouds.yaml (read as uid 65534) names the file and the variable', async () => {
    await openToOthers(c.dir);
    await chmod(join(c.dir, 'clouds.yaml'), 0o600); // root's file: "nobody" may not read it
    const file = join(c.dir, 'clouds.yaml');
    const requests = emulator.stats.total;
    const r = await runAsNobody(['plan', '-m', join(c.dir, 'images.manifest.json')], { cwd: c.dir, env: { OS_CLIENT_CONFIG_FILE: file } });
    expect(emulator.stats.total).toBe(requests);
    if (process.getuid?.() !== 0) return; // not root: the file is readable, nothing to check
    // HOME is the temp folder, so the file shows as ~/clouds.yaml.
    expectInputError(r, /^imagesync: ~\/clouds\.yaml \(from OS_CLIENT_CONFIG_FILE\): cannot read: permission denied; make it readable by this user \(EACCES\)$/);
  });
});

describe('cloud configuration that is odd but valid', () => {
  it('OS_CLOUD naming another cloud is ignored: the manifest names the cloud', async () => {
    const r = await c.run(['plan', '--json'], { env: { OS_CLOUD: 'acme' } });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).entries[0]).toMatchObject({ cloud: 'emulator', state: 'missing' });
  });
});

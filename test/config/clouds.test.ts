// resolveCloud / listClouds / defaultCloudName against real files in temporary directories.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultCloudName, listClouds, resolveCloud, resolveClouds } from '../../src/config/clouds.js';
import { ConfigError } from '../../src/errors.js';
import { makeFixture, rejection, yaml, type Fixture } from './fixture.js';

let fx: Fixture;
beforeEach(async () => {
  fx = await makeFixture();
});
afterEach(async () => {
  await fx.cleanup();
});

const acme = (url: string, password = 'pw-acme'): string => yaml`
  clouds:
    acme:
      auth:
        auth_url: ${url}
        username: alice
        password: ${password}
        project_name: demo
`;

describe('file lookup', () => {
  it('prefers ./clouds.yaml over ~/.config/openstack and /etc/openstack', async () => {
    await fx.write(join(fx.cwd, 'clouds.yaml'), acme('https://cwd.example/v3'));
    await fx.write(join(fx.userDir, 'clouds.yaml'), acme('https://home.example/v3'));
    await fx.write(join(fx.etc, 'clouds.yaml'), acme('https://etc.example/v3'));
    const c = await resolveCloud('acme', fx.opts());
    expect(c.auth.authUrl).toBe('https://cwd.example/v3');
    expect(c.source).toBe('clouds.yaml:2');
  });

  it('falls back to ~/.config/openstack, then /etc/openstack', async () => {
    await fx.write(join(fx.userDir, 'clouds.yaml'), acme('https://home.example/v3'));
    await fx.write(join(fx.etc, 'clouds.yaml'), acme('https://etc.example/v3'));
    const home = await resolveCloud('acme', fx.opts());
    expect(home.auth.authUrl).toBe('https://home.example/v3');
    expect(home.source).toBe(join('~', '.config', 'openstack', 'clouds.yaml') + ':2');

    const fx2 = await makeFixture();
    try {
      await fx2.write(join(fx2.etc, 'clouds.yaml'), acme('https://etc.example/v3'));
      const etc = await resolveCloud('acme', fx2.opts());
      expect(etc.auth.authUrl).toBe('https://etc.example/v3');
      expect(etc.source).toBe(join(fx2.etc, 'clouds.yaml') + ':2');
    } finally {
      await fx2.cleanup();
    }
  });

  it('accepts clouds.yml', async () => {
    await fx.write(join(fx.userDir, 'clouds.yml'), acme('https://yml.example/v3'));
    const c = await resolveCloud('acme', fx.opts());
    expect(c.auth.authUrl).toBe('https://yml.example/v3');
    expect(c.source).toBe(join('~', '.config', 'openstack', 'clouds.yml') + ':2');
  });

  it('uses OS_CLIENT_CONFIG_FILE before every other place, relative to cwd', async () => {
    await fx.write(join(fx.cwd, 'clouds.yaml'), acme('https://cwd.example/v3'));
    await fx.write(join(fx.cwd, 'conf', 'mine.yaml'), acme('https://named.example/v3'));
    const c = await resolveCloud('acme', fx.opts({ OS_CLIENT_CONFIG_FILE: 'conf/mine.yaml' }));
    expect(c.auth.authUrl).toBe('https://named.example/v3');
    expect(c.source).toBe(join('conf', 'mine.yaml') + ':2');
  });

  it('OS_CLIENT_CONFIG_FILE naming a missing file is an error naming the variable', async () => {
    await fx.write(join(fx.cwd, 'clouds.yaml'), acme('https://cwd.example/v3'));
    const err = await rejection(resolveCloud('acme', fx.opts({ OS_CLIENT_CONFIG_FILE: '/nonexistent/clouds.yaml' })));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(
      'OS_CLIENT_CONFIG_FILE=/nonexistent/clouds.yaml: no such file; fix the variable or unset it to use ./clouds.yaml',
    );
  });

  it('merges secure.yaml from another directory into the clouds, secure values winning', async () => {
    await fx.write(
      join(fx.cwd, 'clouds.yaml'),
      yaml`
        clouds:
          acme:
            auth:
              auth_url: https://k.example/v3
              username: alice
              password: placeholder
              project_name: demo
            region_name: RegionOne
      `,
    );
    await fx.write(
      join(fx.userDir, 'secure.yaml'),
      yaml`
        clouds:
          acme:
            auth:
              password: from-secure
          extra:
            auth:
              auth_url: https://extra.example/v3
              token: tok-extra
      `,
    );
    await fx.write(join(fx.etc, 'secure.yaml'), 'clouds: {acme: {auth: {password: from-etc}}}\n');
    const c = await resolveCloud('acme', fx.opts());
    expect(c.auth).toMatchObject({ type: 'password', username: 'alice', password: 'from-secure', projectName: 'demo' });
    expect(c.regionName).toBe('RegionOne');
    expect(c.secrets).toEqual(['from-secure']);
    expect(c.source).toBe('clouds.yaml:2');
    expect(await listClouds(fx.opts())).toEqual({
      names: ['acme', 'extra'],
      files: [join(fx.cwd, 'clouds.yaml'), join(fx.userDir, 'secure.yaml')],
    });
    const extra = await resolveCloud('extra', fx.opts());
    expect(extra.auth).toEqual({ type: 'token', authUrl: 'https://extra.example/v3', token: 'tok-extra' });
    expect(extra.source).toBe(join('~', '.config', 'openstack', 'secure.yaml') + ':5');
  });

  it('uses OS_CLIENT_SECURE_FILE for the secrets', async () => {
    await fx.write(join(fx.cwd, 'clouds.yaml'), acme('https://k.example/v3'));
    await fx.write(join(fx.root, 'vault', 's.yaml'), 'clouds:\n  acme:\n    auth:\n      password: from-vault\n');
    await fx.write(join(fx.cwd, 'secure.yaml'), 'clouds:\n  acme:\n    auth:\n      password: from-cwd\n');
    const c = await resolveCloud('acme', fx.opts({ OS_CLIENT_SECURE_FILE: join(fx.root, 'vault', 's.yaml') }));
    expect(c.auth).toMatchObject({ password: 'from-vault' });
  });

  it('reports a secure.yaml problem at its line in secure.yaml', async () => {
    await fx.write(join(fx.cwd, 'clouds.yaml'), acme('https://k.example/v3'));
    await fx.write(join(fx.cwd, 'secure.yaml'), 'clouds:\n  acme:\n    auth:\n      password: [a, b]\n');
    const err = await rejection(resolveCloud('acme', fx.opts()));
    expect(err.message).toBe('secure.yaml:4: clouds.acme.auth.password: expected a string, not a list');
  });
});

describe('environment', () => {
  const base = {
    OS_AUTH_URL: 'https://env.example:5000/v3',
    OS_USERNAME: 'envuser',
    OS_PASSWORD: 'env-password',
    OS_PROJECT_NAME: 'envproject',
    OS_USER_DOMAIN_NAME: 'Users',
    OS_PROJECT_DOMAIN_ID: 'pdom',
    OS_REGION_NAME: 'RegionTwo',
  };

  it('builds the cloud "envvars" from OS_* with no file at all', async () => {
    const c = await resolveCloud('envvars', fx.opts({ ...base, OS_INTERFACE: 'internal', OS_CACERT: '/ca.pem' }));
    expect(c).toEqual({
      name: 'envvars',
      auth: {
        type: 'password',
        authUrl: 'https://env.example:5000/v3',
        username: 'envuser',
        userDomainName: 'Users',
        password: 'env-password',
        projectName: 'envproject',
        projectDomainId: 'pdom',
      },
      interface: 'internal',
      regionName: 'RegionTwo',
      cacert: '/ca.pem',
      insecure: false,
      source: 'environment (OS_*)',
      secrets: ['env-password'],
    });
  });

  it('reads legacy OS_TENANT_*, OS_ENDPOINT_TYPE=publicURL, OS_DOMAIN_NAME and OS_INSECURE', async () => {
    const c = await resolveCloud(
      'envvars',
      fx.opts({
        OS_AUTH_URL: 'http://k/v3',
        OS_USER_ID: 'uid1',
        OS_PASSWORD: 'pw-1234',
        OS_TENANT_NAME: 'legacy',
        OS_DOMAIN_NAME: 'Shared',
        OS_ENDPOINT_TYPE: 'publicURL',
        OS_INSECURE: 'true',
      }),
    );
    expect(c.auth).toEqual({
      type: 'password',
      authUrl: 'http://k/v3',
      userId: 'uid1',
      password: 'pw-1234',
      projectName: 'legacy',
      projectDomainName: 'Shared',
    });
    expect(c.interface).toBe('public');
    expect(c.insecure).toBe(true);
  });

  it('OS_DOMAIN_NAME is the fallback for both domains; explicit ones win; empty values are unset', async () => {
    const c = await resolveCloud(
      'envvars',
      fx.opts({ ...base, OS_USER_DOMAIN_NAME: '', OS_PROJECT_DOMAIN_ID: '', OS_DOMAIN_NAME: 'Both', OS_PROJECT_DOMAIN_NAME: 'Proj' }),
    );
    expect(c.auth).toMatchObject({ userDomainName: 'Both', projectDomainName: 'Proj' });
    expect(c.auth).not.toHaveProperty('projectDomainId');
  });

  it('application credentials from OS_* (with and without OS_AUTH_TYPE)', async () => {
    const env = {
      OS_AUTH_URL: 'http://k/v3',
      OS_APPLICATION_CREDENTIAL_ID: 'ac-id',
      OS_APPLICATION_CREDENTIAL_SECRET: 'ac-secret',
    };
    const expected = {
      type: 'v3applicationcredential',
      authUrl: 'http://k/v3',
      applicationCredentialId: 'ac-id',
      applicationCredentialSecret: 'ac-secret',
    };
    expect((await resolveCloud('envvars', fx.opts(env))).auth).toEqual(expected);
    const c = await resolveCloud('envvars', fx.opts({ ...env, OS_AUTH_TYPE: 'v3applicationcredential' }));
    expect(c.auth).toEqual(expected);
    expect(c.secrets).toEqual(['ac-secret']);
  });

  it('OS_TOKEN makes a token cloud', async () => {
    const c = await resolveCloud('envvars', fx.opts({ OS_AUTH_URL: 'http://k/v3', OS_TOKEN: 'gAAAAtoken', OS_PROJECT_ID: 'p1' }));
    expect(c.auth).toEqual({ type: 'token', authUrl: 'http://k/v3', token: 'gAAAAtoken', projectId: 'p1' });
    expect(c.secrets).toEqual(['gAAAAtoken']);
  });

  it('a missing OS_PASSWORD names the variable, never the other values', async () => {
    const err = await rejection(resolveCloud('envvars', fx.opts({ ...base, OS_PASSWORD: undefined })));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(
      'environment (OS_*): cloud "envvars": OS_PASSWORD is not set (needed for auth_type password); export it, or name a clouds.yaml cloud instead of "envvars" in the manifest\'s targets',
    );
  });

  it('rejects OS_IDENTITY_API_VERSION=2 and a bad OS_INTERFACE', async () => {
    expect((await rejection(resolveCloud('envvars', fx.opts({ ...base, OS_IDENTITY_API_VERSION: '2' })))).message).toBe(
      'environment (OS_*): cloud "envvars": identity_api_version 2 is not supported: imagesync speaks Keystone v3 only; set it to 3 or remove it',
    );
    expect((await rejection(resolveCloud('envvars', fx.opts({ ...base, OS_INTERFACE: 'private' })))).message).toBe(
      'environment (OS_*): cloud "envvars": OS_INTERFACE "private" is not one of public, internal, admin',
    );
    expect((await rejection(resolveCloud('envvars', fx.opts({ ...base, OS_INSECURE: 'maybe' })))).message).toBe(
      'environment (OS_*): OS_INSECURE: expected true or false, not "maybe"',
    );
  });

  it('the OS_* cloud replaces a clouds.yaml entry called envvars, and is listed', async () => {
    await fx.write(join(fx.cwd, 'clouds.yaml'), acme('https://file.example/v3').replace('acme', 'envvars'));
    expect((await resolveCloud('envvars', fx.opts())).auth.authUrl).toBe('https://file.example/v3');
    expect((await resolveCloud('envvars', fx.opts(base))).auth.authUrl).toBe(base.OS_AUTH_URL);
    expect((await listClouds(fx.opts(base))).names).toEqual(['envvars']);
  });

  it('defaultCloudName: OS_CLOUD, else envvars with OS_AUTH_URL, else undefined', () => {
    expect(defaultCloudName(fx.opts({ OS_CLOUD: 'acme', OS_AUTH_URL: 'http://k' }))).toBe('acme');
    expect(defaultCloudName(fx.opts({ OS_AUTH_URL: 'http://k' }))).toBe('envvars');
    expect(defaultCloudName(fx.opts({ OS_CLOUD: '' }))).toBeUndefined();
    expect(defaultCloudName(fx.opts({}))).toBeUndefined();
  });

  it('listClouds lists file clouds in order, then envvars', async () => {
    await fx.write(join(fx.cwd, 'clouds.yaml'), 'clouds:\n  zeta: {}\n  alpha: {}\n');
    expect(await listClouds(fx.opts(base))).toEqual({ names: ['zeta', 'alpha', 'envvars'], files: [join(fx.cwd, 'clouds.yaml')] });
    expect(await listClouds(fx.opts())).toEqual({ names: ['zeta', 'alpha'], files: [join(fx.cwd, 'clouds.yaml')] });
  });
});

describe('auth types', () => {
  const write = (text: string): Promise<string> => fx.write(join(fx.cwd, 'clouds.yaml'), text);

  it('password: default domain "default" for user and project names', async () => {
    await write(acme('https://k/v3'));
    const c = await resolveCloud('acme', fx.opts());
    expect(c.auth).toEqual({
      type: 'password',
      authUrl: 'https://k/v3',
      username: 'alice',
      userDomainId: 'default',
      password: 'pw-acme',
      projectName: 'demo',
      projectDomainId: 'default',
    });
  });

  it('v3password is an alias; ids need no domain; tenant_* and domain_name are read', async () => {
    await write(yaml`
      clouds:
        byid:
          auth_type: v3password
          auth:
            auth_url: https://k/v3
            user_id: u-1
            password: pw-byid
            project_id: p-1
        legacy:
          auth:
            auth_url: https://k/v3
            username: bob
            password: pw-legacy
            tenant_name: oldproject
            domain_name: Corp
        split:
          auth:
            auth_url: https://k/v3
            username: carol
            password: pw-split
            project_name: web
            user_domain_id: ud
            project_domain_name: Web
            domain_id: ignored
    `);
    const [byid, legacy, split] = await resolveClouds(['byid', 'legacy', 'split'], fx.opts());
    expect(byid!.auth).toEqual({ type: 'password', authUrl: 'https://k/v3', userId: 'u-1', password: 'pw-byid', projectId: 'p-1' });
    expect(legacy!.auth).toMatchObject({ username: 'bob', userDomainName: 'Corp', projectName: 'oldproject', projectDomainName: 'Corp' });
    expect(legacy!.auth).not.toHaveProperty('userDomainId');
    expect(split!.auth).toMatchObject({ userDomainId: 'ud', projectDomainName: 'Web' });
    expect(split!.auth).not.toHaveProperty('projectDomainId');
  });

  it('keeps numbers as written where a string is expected (password 0123, numeric project id)', async () => {
    await write(yaml`
      clouds:
        acme:
          auth:
            auth_url: https://k/v3
            username: 42
            password: 0123
            project_id: 1e3
    `);
    const c = await resolveCloud('acme', fx.opts());
    expect(c.auth).toMatchObject({ username: '42', password: '0123', projectId: '1e3' });
    expect(c.secrets).toEqual(['0123']);
  });

  it('v3applicationcredential: explicit, inferred from the id, or by name + user', async () => {
    await write(yaml`
      clouds:
        explicit:
          auth_type: v3applicationcredential
          auth:
            auth_url: https://k/v3
            application_credential_id: ac1
            application_credential_secret: s3cr3t-1
        inferred:
          auth:
            auth_url: https://k/v3
            application_credential_id: ac2
            application_credential_secret: s3cr3t-2
            project_name: ignored
        byname:
          auth_type: v3applicationcredential
          auth:
            auth_url: https://k/v3
            application_credential_name: builder
            application_credential_secret: s3cr3t-3
            username: dave
    `);
    const [e, i, n] = await resolveClouds(['explicit', 'inferred', 'byname'], fx.opts());
    expect(e!.auth).toEqual({
      type: 'v3applicationcredential',
      authUrl: 'https://k/v3',
      applicationCredentialId: 'ac1',
      applicationCredentialSecret: 's3cr3t-1',
    });
    expect(i!.auth).toEqual({
      type: 'v3applicationcredential',
      authUrl: 'https://k/v3',
      applicationCredentialId: 'ac2',
      applicationCredentialSecret: 's3cr3t-2',
    });
    expect(n!.auth).toEqual({
      type: 'v3applicationcredential',
      authUrl: 'https://k/v3',
      applicationCredentialName: 'builder',
      applicationCredentialSecret: 's3cr3t-3',
      username: 'dave',
      userDomainId: 'default',
    });
    expect(n!.secrets).toEqual(['s3cr3t-3']);
  });

  it('token and v3token', async () => {
    await write(yaml`
      clouds:
        t1:
          auth_type: token
          auth: {auth_url: "https://k/v3", token: tok-1, project_name: demo}
        t2:
          auth_type: v3token
          auth: {auth_url: "https://k/v3", token: tok-2, project_id: p2}
    `);
    const [t1, t2] = await resolveClouds(['t1', 't2'], fx.opts());
    expect(t1!.auth).toEqual({ type: 'token', authUrl: 'https://k/v3', token: 'tok-1', projectName: 'demo', projectDomainId: 'default' });
    expect(t2!.auth).toEqual({ type: 'token', authUrl: 'https://k/v3', token: 'tok-2', projectId: 'p2' });
  });

  it('an unsupported auth_type is named with its line', async () => {
    await write(yaml`
      clouds:
        other:
          auth: {auth_url: "https://k/v3"}
        acme:
          auth:
            auth_url: https://k/v3
          auth_type: saml2
    `);
    const err = await rejection(resolveCloud('acme', fx.opts()));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(
      'clouds.yaml:7: cloud "acme": auth_type "saml2" is not supported (password, v3applicationcredential, token)',
    );
  });
});

describe('connection settings', () => {
  it('interface, endpoint_type, cacert, verify, insecure, region_name, regions', async () => {
    await fx.write(
      join(fx.cwd, 'clouds.yaml'),
      yaml`
        defaults: &base
          auth: {auth_url: "https://k/v3", user_id: u, password: pw-base}
        clouds:
          a:
            <<: *base
            interface: internal
            cacert: /etc/ssl/ca.pem
            verify: false
          b:
            <<: *base
            endpoint_type: adminURL
            insecure: yes
            regions: [R1, R2]
          c:
            <<: *base
            region_name: R9
            regions:
              - name: R1
            identity_api_version: 3
            verify: true
      `,
    );
    const [a, b, c] = await resolveClouds(['a', 'b', 'c'], fx.opts());
    expect(a).toMatchObject({ interface: 'internal', cacert: '/etc/ssl/ca.pem', insecure: true, source: 'clouds.yaml:4' });
    expect(a).not.toHaveProperty('regionName');
    expect(b).toMatchObject({ interface: 'admin', insecure: true, regionName: 'R1' });
    expect(c).toMatchObject({ interface: 'public', insecure: false, regionName: 'R9' });
    expect(c).not.toHaveProperty('cacert');
  });
});

describe('endpoint overrides', () => {
  it('reads <type>_endpoint_override cloud-wide and per region (regions[].values), ignoring other services', async () => {
    await fx.write(
      join(fx.cwd, 'clouds.yaml'),
      yaml`
        clouds:
          o:
            auth: {auth_url: "https://k/v3", user_id: u, password: pw-o}
            image_endpoint_override: https://glance.example
            volume_endpoint_override: https://cinder.example
            regions:
              - R0
              - name: R1
                values:
                  compute_endpoint_override: http://127.0.0.1:18774/v2.1
                  network_endpoint_override: http://127.0.0.1:19696
              - name: R2
          plain:
            auth: {auth_url: "https://k/v3", user_id: u, password: pw-p}
      `,
    );
    const [o, plain] = await resolveClouds(['o', 'plain'], fx.opts());
    expect(o?.endpointOverrides).toEqual({
      cloud: { image: 'https://glance.example' },
      regions: { R1: { compute: 'http://127.0.0.1:18774/v2.1', network: 'http://127.0.0.1:19696' } },
    });
    expect(o?.regionName).toBe('R0');
    expect(plain).not.toHaveProperty('endpointOverrides');
  });

  it('an override that is not an http(s) URL, or values that are not a mapping, name their line', async () => {
    await fx.write(
      join(fx.cwd, 'clouds.yaml'),
      yaml`
        clouds:
          bad:
            auth: {auth_url: "https://k/v3", user_id: u, password: pw-b}
            regions:
              - name: R1
                values:
                  compute_endpoint_override: 127.0.0.1:18774
          list:
            auth: {auth_url: "https://k/v3", user_id: u, password: pw-l}
            regions:
              - name: R1
                values: [compute]
      `,
    );
    expect((await rejection(resolveCloud('bad', fx.opts()))).message).toBe(
      'clouds.yaml:7: cloud "bad": clouds.bad.regions.0.values.compute_endpoint_override is not an http(s) URL',
    );
    expect((await rejection(resolveCloud('list', fx.opts()))).message).toBe(
      'clouds.yaml:12: clouds.list.regions.0.values: expected a mapping, not a list',
    );
  });
});

describe('errors', () => {
  const write = (text: string): Promise<string> => fx.write(join(fx.cwd, 'clouds.yaml'), text);

  it('YAML syntax error: file:line:col and the parser message, on one line', async () => {
    await write('clouds:\n  acme:\n    auth:\n      auth_url: https://k/v3\n     password: [oops\n');
    const err = await rejection(resolveCloud('acme', fx.opts()));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/^clouds\.yaml:5:\d+: [^\n]+$/);
  });

  it('a syntax error on the line of a password does not show the password', async () => {
    await write('clouds:\n  acme:\n    auth:\n      password: Tr0ub4dor&3: x\n');
    const err = await rejection(resolveCloud('acme', fx.opts()));
    expect(err.message).toMatch(/^clouds\.yaml:4:\d+: /);
    expect(err.message).not.toContain('Tr0ub4dor');
  });

  it('a parser message that would quote a password shows *** instead', async () => {
    await write('clouds:\n  acme:\n    auth:\n      auth_url: https://k/v3\n      password: *s3cret-alias\n');
    const err = await rejection(resolveCloud('acme', fx.opts()));
    expect(err.message).toBe('clouds.yaml:5: alias *** refers to no anchor; define &*** before it');
  });

  it('duplicate keys are syntax errors at the second key', async () => {
    await write('clouds:\n  acme: {}\n  acme: {}\n');
    expect((await rejection(resolveCloud('acme', fx.opts()))).message).toBe('clouds.yaml:3:3: Map keys must be unique');
  });

  it('an alias to no anchor', async () => {
    await write('clouds:\n  acme:\n    auth: *missing\n');
    expect((await rejection(resolveCloud('acme', fx.opts()))).message).toBe(
      'clouds.yaml:3: alias *missing refers to no anchor; define &missing before it',
    );
  });

  it('wrong types name the key path and its line', async () => {
    await write(yaml`
      clouds:
        s:
          auth: https://k/v3
        n:
          auth:
            auth_url: https://k/v3
            username: u
            password:
              nested: hunter2-secret
        top: [1, 2]
        reg:
          auth: {auth_url: "https://k/v3", user_id: u, password: pw-reg}
          regions: R1
        v:
          auth: {auth_url: "https://k/v3", user_id: u, password: pw-v}
          verify: sometimes
    `);
    const msg = async (name: string): Promise<string> => (await rejection(resolveCloud(name, fx.opts()))).message;
    expect(await msg('s')).toBe('clouds.yaml:3: clouds.s.auth: expected a mapping, not a string');
    expect(await msg('n')).toBe('clouds.yaml:8: clouds.n.auth.password: expected a string, not a mapping');
    expect(await msg('top')).toBe('clouds.yaml:10: clouds.top: expected a mapping, not a list');
    expect(await msg('reg')).toBe('clouds.yaml:13: clouds.reg.regions: expected a list, not a string');
    expect(await msg('v')).toBe('clouds.yaml:16: clouds.v.verify: expected true or false, not "sometimes"');
  });

  it('never shows a password that sits next to the bad field', async () => {
    await write(yaml`
      clouds:
        acme:
          auth:
            auth_url: https://k/v3
            username: alice
            password: correct-horse-battery
            project_name: [not, a, string]
          interface: correct-horse-battery
    `);
    const err = await rejection(resolveCloud('acme', fx.opts()));
    expect(err.message).toBe('clouds.yaml:7: clouds.acme.auth.project_name: expected a string, not a list');
    await write(yaml`
      clouds:
        acme:
          auth:
            auth_url: https://k/v3
            username: alice
            password: correct-horse-battery
          interface: correct-horse-battery
    `);
    const err2 = await rejection(resolveCloud('acme', fx.opts()));
    expect(err2.message).toBe('clouds.yaml:7: cloud "acme": clouds.acme.interface "***" is not one of public, internal, admin');
    expect(err2.message).not.toContain('correct-horse-battery');
  });

  it('missing required keys: auth_url, password, user, secret, token', async () => {
    await write(yaml`
      clouds:
        nourl:
          auth:
            username: u
            password: pw-nourl
        nopw:
          region_name: R1
          auth:
            auth_url: https://k/v3
            username: u
        nouser:
          auth:
            auth_url: https://k/v3
            password: pw-nouser
        nosecret:
          auth_type: v3applicationcredential
          auth:
            auth_url: https://k/v3
            application_credential_id: ac
        notoken:
          auth_type: token
          auth:
            auth_url: https://k/v3
        noauth:
          region_name: R1
        misplaced:
          password: pw-misplaced
          auth:
            auth_url: https://k/v3
            username: u
        typo:
          auth:
            auth_url: https://k/v3
            username: u
            pasword: pw-typo
    `);
    const msg = async (name: string): Promise<string> => (await rejection(resolveCloud(name, fx.opts()))).message;
    const add = '; add it to clouds.yaml or secure.yaml';
    expect(await msg('nourl')).toBe(
      `clouds.yaml:3: cloud "nourl": clouds.nourl.auth.auth_url is missing (needed to reach Keystone)${add}`,
    );
    expect(await msg('nopw')).toBe(
      `clouds.yaml:8: cloud "nopw": clouds.nopw.auth.password is missing (needed for auth_type password)${add}`,
    );
    expect(await msg('nouser')).toBe(
      `clouds.yaml:12: cloud "nouser": clouds.nouser.auth.username or clouds.nouser.auth.user_id is missing (needed for auth_type password)${add}`,
    );
    expect(await msg('nosecret')).toBe(
      `clouds.yaml:17: cloud "nosecret": clouds.nosecret.auth.application_credential_secret is missing (needed for auth_type v3applicationcredential)${add}`,
    );
    expect(await msg('notoken')).toBe(
      `clouds.yaml:22: cloud "notoken": clouds.notoken.auth.token is missing (needed for auth_type token)${add}`,
    );
    expect(await msg('noauth')).toBe(
      `clouds.yaml:24: cloud "noauth": clouds.noauth.auth.auth_url is missing (needed to reach Keystone)${add}`,
    );
    expect(await msg('misplaced')).toBe(
      'clouds.yaml:27: cloud "misplaced": clouds.misplaced.auth.password is missing (needed for auth_type password) (found clouds.misplaced.password: move it under auth)',
    );
    expect(await msg('typo')).toBe(
      'clouds.yaml:35: cloud "typo": clouds.typo.auth.password is missing (needed for auth_type password) (found clouds.typo.auth.pasword: did you mean password?)',
    );
  });

  it('identity_api_version 2, profile, bad auth_url', async () => {
    await write(yaml`
      clouds:
        v2:
          identity_api_version: 2
          auth: {auth_url: "https://k/v2.0", username: u, password: pw-v2}
        vendor:
          profile: vexxhost
          auth: {username: u, password: pw-vendor}
        url:
          auth: {auth_url: "keystone.example:5000", username: u, password: pw-url}
    `);
    const msg = async (name: string): Promise<string> => (await rejection(resolveCloud(name, fx.opts()))).message;
    expect(await msg('v2')).toBe(
      'clouds.yaml:3: cloud "v2": identity_api_version 2 is not supported: imagesync speaks Keystone v3 only; set it to 3 or remove it',
    );
    expect(await msg('vendor')).toBe(
      'clouds.yaml:6: cloud "vendor": profile "vexxhost" is not supported (vendor profiles are not bundled); write auth_url, region_name and interface into the cloud entry instead',
    );
    expect(await msg('url')).toBe('clouds.yaml:9: cloud "url": clouds.url.auth.auth_url is not an http(s) URL');
  });

  it('unknown cloud lists the defined ones (and envvars)', async () => {
    await write('clouds:\n  a: {}\n  b: {}\n');
    const err = await rejection(resolveCloud('acme', fx.opts({ OS_AUTH_URL: 'http://k/v3' })));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe('cloud "acme" is not defined in clouds.yaml (defined: a, b, envvars)');
    await write('# nothing yet\n');
    expect((await rejection(resolveCloud('acme', fx.opts()))).message).toBe(
      'cloud "acme" is not defined in clouds.yaml (defined: none)',
    );
  });

  it('no file and no OS_* says where it looked', async () => {
    const err = await rejection(resolveCloud('acme', fx.opts()));
    expect(err.message).toBe(
      `cloud "acme" is not defined: no clouds.yaml found (looked for ./clouds.yaml, ~/.config/openstack/clouds.yaml, ${fx.etc}/clouds.yaml) and OS_AUTH_URL is not set`,
    );
    const withEnv = await rejection(resolveCloud('acme', fx.opts({ OS_AUTH_URL: 'http://k/v3' })));
    expect(withEnv.message).toBe(
      `cloud "acme" is not defined: no clouds.yaml found (looked for ./clouds.yaml, ~/.config/openstack/clouds.yaml, ${fx.etc}/clouds.yaml) (defined: envvars)`,
    );
    expect((await rejection(resolveCloud('envvars', fx.opts()))).message).toContain('OS_AUTH_URL is not set');
  });

  it('a top level that is not a mapping, and clouds that is not a mapping', async () => {
    await write('- a\n- b\n');
    expect((await rejection(resolveCloud('a', fx.opts()))).message).toBe(
      'clouds.yaml:1: expected a mapping with a "clouds" key, not a list',
    );
    await write('# header\nclouds: [a, b]\n');
    expect((await rejection(resolveCloud('a', fx.opts()))).message).toBe(
      'clouds.yaml:2: clouds: expected a mapping of cloud names, not a list',
    );
  });

  it('a clouds.yaml that is a directory is an error naming it, not skipped', async () => {
    await mkdir(join(fx.cwd, 'clouds.yaml'));
    await fx.write(join(fx.userDir, 'clouds.yaml'), acme('https://home/v3'));
    const err = await rejection(resolveCloud('acme', fx.opts()));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe('clouds.yaml: cannot read: is a directory, not a file (EISDIR)');
  });
});

// resolveCloud on a clouds.yaml this user may not read: a real EACCES, from a child process when the tests run as root.
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeFixture, rejection, yaml, type Fixture } from './fixture.js';

let fx: Fixture;
beforeEach(async () => {
  fx = await makeFixture();
});
afterEach(async () => {
  await fx.cleanup();
});

const acme = (url: string): string => yaml`
  clouds:
    acme:
      auth:
        auth_url: ${url}
        username: alice
        password: pw-acme
        project_name: demo
`;

describe('errors', () => {
  it('an unreadable clouds.yaml (EACCES) is an error naming the file', async () => {
    await fx.write(join(fx.cwd, 'clouds.yaml'), acme('https://k/v3'));
    await chmod(join(fx.cwd, 'clouds.yaml'), 0o000);
    const message = await messageAsUnprivilegedUser(fx, 'acme');
    expect(message).toBe('ConfigError: clouds.yaml: cannot read: permission denied; make it readable by this user (EACCES)');
  });
});

/**
 * root reads any file, so under root the check runs in a child process as "nobody":
 * a real EACCES either way.
 */
async function messageAsUnprivilegedUser(f: Fixture, cloud: string): Promise<string> {
  const { spawn } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const cloudsModule = fileURLToPath(new URL('../../src/config/clouds.ts', import.meta.url));
  if (process.getuid?.() !== 0) {
    const { resolveCloud: resolve } = await import('../../src/config/clouds.js');
    const err = await rejection(resolve(cloud, f.opts()));
    return `${err.name}: ${err.message}`;
  }
  for (const dir of [f.root, f.cwd, f.home, join(f.home, '.config'), f.userDir]) await chmod(dir, 0o755);
  const script = `
    const { resolveCloud } = await import(${JSON.stringify(cloudsModule)});
    const opts = ${JSON.stringify(f.opts())};
    try { await resolveCloud(${JSON.stringify(cloud)}, opts); console.log('resolved'); }
    catch (e) { console.log(e.name + ': ' + e.message); }
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    uid: 65534,
    gid: 65534,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: f.home },
  });
  let out = '';
  let errText = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (errText += d.toString()));
  const code = await new Promise<number | null>((res) => child.on('close', res));
  if (code !== 0) throw new Error(`child failed (${code}): ${errText}`);
  return out.trim();
}

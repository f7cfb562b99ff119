// Security corpus: secrets never reach output or files (even with --debug), and data from the manifest never runs as a command.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useEmulator } from '../helpers/emulator.js';
import { EMULATOR_BUILD } from '../helpers/manifest.js';
import { readTar } from '../helpers/tar.js';
import { PASSWORD, ROOT, SOURCE_IMAGE, manifestWith, useCorpus } from './fixture.js';

const emulator = useEmulator();
const c = useCorpus(emulator);

const BUILD = EMULATOR_BUILD;

/** stdout, stderr and every file the run left in the repository (logs, journal), except the credentials file itself. */
async function everything(out: { stdout: string; stderr: string }, skip: string[] = ['clouds.yaml']): Promise<Array<{ where: string; text: string }>> {
  const all = [
    { where: 'stdout', text: out.stdout },
    { where: 'stderr', text: out.stderr },
  ];
  for (const f of await readdir(c.dir, { recursive: true })) {
    const p = join(c.dir, f);
    if (skip.includes(f) || !(await stat(p)).isFile()) continue;
    all.push({ where: f, text: await readFile(p, 'utf8') });
  }
  return all;
}

function expectAbsent(texts: Array<{ where: string; text: string }>, secrets: string[]): void {
  for (const { where, text } of texts) for (const s of secrets) expect(text.includes(s), `${JSON.stringify(s.slice(0, 6) + '…')} in ${where}`).toBe(false);
}

describe('secrets never reach output or files', () => {
  it('apply --debug with a password cloud: no password, no token, in output, build logs or journal', async () => {
    const tokens: string[] = [];
    const stop = emulator.onToken((t) => tokens.push(t));
    try {
      await c.manifest({ targets: [{ cloud: 'emulator', regions: ['RegionOne'], build: BUILD }], images: [{ name: 'corpus-debug', source: { image: SOURCE_IMAGE }, build: { steps: [{ run: 'id -un' }] } }] });
      const r = await c.run(['apply', '--yes', '--debug', '--poll-interval-ms', '100']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('debug: → POST');
      expect(tokens.length).toBeGreaterThan(0);
      const texts = await everything(r);
      expect(texts.some((t) => t.where.includes('logs'))).toBe(true);
      expectAbsent(texts, [PASSWORD, ...tokens]);
    } finally {
      stop();
    }
  });

  it('plan --debug with an application credential cloud: no secret, no token', async () => {
    const user = emulator.users[0]!;
    const ac = user.applicationCredential!;
    await writeFile(
      join(c.dir, 'clouds.yaml'),
      `clouds:\n  emulator:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: ${emulator.authUrl}\n      application_credential_id: ${ac.id}\n      application_credential_secret: ${ac.secret}\n    region_name: RegionOne\n`,
    );
    await c.manifest(manifestWith([{ name: 'corpus-ac', source: { image: SOURCE_IMAGE }, build: { steps: [{ run: 'true' }] } }]));
    const tokens: string[] = [];
    const stop = emulator.onToken((t) => tokens.push(t));
    try {
      const r = await c.run(['plan', '--debug', '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('application_credential');
      expect(tokens.length).toBeGreaterThan(0);
      expectAbsent(await everything(r), [ac.secret, ...tokens]);
    } finally {
      stop();
    }
  });

  it('a Keystone error body that echoes the password is masked', async () => {
    emulator.inject({ method: 'POST', path: /^\/identity\/v3\/auth\/tokens/, status: 401, body: JSON.stringify({ error: { code: 401, title: 'Unauthorized', message: `bad password ${PASSWORD} for admin` } }), times: 10 });
    await c.manifest(manifestWith([{ name: 'corpus-echo', source: { image: SOURCE_IMAGE }, build: { steps: [{ run: 'true' }] } }]));
    const r = await c.run(['plan', '--debug', '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).entries[0].detail).toMatch(/^Keystone refused the credentials \(401, request req-[0-9a-f-]+\): check the user name, password, project or domain of cloud "emulator" in clouds\.yaml:\d+$/);
    expectAbsent(await everything(r), [PASSWORD]);
  });

  it('--debug traces of a failing Glance call (sent with the token) never show the token', async () => {
    const tokens: string[] = [];
    const stop = emulator.onToken((t) => tokens.push(t));
    try {
      emulator.inject({ method: 'GET', path: /^\/image\/RegionOne\/v2\/images\?/, status: 400, body: '', times: 10 });
      await c.manifest(manifestWith([{ name: 'corpus-reflect', source: { image: SOURCE_IMAGE }, build: { steps: [{ run: 'true' }] } }]));
      const r = await c.run(['plan', '--debug', '--json']);
      expect(r.code).toBe(1);
      expect(tokens.length).toBeGreaterThan(0);
      expectAbsent(await everything(r), [PASSWORD, ...tokens]);
    } finally {
      stop();
    }
  });
});

describe('values from the manifest are data, never commands run on the workstation', () => {
  it('$(…) in an env value, a put destination, a task argument and an image name runs nowhere', async () => {
    const id = randomBytes(4).toString('hex');
    const marker = (where: string) => `corpus-pwned-${id}-${where}`;
    // With a slash: a file in /var/tmp (kept in the snapshot, unlike /tmp). Without: in the shell's home.
    const abs = (where: string) => `$(touch /var/tmp/${marker(where)})`;
    const rel = (where: string) => `$(cd;touch ${marker(where)})`;
    const payload = (where: string) => `${abs(where)} \`touch /var/tmp/${marker(`${where}-bq`)}\` ${rel(`${where}-home`)}`;
    await mkdir(join(c.dir, 'files'));
    await writeFile(join(c.dir, 'files', 'motd'), 'hello\n');
    await writeFile(
      join(c.dir, 'tasks', 'inject.ts'),
      `import { defineTask } from ${JSON.stringify(join(ROOT, 'src/tasks/define.js'))};
export default defineTask<{ text: string }>({
  name: 'inject',
  description: 'Handles an argument as data only: on the workstation, as a file, and in a remote command',
  async run(c, args) {
    c.log(args.text);
    await c.local('printf %s "$ARG" > corpus-local-arg.txt', { env: { ARG: args.text } });
    await c.put(Buffer.from(args.text), '/opt/corpus-put-arg', { sudo: true });
    await c.sudo('printf %s "$ARG" > /opt/corpus-sudo-arg', { env: { ARG: args.text } });
  },
});
`,
    );
    const name = `corpus-${rel('name')}`;
    const putTo = `/opt/corpus-to-${rel('put')}`;
    await c.manifest({
      targets: [{ cloud: 'emulator', regions: ['RegionOne'], build: BUILD }],
      images: [
        {
          name,
          source: { image: SOURCE_IMAGE },
          build: {
            steps: [
              { run: 'printf %s "$PAYLOAD" > /opt/corpus-env', sudo: true, env: { PAYLOAD: payload('env') } },
              { run: 'printf %s "$PAYLOAD" > /tmp/corpus-env-user', env: { PAYLOAD: payload('env-user') } },
              { put: 'files/motd', to: putTo, sudo: true },
              { task: 'inject', args: { text: payload('arg') } },
            ],
          },
        },
      ],
    });
    const r = await c.run(['apply', '--yes', '--json', '--poll-interval-ms', '100']);
    try {
      expect(r.code, r.stderr).toBe(0);
      // On the workstation: no marker in /var/tmp, the home directory, or the repository.
      for (const where of ['env', 'env-bq', 'env-home', 'env-user', 'env-user-bq', 'env-user-home', 'arg', 'arg-bq', 'arg-home', 'name', 'put']) {
        for (const dir of ['/var/tmp', homedir(), c.dir]) expect(existsSync(join(dir, marker(where))), `${marker(where)} in ${dir}`).toBe(false);
      }
      expect(await readFile(join(c.dir, 'corpus-local-arg.txt'), 'utf8')).toBe(payload('arg'));
      // On the build server: the values arrived verbatim, and nothing ran.
      const [img] = emulator.state.images('RegionOne').filter((i) => i.name === name);
      expect(img, 'the image, under its exact name').toBeDefined();
      const files = readTar(emulator.state.imageData('RegionOne', img!.id)!);
      const byName = new Map(files.map((f) => [f.name, f]));
      expect(byName.get('opt/corpus-env')?.data.toString()).toBe(payload('env'));
      expect(byName.get('opt/corpus-put-arg')?.data.toString()).toBe(payload('arg'));
      expect(byName.get('opt/corpus-sudo-arg')?.data.toString()).toBe(payload('arg'));
      expect(byName.get(putTo.slice(1))?.data.toString()).toBe('hello\n');
      const ran = files.filter((f) => f.name.split('/').pop()!.startsWith(`corpus-pwned-${id}`));
      expect(ran.map((f) => f.name)).toEqual([]);
    } finally {
      for (const where of ['env', 'env-bq', 'env-user', 'env-user-bq', 'arg', 'arg-bq']) await rm(join('/var/tmp', marker(where)), { force: true });
      for (const where of ['env-home', 'env-user-home', 'arg-home', 'name', 'put']) await rm(join(homedir(), marker(where)), { force: true });
    }
  });
});

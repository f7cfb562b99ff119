// build.ssh.bastion made ready for apply: which layer's bastion a build uses, keys read, host keys pinned or found in known_hosts.
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bastionKey, resolveBastions } from '../../src/app/bastions.js';
import { generateUsableKeyPair } from '../../src/build/steps/keypair.js';
import type { Manifest } from '../../src/manifest/schema.js';
import { fingerprintSha256, parsePublicKeyLine, publicKeyLineOf } from '../../src/ssh/host-keys.js';

let dir: string;
let home: string;
// Keys ssh2 can read back (it writes an unreadable ed25519 key about once in 300).
const key = generateUsableKeyPair('imagesync-bastions-test');
const hostKey = generateUsableKeyPair('imagesync-bastions-host').public;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imagesync-bastions-'));
  home = join(dir, 'home');
  await mkdir(join(home, '.ssh'), { recursive: true });
  await writeFile(join(dir, 'bastion_key'), key.private, { mode: 0o600 });
  await chmod(join(dir, 'bastion_key'), 0o600);
  await writeFile(join(home, '.ssh', 'jump_key'), key.private, { mode: 0o600 });
  await chmod(join(home, '.ssh', 'jump_key'), 0o600);
  const [type, b64] = hostKey.split(' ');
  await writeFile(join(home, '.ssh', 'known_hosts'), `[jump.example.com]:2222 ${type} ${b64}\n`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const step = { run: 'true' };
function manifest(layers: { defaults?: unknown; target?: unknown; image?: unknown }): Manifest {
  return {
    ...(layers.defaults ? { defaults: { build: { ssh: { bastion: layers.defaults } } } } : {}),
    targets: [{ cloud: 'c', regions: ['R1', 'R2'], ...(layers.target ? { build: { ssh: { bastion: layers.target } } } : {}) }],
    images: [
      { name: 'web', source: { image: 'base', pick: 'only' }, build: { steps: [step], ...(layers.image ? { ssh: { bastion: layers.image } } : {}) } },
      { name: 'db', source: { image: 'base', pick: 'only' }, build: { steps: [step] } },
    ],
  } as Manifest;
}
const pairs = ['web', 'db'].flatMap((image) => ['R1', 'R2'].map((region) => ({ image, cloud: 'c', region })));
const resolve = (m: Manifest) => resolveBastions({ manifest: m, manifestFile: join(dir, 'images.manifest.json'), manifestDir: dir, pairs }, { env: {}, cwd: dir, home });

describe('resolveBastions', () => {
  it('pins a public key line as its fingerprint, reads a repository-relative key once for every build that uses it', async () => {
    const b = { host: 'jump.example.com', user: 'jump', privateKeyFile: 'bastion_key', hostKey: [hostKey, `SHA256:${'A'.repeat(43)}`] };
    const out = await resolve(manifest({ target: b }));
    expect([...out.keys()]).toEqual([bastionKey(b)]);
    const [hop, ...more] = out.get(bastionKey(b))!;
    expect(more).toEqual([]);
    expect(hop).toMatchObject({ host: 'jump.example.com', port: 22, username: 'jump' });
    expect(publicKeyLineOf(hop!.privateKey!)).toBe(publicKeyLineOf(key.private));
    expect(hop!.agent).toBeUndefined();
    expect(hop!.hostKey).toEqual({ kind: 'fingerprints', sha256: [fingerprintSha256(parsePublicKeyLine(hostKey).blob), `SHA256:${'A'.repeat(43)}`] });
  });

  it('an image\'s bastion wins over its target\'s; "~/" is the home directory; known_hosts must list [host]:port', async () => {
    const t = { host: 'jump.example.com', user: 'jump', port: 2222, privateKeyFile: '~/.ssh/jump_key' };
    const i = { host: 'other.example.com', user: 'ops', privateKeyFile: 'bastion_key', hostKey };
    const out = await resolve(manifest({ target: t, image: i }));
    expect(out.size).toBe(2);
    expect(out.get(bastionKey(t))?.[0]).toMatchObject({ port: 2222, hostKey: { kind: 'known_hosts', file: join(home, '.ssh', 'known_hosts'), acceptNew: false } });
    expect(out.get(bastionKey(i))?.[0]?.username).toBe('ops');
  });

  it('only the bastions of the builds asked for are checked', async () => {
    const broken = { host: 'nowhere.example.com', user: 'jump', privateKeyFile: 'missing_key', hostKey };
    const out = await resolveBastions(
      { manifest: manifest({ image: broken }), manifestFile: join(dir, 'images.manifest.json'), manifestDir: dir, pairs: pairs.filter((p) => p.image === 'db') },
      { env: {}, cwd: dir, home },
    );
    expect(out.size).toBe(0);
    await expect(resolve(manifest({ image: broken }))).rejects.toThrow(/images\[0\]\.build\.ssh\.bastion\.privateKeyFile: missing_key: no such file/);
  });

  it('defaults apply when neither the target nor the image sets one', async () => {
    const d = { host: 'jump.example.com', user: 'jump', privateKeyFile: 'bastion_key', hostKey };
    expect([...(await resolve(manifest({ defaults: d }))).keys()]).toEqual([bastionKey(d)]);
    await expect(resolve(manifest({ defaults: { ...d, hostKey: undefined, port: 22 } }))).rejects.toThrow(
      /^images\.manifest\.json: defaults\.build\.ssh\.bastion: home\/\.ssh\/known_hosts has no key for jump\.example\.com; add it \(ssh-keyscan jump\.example\.com, after checking its fingerprint\) or pin it in hostKey$/,
    );
  });

  it('a chain resolves hop by hop, in order; a hop\'s problem names its index; one hop alone is the same as a chain of one', async () => {
    const first = { host: 'jump.example.com', user: 'jump', port: 2222, privateKeyFile: '~/.ssh/jump_key' };
    const second = { host: '10.0.0.5', user: 'inner', privateKeyFile: 'bastion_key', hostKey };
    const chain = [first, second];
    const out = await resolve(manifest({ target: chain }));
    expect([...out.keys()]).toEqual([bastionKey(chain)]);
    expect(out.get(bastionKey(chain))!.map((h) => `${h.username}@${h.host}:${h.port} ${h.hostKey.kind}`)).toEqual(['jump@jump.example.com:2222 known_hosts', 'inner@10.0.0.5:22 fingerprints']);
    expect(bastionKey([second])).toBe(bastionKey(second));
    await expect(resolve(manifest({ target: [first, { ...second, hostKey: undefined }] }))).rejects.toThrow(
      /^images\.manifest\.json: targets\[0\]\.build\.ssh\.bastion\[1\]: home\/\.ssh\/known_hosts has no key for 10\.0\.0\.5; /,
    );
  });
});

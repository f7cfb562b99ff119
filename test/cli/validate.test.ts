// `imagesync validate` checks all it can offline — tasks load and fit their steps, clouds exist, builds have what they need — every problem with its place, exit 3, nothing contacted.
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { generateUsableKeyPair } from '../../src/build/steps/keypair.js';
import { useEmulator } from '../helpers/emulator.js';
import { image, manifestWith, ROOT, runUntouched, useCorpus } from '../corpus/fixture.js';

const emulator = useEmulator();
const c = useCorpus(emulator);

beforeEach(async () => {
  await writeFile(
    join(c.dir, 'tasks', 'web.ts'),
    `import { defineTask, z } from ${JSON.stringify(join(ROOT, 'src/task.js'))};
export default defineTask({
  name: 'web',
  description: 'typed args',
  args: z.strictObject({ workers: z.number().int().min(1), mode: z.enum(['fast', 'safe']).default('safe') }),
  async run(c, args) { c.log(String(args.workers) + args.mode); },
});
`,
  );
});

const web = (args: unknown) => image({ steps: [{ run: 'true' }, { task: 'web', args }] });

describe('imagesync validate', () => {
  it('says valid, counts the tasks, and notes where a missing SSH user and network will come from', async () => {
    await c.manifest({ targets: [{ cloud: 'emulator', regions: ['RegionOne', 'RegionTwo'], build: { flavor: 'm1.small' } }], images: [web({ workers: 2 })] });
    const r = await runUntouched(c, ['validate']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      [
        'images.manifest.json: valid — 1 image, 2 targets, 2 tasks',
        `  note: images[0] "corpus-web": no build.ssh.user in every target: from the source image's os_admin_user property (plan says where it has none)`,
        '  note: images[0] "corpus-web": no build.network in every target: the one network the project can use (as Nova picks one) (plan says where there is none or several)',
        '',
      ].join('\n'),
    );
  });

  it("checks each task step's args against the task's schema, with the step's JSON path", async () => {
    await c.manifest(manifestWith([web({ workers: '2' }), web({ workers: 1, mode: 'fats', extra: true })].map((i, n) => ({ ...i, name: `corpus-${n}` }))));
    const r = await runUntouched(c, ['validate']);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      [
        'imagesync: images.manifest.json: 3 problems',
        '  images[0].build.steps[1].args.workers: expected a number, got string',
        '  images[1].build.steps[1].args.mode: expected one of "fast", "safe", got "fats" — did you mean "fast"?',
        '  images[1].build.steps[1].args: unknown key "extra" (args: workers, mode)',
        '',
      ].join('\n'),
    );
  });

  it("checks a generalize task's args against its schema too, with build.generalize's JSON path", async () => {
    const scrub = (args: unknown) => image({ name: 'corpus-scrub', build: { steps: [{ run: 'true' }], generalize: { task: 'web', args } } });
    await c.manifest(manifestWith([scrub({ workers: 0 })]));
    const r = await runUntouched(c, ['validate']);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('imagesync: images.manifest.json: images[0].build.generalize.args.workers: must be at least 1, got 0\n');
    await c.manifest(manifestWith([scrub({ workers: 2, mode: 'fast' })]));
    expect((await runUntouched(c, ['validate'])).code).toBe(0);
  });

  it('asks a flavor of a copy in one target (it is built once), of an import in none', async () => {
    const imported = { name: 'corpus-imp', strategy: 'import', source: { url: 'https://example.org/disk.qcow2', checksum: `sha256:${'a'.repeat(64)}` }, diskFormat: 'qcow2' };
    const targets = [
      { cloud: 'emulator', regions: ['RegionOne'], build: { flavor: 'm1.small' } },
      { cloud: 'emulator', regions: ['RegionTwo'] },
    ];
    await c.manifest({ targets, images: [image({ name: 'corpus-copy', strategy: 'copy' }), imported] });
    const ok = await runUntouched(c, ['validate']);
    expect(ok.code, ok.stderr).toBe(0);
    await c.manifest({ targets: [targets[1]], images: [image({ name: 'corpus-copy', strategy: 'copy' }), imported] });
    const r = await runUntouched(c, ['validate']);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      'imagesync: images.manifest.json: images[0].build.flavor: "corpus-copy" has no flavor in emulator/RegionTwo: set build.flavor in defaults.build, the target or the image (a build server needs one)\n',
    );
  });

  it('names a task file that does not load (file:line:column) and one that exports another task', async () => {
    await writeFile(join(c.dir, 'tasks', 'broken.ts'), "// a task\nexport default { oops: };\n");
    await writeFile(join(c.dir, 'tasks', 'other.ts'), `import { defineTask } from ${JSON.stringify(join(ROOT, 'src/task.js'))};\nexport default defineTask({ name: 'another', description: 'd', run() {} });\n`);
    await c.manifest(manifestWith([web({ workers: 1 })]));
    const r = await runUntouched(c, ['validate']);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      [
        'imagesync: 2 problems in images.manifest.json and its tasks',
        '  tasks/broken.ts:2:24: cannot be loaded: Unexpected "}"',
        '  tasks/other.ts: task is named "another" but its file is other.ts; rename one so they match ("other")',
        '',
      ].join('\n'),
    );
  });

  it('names a cloud that no clouds.yaml, secure.yaml or OS_* variable defines, and a build without a flavor, all at once', async () => {
    await c.manifest({
      targets: [
        { cloud: 'emulator', regions: ['RegionOne'], build: { flavor: 'm1.small' } },
        { cloud: 'acme', regions: ['RegionOne'] },
      ],
      images: [image({ name: 'corpus-a' }), image({ name: 'corpus-b', regions: ['RegionOne'], build: { flavor: 'm1.tiny', steps: [{ run: 'true' }] } })],
    });
    const r = await runUntouched(c, ['validate']);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      [
        'imagesync: images.manifest.json: 2 problems',
        `  targets[1].cloud: cloud "acme" is not defined in clouds.yaml (defined: emulator)`,
        '  images[0].build.flavor: "corpus-a" has no flavor in acme/RegionOne: set build.flavor in defaults.build, the target or the image (a build server needs one)',
        '',
      ].join('\n'),
    );
  });

  it("checks every bastion a build would go through as apply does (its key or ssh-agent, its host key), all at once", async () => {
    const pin = `SHA256:${'a'.repeat(43)}`;
    await writeFile(join(c.dir, 'bastion_key'), generateUsableKeyPair('imagesync-validate').private);
    await chmod(join(c.dir, 'bastion_key'), 0o600);
    await c.manifest({
      defaults: { build: { flavor: 'm1.small', ssh: { user: 'debian' } } },
      targets: [
        { cloud: 'emulator', regions: ['RegionOne'], build: { ssh: { bastion: { host: '192.0.2.10', user: 'jump', privateKeyFile: 'keys/missing', hostKey: pin } } } },
        { cloud: 'emulator', regions: ['RegionTwo'], build: { ssh: { bastion: { host: '192.0.2.11', user: 'jump', hostKey: pin } } } },
      ],
      images: [
        image({ name: 'corpus-a' }),
        // Usable: a key file that ssh would take and a pinned host key; not a problem.
        image({ name: 'corpus-b', build: { steps: [{ run: 'true' }], ssh: { bastion: { host: '192.0.2.12', user: 'jump', privateKeyFile: 'bastion_key', hostKey: pin } } } }),
      ],
    });
    // HOME is the corpus folder and no SSH_AUTH_SOCK: the machine's own keys and agent are never read.
    const r = await runUntouched(c, ['validate'], { HOME: c.dir });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      [
        'imagesync: images.manifest.json: 2 problems',
        '  targets[0].build.ssh.bastion.privateKeyFile: keys/missing: no such file; pass the path of an OpenSSH private key',
        "  targets[1].build.ssh.bastion: no privateKeyFile, and SSH_AUTH_SOCK is not set; set privateKeyFile or add the bastion's key to ssh-agent",
        '',
      ].join('\n'),
    );
  });

  it('plan and apply refuse args that do not fit, before contacting anything', async () => {
    await c.manifest(manifestWith([web({})]));
    for (const argv of [['plan'], ['apply', '--yes']]) {
      const r = await runUntouched(c, argv);
      expect(r.code, argv.join(' ')).toBe(3);
      expect(r.stderr).toBe('imagesync: images.manifest.json: images[0].build.steps[1].args: missing key "workers" (a number)\n');
    }
  });
});

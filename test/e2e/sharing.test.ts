// `plan` and `apply` with visibility and members against the emulator: set on publish, drift shown by plan and set back by apply without a build, a policy refusal named.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apply } from '../../src/app/apply.js';
import { appDeps } from '../../src/app/deps.js';
import { quietView } from '../../src/app/view.js';
import { addMember, listMembers, removeMember } from '../../src/openstack/glance-members.js';
import { Redactor } from '../../src/redact.js';
import { runCli } from '../helpers/cli.js';
import { emulatorConnection, useEmulator } from '../helpers/emulator.js';
import { useFileServer } from '../helpers/file-server.js';
import { assertNothingLeft, imagesNamed } from '../helpers/leftovers.js';
import { target } from '../helpers/manifest.js';
import { useTempDir } from '../helpers/temp-dir.js';

const REGIONS = ['RegionOne', 'RegionTwo'];
const FILE = randomBytes(64 * 1024);
const CHECKSUM = `sha256:${createHash('sha256').update(FILE).digest('hex')}`;
const MEMBER_A = 'a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0';
const MEMBER_B = 'b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1';

const emulator = useEmulator({ regions: REGIONS, seedBaseImages: false });
// An emulator whose (only) user lacks the admin role: Glance's default policy refuses it "public".
const restricted = useEmulator({ regions: REGIONS, seedBaseImages: false, users: [{ username: 'builder', password: 'builder-secret', project: 'builders', admin: false }] });
const files = useFileServer(FILE);
const tmp = useTempDir('sharing');

beforeEach(async () => {
  await mkdir(join(tmp.path, 'tasks'));
});
afterEach(() => {
  emulator.restoreImages();
  restricted.restoreImages();
});

async function setUp(emu: typeof emulator, sharing: Record<string, unknown>, name: string): Promise<{ file: string; run: (argv: string[]) => ReturnType<typeof runCli> }> {
  await emu.writeCloudsYaml(join(tmp.path, 'clouds.yaml'));
  const file = join(tmp.path, 'images.manifest.json');
  const images = [{ name, strategy: 'import', diskFormat: 'raw', source: { url: files.url, checksum: CHECKSUM }, ...sharing }];
  await writeFile(file, JSON.stringify({ targets: [target({ regions: REGIONS, build: false })], images }));
  const env = { OS_CLIENT_CONFIG_FILE: join(tmp.path, 'clouds.yaml') };
  return { file, run: (argv) => runCli([...argv, '-m', file], { cwd: tmp.path, env }) };
}

const only = (emu: typeof emulator, region: string, name: string) => {
  const list = imagesNamed(emu, region, name);
  expect(list, `${name} in ${region}`).toHaveLength(1);
  return list[0]!;
};

describe('sharing', () => {
  it('publishes shared with the members; plan then shows members changed by hand as drift (exit 2); apply sets them back without a build', async () => {
    const name = 'sharing-members';
    const { run } = await setUp(emulator, { members: [MEMBER_A, MEMBER_B] }, name);
    const applied = await run(['apply', '--yes', '--json', '--poll-interval-ms', '100']);
    expect(applied.code, applied.stderr).toBe(0);
    const conn = emulatorConnection(emulator);
    try {
      const glance = await conn.glance('RegionOne');
      for (const region of REGIONS) {
        const img = only(emulator, region, name);
        expect(img.visibility).toBe('shared');
        const members = await listMembers(await conn.glance(region), img.id);
        expect(members.map((m) => [m.member_id, m.status]).sort()).toEqual([[MEMBER_A, 'pending'], [MEMBER_B, 'pending']]);
      }
      expect((await run(['plan', '--detailed-exitcode'])).code).toBe(0);

      // By hand, in RegionOne: one member gone, a stranger added.
      const id = only(emulator, 'RegionOne', name).id;
      await removeMember(glance, id, MEMBER_B);
      await addMember(glance, id, 'c2c2c2c2');
      const drifted = await run(['plan', '--detailed-exitcode', '--json']);
      expect(drifted.code, drifted.stderr).toBe(2);
      const doc = JSON.parse(drifted.stdout);
      const entry = doc.entries.find((e: { region: string }) => e.region === 'RegionOne');
      expect(entry).toMatchObject({ state: 'present', sharing: { add: [MEMBER_B], remove: ['c2c2c2c2'] } });
      expect(doc.entries.find((e: { region: string }) => e.region === 'RegionTwo')).not.toHaveProperty('sharing');
      expect(doc.summary).toMatchObject({ changes: 0, sharing: 1, inSync: false });
      const text = await run(['plan']);
      expect(text.stdout).toContain(`sharing  ${name} in emulator/RegionOne: ${id} (active,`);
      expect(text.stdout).toContain('members to add: b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1; members to remove: c2c2c2c2 → apply sets it (no build)');

      const uploads = emulator.stats.count('image.upload') + emulator.stats.count('image.import');
      const fixed = await run(['apply', '--yes', '--json', '--poll-interval-ms', '100']);
      expect(fixed.code, fixed.stderr).toBe(0);
      const report = JSON.parse(fixed.stdout);
      expect(report.builds).toEqual([]);
      expect(report.shared).toEqual([{ image: name, cloud: 'emulator', region: 'RegionOne', imageId: id, change: `members to add: ${MEMBER_B}; members to remove: c2c2c2c2` }]);
      expect(emulator.stats.count('image.upload') + emulator.stats.count('image.import'), 'nothing rebuilt or copied').toBe(uploads);
      expect(only(emulator, 'RegionOne', name).id).toBe(id);
      expect((await listMembers(glance, id)).map((m) => m.member_id).sort()).toEqual([MEMBER_A, MEMBER_B]);
      expect(report.after.summary.inSync).toBe(true);
    } finally {
      await conn.close();
    }
  }, 120_000);

  it('reads member lists only where the manifest names members: a visibility alone costs plan no request', async () => {
    const name = 'sharing-visibility';
    const { file, run } = await setUp(emulator, { visibility: 'community' }, name);
    expect((await run(['apply', '--yes', '--poll-interval-ms', '100'])).code).toBe(0);
    for (const region of REGIONS) expect(only(emulator, region, name).visibility).toBe('community');
    const before = emulator.stats.count('image.members');
    expect((await run(['plan', '--detailed-exitcode'])).code).toBe(0);
    expect(emulator.stats.count('image.members')).toBe(before);

    // With members named: one request per shared image.
    const manifest = JSON.parse(await readFile(file, 'utf8'));
    manifest.images[0] = { ...manifest.images[0], visibility: 'shared', members: [MEMBER_A] };
    await writeFile(file, JSON.stringify(manifest));
    const drifted = await run(['plan', '--detailed-exitcode']);
    expect(drifted.code).toBe(2);
    // The images are community, not shared: Glance has no members to list for them.
    expect(emulator.stats.count('image.members')).toBe(before);
    expect(drifted.stdout).toContain('visibility community → shared; members to add: a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0');
    expect((await run(['apply', '--yes', '--poll-interval-ms', '100'])).code).toBe(0);
    const reads = emulator.stats.count('image.members');
    expect((await run(['plan', '--detailed-exitcode'])).code).toBe(0);
    expect(emulator.stats.count('image.members') - reads).toBe(REGIONS.length);
  }, 120_000);

  it('a dry run says what it would share; apply asks its view about the sharing changes, and "no" changes nothing', async () => {
    const name = 'sharing-confirm';
    const { file, run } = await setUp(emulator, { members: [MEMBER_A] }, name);
    expect((await run(['apply', '--yes', '--poll-interval-ms', '100'])).code).toBe(0);
    const id = only(emulator, 'RegionTwo', name).id;
    const conn = emulatorConnection(emulator);
    try {
      const glance = await conn.glance('RegionTwo');
      await removeMember(glance, id, MEMBER_A);
      const dry = await run(['apply', '--dry-run', '--json']);
      expect(dry.code, dry.stderr).toBe(0);
      expect(JSON.parse(dry.stdout).wouldShare).toEqual([{ image: name, cloud: 'emulator', region: 'RegionTwo', imageId: id, change: `members to add: ${MEMBER_A}` }]);
      expect((await run(['apply', '--dry-run'])).stdout).toContain(`would share  ${name} in emulator/RegionTwo: ${id}: members to add: ${MEMBER_A}`);

      const asked: unknown[] = [];
      const deps = appDeps({
        env: { OS_CLIENT_CONFIG_FILE: join(tmp.path, 'clouds.yaml') },
        cwd: tmp.path,
        home: tmp.path,
        signal: new AbortController().signal,
        redactor: new Redactor(),
        view: { ...quietView, confirm: async (q) => (asked.push(q), false) },
      });
      const r = await apply({ manifest: file, lock: false }, deps);
      expect(r.outcome).toBe('not-confirmed');
      expect(asked).toEqual([{ builds: 0, retire: 0, share: 1, runId: expect.any(String) }]);
      expect(await listMembers(glance, id)).toEqual([]);
    } finally {
      await conn.close();
    }
  }, 120_000);

  it('names the target, the image and the policy when Glance refuses "public"; nothing carries the name, nothing temporary is left; exit 1', async () => {
    const name = 'sharing-public';
    const { run } = await setUp(restricted, { visibility: 'public' }, name);
    const r = await run(['apply', '--yes', '--json', '--poll-interval-ms', '100']);
    expect(r.code).toBe(1);
    const builds = JSON.parse(r.stdout).builds as Array<{ region: string; status: string; error: string }>;
    expect(builds.map((b) => b.status)).toEqual(['failed', 'failed']);
    for (const b of builds) {
      expect(b.error).toContain(`emulator/${b.region}: "${name}": Glance refused to make public image`);
      expect(b.error).toContain('policy "publicize_image" (admin only by default');
    }
    for (const region of REGIONS) expect(imagesNamed(restricted, region, name)).toEqual([]);
    assertNothingLeft(restricted, REGIONS);
  }, 120_000);
});

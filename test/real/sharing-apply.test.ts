// `plan` and `apply` with visibility and members against real Keystone + Glance: drift read from Glance's member lists, set back by apply without a build.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudConnection } from '../../src/openstack/cloud.js';
import { addMember, listMembers, removeMember } from '../../src/openstack/glance-members.js';
import { Redactor } from '../../src/redact.js';
import { credentialsCloud } from '../contract/cloud.js';
import { runCli } from '../helpers/cli.js';
import { tierCredentials } from '../helpers/credentials.js';
import { realTier, type RegionName } from './env.js';
import { createImage, deleteAllImages } from './glance-seed.js';

const tier = realTier();
const REGIONS: RegionName[] = ['RegionOne', 'RegionTwo'];
const NAME = 'r-shared';
const MEMBER_A = 'a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0';
const MEMBER_B = 'b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1';
let dir: string;
let conn: CloudConnection;
const ids = new Map<RegionName, string>();

async function run(sharing: Record<string, unknown>, argv: string[]) {
  const file = join(dir, 'images.manifest.json');
  const manifest = { targets: [{ cloud: 'local', regions: REGIONS }], images: [{ name: NAME, source: { image: 'debian-12' }, build: { steps: [{ run: 'true' }] }, ...sharing }] };
  await writeFile(file, JSON.stringify(manifest));
  return runCli([...argv, '-m', file], { cwd: dir, env: { OS_CLIENT_CONFIG_FILE: tier.cloudsYaml } });
}

const membersOf = async (region: RegionName) => (await listMembers(await conn.glance(region), ids.get(region)!)).map((m) => m.member_id).sort();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imagesync-real-sharing-'));
  await deleteAllImages(tier);
  conn = new CloudConnection(credentialsCloud(tierCredentials(tier), 'test/real/sharing-apply.test.ts', { name: 'local' }), { redactor: new Redactor() });
  // Present images, not built by imagesync: no build is due, only their sharing.
  for (const region of REGIONS) ids.set(region, (await createImage(tier, region, { name: NAME })).id);
});

afterAll(async () => {
  await conn?.close();
  await deleteAllImages(tier);
  await rm(dir, { recursive: true, force: true });
});

describe('sharing against real Keystone + Glance', () => {
  it('plan shows the members to add (exit 2); apply sets them without a build; plan is then in sync', async () => {
    const sharing = { members: [MEMBER_A, MEMBER_B] };
    const p = await run(sharing, ['plan', '--json', '--detailed-exitcode']);
    expect(p.code, p.stderr).toBe(2);
    const doc = JSON.parse(p.stdout);
    for (const e of doc.entries) expect(e).toMatchObject({ state: 'present', sharing: { add: [MEMBER_A, MEMBER_B], remove: [] } });

    const a = await run(sharing, ['apply', '--yes', '--json']);
    expect(a.code, a.stderr).toBe(0);
    const report = JSON.parse(a.stdout);
    expect(report.builds).toEqual([]);
    expect(report.shared.map((x: { region: string; error?: string }) => [x.region, x.error])).toEqual([['RegionOne', undefined], ['RegionTwo', undefined]]);
    for (const region of REGIONS) expect(await membersOf(region)).toEqual([MEMBER_A, MEMBER_B]);
    expect((await run(sharing, ['plan', '--detailed-exitcode'])).code).toBe(0);

    // By hand in RegionTwo: one member removed, a stranger added.
    const glance = await conn.glance('RegionTwo');
    await removeMember(glance, ids.get('RegionTwo')!, MEMBER_B);
    await addMember(glance, ids.get('RegionTwo')!, 'c2c2c2c2');
    const drifted = await run(sharing, ['plan', '--json', '--detailed-exitcode']);
    expect(drifted.code).toBe(2);
    const entries = JSON.parse(drifted.stdout).entries as Array<{ region: string; sharing?: unknown }>;
    expect(entries.find((e) => e.region === 'RegionOne')!.sharing).toBeUndefined();
    expect(entries.find((e) => e.region === 'RegionTwo')!.sharing).toEqual({ add: [MEMBER_B], remove: ['c2c2c2c2'] });
    expect((await run(sharing, ['apply', '--yes'])).code).toBe(0);
    expect(await membersOf('RegionTwo')).toEqual([MEMBER_A, MEMBER_B]);
  });

  it('moves a shared image to community: plan names the visibility change, apply makes it', async () => {
    for (const region of REGIONS) await (await conn.glance(region)).patchImage(ids.get(region)!, [{ op: 'replace', path: '/visibility', value: 'shared' }]);
    const sharing = { visibility: 'community' };
    const p = await run(sharing, ['plan', '--detailed-exitcode']);
    expect(p.code).toBe(2);
    expect(p.stdout).toContain('visibility shared → community → apply sets it (no build)');
    expect((await run(sharing, ['apply', '--yes'])).code).toBe(0);
    for (const region of REGIONS) {
      const img = await (await conn.glance(region)).getImage(ids.get(region)!);
      expect(img?.visibility).toBe('community');
    }
    expect((await run(sharing, ['plan', '--detailed-exitcode'])).code).toBe(0);
  });
});

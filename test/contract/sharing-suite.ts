// The Glance sharing contract (visibility policy, image members: the owner adds, the member answers) and imagesync's publish with sharing, against the real tier and the emulator alike.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newRunId } from '../../src/app/run-id.js';
import { SharingRefusedError } from '../../src/build/sharing.js';
import { CloudConnection } from '../../src/openstack/cloud.js';
import { imageV2Base } from '../../src/openstack/catalog.js';
import { GlanceClient, type GlanceImage } from '../../src/openstack/glance.js';
import { listMembers } from '../../src/openstack/glance-members.js';
import { ServiceClient } from '../../src/openstack/service.js';
import { Redactor } from '../../src/redact.js';
import { fieldsOf } from '../../src/replicate/fields.js';
import { replicate } from '../../src/replicate/replicate.js';
import { credentialsCloud } from './cloud.js';
import { imageEndpoint, issueToken, send, sendExpect, type Credentials, type IssuedToken, type RawReply } from './http.js';

/** An admin, and two users without the admin role in two other projects: the image's owner and the project it is shared with. */
export interface SharingContractTarget {
  admin: Credentials;
  owner: Credentials;
  member: Credentials;
  regions: [string, string];
}

interface Party {
  tok: IssuedToken;
  project: string;
  glance: string;
}

export function defineSharingContract(label: string, setup: () => Promise<SharingContractTarget>): void {
  describe(`Glance sharing contract (${label})`, () => {
    const p = `sh-${randomBytes(3).toString('hex')}-`;
    let target: SharingContractTarget;
    let admin: Party;
    let owner: Party;
    let member: Party;
    const created: Array<{ party: () => Party; id: string }> = [];
    const ownerConns: CloudConnection[] = [];

    const party = async (c: Credentials, region: string): Promise<Party> => {
      const tok = await issueToken(c);
      return { tok, project: tok.body.project.id, glance: imageEndpoint(tok, region) };
    };
    const headers = (who: Party, json = false): Record<string, string> => ({
      'x-auth-token': who.tok.token,
      accept: 'application/json',
      ...(json ? { 'content-type': 'application/json' } : {}),
    });
    const call = (who: Party, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<RawReply> =>
      send(`${who.glance}/v2/${path}`, { method, headers: headers(who, body !== undefined), ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const patch = (who: Party, id: string, ops: unknown[]): Promise<RawReply> =>
      send(`${who.glance}/v2/images/${id}`, {
        method: 'PATCH',
        headers: { ...headers(who), 'content-type': 'application/openstack-images-v2.1-json-patch' },
        body: JSON.stringify(ops),
      });
    const createImage = async (who: () => Party, name: string, extra: Record<string, unknown> = {}): Promise<{ id: string; visibility: string; owner: string }> => {
      const r = await sendExpect(
        `${who().glance}/v2/images`,
        { method: 'POST', headers: headers(who(), true), body: JSON.stringify({ name: `${p}${name}`, disk_format: 'raw', container_format: 'bare', ...extra }) },
        [201],
      );
      const img = JSON.parse(r.text) as { id: string; visibility: string; owner: string };
      created.push({ party: who, id: img.id });
      return img;
    };
    const json = <T>(r: RawReply): T => JSON.parse(r.text) as T;
    /** Glance's explanation in a webob error (JSON with Accept: application/json). */
    const explanation = (r: RawReply): string => r.text;

    beforeAll(async () => {
      target = await setup();
      [admin, owner, member] = await Promise.all([party(target.admin, target.regions[0]), party(target.owner, target.regions[0]), party(target.member, target.regions[0])]);
    }, 120_000);

    afterAll(async () => {
      for (const c of created) await send(`${c.party().glance}/v2/images/${c.id}`, { method: 'DELETE', headers: headers(c.party()) }).catch(() => undefined);
      for (const c of ownerConns) await c.close();
    }, 120_000);

    it('has members only for a shared image: listing or adding them on a private one is refused (403)', async () => {
      const img = await createImage(() => owner, 'private', { visibility: 'private' });
      expect(img).toMatchObject({ visibility: 'private', owner: owner.project });
      const listed = await call(owner, 'GET', `images/${img.id}/members`);
      expect(listed.status).toBe(403);
      expect(explanation(listed)).toContain('Only shared images have members');
      const added = await call(owner, 'POST', `images/${img.id}/members`, { member: member.project });
      expect(added.status).toBe(403);
    });

    it('lets an owner without the admin role make its image community or shared, but not public (publicize_image, 403)', async () => {
      const img = await createImage(() => owner, 'visibility', { visibility: 'private' });
      const pub = await patch(owner, img.id, [{ op: 'replace', path: '/visibility', value: 'public' }]);
      expect(pub.status).toBe(403);
      expect(explanation(pub)).toContain('publicize_image');
      expect(json<{ visibility: string }>(await sendExpect(`${owner.glance}/v2/images/${img.id}`, { headers: headers(owner) }, [200])).visibility).toBe('private');
      for (const v of ['community', 'shared']) {
        const r = await patch(owner, img.id, [{ op: 'replace', path: '/visibility', value: v }]);
        expect(r.status, r.text).toBe(200);
        expect(json<{ visibility: string }>(r).visibility).toBe(v);
      }
      // Nor may it create an image public from the start.
      const r = await send(`${owner.glance}/v2/images`, { method: 'POST', headers: headers(owner, true), body: JSON.stringify({ name: `${p}born-public`, visibility: 'public' }) });
      expect(r.status).toBe(403);
    });

    it('adds a member as pending (409 the second time); only the member accepts; the member sees the image by id at once, in its list once it accepted, and no more once removed', async () => {
      const img = await createImage(() => owner, 'shared', { visibility: 'shared' });
      const add = await call(owner, 'POST', `images/${img.id}/members`, { member: member.project });
      expect(add.status, add.text).toBe(200);
      expect(json<Record<string, unknown>>(add)).toMatchObject({ member_id: member.project, image_id: img.id, status: 'pending' });
      expect((await call(owner, 'POST', `images/${img.id}/members`, { member: member.project })).status).toBe(409);
      expect((await call(owner, 'POST', `images/${img.id}/members`, {})).status).toBe(400);

      const list = json<{ members: Array<{ member_id: string; status: string }> }>(await sendExpect(`${owner.glance}/v2/images/${img.id}/members`, { headers: headers(owner) }, [200]));
      expect(list.members.map((m) => [m.member_id, m.status])).toEqual([[member.project, 'pending']]);

      // The owner cannot answer for the member.
      expect((await call(owner, 'PUT', `images/${img.id}/members/${member.project}`, { status: 'accepted' })).status).toBe(403);

      const byName = async () => json<{ images: Array<{ id: string }> }>(await sendExpect(`${member.glance}/v2/images?name=${p}shared`, { headers: headers(member) }, [200])).images.map((i) => i.id);
      expect((await call(member, 'GET', `images/${img.id}`)).status).toBe(200);
      expect(await byName()).toEqual([]);
      const accept = await call(member, 'PUT', `images/${img.id}/members/${member.project}`, { status: 'accepted' });
      expect(accept.status, accept.text).toBe(200);
      expect(json<{ status: string }>(accept).status).toBe('accepted');
      expect(await byName()).toEqual([img.id]);
      expect(json<{ status: string }>(await sendExpect(`${owner.glance}/v2/images/${img.id}/members/${member.project}`, { headers: headers(owner) }, [200])).status).toBe('accepted');

      expect((await call(owner, 'DELETE', `images/${img.id}/members/${member.project}`)).status).toBe(204);
      expect((await call(owner, 'DELETE', `images/${img.id}/members/${member.project}`)).status).toBe(404);
      expect((await call(member, 'GET', `images/${img.id}`)).status).toBe(404);
    });

    it('lets an admin make an image public', async () => {
      const img = await createImage(() => admin, 'admin-public', { visibility: 'private' });
      const r = await patch(admin, img.id, [{ op: 'replace', path: '/visibility', value: 'public' }]);
      expect(r.status, r.text).toBe(200);
      expect(json<{ visibility: string }>(r).visibility).toBe('public');
    });

    describe("imagesync's publish with sharing (a copy between the regions, as the image's owner)", () => {
      let conn: CloudConnection;
      let source: GlanceImage;
      const glanceAt = (region: string, tok: IssuedToken) =>
        new GlanceClient(new ServiceClient(conn.session, conn.http, imageV2Base(imageEndpoint(tok, region)), { cloud: 'local', region }));
      const named = async (g: GlanceClient, name: string) => [...(await g.listAll(`images?name=${encodeURIComponent(name)}`)), ...(await g.listAll(`images?name=${encodeURIComponent(name)}&os_hidden=true`))];

      beforeAll(async () => {
        conn = new CloudConnection(credentialsCloud(target.owner, 'test/contract/sharing-suite.ts', { name: 'local' }), { redactor: new Redactor() });
        ownerConns.push(conn);
        const src = await createImage(() => owner, 'source', { visibility: 'private' });
        await sendExpect(`${owner.glance}/v2/images/${src.id}/file`, { method: 'PUT', headers: { ...headers(owner), 'content-type': 'application/octet-stream' }, body: randomBytes(4096) }, [204]);
        source = (await glanceAt(target.regions[0], owner.tok).getImage(src.id))!;
      }, 120_000);

      const copyTo = async (name: string, sharing: Parameters<typeof replicate>[0]['sharing']) => {
        const region = target.regions[1];
        const glance = glanceAt(region, owner.tok);
        const [outcome] = await replicate({
          runId: newRunId(new Date()),
          name,
          source: { kind: 'glance', target: { cloud: 'local', region: target.regions[0] }, glance: glanceAt(target.regions[0], owner.tok), image: source },
          fields: fieldsOf(source),
          sharing,
          destinations: [{ target: { cloud: 'local', region }, glance, replaces: [], sameKeystone: false }],
          signal: AbortSignal.timeout(120_000),
          tuning: { claimSettleMs: 50, pollIntervalMs: 100 },
        });
        return { outcome: outcome!, glance };
      };

      it('publishes the copy shared with the member project: visibility and members set before it carries the name', async () => {
        const name = `${p}published-shared`;
        const { outcome, glance } = await copyTo(name, { visibility: 'shared', members: [member.project] });
        expect(outcome.error, String(outcome.error)).toBeUndefined();
        const [img, ...more] = await named(glance, name);
        expect(more).toEqual([]);
        created.push({ party: () => ({ ...owner, glance: imageEndpoint(owner.tok, target.regions[1]) }), id: img!.id });
        expect(img).toMatchObject({ id: outcome.imageId, visibility: 'shared', status: 'active' });
        expect((await listMembers(glance, img!.id)).map((m) => [m.member_id, m.status])).toEqual([[member.project, 'pending']]);
      });

      it('refuses "public" for an owner without the admin role: a SharingRefusedError naming target, image and policy; nothing carries the name, nothing temporary is left', async () => {
        const name = `${p}published-public`;
        const { outcome, glance } = await copyTo(name, { visibility: 'public' });
        expect(outcome.ok).toBe(false);
        expect(outcome.error).toBeInstanceOf(SharingRefusedError);
        const message = (outcome.error as Error).message;
        expect(message).toContain(`local/${target.regions[1]}: "${name}": Glance refused to make public image`);
        expect(message).toContain('publicize_image');
        expect(await named(glance, name)).toEqual([]);
        const temporary = (await glance.listAll('images?os_hidden=true')).filter((i) => i.name?.startsWith('imagesync-copy-') && i.name.includes('published-public'));
        expect(temporary.map((i) => `${i.name} ${i.status}`)).toEqual([]);
      });
    });
  });
}

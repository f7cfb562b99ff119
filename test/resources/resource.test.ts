// The resource declaration's words: what a leftover is called and the one command that deletes it, for every kind, before and after its id is known.
import { describe, expect, it } from 'vitest';
import type { BuildServices } from '../../src/openstack/cloud.js';
import { CannotDeleteError, deleteResource } from '../../src/resources/delete.js';
import { deleteHint } from '../../src/resources/hints.js';
import { describeResource, RESOURCE_KINDS, resourceId, type Resource, type ResourceKind } from '../../src/resources/resource.js';

const RUN = '20261129-214105-a3f9';
const OS = 'openstack --os-cloud acme --os-region-name R1';
const r = (kind: ResourceKind, name: string, more: Partial<Resource> = {}): Resource => ({ kind, cloud: 'acme', region: 'R1', name, runId: RUN, ...more });

describe('describeResource and deleteHint', () => {
  const cases: Array<[string, Resource, string, string]> = [
    ['a server by id', r('server', 'imagesync-build-web', { id: 's1' }), 'server s1 (imagesync-build-web)', `${OS} server delete s1`],
    ['a server before its id', r('server', 'imagesync-build-web'), 'any server named imagesync-build-web', `${OS} server list --name '^imagesync-build-web$' (then: server delete <id> for each with imagesync_run=${RUN})`],
    ['a keypair (its name is its id)', r('keypair', 'imagesync-key-web', { id: 'imagesync-key-web' }), 'keypair imagesync-key-web', `${OS} keypair delete imagesync-key-web`],
    ['a keypair before the answer', r('keypair', 'imagesync-key-web'), 'keypair imagesync-key-web, if it was created', `${OS} keypair delete imagesync-key-web`],
    ['an image by id', r('image', 'imagesync-snapshot-web', { id: 'i1' }), 'image i1 (imagesync-snapshot-web)', `${OS} image delete i1`],
    ['a hidden claim by id', r('image', 'imagesync-claim-ab', { id: 'c1', hidden: true }), 'image c1 (imagesync-claim-ab, hidden)', `${OS} image delete c1`],
    ['a hidden claim before its id', r('image', 'imagesync-claim-ab', { hidden: true }), 'any image named imagesync-claim-ab (hidden)', `${OS} image list --name imagesync-claim-ab --hidden (then: image delete <id> for each with imagesync_run=${RUN})`],
    ['a floating IP by id (named by its address)', r('floating-ip', '172.24.4.7', { id: 'f1' }), 'floating IP 172.24.4.7 (f1)', `${OS} floating ip delete f1`],
    ['a floating IP before its id (by its description)', r('floating-ip', `imagesync run ${RUN}`), `any floating IP described "imagesync run ${RUN}"`, `${OS} floating ip list --long (then: floating ip delete <id> for each described "imagesync run ${RUN}")`],
    ['a volume by id', r('volume', 'imagesync-vol-web', { id: 'v1' }), 'volume v1 (imagesync-vol-web)', `${OS} volume delete v1`],
    ['a volume snapshot before its id', r('volume-snapshot', 'imagesync-vs'), 'any volume snapshot named imagesync-vs', `${OS} volume snapshot list --name imagesync-vs (then: volume snapshot delete <id>)`],
    ['a security group by id', r('security-group', 'imagesync-sg', { id: 'g1' }), 'security group g1 (imagesync-sg)', `${OS} security group delete g1`],
    ['a security group before its id (no name filter)', r('security-group', 'imagesync-sg'), 'any security group named imagesync-sg', `${OS} security group list (then: security group delete <id> of each named imagesync-sg)`],
    ['a port by id', r('port', 'imagesync-port', { id: 'p1' }), 'port p1 (imagesync-port)', `${OS} port delete p1`],
    ['an image upload by id', r('image-upload', 'imagesync-upload-web', { id: 'u1' }), 'image upload u1 (imagesync-upload-web)', `${OS} image delete u1`],
  ];
  it.each(cases)('%s', (_name, res, what, hint) => {
    expect(describeResource(res)).toBe(what);
    expect(deleteHint(res)).toBe(hint);
  });

  it('covers every kind', () => {
    expect(new Set(cases.map(([, res]) => res.kind))).toEqual(new Set(RESOURCE_KINDS));
  });

  it('addresses a keypair by its name, everything else by its id', () => {
    expect(resourceId(r('keypair', 'k'))).toBe('k');
    expect(resourceId(r('server', 's'))).toBeUndefined();
    expect(resourceId(r('server', 's', { id: 'x' }))).toBe('x');
  });
});

describe('deleteResource', () => {
  // Refuses before any call: these fakes throw if touched.
  const untouchable = new Proxy({}, { get: () => { throw new Error('no call expected'); } }) as unknown as BuildServices;

  it('refuses a kind this version has no client for, with the command to do it by hand', async () => {
    const err = await deleteResource(untouchable, r('port', 'imagesync-port', { id: 'p1' }), { pollIntervalMs: 10 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CannotDeleteError);
    expect((err as Error).message).toBe(`acme/R1: this imagesync cannot delete a port yet; delete it with: ${OS} port delete p1`);
  });

  it('refuses a resource whose id is not known', async () => {
    await expect(deleteResource(untouchable, r('server', 'imagesync-build-web'), { pollIntervalMs: 10 })).rejects.toThrow('acme/R1: cannot delete server imagesync-build-web by id: its id is not known');
  });

  it('needs Neutron for a floating IP', async () => {
    const services = { neutron: undefined } as unknown as BuildServices;
    await expect(deleteResource(services, r('floating-ip', '172.24.4.7', { id: 'f1' }), { pollIntervalMs: 10 })).rejects.toThrow(/no network service \(Neutron\)/);
  });
});

// What a build takes from the cloud when the manifest leaves it out: the SSH user from os_admin_user, the one network Nova would pick.
import { describe, expect, it } from 'vitest';
import { chooseNetwork, chooseSshUser } from '../../src/build/defaults.js';
import type { Network } from '../../src/openstack/neutron.js';

const image = (props: Record<string, unknown> = {}) => ({ id: 'img-1', name: 'debian-12', ...props });
const net = (name: string, extra: Partial<Network> = {}): Network => ({ id: `id-${name}`, name, status: 'ACTIVE', project_id: 'p1', shared: false, 'router:external': false, ...extra });

describe('chooseSshUser', () => {
  it("takes the manifest's user first, else the source image's os_admin_user", () => {
    expect(chooseSshUser('admin', image({ os_admin_user: 'debian' }))).toEqual({ ok: true, value: 'admin', from: 'build.ssh.user' });
    expect(chooseSshUser(undefined, image({ os_admin_user: ' debian ' }))).toEqual({ ok: true, value: 'debian', from: 'os_admin_user of source image img-1' });
  });

  it('says why not when neither gives one', () => {
    for (const props of [{}, { os_admin_user: '' }, { os_admin_user: 3 }, { default_user: 'debian' }]) {
      expect(chooseSshUser(undefined, image(props))).toEqual({
        ok: false,
        problem: 'no SSH user: build.ssh.user is not set and source image "debian-12" (img-1) has no os_admin_user property; set build.ssh.user (e.g. "debian", "ubuntu")',
      });
    }
  });
});

describe('chooseNetwork', () => {
  it("takes the project's only usable network, leaving out external ones, other projects' and inactive ones", () => {
    const nets = [
      net('private'),
      net('public', { 'router:external': true, shared: true, project_id: 'admin' }),
      net('theirs', { project_id: 'p2' }),
      net('down', { status: 'DOWN' }),
    ];
    expect(chooseNetwork(nets, 'p1')).toEqual({ ok: true, value: nets[0], from: 'the only network the project can use' });
  });

  it('counts shared networks of other projects, as Nova does', () => {
    const r = chooseNetwork([net('private'), net('campus', { shared: true, project_id: 'p9' })], 'p1');
    expect(r).toEqual({
      ok: false,
      problem: 'no network: build.network is not set and the project can use 2 networks: private (id-private), campus (id-campus); set build.network to one of them',
    });
  });

  it('says so when there is none', () => {
    expect(chooseNetwork([net('public', { 'router:external': true })], 'p1')).toEqual({
      ok: false,
      problem: 'no network: build.network is not set and the project has no network a server can use; set build.network',
    });
  });
});

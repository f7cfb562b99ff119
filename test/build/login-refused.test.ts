// A refused login: what the console says of cloud-init, and the message that names the image's login user.
import { describe, expect, it } from 'vitest';
import { cloudInitProgress, refusedLoginMessage } from '../../src/build/login-refused.js';

describe('cloudInitProgress', () => {
  it("reads cloud-init's last word on the console", () => {
    expect(cloudInitProgress('')).toBe('silent');
    expect(cloudInitProgress('[    0.000000] Linux version 6.1\nlogin: ')).toBe('silent');
    // The host key block names cloud-init too, but says nothing of its progress.
    expect(cloudInitProgress('<14>Dec  5 10:00:00 cloud-init: -----BEGIN SSH HOST KEY FINGERPRINTS-----')).toBe('silent');
    const running = "[    3.20] cloud-init[401]: Cloud-init v. 24.4 running 'init' at Thu, 05 Dec 2026 10:00:00 +0000. Up 3.20 seconds.";
    expect(cloudInitProgress(running)).toBe('running');
    const finished = '[    5.20] cloud-init[588]: Cloud-init v. 24.4 finished at Thu, 05 Dec 2026 10:00:02 +0000. Datasource DataSourceOpenStackLocal.  Up 5.20 seconds';
    expect(cloudInitProgress(`${running}\n${finished}`)).toBe('finished');
    // A reboot after it finished: running again.
    expect(cloudInitProgress(`${running}\n${finished}\n${running}`)).toBe('running');
    expect(cloudInitProgress('ci-info: Cloud-init v. 0.7.5 finished at Mon, 01 Jan 2018')).toBe('finished');
  });
});

describe('refusedLoginMessage', () => {
  const image = (properties: Record<string, unknown>) => ({ id: 'img-1', name: 'cirros-0.6.2', ...properties });

  it("names the image's os_admin_user", () => {
    expect(refusedLoginMessage('debian', image({ os_admin_user: 'cirros', os_distro: 'cirros' }))).toBe(
      'ssh user "debian" was refused by cirros-0.6.2: the image\'s os_admin_user is "cirros"',
    );
    expect(refusedLoginMessage('cirros', image({ os_admin_user: 'cirros' }))).toMatch(/^ssh user "cirros" was refused by cirros-0\.6\.2, which is the image's os_admin_user: the image did not install the keypair's key/);
  });

  it('else the usual users of its os_distro, or what to set', () => {
    expect(refusedLoginMessage('debian', image({ os_distro: 'cirros' }))).toBe(
      'ssh user "debian" was refused by cirros-0.6.2: the image has no os_admin_user property; for os_distro "cirros" the login user is usually "cirros"',
    );
    expect(refusedLoginMessage('debian', image({ os_distro: 'centos' }))).toMatch(/usually "centos" or "cloud-user"$/);
    expect(refusedLoginMessage('ubuntu', image({ os_distro: 'Ubuntu' }))).toMatch(/"ubuntu" is the usual user for os_distro "Ubuntu": the image did not install the keypair's key for it$/);
    expect(refusedLoginMessage('debian', image({ os_distro: 'plan9' }))).toMatch(/os_distro "plan9" has no usual login user; set build\.ssh\.user/);
    expect(refusedLoginMessage('debian', { id: 'img-2', name: null })).toMatch(/^ssh user "debian" was refused by img-2: the image has no os_admin_user or os_distro property; set build\.ssh\.user/);
  });
});

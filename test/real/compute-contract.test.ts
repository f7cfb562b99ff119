// Runs the compute contract against the real Nova 26 (fake virt driver) and Neutron 21 of RegionOne.
import { describe, expect, it } from 'vitest';
import { FAKE_DRIVER, defineComputeContract } from '../contract/compute-suite.js';
import { issueToken, send, sendExpect } from '../contract/http.js';
import { realTier } from './env.js';

const tier = realTier();
const creds = { authUrl: tier.authUrl, username: tier.username, password: tier.password, projectName: tier.projectName, userDomain: 'Default' };

async function admin(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<any> {
  const { token } = await issueToken(creds);
  const r = await sendExpect(
    `${tier.nova.RegionOne}/${path}`,
    {
      method,
      headers: { 'x-auth-token': token, accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    },
    [200, 202, 204],
  );
  return r.text ? JSON.parse(r.text) : undefined;
}

describe('the real Nova under test', () => {
  it('runs the fake virt driver, so it has neither a guest console nor snapshot uploads', async () => {
    const { hypervisors } = await admin('GET', 'os-hypervisors/detail');
    expect(hypervisors.map((h: { hypervisor_type: string }) => h.hypervisor_type)).toEqual(['fake']);
    expect(FAKE_DRIVER).toEqual({ guestConsole: false, snapshotUpload: false });
  });
});

let unschedulableFlavor: string | undefined;

defineComputeContract('real Nova + Neutron', async () => ({
  ...creds,
  region: 'RegionOne',
  capabilities: FAKE_DRIVER,
  // Nova 26 (Zed)
  maxMicroversion: '2.93',
  async unschedulable() {
    // A bigger disk than the fake driver's host reports (600000 GB): Placement finds no candidate.
    const name = `ct-huge-${process.pid}-${Date.now()}`;
    const { flavor } = await admin('POST', 'flavors', { flavor: { name, ram: 512, vcpus: 1, disk: 1_000_000 } });
    unschedulableFlavor = flavor.id as string;
    return unschedulableFlavor;
  },
  async cleanup() {
    if (unschedulableFlavor) {
      const { token } = await issueToken(creds);
      await send(`${tier.nova.RegionOne}/flavors/${unschedulableFlavor}`, { method: 'DELETE', headers: { 'x-auth-token': token } });
    }
  },
}));

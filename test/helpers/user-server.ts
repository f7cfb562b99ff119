// A server a user booted from an image (not imagesync's): retention and prune must never delete that image.
import type { NovaClient } from '../../src/openstack/nova.js';
import { waitFor } from '../../src/openstack/wait.js';
import { WAIT_MS } from './wait.js';

/**
 * Booted through Nova (a raw POST: no keypair needed), so it shows up in servers/detail with
 * image.id; returns a function that deletes it and waits until it is gone.
 */
export async function bootUserServer(nova: NovaClient, imageId: string): Promise<{ id: string; remove(): Promise<void> }> {
  const flavor = (await nova.flavors()).find((f) => f.name === 'm1.small')!;
  const res = await nova.service.request({
    method: 'POST',
    path: 'servers',
    json: { server: { name: 'user-server', imageRef: imageId, flavorRef: flavor.id, networks: 'none' } },
    headers: { 'openstack-api-version': 'compute 2.37', 'x-openstack-nova-api-version': '2.37' },
    expect: [202],
  });
  const id = res.json<{ server: { id: string } }>().server.id;
  return {
    id,
    async remove() {
      await nova.deleteServer(id);
      await waitFor({ what: 'user server gone', poll: () => nova.getServer(id), done: (s) => s === undefined, timeoutMs: WAIT_MS, intervalMs: 50 });
    },
  };
}

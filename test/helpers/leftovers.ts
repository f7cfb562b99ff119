// "Nothing left behind", asserted through the emulator: no server, keypair, floating IP or temporary image.
import { expect } from 'vitest';
import type { Emulator } from '../../src/emulator/server.js';

/** Temporary images are named `imagesync-…` (snapshots, claims); the prefix can be narrowed. */
export function assertNothingLeft(emulator: Emulator, regions: readonly string[], imagePrefix = 'imagesync-'): void {
  for (const r of regions) {
    expect(emulator.compute.servers(r), `servers in ${r}`).toEqual([]);
    expect(emulator.compute.keypairs(r), `keypairs in ${r}`).toEqual([]);
    expect(emulator.compute.floatingIps(r), `floating IPs in ${r}`).toEqual([]);
    expect(emulator.state.images(r).filter((i) => i.name?.startsWith(imagePrefix)), `temporary images in ${r}`).toEqual([]);
  }
}

export function imagesNamed(emulator: Emulator, region: string, name: string) {
  return emulator.state.images(region).filter((i) => i.name === name);
}

// "Nothing left behind", asserted through the emulator: no server, keypair, floating IP, temporary image, nor a volume or volume snapshot that no image needs.
import { expect } from 'vitest';
import type { Emulator } from '../../src/emulator/server.js';
import { volumeSnapshotsOf } from '../../src/resources/volume-backed.js';

/**
 * Temporary images are named `imagesync-…` (snapshots, claims); the prefix can be narrowed. A
 * volume-backed image keeps its Cinder snapshot and the boot volume that snapshot depends on: those
 * are allowed while an image points at them, nothing else.
 */
export function assertNothingLeft(emulator: Emulator, regions: readonly string[], imagePrefix = 'imagesync-'): void {
  for (const r of regions) {
    expect(emulator.compute.servers(r), `servers in ${r}`).toEqual([]);
    expect(emulator.compute.keypairs(r), `keypairs in ${r}`).toEqual([]);
    expect(emulator.compute.floatingIps(r), `floating IPs in ${r}`).toEqual([]);
    const images = emulator.state.images(r).filter((i) => i.status !== 'deleted');
    expect(images.filter((i) => i.name?.startsWith(imagePrefix)), `temporary images in ${r}`).toEqual([]);
    const needed = new Set(images.flatMap((i) => volumeSnapshotsOf(i)));
    const snapshots = emulator.compute.volumeSnapshots(r);
    expect(snapshots.filter((s) => !needed.has(s.id)).map((s) => `${s.id} ${s.name} ${s.status}`), `volume snapshots no image points at in ${r}`).toEqual([]);
    const parents = new Set(snapshots.map((s) => s.volumeId));
    expect(emulator.compute.volumes(r).filter((v) => !parents.has(v.id)).map((v) => `${v.id} ${v.name} ${v.status}`), `volumes no snapshot needs in ${r}`).toEqual([]);
  }
}

export function imagesNamed(emulator: Emulator, region: string, name: string) {
  return emulator.state.images(region).filter((i) => i.name === name);
}

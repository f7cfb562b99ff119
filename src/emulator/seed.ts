// Initial images of every region: the usual public base images and optional random-named filler.
import type { IdSource } from './ids.js';
import { createStoredImage, type ImageStore } from './image-store.js';
import { EMPTY_TAR } from './sandbox.js';

/** os_admin_user is Glance's name for the login user; default_user is what the emulator read first. */
export const BASE_IMAGES: ReadonlyArray<{ name: string; properties: Record<string, string>; minDisk: number }> = [
  { name: 'debian-12-genericcloud', properties: { os_distro: 'debian', os_version: '12', hw_disk_bus: 'virtio', os_admin_user: 'debian', default_user: 'debian' }, minDisk: 2 },
  { name: 'ubuntu-24.04-cloudimg', properties: { os_distro: 'ubuntu', os_version: '24.04', hw_disk_bus: 'virtio', os_admin_user: 'ubuntu', default_user: 'ubuntu' }, minDisk: 3 },
  { name: 'ubuntu-22.04-cloudimg', properties: { os_distro: 'ubuntu', os_version: '22.04', hw_disk_bus: 'virtio', os_admin_user: 'ubuntu', default_user: 'ubuntu' }, minDisk: 3 },
  { name: 'cirros-0.6.2-x86_64-disk', properties: { os_distro: 'cirros', os_version: '0.6.2' }, minDisk: 1 },
];

const WORDS_A = ['rocky', 'alma', 'fedora', 'centos', 'opensuse', 'arch', 'alpine', 'gentoo', 'freebsd', 'windows'];
const WORDS_B = ['base', 'gpu', 'hardened', 'minimal', 'docker', 'k8s', 'db', 'web', 'ci', 'build'];

export interface SeedPlan {
  regions: readonly string[];
  baseImages: boolean;
  /** Base images not to seed (the build servers cannot boot them for real). */
  skip?: ReadonlySet<string>;
  fillerPerRegion: number;
  owner: string | null;
  nowMs: number;
}

/** Seed every region; older images first so the default newest-first order is stable. */
export function seedRegions(store: ImageStore, ids: IdSource, plan: SeedPlan): void {
  for (const region of plan.regions) {
    const images = store.region(region);
    const bases = plan.baseImages ? BASE_IMAGES.filter((b) => !plan.skip?.has(b.name)) : [];
    const total = plan.fillerPerRegion + bases.length;
    let createdAtMs = plan.nowMs - (total + 1) * 60_000;
    for (let i = 0; i < plan.fillerPerRegion; i++) {
      const name = `${WORDS_A[ids.int(WORDS_A.length)]}-${WORDS_B[ids.int(WORDS_B.length)]}-${ids.hex32().slice(0, 8)}`;
      createdAtMs += 60_000;
      images.insert(
        createStoredImage(
          { name, status: 'active', visibility: 'public', properties: { emulator_filler: 'true' }, createdAtMs },
          ids,
          plan.nowMs,
          plan.owner,
        ),
      );
    }
    for (const base of bases) {
      createdAtMs += 60_000;
      images.insert(
        createStoredImage(
          {
            name: base.name,
            status: 'active',
            visibility: 'public',
            disk_format: 'qcow2',
            container_format: 'bare',
            min_disk: base.minDisk,
            properties: { ...base.properties },
            // A server's disk is a tar of what differs from its root file system: a base image changes nothing.
            data: EMPTY_TAR,
            createdAtMs,
          },
          ids,
          plan.nowMs,
          plan.owner,
        ),
      );
    }
  }
}

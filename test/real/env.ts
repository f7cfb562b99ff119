// What the real OpenStack tier (Keystone, Glance, Nova, Neutron) hands to the tests (provided by global-setup.ts).
import { inject } from 'vitest';

export interface RealTier {
  /** Keystone v3 URL, ending in /v3. */
  authUrl: string;
  /** Glance endpoint (no /v2) per region, as the catalog lists it. */
  glance: { RegionOne: string; RegionTwo: string };
  /** The real nova-api per region (ends in /v2.1), as the catalog lists it. */
  nova: { RegionOne: string; RegionTwo: string };
  /** The real neutron-server per region (unversioned), as the catalog lists it. */
  neutron: { RegionOne: string; RegionTwo: string };
  /** Where tests start the emulator's compute-only server (ends in /v2.1): not in the catalog, reached through `emulatedComputeCloud`. */
  compute: { RegionOne: string; RegionTwo: string };
  /** Where the emulator's compute-only server serves Neutron (unversioned). */
  network: { RegionOne: string; RegionTwo: string };
  /** clouds.yaml (mode 0600) with the clouds `cloudName` and `emulatedComputeCloud`, admin credentials. */
  cloudsYaml: string;
  /** Everything real: Keystone, Glance, Nova, Neutron; region RegionOne by default. */
  cloudName: 'local';
  /** The same Keystone and Glance, with compute and network of each region overridden to `compute` / `network`. */
  emulatedComputeCloud: 'local-emulated-compute';
  username: 'admin';
  projectName: 'admin';
  /** The admin password of this throwaway test cloud. */
  password: string;
  /** State, logs and configs of the tier (scripts/openstack-loopback.sh, OS_DIR). */
  osDir: string;
}

export type RegionName = keyof RealTier['glance'];

declare module 'vitest' {
  export interface ProvidedContext {
    openstack: RealTier;
  }
}

/** The running tier; only inside the `real` vitest project, whose globalSetup starts it. */
export function realTier(): RealTier {
  const tier = inject('openstack') as RealTier | undefined;
  if (tier === undefined) {
    throw new Error(
      'test/real/env.ts: no OpenStack tier was provided; run this file in the "real" project (npx vitest run --project real)',
    );
  }
  return tier;
}

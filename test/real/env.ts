// What the real Keystone + Glance tier hands to the tests (provided by global-setup.ts).
import { inject } from 'vitest';

export interface RealTier {
  /** Keystone v3 URL, ending in /v3. */
  authUrl: string;
  /** Glance endpoint (no /v2) per region, as the catalog lists it. */
  glance: { RegionOne: string; RegionTwo: string };
  /** Compute endpoints in the catalog; nothing serves them unless a test starts the emulator there. */
  compute: { RegionOne: string; RegionTwo: string };
  /** clouds.yaml (mode 0600) with the cloud `cloudName`, admin credentials, region RegionOne. */
  cloudsYaml: string;
  cloudName: 'local';
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

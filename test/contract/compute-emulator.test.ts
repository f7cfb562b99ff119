// Runs the compute contract against the in-repo emulator (Nova, Neutron, Glance, Keystone in one process).
import { afterAll } from 'vitest';
import { NO_VALID_HOST } from '../../src/emulator/compute.js';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { emulatorCredentials } from '../helpers/credentials.js';
import { SERVERS_PAGE_CAP, defineComputeContract } from './compute-suite.js';

let emu: Emulator | undefined;

defineComputeContract('emulator', async () => {
  emu = await startEmulator({ regions: ['RegionOne'], bootDelayMs: 300, consoleDelayMs: 0, snapshotDelayMs: 100 });
  // The page cap the real tier runs Nova with (NOVA_API_MAX_LIMIT in test/real/global-setup.ts).
  emu.setFaults({ serversMaxLimit: SERVERS_PAGE_CAP });
  return {
    ...emulatorCredentials(emu),
    region: 'RegionOne',
    // A guest (an sshd in an overlay root) that prints its host keys; snapshots upload its files.
    capabilities: { guestConsole: true, snapshotUpload: true },
    maxMicroversion: '2.96',
    async unschedulable() {
      emu!.setFaults({ nextServerError: NO_VALID_HOST });
      return '1';
    },
    async cleanup() {},
  };
});

afterAll(async () => {
  await emu?.close();
});

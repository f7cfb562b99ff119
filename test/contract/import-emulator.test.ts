// Runs the Glance data and import contract against the in-repo emulator.
import { afterAll } from 'vitest';
import { DEFAULT_USER, startEmulator, type Emulator } from '../../src/emulator/server.js';
import { defineImportContract } from './import-suite.js';

let emu: Emulator | undefined;

defineImportContract('emulator', async () => {
  emu = await startEmulator({ regions: ['RegionOne', 'RegionTwo'] });
  return {
    authUrl: emu.authUrl,
    username: DEFAULT_USER.username,
    password: DEFAULT_USER.password,
    projectName: DEFAULT_USER.project,
    userDomain: DEFAULT_USER.domainName ?? 'Default',
    regions: ['RegionOne', 'RegionTwo'],
  };
});

afterAll(async () => {
  await emu?.close();
});

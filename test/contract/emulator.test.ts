// Runs the Keystone + Glance contract against the in-repo emulator, configured like the real tier (pages capped at 20).
import { afterAll } from 'vitest';
import { DEFAULT_USER, startEmulator, type Emulator } from '../../src/emulator/server.js';
import { PAGE_CAP, defineContract, httpSeededTarget } from './suite.js';

let emu: Emulator | undefined;

defineContract('emulator', async () => {
  emu = await startEmulator({ regions: ['RegionOne', 'RegionTwo'], maxPageSize: PAGE_CAP });
  return httpSeededTarget(
    {
      authUrl: emu.authUrl,
      username: DEFAULT_USER.username,
      password: DEFAULT_USER.password,
      projectName: DEFAULT_USER.project,
      userDomain: DEFAULT_USER.domainName ?? 'Default',
    },
    ['RegionOne', 'RegionTwo'],
  );
});

afterAll(async () => {
  await emu?.close();
});

// Replication against the emulator's two Glance regions (one Keystone): the same tests as against the real tier.
import { afterAll } from 'vitest';
import { DEFAULT_USER, startEmulator, type Emulator } from '../../src/emulator/server.js';
import { defineReplicationTests } from './suite.js';

let emu: Emulator | undefined;

defineReplicationTests('emulator', async () => {
  emu = await startEmulator({ regions: ['RegionOne', 'RegionTwo'], seedBaseImages: false });
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

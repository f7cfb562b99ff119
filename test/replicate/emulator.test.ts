// Replication against the emulator's two Glance regions (one Keystone): the same tests as against the real tier.
import { afterAll } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { emulatorCredentials } from '../helpers/credentials.js';
import { defineReplicationTests } from './suite.js';

let emu: Emulator | undefined;

defineReplicationTests('emulator', async () => {
  emu = await startEmulator({ regions: ['RegionOne', 'RegionTwo'], seedBaseImages: false });
  return { ...emulatorCredentials(emu), regions: ['RegionOne', 'RegionTwo'] };
});

afterAll(async () => {
  await emu?.close();
});

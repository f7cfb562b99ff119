// Runs the Glance data and import contract against the in-repo emulator.
import { afterAll } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { emulatorCredentials } from '../helpers/credentials.js';
import { defineImportContract } from './import-suite.js';

let emu: Emulator | undefined;

defineImportContract('emulator', async () => {
  emu = await startEmulator({ regions: ['RegionOne', 'RegionTwo'] });
  return { ...emulatorCredentials(emu), regions: ['RegionOne', 'RegionTwo'] };
});

afterAll(async () => {
  await emu?.close();
});

// Runs the Glance sharing contract against the in-repo emulator: its admin, and two users without the admin role in projects of their own.
import { afterAll } from 'vitest';
import { DEFAULT_USER, startEmulator, type Emulator } from '../../src/emulator/server.js';
import { emulatorCredentials } from '../helpers/credentials.js';
import type { Credentials } from './http.js';
import { defineSharingContract } from './sharing-suite.js';

let emu: Emulator | undefined;

defineSharingContract('emulator', async () => {
  const users = [
    { username: 'image-owner', password: 'owner-secret', project: 'owners', admin: false },
    { username: 'image-member', password: 'member-secret', project: 'members', admin: false },
  ];
  emu = await startEmulator({ regions: ['RegionOne', 'RegionTwo'], seedBaseImages: false, users: [DEFAULT_USER, ...users] });
  const as = (u: (typeof users)[number]): Credentials => ({ authUrl: emu!.authUrl, username: u.username, password: u.password, projectName: u.project, userDomain: 'Default' });
  return { admin: emulatorCredentials(emu), owner: as(users[0]!), member: as(users[1]!), regions: ['RegionOne', 'RegionTwo'] };
});

afterAll(async () => {
  await emu?.close();
});

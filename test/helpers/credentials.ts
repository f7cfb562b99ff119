// Credentials of the clouds tests run against: the emulator's first user, the real tier's admin.
import { DEFAULT_USER, type Emulator } from '../../src/emulator/server.js';
import type { Credentials } from '../contract/http.js';
import type { RealTier } from '../real/env.js';

export function emulatorCredentials(emu: Emulator): Credentials {
  return {
    authUrl: emu.authUrl,
    username: DEFAULT_USER.username,
    password: DEFAULT_USER.password,
    projectName: DEFAULT_USER.project,
    userDomain: DEFAULT_USER.domainName ?? 'Default',
  };
}

export function tierCredentials(tier: RealTier): Credentials {
  return { authUrl: tier.authUrl, username: tier.username, password: tier.password, projectName: tier.projectName, userDomain: 'Default' };
}

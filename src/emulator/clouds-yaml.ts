// clouds.yaml text for the emulator (holds the password: written with mode 0600).
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { stringify } from 'yaml';
import type { EmulatorUser } from './types.js';

export function cloudsYamlText(opts: {
  cloudName: string;
  authUrl: string;
  user: EmulatorUser;
  regions: readonly string[];
}): string {
  const { user } = opts;
  const doc = {
    clouds: {
      [opts.cloudName]: {
        auth: {
          auth_url: opts.authUrl,
          username: user.name,
          password: user.password,
          project_name: user.project.name,
          user_domain_name: user.domain.name,
          project_domain_name: user.project.domain.name,
        },
        region_name: opts.regions[0],
        regions: [...opts.regions],
        interface: 'public',
        identity_api_version: 3,
      },
    },
  };
  return `# Written by imagesync emulator; it holds a password, keep it private.\n${stringify(doc)}`;
}

/** Write `text` to `file` readable by its owner only, even if the file already existed. */
export async function writePrivateFile(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, text, { mode: 0o600 });
  await chmod(file, 0o600);
}

// The bytes of a build's user data, from the manifest's three forms: inline text, a file in the repository, cloud-config as an object.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { USER_DATA_MAX_BASE64, type UserData } from './schema.js';

/** cloud-config as cloud-init reads it: the "#cloud-config" header line, then YAML. */
export function cloudConfigText(config: Record<string, unknown>): string {
  return `#cloud-config\n${stringify(config)}`;
}

/** The bytes of inline text or a cloud-config object; undefined for a file (read with loadUserData). */
export function inlineUserData(u: UserData): Buffer | undefined {
  if (typeof u === 'string') return Buffer.from(u, 'utf8');
  if (u.cloudConfig !== undefined) return Buffer.from(cloudConfigText(u.cloudConfig), 'utf8');
  return undefined;
}

/** The user data as sent to Nova (before base64), or undefined when the settings have none. */
export async function loadUserData(u: UserData | undefined, manifestDir: string): Promise<Buffer | undefined> {
  if (u === undefined) return undefined;
  return inlineUserData(u) ?? readFile(path.resolve(manifestDir, (u as { file: string }).file));
}

/** Nova refuses user data over 65535 bytes of base64 (about 48 KiB of data). */
export function userDataSizeProblem(bytes: number): string | undefined {
  const encoded = Math.ceil(bytes / 3) * 4;
  if (encoded <= USER_DATA_MAX_BASE64) return undefined;
  return `user data is ${bytes} bytes, ${encoded} once base64-encoded; Nova takes at most ${USER_DATA_MAX_BASE64} (compress it with gzip, or fetch the rest from the network in the script)`;
}

// How `imagesync run` logs in: -i FILE (permissions checked as ssh does, passphrase from an env var), else ssh-agent, else ssh's default files.
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { probeAgent, type AgentState } from '../ssh/agent.js';
import { readIdentityFile, type Identity, type KeyFileOptions } from '../ssh/key-file.js';

export interface LoadIdentityOptions extends KeyFileOptions {
  /** `-i FILE`; relative to `cwd`. */
  identity?: string | undefined;
  cwd: string;
  home: string;
  /** Asks the agent which keys it holds (a test passes its own). */
  probeAgent?: (env: NodeJS.ProcessEnv) => Promise<AgentState>;
}

/** What connectSsh logs in with: a key, the agent's keys, or both (the key is offered first). */
export interface Credentials {
  privateKey?: string;
  /** The agent's socket ($SSH_AUTH_SOCK). */
  agent?: string;
  /** For messages: `-i FILE`, `ssh-agent (2 keys)`, `~/.ssh/id_ed25519`. */
  describe: string;
}

/** The files ssh tries when no -i is given, in its order. */
export const DEFAULT_IDENTITY_FILES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

async function firstDefaultFile(home: string): Promise<string | undefined> {
  for (const name of DEFAULT_IDENTITY_FILES) {
    const file = join(home, '.ssh', name);
    if (await stat(file).then(() => true, () => false)) return file;
  }
  return undefined;
}

/** The key of `-i FILE`, else the first of ssh's default files in ~/.ssh; a UsageError when there is none. */
export async function loadIdentity(o: LoadIdentityOptions): Promise<Identity> {
  if (o.identity !== undefined && o.identity !== '') return readIdentityFile(resolve(o.cwd, o.identity), o);
  const file = await firstDefaultFile(o.home);
  if (file !== undefined) return readIdentityFile(file, o, `default key ${file}`);
  const files = DEFAULT_IDENTITY_FILES.map((n) => `~/.ssh/${n}`).join(', ');
  throw new UsageError(`no key to log in with: none of ${files} exists; pass -i KEY`);
}

/**
 * What to log in with, as ssh chooses it: `-i FILE` alone when given; else the keys of a running
 * ssh-agent ($SSH_AUTH_SOCK) that holds any, with ~/.ssh/id_* beside them when one reads without a
 * passphrase (ssh offers both); else ~/.ssh/id_*. Checked before any host is contacted.
 */
export async function loadCredentials(o: LoadIdentityOptions): Promise<Credentials> {
  if (o.identity !== undefined && o.identity !== '') {
    const id = await loadIdentity(o);
    return { privateKey: id.privateKey, describe: `-i ${id.file}` };
  }
  const agent = await (o.probeAgent ?? probeAgent)(o.env);
  if (agent.usable) {
    const n = agent.fingerprints.length;
    const describe = `ssh-agent (${n} key${n === 1 ? '' : 's'})`;
    const file = await firstDefaultFile(o.home);
    // Beside an agent a default key that cannot be read as is (encrypted, too open) is left out, as ssh does.
    const id = file === undefined ? undefined : await readIdentityFile(file, o, `default key ${file}`).catch(() => undefined);
    return id ? { privateKey: id.privateKey, agent: agent.socket, describe: `${describe} and ${id.file}` } : { agent: agent.socket, describe };
  }
  try {
    const id = await loadIdentity(o);
    return { privateKey: id.privateKey, describe: id.file };
  } catch (err) {
    // Say why the agent did not help, unless it was simply not there.
    if (err instanceof UsageError && err.message.startsWith('no key to log in with') && agent.socket !== undefined) {
      const files = DEFAULT_IDENTITY_FILES.map((n) => `~/.ssh/${n}`).join(', ');
      throw new UsageError(`no key to log in with: ${agent.reason}, and none of ${files} exists; pass -i KEY or ssh-add one`);
    }
    throw err;
  }
}

// `run` and `sudo` over a session: env names checked, cwd and env applied inside the shell, a marker for killing, sudo without a prompt unless a password was given.
import { randomBytes } from 'node:crypto';
import { InputError } from '../errors.js';
import { exec } from './exec.js';
import { isEnvName, shQuote, wrapCommand } from './quote.js';
import type { CommandResult, RunOptions, SudoOptions } from './result.js';
import type { SshSession } from './session.js';
import { newSudoPrompt, sudoWireWithPassword } from './sudo-prompt.js';

function checkEnv(where: string, opts: RunOptions): void {
  for (const name of Object.keys(opts.env ?? {})) {
    if (!isEnvName(name)) {
      throw new InputError(`${where}: environment variable name ${JSON.stringify(name)} is not a shell identifier; use letters, digits and _`);
    }
  }
}

const newMarker = (): string => `imagesync-run-${randomBytes(8).toString('hex')}`;

export async function runCommand(session: SshSession, command: string, opts: RunOptions = {}): Promise<CommandResult> {
  checkEnv(session.where, opts);
  const marker = newMarker();
  return exec(session, { wire: `: ${marker}\n${wrapCommand(command, opts)}`, display: command, logAs: command, marker, killAs: 'user', opts });
}

/** `sudo -n` (never a password prompt) running `sh -c` as root, or as `user`. */
function sudoWire(command: string, user?: string): string {
  return `sudo -n${user !== undefined ? ` -u ${shQuote(user)}` : ''} -- sh -c ${shQuote(command)}`;
}

export async function sudoCommand(session: SshSession, command: string, opts: SudoOptions = {}): Promise<CommandResult> {
  checkEnv(session.where, opts);
  const marker = newMarker();
  // cwd and env go inside the root shell: sudo resets the environment it was given.
  const inner = `: ${marker}\n${wrapCommand(command, opts)}`;
  const logAs = opts.user !== undefined ? `sudo -u ${opts.user}: ${command}` : `sudo: ${command}`;
  const rest = { display: command, logAs, marker, killAs: 'root' as const, opts: { ...opts, cwd: undefined, env: undefined } };
  if (session.sudoPassword === undefined) return exec(session, { wire: sudoWire(inner, opts.user), ...rest });
  // A host whose sudo wants a password: answer its prompt (see sudo-prompt.ts), never guess ahead.
  const sudoPrompt = newSudoPrompt(session.sudoPassword);
  return exec(session, { wire: sudoWireWithPassword(sudoPrompt, inner, opts.user), sudoPrompt, ...rest });
}

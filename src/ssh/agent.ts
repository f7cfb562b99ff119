// ssh-agent ($SSH_AUTH_SOCK): what keys it holds, asked before any host is contacted so a missing or empty agent is a clear message.
import ssh2 from 'ssh2';
import { fingerprintSha256 } from './host-keys.js';

export type AgentState =
  | { usable: true; socket: string; fingerprints: string[] }
  | { usable: false; socket?: string | undefined; reason: string };

/** The agent named by `SSH_AUTH_SOCK` in `env`: its keys' fingerprints, or why it cannot be used. Never throws. */
export async function probeAgent(env: NodeJS.ProcessEnv, timeoutMs = 5_000): Promise<AgentState> {
  const socket = env.SSH_AUTH_SOCK;
  if (socket === undefined || socket === '') return { usable: false, reason: 'SSH_AUTH_SOCK is not set' };
  // ssh2 is CommonJS: its named exports are reached through the default export.
  const agent = new ssh2.OpenSSHAgent(socket);
  const listed = await new Promise<{ keys: Array<{ getPublicSSH(): Buffer }> } | { error: string }>((resolve) => {
    const timer = setTimeout(() => resolve({ error: `no answer within ${timeoutMs} ms` }), timeoutMs);
    agent.getIdentities((err, keys) => {
      clearTimeout(timer);
      resolve(err ? { error: err.message } : { keys: (keys ?? []) as Array<{ getPublicSSH(): Buffer }> });
    });
  });
  if ('error' in listed) return { usable: false, socket, reason: `ssh-agent at ${socket} cannot be reached (${listed.error})` };
  if (listed.keys.length === 0) return { usable: false, socket, reason: `ssh-agent at ${socket} holds no keys (ssh-add KEY adds one)` };
  return { usable: true, socket, fingerprints: listed.keys.map((k) => fingerprintSha256(k.getPublicSSH())) };
}

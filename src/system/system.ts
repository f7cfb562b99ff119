// The machine the app runs on, as injected dependencies: the clock, the host name, process liveness, the git commit.
import { hostname as osHostname } from 'node:os';
import { pidAlive } from './process.js';

export interface SystemDeps {
  /** The clock: every time the app reads goes through here, so a test can pin it. */
  now(): Date;
  /** This machine's name, as run journals record it. */
  hostname: string;
  /** Whether a process with this id exists on this machine. */
  pidAlive(pid: number): boolean;
  /** The git commit of a directory: "<sha>", "<sha>-dirty" or "none". */
  readCommit(dir: string): Promise<string>;
}

/** This machine. git is loaded only when a commit is read (child_process costs start-up time). */
export function localSystem(): SystemDeps {
  return {
    now: () => new Date(),
    hostname: osHostname(),
    pidAlive,
    readCommit: async (dir) => (await import('./git.js')).readCommit(dir),
  };
}

/** What the caller gave (a test pins the clock, say), the rest from this machine. */
export function systemOf(given: Partial<SystemDeps>): SystemDeps {
  const local = localSystem();
  return {
    now: given.now ?? local.now,
    hostname: given.hostname ?? local.hostname,
    pidAlive: given.pidAlive ?? local.pidAlive,
    readCommit: given.readCommit ?? local.readCommit,
  };
}

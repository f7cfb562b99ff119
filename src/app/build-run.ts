// How one run builds (its id, tasks, limits, options), shared by the builds and the copies of the run.
import type { Task } from '../tasks/define.js';
import type { Bastions } from './bastions.js';

/** How this run builds: its id, limits, and what the options ask of every build. */
export interface BuildRun {
  runId: string;
  tasks: Map<string, Task>;
  /** Builds at once, in total. */
  concurrency: number;
  /** Builds at once in one target, unless the manifest's build.concurrency says otherwise. */
  perTarget: number;
  keepOnFailure: boolean;
  pollIntervalMs?: number | undefined;
  /** Overrides the manifest's SSH port (the demo). */
  sshPort?: number | undefined;
  /** --keep N: trim superseded images after each publish. */
  keep?: number | undefined;
  /** The jump hosts of the manifest's build.ssh.bastion, checked and ready (keys read). */
  bastions?: Bastions | undefined;
}

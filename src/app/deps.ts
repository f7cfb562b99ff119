// What the application layer gets from the outside world: environment, paths, the run's signal, the redactor, the machine, a view.
import type { Redactor } from '../redact.js';
import { systemOf, type SystemDeps } from '../system/system.js';
import type { AppView } from './view.js';

export interface AppDeps extends SystemDeps {
  env: NodeJS.ProcessEnv;
  /** Messages show paths relative to this directory. */
  cwd: string;
  /** Where ~/.config/openstack/clouds.yaml is looked for. */
  home: string;
  /** Aborts every wait and request (Ctrl-C, --timeout); cleanup still runs. */
  signal: AbortSignal;
  /** Learns every secret the app reads (cloud credentials); every text the app reports is masked with it. */
  redactor: Redactor;
  /** What people see while it runs; default: nothing (quietView). */
  view?: AppView | undefined;
}

/** What a caller must give; the machine's part (clock, host name, pids, git) defaults to this machine. */
export type AppDepsInput = Omit<AppDeps, keyof SystemDeps> & Partial<SystemDeps>;

export function appDeps(given: AppDepsInput): AppDeps {
  return {
    ...systemOf(given),
    env: given.env,
    cwd: given.cwd,
    home: given.home,
    signal: given.signal,
    redactor: given.redactor,
    view: given.view,
  };
}

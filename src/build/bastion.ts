// The build's way to its server through build.ssh.bastion: one tunnel for every SSH try of the build, closed with the build.
import { ImagesyncError } from '../errors.js';
import { JumpHostError } from '../ssh/errors.js';
import { createTunnel, type Tunnel } from '../ssh/jump.js';
import type { StepContext } from './runner.js';
import { clocks, where, type BuildState } from './state.js';

/**
 * The tunnel through the build's bastion (undefined without one). It logs in on the first try and
 * again after a drop, so waiting for the server to boot costs one bastion login, not one per try.
 */
export function bastionTunnel(s: BuildState, ctx: StepContext): Tunnel | undefined {
  if (!s.settings.ssh?.bastion) return undefined;
  // Never fall back to a direct connection: the manifest says the server is behind the bastion.
  if (!s.bastion) throw new ImagesyncError(`${where(s)}: build.ssh.bastion is set but was not prepared (apply prepares it); refusing to connect directly`);
  const tunnel = createTunnel(s.bastion, { monotonicMs: clocks(s).monotonicMs });
  ctx.defer({ what: `SSH connection to ${tunnel.where}`, manual: 'nothing to do', run: () => tunnel.close() });
  return tunnel;
}

/** A bastion that refused our login refuses every try: not worth waiting for. */
export function bastionRefused(err: unknown): boolean {
  return err instanceof JumpHostError && err.stage === 'auth';
}

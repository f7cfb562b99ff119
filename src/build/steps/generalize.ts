// Step: generalize the build server, the last thing done over SSH: what is this server's own (the build's key, machine-id, host keys, cloud-init state, histories, temporary files) leaves the image.
import type { Generalize } from '../../manifest/schema.js';
import type { Step } from '../runner.js';
import { timeoutMs, type BuildState } from '../state.js';
import { generalizePlan, generalizeScript } from '../generalize-script.js';
import { runTaskStep } from './provision.js';

/** The blob of an OpenSSH public key line ("ssh-ed25519 AAAA… comment"). */
function keyBlob(publicKey: string): string {
  const blob = publicKey.trim().split(/\s+/)[1];
  if (!blob) throw new Error('generalize: the build keypair has no public key blob');
  return blob;
}

/** The step, or none with `build.generalize: false`. Runs after the manifest's steps, right before the server is stopped. */
export function generalizeSteps(g: Generalize | undefined): Step<BuildState>[] {
  const plan = generalizePlan(g);
  if (plan.kind === 'none') return [];
  const name = plan.kind === 'task' ? `generalize: task ${plan.task}` : plan.kept.length ? `generalize (keeping ${plan.kept.join(', ')})` : 'generalize';
  return [
    {
      name,
      async run(s, ctx) {
        const conn = s.ssh!;
        if (plan.kind === 'task') await runTaskStep(s, ctx, plan.task, plan.args);
        // After a task too: only imagesync knows which key is the build's.
        const operations = plan.kind === 'task' ? (['build-key'] as const) : plan.operations;
        const opts = { timeoutMs: timeoutMs(s, 'stepSeconds'), signal: ctx.signal, onStdout: (c: string) => ctx.log(c), onStderr: (c: string) => ctx.log(c) };
        await conn.sudo(generalizeScript({ buildKey: keyBlob(s.keypair!.publicKey), operations }), opts);
        // The key this connection logged in with is gone: nothing after this step may use it (stop and
        // snapshot go through Nova), so it is closed here and no longer in the state.
        delete s.ssh;
        await conn.close();
      },
    },
  ];
}

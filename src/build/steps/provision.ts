// Step: run the manifest's build steps over SSH — commands, files and Fabric-like tasks — in order.
import { resolve } from 'node:path';
import { ImagesyncError } from '../../errors.js';
import type { Step as ManifestStep } from '../../manifest/schema.js';
import { runTask } from '../../tasks/context.js';
import type { Step, StepContext } from '../runner.js';
import { timeoutMs, type BuildState } from '../state.js';

export function stepLabel(step: ManifestStep): string {
  if (step.name) return step.name;
  if ('run' in step) return `run: ${step.run.length > 60 ? step.run.slice(0, 59) + '…' : step.run}`;
  if ('task' in step) return `task: ${step.task}`;
  return `put: ${step.put} → ${step.to}`;
}

/** One build step: a manifest step becomes one runner step, so progress and failures name it. */
export function provisionSteps(steps: ManifestStep[]): Step<BuildState>[] {
  return steps.map((step, i) => ({
    name: `step ${i + 1}/${steps.length} ${stepLabel(step)}`,
    async run(s, ctx) {
      const conn = s.ssh!;
      const opts = {
        timeoutMs: timeoutMs(s, 'stepSeconds'),
        signal: ctx.signal,
        onStdout: (c: string) => ctx.log(c),
        onStderr: (c: string) => ctx.log(c),
      };
      if ('run' in step) {
        const o = { ...opts, warn: step.warn ?? false, ...(step.env ? { env: step.env } : {}) };
        const r = step.sudo ? await conn.sudo(step.run, o) : await conn.run(step.run, o);
        if (r.exitCode !== 0) ctx.log(`exit ${r.exitCode} (warn: true, going on)`);
      } else if ('put' in step) {
        await conn.put(resolve(s.manifestDir, step.put), step.to, { sudo: step.sudo ?? false, ...(step.mode ? { mode: step.mode } : {}) });
      } else {
        await runTaskStep(s, ctx, step.task, step.args ?? {});
      }
    },
  }));
}

/** A task from tasks/ over the build's connection, with the build's deadlines, log and working directory. */
export async function runTaskStep(s: BuildState, ctx: StepContext, name: string, args: Record<string, unknown>): Promise<void> {
  const conn = s.ssh!;
  const opts = { timeoutMs: timeoutMs(s, 'stepSeconds'), signal: ctx.signal, onStdout: (c: string) => ctx.log(c), onStderr: (c: string) => ctx.log(c) };
  const task = s.tasks.get(name);
  if (!task) throw new ImagesyncError(`task "${name}" is not loaded (tasks: ${[...s.tasks.keys()].join(', ')})`);
  await runTask(task, {
    connection: {
      run: (c, o) => conn.run(c, { ...opts, ...o }),
      sudo: (c, o) => conn.sudo(c, { ...opts, ...o }),
      put: (src, to, o) => conn.put(typeof src === 'string' ? resolve(s.manifestDir, src) : src, to, o),
      get: (from, to) => conn.get(from, resolve(s.manifestDir, to)),
    },
    target: s.target,
    image: { name: s.image.name },
    args,
    logger: s.logger,
    redactor: s.redactor,
    onLog: (m) => ctx.log(m),
    localCwd: s.manifestDir,
  });
}

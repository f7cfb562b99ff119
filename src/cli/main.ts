// The command line: yargs commands fill an options object and call run*(options, deps); the one top-level catch.
import { setMaxListeners } from 'node:events';
import { resolve } from 'node:path';
import { ExitCode, ImagesyncError, InputError, UsageError, errorMessage } from '../errors.js';
import { detectCi } from '../report/ci.js';
import { annotationForInputError, formatAnnotations } from '../report/github.js';
import { processDeps, type CliDeps } from './deps.js';
import { nearest } from '../manifest/suggest.js';
import { COMMAND_LINES, PLAN_COMMAND, type Handler, type PlanArgs, type Parsing } from './command-line.js';
import { isVersionOnly, parseFast } from './fast-path.js';
import { GLOBAL_OPTIONS, globalOptions } from './options.js';
import { imagesyncVersion } from '../version.js';

const COMMANDS = ['init', 'validate', 'plan', 'apply', 'verify', 'show', 'gc', 'merge-reports', 'run', 'tasks', 'emulator', 'demo'];
const NAME_A_COMMAND = `Name a command: ${COMMANDS.slice(0, -1).join(', ')} or ${COMMANDS.at(-1)} (imagesync --help lists them)`;

/** Parse argv into one command to run; parsing needs no credentials and contacts nothing. */
async function parse(argv: string[], deps: CliDeps): Promise<Handler | number> {
  const first = argv.find((a) => !a.startsWith('-'));
  if (first !== undefined && argv.indexOf(first) === 0 && !COMMANDS.includes(first)) {
    const near = nearest(first, COMMANDS);
    throw new UsageError(`unknown command "${first}" — ${near ? `did you mean "${near}"?` : `the commands are ${COMMANDS.join(', ')}`}`);
  }
  let chosen: Handler | undefined;
  const parsing: Parsing = {
    choose: (handler) => {
      chosen = handler;
    },
    manifestPath: (m) => resolve(deps.cwd, String(m)),
  };
  // The hot path, without loading yargs (fast-path.ts); any other line goes to yargs below.
  if (isVersionOnly(argv)) {
    deps.stdout.write(`${imagesyncVersion()}\n`);
    return ExitCode.ok;
  }
  const fast = parseFast(argv, PLAN_COMMAND.name, { ...GLOBAL_OPTIONS, ...PLAN_COMMAND.options });
  if (fast) {
    PLAN_COMMAND.run(fast as unknown as PlanArgs, parsing);
    return chosen!;
  }
  const { default: yargs } = await import('yargs');
  let y = globalOptions(yargs(argv))
    .scriptName('imagesync')
    .usage('$0 <command> [options]\n\nKeep identically named server images in every OpenStack cloud and region.');
  for (const command of COMMAND_LINES) y = command(y, parsing);
  y = y
    .demandCommand(1, NAME_A_COMMAND)
    .recommendCommands()
    .strict()
    .version(imagesyncVersion())
    .help()
    .alias('h', 'help')
    .wrap(Math.min(110, (deps.stdout as { columns?: number }).columns ?? 100))
    .exitProcess(false)
    .fail((msg, err) => {
      // Our own errors (from a coerce) pass through; yargs' own (YError) become usage errors, exit 3.
      if (err instanceof ImagesyncError) throw err;
      throw new UsageError(err?.message ?? msg ?? 'invalid command line');
    });
  let helpShown = false;
  await y.parseAsync(argv, {}, (err, _argv, output) => {
    if (output && !err) {
      deps.stdout.write(output + '\n');
      helpShown = true;
    }
  });
  if (chosen) return chosen;
  if (helpShown) return ExitCode.ok;
  throw new UsageError(NAME_A_COMMAND);
}

/** Run one command line; resolves to the exit code. Never throws. */
export async function main(argv: string[], deps?: CliDeps): Promise<number> {
  const controller = new AbortController();
  // Every in-flight request listens on the run's signal: dozens at once is normal, not a leak.
  setMaxListeners(0, controller.signal);
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts++;
    if (interrupts > 1) {
      process.stderr.write(`imagesync: ${sig} again: exiting now\n`);
      process.exit(130);
    }
    process.stderr.write(`imagesync: ${sig}: stopping (cleaning up; press Ctrl-C again to exit at once)\n`);
    controller.abort(new ImagesyncError(`interrupted by ${sig}`));
  };
  const d = deps ?? processDeps(controller.signal);
  if (!deps) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  try {
    const handler = await parse(argv, d);
    if (typeof handler === 'number') return handler;
    return await handler(d);
  } catch (err) {
    return reportError(err, d);
  } finally {
    if (!deps) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}

export function reportError(err: unknown, d: CliDeps): number {
  const safe = (s: string) => d.redactor.text(s);
  if (err instanceof ImagesyncError) {
    // In GitHub Actions, bad input also becomes an annotation on the file and line it names.
    if (err instanceof InputError && detectCi(d.env).provider === 'github') {
      const a = annotationForInputError(err, { cwd: d.cwd, workspace: d.env.GITHUB_WORKSPACE });
      if (a) d.stderr.write(safe(formatAnnotations([a])));
    }
    d.stderr.write(safe(`imagesync: ${err.message}\n`));
    for (const line of err.details) d.stderr.write(safe(`  ${line}\n`));
    if (d.env.IMAGESYNC_DEBUG_STACK) d.stderr.write(safe(`${err.stack}\n`));
    return err.exitCode;
  }
  d.stderr.write(safe(`imagesync: unexpected error: ${errorMessage(err)}\n`));
  d.stderr.write(safe(`${(err as Error)?.stack ?? ''}\n`));
  return ExitCode.failure;
}

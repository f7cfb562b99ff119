// Per-build log files (.imagesync/logs/<run-id>/<target>/<image>.log): every command, its output and exit, redacted.
import { lineFeed } from './lines.js';
import { chmod, mkdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redactor } from '../redact.js';

/** How a logged command ended. */
export type CommandOutcome =
  | { exitCode: number | null; signal?: string | undefined; durationMs: number }
  | { error: string; durationMs: number };

/** One command in a log: output arrives in chunks, then one end. */
export interface CommandLogEntry {
  stdout(chunk: string): void;
  stderr(chunk: string): void;
  end(outcome: CommandOutcome): void;
}

/** What the SSH connection and local() write to: a build log, or anything else that records commands. */
export interface CommandLogger {
  /** `where` is `user@host:port` or `local`; `command` is what the user asked for (with a `sudo: ` mark). */
  start(where: string, command: string): CommandLogEntry;
  note(message: string): void;
}

export interface BuildLogOptions {
  /** Project directory holding `.imagesync/`; default the current directory. */
  rootDir?: string;
  runId: string;
  /** Target label such as `acme/RegionOne`; escaped into one directory name. */
  target: string;
  image: string;
  redactor: Redactor;
  /** Clock for timestamps; injectable for tests. */
  now?: () => Date;
}

export interface BuildLog extends CommandLogger {
  readonly path: string;
  /** Flush pending writes and close the file; rethrows the first write error. */
  close(): Promise<void>;
}

/**
 * One path segment from any label: [A-Za-z0-9_-] kept, everything else (including `/` and `.`)
 * as %XX, so distinct labels never share a directory and `..` cannot climb out.
 */
export function pathSegment(label: string): string {
  if (label === '') return '%00';
  return Array.from(Buffer.from(label, 'utf8'))
    .map((b) => {
      const c = String.fromCharCode(b);
      return /[A-Za-z0-9_-]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}

/** `.imagesync/logs/<run-id>/<target>/<image>.log` under rootDir. */
export function buildLogPath(o: Pick<BuildLogOptions, 'rootDir' | 'runId' | 'target' | 'image'>): string {
  return join(o.rootDir ?? '.', '.imagesync', 'logs', pathSegment(o.runId), pathSegment(o.target), `${pathSegment(o.image)}.log`);
}

/**
 * Open (append) the build log, mode 0600 in directories 0700. Output is redacted a whole line at a
 * time: a secret split across two chunks would slip past a per-chunk filter.
 */
export async function openBuildLog(o: BuildLogOptions): Promise<BuildLog> {
  const path = buildLogPath(o);
  const root = join(o.rootDir ?? '.', '.imagesync');
  const runDir = join(root, 'logs', pathSegment(o.runId));
  const targetDir = join(runDir, pathSegment(o.target));
  await mkdir(targetDir, { recursive: true, mode: 0o700 });
  // mkdir's mode applies only to directories it creates, and is masked by the umask: set it outright.
  for (const dir of [root, join(root, 'logs'), runDir, targetDir]) await chmod(dir, 0o700);
  const fh: FileHandle = await open(path, 'a', 0o600);
  await fh.chmod(0o600);

  const now = o.now ?? (() => new Date());
  let chain: Promise<void> = Promise.resolve();
  let firstError: unknown;
  const write = (text: string): void => {
    const data = o.redactor.text(text);
    chain = chain
      .then(() => fh.appendFile(data))
      .catch((err: unknown) => {
        firstError ??= err;
      });
  };
  const stamp = (): string => now().toISOString();

  let seq = 0;
  return {
    path,
    note(message) {
      write(`${stamp()} # ${message.replace(/\n/g, '\n# ')}\n`);
    },
    start(where, command) {
      const id = ++seq;
      write(`${stamp()} [${id}] ${where} $ ${command.replace(/\n/g, '\n  ')}\n`);
      // The raw line (a trailing \r kept out of the way): a log shows what the command printed.
      const lines = lineFeed((key, line) => write(`[${id}] ${key}| ${line}\n`));
      return {
        stdout: (chunk) => lines.feed('out', chunk),
        stderr: (chunk) => lines.feed('err', chunk),
        end(outcome) {
          lines.flush((key, rest) => write(`[${id}] ${key}| ${rest} (no newline)\n`));
          const how =
            'error' in outcome
              ? `failed: ${outcome.error}`
              : outcome.exitCode !== null
                ? `exit ${outcome.exitCode}`
                : `killed by ${outcome.signal ?? 'a signal'}`;
          write(`${stamp()} [${id}] ${how} (${Math.round(outcome.durationMs)} ms)\n`);
        },
      };
    },
    async close() {
      await chain;
      await fh.close();
      if (firstError !== undefined) throw firstError;
    },
  };
}

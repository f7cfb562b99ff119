// Joining a sharded CI run: read and check every shard's apply report and lock fragment, merge them, write the lock and the report. All input checked before anything is written.
import { createHash, randomBytes } from 'node:crypto';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ImagesyncError, InputError, UsageError } from '../errors.js';
import { LOCK_FILE_NAME } from '../lock/lock.js';
import { loadManifest } from '../manifest/load.js';
import { imageTargets } from '../manifest/targets.js';
import { displayPath } from '../output.js';
import {
  checkLockAgainstReports,
  checkReportAgainstManifest,
  lockChanges,
  lockScopeOf,
  lockText,
  mergedExitCode,
  mergeLocks,
  mergeReports,
  parseApplyReport,
  parseLock,
  type ApplyReportJson,
  type FromFile,
  type LockChange,
  type LockJson,
  type MergedReport,
} from '../shard/merge.js';
import type { AppDeps } from './deps.js';

export interface MergeShardsOptions {
  /** The `apply --json` reports, one per shard. */
  reports: string[];
  /** Lock fragments written by the shards' `apply --lock`. */
  lockFragments?: string[] | undefined;
  /** Where the merged report goes; not written when absent. */
  out?: string | undefined;
  /** The lock to merge the fragments into and write back (default images.lock.json beside the manifest); left alone without fragments. */
  lock?: string | undefined;
  /**
   * The manifest of this checkout, when it exists: every report must plan only pairs it wants
   * (a report of another manifest is refused). Skipped when the file is absent (merging
   * downloaded artifacts elsewhere).
   */
  manifest?: string | undefined;
}

export interface MergeShardsResult {
  merged: MergedReport;
  /** The lock file as messages show it, and what changed in it; undefined without fragments. */
  lock?: { shown: string; changes: LockChange[] } | undefined;
  /** --lock given without any fragment: this lock file was left as it is. */
  lockLeftAlone?: string | undefined;
  exitCode: number;
}

/** File text, or an InputError naming the file; `missingOk` turns "no such file" into undefined. */
async function readText(file: string, shown: string, missingOk = false): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && missingOk) return undefined;
    if (code === 'ENOENT') throw new InputError(`${shown}: no such file (did the job that writes it fail, or its artifact not download?)`);
    if (code === 'EISDIR') throw new InputError(`${shown}: a directory, expected a JSON file`);
    throw new InputError(`${shown}: cannot read: ${code ?? (err as Error).message}`, { cause: err });
  }
}

/** Write through a temporary file and rename, so a crash never leaves half a lock in the repository. */
async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, text, { mode: 0o644 });
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** The merged report as written to --out (and printed without it). */
export function mergedReportText(merged: MergedReport): string {
  return JSON.stringify(merged, null, 2) + '\n';
}

export async function mergeShards(opts: MergeShardsOptions, deps: Pick<AppDeps, 'cwd'>): Promise<MergeShardsResult> {
  if (!opts.reports.length) throw new UsageError('merge-reports: name the `apply --json` report of every shard, e.g. imagesync merge-reports reports/*.json');
  if (opts.lock === '') throw new UsageError('--lock: name the lock file to write (--lock FILE)');
  const fragments = opts.lockFragments ?? [];

  const show = (file: string) => displayPath(deps.cwd, file);
  // Every input is read and checked before anything is written: one bad file changes nothing.
  const problems: string[] = [];
  const attempt = async <T>(f: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await f();
    } catch (err) {
      if (err instanceof InputError) {
        problems.push(err.message);
        return undefined;
      }
      throw err;
    }
  };

  const reports: Array<FromFile<ApplyReportJson>> = [];
  for (const r of opts.reports) {
    const file = resolve(deps.cwd, r);
    const parsed = await attempt(async () => parseApplyReport((await readText(file, show(file)))!, show(file)));
    if (parsed) reports.push({ file: show(file), value: parsed });
  }
  const lockFragments: Array<FromFile<LockJson>> = [];
  for (const f of fragments) {
    const file = resolve(deps.cwd, f);
    const parsed = await attempt(async () => parseLock((await readText(file, show(file)))!, show(file)));
    if (parsed) lockFragments.push({ file: show(file), value: parsed });
  }
  // As apply and plan find it: --lock FILE, else images.lock.json beside the manifest.
  const lockFile = opts.lock !== undefined ? resolve(deps.cwd, opts.lock) : join(opts.manifest !== undefined ? dirname(resolve(deps.cwd, opts.manifest)) : deps.cwd, LOCK_FILE_NAME);
  let baseText: string | undefined;
  let base: FromFile<LockJson> | undefined;
  if (fragments.length) {
    await attempt(async () => {
      baseText = await readText(lockFile, show(lockFile), true);
      if (baseText !== undefined) base = { file: show(lockFile), value: parseLock(baseText, show(lockFile)) };
    });
  }
  if (opts.manifest !== undefined) {
    const manifestFile = resolve(deps.cwd, opts.manifest);
    const exists = await stat(manifestFile).then((st) => st.isFile(), () => false);
    if (exists) {
      await attempt(async () => {
        const sha = createHash('sha256').update(await readFile(manifestFile)).digest('hex');
        const { manifest } = await loadManifest(manifestFile, { displayName: show(manifestFile) });
        const wanted = new Set(manifest.images.flatMap((image) => imageTargets(manifest, image).map((t) => `${image.name}\u0000${t.cloud}/${t.region}`)));
        for (const r of reports) {
          try {
            checkReportAgainstManifest(r, wanted, show(manifestFile), sha);
          } catch (err) {
            if (err instanceof InputError) problems.push(err.message);
            else throw err;
          }
        }
      });
    }
  }
  if (problems.length === 1) throw new InputError(problems[0]!);
  if (problems.length > 1) throw new InputError(`merge-reports: ${problems.length} bad inputs; nothing written`, { details: problems });

  const merged = mergeReports(reports);
  const lock = fragments.length ? mergeLocks(lockFragments, base, lockScopeOf(merged)) : undefined;
  if (lock) checkLockAgainstReports(lock, merged, { reports: reports.length === 1 ? reports[0]!.file : 'the reports', lock: fragments.length === 1 ? lockFragments[0]!.file : 'the lock fragments' });

  try {
    if (lock) {
      const text = lockText(lock);
      if (text !== baseText) await writeAtomic(lockFile, text);
    }
    if (opts.out) await writeAtomic(resolve(deps.cwd, opts.out), mergedReportText(merged));
  } catch (err) {
    if (err instanceof ImagesyncError) throw err;
    throw new ImagesyncError(`merge-reports: cannot write: ${(err as Error).message}`, { cause: err });
  }
  return {
    merged,
    lock: lock ? { shown: show(lockFile), changes: lockChanges(base?.value, lock) } : undefined,
    lockLeftAlone: opts.lock !== undefined && !fragments.length ? show(lockFile) : undefined,
    exitCode: mergedExitCode(merged),
  };
}

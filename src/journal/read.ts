// Reading run journals back (for `gc`): parse and check each file, list a directory, mark one cleaned, remove old ones.
import { runLiveness, type LivenessEnv } from './liveness.js';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { errorMessage } from '../errors.js';
import { RESOURCE_KINDS } from '../resources/resource.js';
import { writeFileAtomic } from './atomic.js';
import type { JournalDoc, RunStatus } from './journal.js';

const STATUS = z.enum(['running', 'finished', 'failed', 'interrupted']);
const ISO = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'not a date');

// Loose on purpose (no strict objects): a newer imagesync may add fields, and gc must still read it.
const JOURNAL = z.object({
  version: z.literal(1),
  runId: z.string().min(1),
  pid: z.number().int(),
  hostname: z.string(),
  startedAt: ISO,
  heartbeatAt: ISO,
  finishedAt: ISO.optional(),
  status: STATUS,
  manifest: z.string(),
  targets: z.array(z.string()),
  builds: z.record(
    z.string(),
    z.object({
      step: z.string().nullable(),
      resources: z.array(
        z.object({
          kind: z.enum(RESOURCE_KINDS),
          cloud: z.string(),
          region: z.string(),
          id: z.string().optional(),
          name: z.string(),
          state: z.enum(['creating', 'created', 'deleted', 'kept']),
          at: ISO,
        }),
      ),
    }),
  ),
  cleaned: z.object({ at: ISO, previousStatus: STATUS }).optional(),
});

export interface JournalFile {
  file: string;
  doc: JournalDoc;
}

/** One journal; an error names the file and what is wrong with it. */
export async function readJournal(file: string): Promise<JournalDoc> {
  const text = await readFile(file, 'utf8');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not JSON (${errorMessage(err)})`);
  }
  const r = JOURNAL.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new Error(`${file}: ${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`);
  }
  return r.data as JournalDoc;
}

/** Every `<run-id>.json` in the directory (none when it does not exist); unreadable ones are problems, not failures. */
export async function listJournals(dir: string): Promise<{ journals: JournalFile[]; problems: string[] }> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { journals: [], problems: [] };
    throw err;
  }
  const journals: JournalFile[] = [];
  const problems: string[] = [];
  // Temp files of a write in progress (or of a crash during one) end in .tmp and are skipped.
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const file = join(dir, name);
    try {
      const doc = await readJournal(file);
      if (`${doc.runId}.json` !== name) throw new Error(`${file}: holds run ${doc.runId}, but the file name says ${name.slice(0, -5)}`);
      journals.push({ file, doc });
    } catch (err) {
      // Gone between readdir and read: another gc removed it.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      problems.push(errorMessage(err));
    }
  }
  return { journals, problems };
}

/** Nothing the run created is left: it is `finished` from now on, with a note of what it said before. */
export async function markCleaned(j: JournalFile, now: Date): Promise<JournalDoc> {
  const previousStatus: RunStatus = j.doc.cleaned?.previousStatus ?? j.doc.status;
  const doc: JournalDoc = { ...j.doc, status: 'finished', finishedAt: j.doc.finishedAt ?? now.toISOString(), cleaned: { at: now.toISOString(), previousStatus } };
  await writeFileAtomic(j.file, JSON.stringify(doc, null, 2) + '\n');
  return doc;
}

export async function removeJournal(file: string): Promise<void> {
  await rm(file, { force: true });
}

/**
 * Is this run known to be dead from here? Only a journal on this machine can say so (its process is
 * gone, or it ended); a run with no journal here (another machine) is not known to be dead.
 */
export async function runKnownDead(dir: string, runId: string, env: LivenessEnv): Promise<boolean> {
  try {
    const doc = await readJournal(join(dir, `${runId}.json`));
    return !runLiveness(doc, env).alive;
  } catch {
    return false;
  }
}

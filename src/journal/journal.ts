// The run journal `.imagesync/runs/<run-id>.json`: what a run intends to create and has created, kept on disk so `gc` can clean up after a crash.
import { chmod, mkdir } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { errorMessage } from '../errors.js';
import type { Resource } from '../resources/resource.js';
import { writeFileAtomic } from './atomic.js';

export type RunStatus = 'running' | 'finished' | 'failed' | 'interrupted';
export type ResourceState = 'creating' | 'created' | 'deleted' | 'kept';

/**
 * A declared resource as the journal records it (a step's `Resource`, without the run id: the whole
 * journal is one run's); `id` is known only once the create call answered.
 */
export type ResourceRef = Pick<Resource, 'kind' | 'cloud' | 'region' | 'name' | 'id'>;

export interface JournalResource extends ResourceRef {
  state: ResourceState;
  /** When the state last changed (ISO). */
  at: string;
}

export interface JournalBuild {
  /** The step running now (or the last one). */
  step: string | null;
  resources: JournalResource[];
}

export interface JournalDoc {
  version: 1;
  runId: string;
  pid: number;
  hostname: string;
  startedAt: string;
  heartbeatAt: string;
  finishedAt?: string;
  status: RunStatus;
  /** The manifest file the run applied. */
  manifest: string;
  /** "cloud/region" of every target the run may touch. */
  targets: string[];
  /** By "<cloud>/<region> <image>". */
  builds: Record<string, JournalBuild>;
  /** Set by `gc` once nothing the run created is left. */
  cleaned?: { at: string; previousStatus: RunStatus };
}

export interface OpenJournalOptions {
  /** `.imagesync/runs` next to the manifest. */
  dir: string;
  runId: string;
  manifest: string;
  targets: string[];
  now?: () => Date;
  pid?: number;
  hostname?: string;
  /** 10 s: `gc` calls a run dead after 60 s without one. */
  heartbeatMs?: number;
  /** A write failed: the run goes on (a journal must not break a build), but someone should know. */
  onError?: (message: string) => void;
  /** How the file is written; atomic by default (tests count and slow down writes). */
  writeFile?: (file: string, data: string) => Promise<void>;
}

export const JOURNAL_DIR = join('.imagesync', 'runs');
export const HEARTBEAT_MS = 10_000;

export function journalFile(dir: string, runId: string): string {
  return join(dir, `${runId}.json`);
}

/** The journal's key of a build: "acme/RegionOne ubuntu-24.04-web". */
export function buildKey(target: { cloud: string; region: string }, image: string): string {
  return `${target.cloud}/${target.region} ${image}`;
}

export interface Journal {
  readonly path: string;
  readonly runId: string;
  /** Written (awaited) before the create call: if the run dies mid-call, the name is on disk. */
  beforeCreate(build: string, resource: ResourceRef): Promise<void>;
  /**
   * The create call answered: `resource` carries its id. `intent` is the resource as beforeCreate
   * recorded it, when its name has changed since (a floating IP's address replaces its description).
   */
  created(build: string, resource: ResourceRef, intent?: ResourceRef): Promise<void>;
  deleted(build: string, resource: ResourceRef): Promise<void>;
  /** Left on purpose: the published image, or what --keep-on-failure keeps. */
  kept(build: string, resource: ResourceRef): Promise<void>;
  step(build: string, name: string): Promise<void>;
  heartbeat(): Promise<void>;
  finish(status: Exclude<RunStatus, 'running'>): Promise<void>;
  /** Resolves once everything changed so far is on disk. */
  flush(): Promise<void>;
  /** A copy of the document as it stands in memory. */
  snapshot(): JournalDoc;
}

/**
 * Serialises writes of one document: one write in flight; changes made meanwhile are coalesced into
 * the next write, so concurrent builds never interleave two writers on one file.
 */
class SerialWriter {
  private writing = false;
  private dirty = false;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly write: () => Promise<void>,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Resolves once a write that started after this call has finished (never rejects). */
  schedule(): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.dirty = true;
      if (!this.writing) void this.loop();
    });
  }

  private async loop(): Promise<void> {
    this.writing = true;
    while (this.dirty) {
      this.dirty = false;
      const batch = this.waiters.splice(0);
      try {
        await this.write();
      } catch (err) {
        this.onError(err);
      }
      for (const w of batch) w();
    }
    this.writing = false;
  }
}

function sameResource(a: ResourceRef, b: ResourceRef): boolean {
  if (a.kind !== b.kind || a.cloud !== b.cloud || a.region !== b.region) return false;
  if (a.id && b.id) return a.id === b.id;
  return a.name === b.name;
}

/** Create the journal of a run (directory 0700, file 0600) and start its heartbeat. */
export async function openJournal(opts: OpenJournalOptions): Promise<Journal> {
  const now = opts.now ?? (() => new Date());
  await mkdir(opts.dir, { recursive: true, mode: 0o700 });
  // mkdir's mode applies only to what it creates; a directory made by hand may be wider.
  await chmod(opts.dir, 0o700);
  const path = journalFile(opts.dir, opts.runId);
  const started = now().toISOString();
  const doc: JournalDoc = {
    version: 1,
    runId: opts.runId,
    pid: opts.pid ?? process.pid,
    hostname: opts.hostname ?? osHostname(),
    startedAt: started,
    heartbeatAt: started,
    status: 'running',
    manifest: opts.manifest,
    targets: [...opts.targets],
    builds: {},
  };
  let reported = false;
  const write = opts.writeFile ?? ((file: string, data: string) => writeFileAtomic(file, data));
  const writer = new SerialWriter(
    () => write(path, JSON.stringify(doc, null, 2) + '\n'),
    (err) => {
      // Once: a full disk would otherwise print this for every step of every build.
      if (reported) return;
      reported = true;
      opts.onError?.(`run journal ${path}: ${errorMessage(err)} (gc may not know what this run created)`);
    },
  );
  // The first write is not best-effort: a run that cannot journal should learn it before it builds.
  await write(path, JSON.stringify(doc, null, 2) + '\n');

  const buildOf = (key: string): JournalBuild => (doc.builds[key] ??= { step: null, resources: [] });
  const setState = (key: string, r: ResourceRef, state: ResourceState, was: ResourceRef = r): Promise<void> => {
    const list = buildOf(key).resources;
    const at = now().toISOString();
    // Matched by id when both sides know it, else by name: the id learnt now meets the intent recorded by name.
    let entry = list.find((e) => sameResource(e, was));
    if (!entry) {
      entry = { kind: r.kind, cloud: r.cloud, region: r.region, name: r.name, state, at };
      list.push(entry);
    }
    if (r.id) entry.id = r.id;
    entry.name = r.name;
    entry.state = state;
    entry.at = at;
    return writer.schedule();
  };

  const timer = setInterval(() => void journal.heartbeat(), opts.heartbeatMs ?? HEARTBEAT_MS);
  // The heartbeat must never keep a finished process alive.
  timer.unref();

  const journal: Journal = {
    path,
    runId: opts.runId,
    beforeCreate: (build, r) => setState(build, r, 'creating'),
    created: (build, r, intent) => setState(build, r, 'created', intent),
    deleted: (build, r) => setState(build, r, 'deleted'),
    kept: (build, r) => setState(build, r, 'kept'),
    step(build, name) {
      buildOf(build).step = name;
      return writer.schedule();
    },
    heartbeat() {
      if (doc.status !== 'running') return Promise.resolve();
      doc.heartbeatAt = now().toISOString();
      return writer.schedule();
    },
    finish(status) {
      clearInterval(timer);
      doc.status = status;
      doc.finishedAt = now().toISOString();
      doc.heartbeatAt = doc.finishedAt;
      return writer.schedule();
    },
    flush: () => writer.schedule(),
    snapshot: () => structuredClone(doc),
  };
  return journal;
}

// Part of phase "build all": the copies and imports of one image, as one replication (one download feeds every target that needs the bytes), each target journaled, logged and reported like a build.
import { join } from 'node:path';
import { errorMessage, ImagesyncError } from '../errors.js';
import { journalEvents } from '../journal/build-events.js';
import { buildKey, JOURNAL_DIR, type Journal } from '../journal/journal.js';
import { runKnownDead } from '../journal/read.js';
import { isImported, type WantedImage } from '../manifest/schema.js';
import { HttpClient } from '../openstack/http.js';
import { RECIPE_PROPERTY } from '../plan/diff.js';
import { wantedSharing } from '../plan/sharing.js';
import { targetKey, type PlanEntry, type Target } from '../plan/types.js';
import type { BuildReport } from '../report/apply-report.js';
import { parseChecksum } from '../replicate/digest.js';
import { fieldsOf, type CopyFields } from '../replicate/fields.js';
import { replicate, type CopyDestination, type CopyOutcome } from '../replicate/replicate.js';
import type { SourceRef } from '../replicate/source.js';
import { openBuildLog, type BuildLog } from '../ssh/log.js';
import type { BuildRun } from './build-run.js';
import { outcomeReport } from './outcome-report.js';
import type { AppDeps } from './deps.js';
import type { PlanContext } from './prepare.js';
import type { BuildEvents } from './view.js';

/** What a replication shares with the builds of the run. */
export interface ReplicaShared {
  ctx: PlanContext;
  run: BuildRun;
  journal: Journal;
  /** Provenance stamped on an import (a copy carries its origin's). */
  provenance: Record<string, string>;
  deps: AppDeps;
}

/** The origin of a copy: an image found there, or the report of this run's build of it. */
export type CopyOrigin = { target: Target; imageId?: string | undefined; build?: Promise<BuildReport> | undefined };

/** Property values are strings of at most 255 characters in Glance. */
function clip(value: string): string {
  return value.length > 255 ? value.slice(0, 255) : value;
}

/** The fields an import is created with: the manifest's format and properties, provenance, and its recipe. */
export function importFields(image: WantedImage, recipe: string, s: Pick<ReplicaShared, 'provenance' | 'run'>): CopyFields {
  return {
    disk_format: image.diskFormat ?? 'raw',
    container_format: 'bare',
    min_disk: 0,
    min_ram: 0,
    tags: [],
    properties: {
      ...(image.properties ?? {}),
      ...s.provenance,
      [RECIPE_PROPERTY]: recipe,
      imagesync_run: s.run.runId,
      imagesync_source_url: clip(image.source.url ?? ''),
      imagesync_source_checksum: clip(image.source.checksum ?? ''),
    },
  };
}

/**
 * The copies (or imports) of one image. Each target's job calls `run`; the replication starts once
 * every target has called in (the view starts all jobs at once), so one download feeds them all.
 */
export class ReplicaBatch {
  private readonly events = new Map<string, BuildEvents>();
  private readonly logs = new Map<string, BuildLog>();
  private result: Promise<Map<string, CopyOutcome | Error>> | undefined;
  private ready: () => void = () => undefined;
  private readonly allIn = new Promise<void>((resolve) => (this.ready = resolve));
  private readonly started: number;

  constructor(
    private readonly image: WantedImage,
    private readonly entries: PlanEntry[],
    private readonly origin: CopyOrigin | undefined,
    private readonly s: ReplicaShared,
  ) {
    this.started = s.deps.now().getTime();
  }

  async run(e: PlanEntry, events: BuildEvents): Promise<BuildReport> {
    this.events.set(targetKey(e), events);
    if (this.events.size === this.entries.length) this.ready();
    this.result ??= this.allIn.then(() => this.replicateAll());
    const outcome = (await this.result).get(targetKey(e));
    return this.report(e, outcome);
  }

  private async replicateAll(): Promise<Map<string, CopyOutcome | Error>> {
    const { ctx, deps } = this.s;
    const out = new Map<string, CopyOutcome | Error>();
    const fail = (err: unknown) => {
      const error = err instanceof Error ? err : new ImagesyncError(String(err));
      for (const e of this.entries) out.set(targetKey(e), error);
      return out;
    };
    let http: HttpClient | undefined;
    try {
      for (const e of this.entries) {
        const log = await openBuildLog({ rootDir: ctx.manifestDir, runId: this.s.run.runId, target: targetKey(e), image: e.image, redactor: deps.redactor, now: deps.now });
        this.logs.set(targetKey(e), log);
      }
      let source: SourceRef;
      let fields: CopyFields;
      if (isImported(this.image)) {
        // A public URL, no credentials: a client of its own, not one of a cloud's.
        http = new HttpClient({ redactor: deps.redactor });
        source = { kind: 'url', url: this.image.source.url, checksum: parseChecksum(this.image.source.checksum)!, http };
        fields = importFields(this.image, ctx.bases.get(this.image.name)!.hash, this.s);
      } else {
        const origin = this.origin;
        if (!origin) return fail(new ImagesyncError(`"${this.image.name}" has no target to copy it from`));
        let id = origin.imageId;
        if (origin.build) {
          const built = await origin.build;
          if (built.status !== 'built' || !built.imageId) {
            return fail(new ImagesyncError(`${targetKey(origin.target)}: the build this copy waits for ${built.status === 'skipped' ? `is done by run ${built.builtBy}` : 'failed'}; nothing to copy from`));
          }
          id = built.imageId;
        }
        const glance = await ctx.connections.get(origin.target.cloud)!.glance(origin.target.region, deps.signal);
        const img = id ? await glance.getImage(id, deps.signal) : undefined;
        if (!img || img.status !== 'active') return fail(new ImagesyncError(`${targetKey(origin.target)}: image ${id ?? '(unknown)'} to copy from is ${img ? img.status : 'gone'}`));
        source = { kind: 'glance', target: origin.target, glance, image: img };
        fields = fieldsOf(img);
      }
      const destinations: CopyDestination[] = [];
      for (const e of this.entries) {
        const glance = await ctx.connections.get(e.cloud)!.glance(e.region, deps.signal);
        destinations.push({
          target: { cloud: e.cloud, region: e.region },
          glance,
          replaces: e.found.length ? (await glance.listByNames([e.image], deps.signal)).filter((i) => e.images.includes(i.id)) : [],
          sameKeystone: source.kind === 'glance' && source.target.cloud === e.cloud,
        });
      }
      const outcomes = await replicate({
        runId: this.s.run.runId,
        name: this.image.name,
        source,
        fields,
        sharing: wantedSharing(this.image),
        destinations,
        signal: deps.signal,
        keepOnFailure: this.s.run.keepOnFailure,
        events: (t) => this.eventsFor(t),
        tuning: {
          ...(this.s.run.pollIntervalMs !== undefined ? { pollIntervalMs: this.s.run.pollIntervalMs } : {}),
          now: deps.now,
          isRunDead: (other) => runKnownDead(join(ctx.manifestDir, JOURNAL_DIR), other, { now: deps.now(), hostname: deps.hostname, pidAlive: deps.pidAlive }),
        },
      });
      for (const o of outcomes) out.set(targetKey(o.target), o);
      return out;
    } catch (err) {
      return fail(err);
    } finally {
      await http?.close();
    }
  }

  /** The run journal's events, the view's step and log lines, and the target's log file. */
  private eventsFor(t: Target) {
    const key = targetKey(t);
    const journaled = journalEvents(this.s.journal, buildKey(t, this.image.name));
    const view = this.events.get(key);
    const log = this.logs.get(key);
    return {
      ...journaled,
      onStep: async (name: string, i: number) => {
        view?.step(name);
        log?.note(`step: ${name}`);
        await journaled.onStep(name, i);
      },
      onLog: (m: string) => {
        log?.note(m.trimEnd());
        view?.log(this.s.deps.redactor.text(m.trimEnd()));
      },
      onCleanup: (what: string) => log?.note(`cleanup: ${what}`),
    };
  }

  private async report(e: PlanEntry, o: CopyOutcome | Error | undefined): Promise<BuildReport> {
    const { deps } = this.s;
    const log = this.logs.get(targetKey(e));
    const outcome: CopyOutcome =
      o === undefined || o instanceof Error
        ? { target: e, ok: false, error: o ?? new ImagesyncError('no outcome'), leftBehind: [], rotated: [], steps: [], passes: 0, durationMs: deps.now().getTime() - this.started }
        : o;
    if (!outcome.ok && !outcome.lostTo) log?.note(`failed: ${errorMessage(outcome.error)}`);
    await log?.close().catch(() => undefined);
    return {
      ...outcomeReport(e, outcome, outcome.durationMs, deps.redactor, log?.path),
      ...(e.action?.kind === 'copy' ? { from: targetKey(e.action.from) } : {}),
      via: outcome.via,
    };
  }
}

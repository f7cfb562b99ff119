// Claims: a tiny hidden Glance image per (name, run), so that concurrent runs agree on one builder of a name in a region.
import { createHash } from 'node:crypto';
import { ImagesyncError, type ImagesyncErrorOptions } from '../errors.js';
import type { GlanceClient, GlanceImage } from '../openstack/glance.js';
import { createOnce } from '../openstack/idempotent.js';
import type { NovaClient } from '../openstack/nova.js';
import { sleep } from '../abort.js';
import type { Target } from '../plan/types.js';
import type { Step, StepContext } from './runner.js';
import { clocks, where } from './state.js';

/** Every claim image's name starts with this (`gc` recognises it). */
export const CLAIM_PREFIX = 'imagesync-claim-';
/** The final image name a claim is for. */
export const CLAIM_FOR_PROPERTY = 'imagesync_claim_for';
export const CLAIM_AT_PROPERTY = 'imagesync_claimed_at';
/**
 * Wait between creating our claim and reading everyone's (the keypair and the server are made
 * meanwhile). Glance stamps created_at to the second;
 * after a wait of more than a second, of two runs either both see each other (and agree) or the
 * later one sees the earlier one, whose created_at is then strictly older.
 */
export const DEFAULT_CLAIM_SETTLE_MS = 1500;
/** A winner's claim this much older than ours, with no build server of its run left, is a dead run's. */
export const DEFAULT_CLAIM_STALE_MS = 2 * 3_600_000;

/** Options a caller (apply, tests) may set on the build state. */
export interface ClaimFields {
  /** This run's claim; `madeAtMs` on the build's monotonic clock, when its create call answered. */
  claim?: { id: string; name: string; madeAtMs: number } | undefined;
  claimSettleMs?: number | undefined;
  claimStaleMs?: number | undefined;
  /** Whether a run is known to be dead (its journal on this machine says so): its claim is void at once. */
  isRunDead?: ((runId: string) => Promise<boolean>) | undefined;
}
/**
 * What claiming a name needs of a build, a copy or an import: the run, the target, the name, and
 * Glance there (Nova too, when the target has one: a stale claim's run may still have build servers).
 */
export interface ClaimSubject {
  runId: string;
  target: Target;
  image: { name: string };
  services: { glance: GlanceClient; nova?: NovaClient | undefined };
  now?: (() => Date) | undefined;
  monotonicMs?: (() => number) | undefined;
}
export type ClaimedBuildState = ClaimSubject & ClaimFields;

/** The claim image's name: one per final name, so all runs' claims for it are listed by one exact name. */
export function claimName(imageName: string): string {
  return CLAIM_PREFIX + createHash('sha256').update(imageName).digest('hex').slice(0, 16);
}

export interface ClaimView {
  id: string;
  runId: string;
  /** Glance's created_at (server clock, whole seconds); undefined if Glance gave none. */
  createdAt?: string | undefined;
}

/** The live claims for `imageName` among images listed under its claim name. */
export function claimsFor(images: GlanceImage[], imageName: string): ClaimView[] {
  const name = claimName(imageName);
  return images
    .filter((i) => i.name === name && i[CLAIM_FOR_PROPERTY] === imageName && typeof i.imagesync_run === 'string' && i.status !== 'deleted' && i.status !== 'pending_delete')
    .map((i) => ({ id: i.id, runId: i.imagesync_run as string, createdAt: i.created_at }));
}

function timeMs(iso: string | undefined): number {
  const t = iso ? Date.parse(iso) : Number.NaN;
  // A claim without a readable date sorts last: it cannot prove it came first.
  return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
}

/** The order every run computes alike: older created_at first, then the smaller run id, then the smaller image id. */
export function compareClaims(a: ClaimView, b: ClaimView): number {
  const ta = timeMs(a.createdAt);
  const tb = timeMs(b.createdAt);
  if (ta !== tb) return ta < tb ? -1 : 1;
  if (a.runId !== b.runId) return a.runId < b.runId ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function claimWinner(claims: readonly ClaimView[]): ClaimView | undefined {
  return [...claims].sort(compareClaims)[0];
}

/**
 * Stale by age, measured on Glance's own clock (the winner's created_at against ours), so a
 * workstation with a wrong clock cannot call a live claim stale. Build servers are checked apart.
 */
export function olderThan(winner: ClaimView, ours: ClaimView | undefined, staleMs: number, nowMs: number): boolean {
  const w = timeMs(winner.createdAt);
  const reference = ours ? timeMs(ours.createdAt) : nowMs;
  if (!Number.isFinite(w) || !Number.isFinite(reference)) return false;
  return reference - w > staleMs;
}

/** Another run builds (or built) the image: not a failure, the image will exist. */
export class ClaimLostError extends ImagesyncError {
  override readonly code = 'CLAIM_LOST';
  constructor(
    message: string,
    /** The run that builds the image. */
    readonly winnerRun: string,
    options?: ImagesyncErrorOptions,
  ) {
    super(message, options);
  }
}

async function listClaims(glance: GlanceClient, imageName: string, signal: AbortSignal): Promise<ClaimView[]> {
  return claimsFor(await glance.listByNames([claimName(imageName)], signal), imageName);
}

/** Whether any build server of `runId` still exists in this region (then its claim is alive). */
async function runHasServers(nova: NovaClient, runId: string, signal: AbortSignal): Promise<boolean> {
  const escaped = runId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const servers = await nova.listServers({ name: `^imagesync-build-.*-${escaped}$` }, signal);
  return servers.some((s) => s.metadata?.imagesync_run === runId || (s.tags ?? []).includes(`imagesync-run-${runId}`));
}

/** Create our claim (never twice) and register its removal. */
async function createClaim(s: ClaimedBuildState, ctx: StepContext): Promise<string> {
  const { glance } = s.services;
  const name = claimName(s.image.name);
  const ours = async (signal: AbortSignal) => (await listClaims(glance, s.image.name, signal)).filter((c) => c.runId === s.runId);
  // Removed by the sweep alone: every claim of this run for this name, not just the id we heard
  // (a POST that failed after Glance acted may have left one more).
  const claim = await ctx.intend(
    { kind: 'image', ...s.target, name, runId: s.runId, hidden: true },
    {
      async sweep(signal) {
        for (const c of await ours(signal)) await glance.deleteImage(c.id, signal);
      },
      // Even under --keep-on-failure: a kept claim would stop every other run from building this name.
      always: true,
    },
  );
  const now = clocks(s).now();
  const created = await createOnce({
    what: `${where(s)}: claim ${name} on "${s.image.name}"`,
    create: async () => {
      const res = await glance.service.request({
        method: 'POST',
        path: 'images',
        json: {
          name,
          container_format: 'bare',
          disk_format: 'raw',
          visibility: 'private',
          os_hidden: true,
          [CLAIM_FOR_PROPERTY]: s.image.name,
          imagesync_run: s.runId,
          [CLAIM_AT_PROPERTY]: now.toISOString(),
        },
        expect: [201],
        signal: ctx.signal,
      });
      return res.json<GlanceImage>().id;
    },
    find: async () => (await ours(ctx.signal))[0]?.id,
    policy: glance.service.http.retryPolicy,
    signal: ctx.signal,
    log: (line) => ctx.log(line),
  });
  claim.created({ id: created.value, sole: created.sole });
  return created.value;
}

/**
 * Step: file this run's claim on the final name in this target, before anything costly is made.
 * The decision waits for the settle time (settleClaim): meanwhile the keypair and the build server
 * are made, which is safe, since a run that loses deletes them through their cleanups like any
 * other failed build's (journaled, swept by `gc` after a crash), and it saves the settle time on
 * every build.
 */
export const makeClaim: Step<ClaimedBuildState> = {
  name: 'make a claim',
  async run(s, ctx) {
    const id = await createClaim(s, ctx);
    s.claim = { id, name: claimName(s.image.name), madeAtMs: clocks(s).monotonicMs() };
  },
};

/**
 * Step: once the settle time has passed since the claim was made, read every run's claims: the
 * winner goes on; a loser ends with ClaimLostError (its cleanups delete its server, keypair and
 * claim); a dead winner's claim is taken over.
 */
export const settleClaim: Step<ClaimedBuildState> = {
  name: 'claim the name',
  async run(s, ctx) {
    const { glance, nova } = s.services;
    if (!s.claim) throw new ImagesyncError(`${where(s)}: no claim was made on "${s.image.name}" (the "${makeClaim.name}" step must come first)`);
    const { id, madeAtMs } = s.claim;
    const settleMs = s.claimSettleMs ?? DEFAULT_CLAIM_SETTLE_MS;
    await sleep(Math.max(0, settleMs - (clocks(s).monotonicMs() - madeAtMs)), ctx.signal);
    const staleMs = s.claimStaleMs ?? DEFAULT_CLAIM_STALE_MS;
    // Bounded: each pass removes one stale claim, and a run cannot take over more than a few.
    for (let pass = 0; pass < 10; pass++) {
      const claims = await listClaims(glance, s.image.name, ctx.signal);
      const mine = claims.find((c) => c.id === id);
      const winner = claimWinner(mine ? claims : [...claims, { id, runId: s.runId, createdAt: undefined }]);
      if (!winner || winner.runId === s.runId) {
        ctx.log(`claimed "${s.image.name}" in ${where(s)} (${claims.length - 1} other claim${claims.length === 2 ? '' : 's'})`);
        return;
      }
      // A killed run (SIGKILL, a lost runner) never releases its claim: without this, every later run
      // would leave the name to a dead one until someone ran gc.
      if (await s.isRunDead?.(winner.runId)) {
        ctx.log(`taking over the claim ${winner.id} of run ${winner.runId}: that run is dead (its journal here says so)`);
        await glance.deleteImage(winner.id, ctx.signal);
        continue;
      }
      // Without Nova here (an image-only target), no build server can be alive: age alone decides.
      if (olderThan(winner, mine, staleMs, clocks(s).now().getTime()) && !(nova && (await runHasServers(nova, winner.runId, ctx.signal)))) {
        ctx.log(`taking over the stale claim ${winner.id} of run ${winner.runId} (created ${winner.createdAt}, no build server left)`);
        await glance.deleteImage(winner.id, ctx.signal);
        continue;
      }
      throw new ClaimLostError(
        `${where(s)}: "${s.image.name}" is being built by run ${winner.runId} (claimed ${winner.createdAt ?? 'at an unknown time'}); this run leaves it to that one`,
        winner.runId,
      );
    }
    throw new ImagesyncError(`${where(s)}: could not settle the claim on "${s.image.name}" after 10 takeovers; run \`imagesync gc\` and try again`);
  },
};

/**
 * Right before the rename: still the winner? (A run that found ours stale may have taken over.)
 * Does nothing when the build made no claim.
 */
export async function verifyClaim(s: ClaimedBuildState, signal: AbortSignal): Promise<void> {
  if (!s.claim) return;
  const claims = await listClaims(s.services.glance, s.image.name, signal);
  const winner = claimWinner(claims);
  if (winner && winner.runId !== s.runId) {
    const lost = claims.some((c) => c.id === s.claim!.id) ? 'holds an older claim' : 'took over this run\'s claim';
    throw new ClaimLostError(`${where(s)}: run ${winner.runId} ${lost} on "${s.image.name}"; this run's image is not published (it is deleted)`, winner.runId);
  }
}

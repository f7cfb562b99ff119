// One build, Packer-style but leak-free: the list of steps that makes one image in one target.
import { runSteps, type LeftBehind, type RunResult, type StepEvents } from './runner.js';
import { clocks, type BuildInputs, type BuildState } from './state.js';
import { createKeypair } from './steps/keypair.js';
import { resolveInputs } from './steps/resolve.js';
import { bootServer, waitActive } from './steps/boot.js';
import { createBootVolume } from './steps/volume.js';
import { createSshGroup, openSshFromRunner } from './steps/ssh-group.js';
import { chooseAddress } from './steps/address.js';
import { pinHostKeys } from './steps/host-keys.js';
import { connect } from './steps/ssh.js';
import { provisionSteps } from './steps/provision.js';
import { generalizeSteps } from './steps/generalize.js';
import { snapshot, stopServer, waitImageActive } from './steps/snapshot.js';
import { publish } from './steps/publish.js';
import { ClaimLostError, makeClaim, settleClaim } from './claim.js';
import type { Step } from './runner.js';

export function buildSteps(inputs: Pick<BuildInputs, 'image' | 'settings'>): Step<BuildState>[] {
  return [
    resolveInputs,
    // Before anything costly is made; decided in settleClaim once the settle time has passed, which
    // the keypair and the boot fill. A loser stops there and its cleanups delete what it made.
    makeClaim,
    createKeypair,
    ...(inputs.settings.ssh?.openFrom ? [createSshGroup] : []),
    // Only where asked: the resolve step refuses a volume-backed source image without build.volume.
    ...(inputs.settings.volume ? [createBootVolume] : []),
    bootServer,
    settleClaim,
    waitActive,
    chooseAddress,
    ...(inputs.settings.ssh?.openFrom === 'runner' ? [openSshFromRunner] : []),
    pinHostKeys,
    connect,
    ...provisionSteps(inputs.image.build.steps),
    // Last over SSH: it removes the key the build logs in with.
    ...generalizeSteps(inputs.image.build.generalize),
    stopServer,
    snapshot,
    waitImageActive,
    publish,
  ];
}

export interface BuildOutcome {
  ok: boolean;
  imageId?: string | undefined;
  error?: unknown;
  failedStep?: string | undefined;
  leftBehind: LeftBehind[];
  rotated: Array<{ id: string; newName: string }>;
  /** Another run builds (or built) the image: this build stopped without building, and that is no failure. */
  lostTo?: string | undefined;
  steps: Array<{ name: string; durationMs: number }>;
  durationMs: number;
}

export async function runBuild(
  inputs: BuildInputs,
  opts: StepEvents & { signal: AbortSignal; keepOnFailure?: boolean; cleanupTimeoutMs?: number },
): Promise<BuildOutcome> {
  const { monotonicMs } = clocks(inputs);
  const started = monotonicMs();
  const state: BuildState = { ...inputs };
  // Losing the name to another run is no failure: nothing to keep for debugging, even with --keep-on-failure.
  const r = await runSteps(buildSteps(inputs), state, { monotonicMs, isFailure: (err) => !(err instanceof ClaimLostError), ...opts });
  return outcomeOf(r, state, monotonicMs() - started);
}

/** The outcome of the steps that publish an image (a build's or a copy's), from their run and the state they left. */
export function outcomeOf(r: RunResult, state: Pick<BuildState, 'result' | 'rotated'>, durationMs: number): BuildOutcome {
  return {
    ok: r.ok,
    imageId: r.ok ? state.result?.id : undefined,
    error: r.error,
    failedStep: r.failedStep,
    leftBehind: r.leftBehind,
    rotated: state.rotated ?? [],
    lostTo: r.error instanceof ClaimLostError ? r.error.winnerRun : undefined,
    steps: r.steps,
    durationMs,
  };
}

// One build, Packer-style but leak-free: the list of steps that makes one image in one target.
import { runSteps, type LeftBehind, type StepEvents } from './runner.js';
import { clocks, type BuildInputs, type BuildState } from './state.js';
import { createKeypair } from './steps/keypair.js';
import { resolveInputs } from './steps/resolve.js';
import { bootServer, waitActive } from './steps/boot.js';
import { chooseAddress } from './steps/address.js';
import { pinHostKeys } from './steps/host-keys.js';
import { connect } from './steps/ssh.js';
import { provisionSteps } from './steps/provision.js';
import { snapshot, stopServer, waitImageActive } from './steps/snapshot.js';
import { publish } from './steps/publish.js';
import { claimImageName, ClaimLostError } from './claim.js';
import type { Step } from './runner.js';

export function buildSteps(inputs: Pick<BuildInputs, 'image'>): Step<BuildState>[] {
  return [
    resolveInputs,
    // Before anything costly: a concurrent run that already claimed the name wins, and this build stops here.
    claimImageName,
    createKeypair,
    bootServer,
    waitActive,
    chooseAddress,
    pinHostKeys,
    connect,
    ...provisionSteps(inputs.image.build.steps),
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
  const r = await runSteps(buildSteps(inputs), state, { monotonicMs, ...opts });
  return {
    ok: r.ok,
    imageId: r.ok ? state.result?.id : undefined,
    error: r.error,
    failedStep: r.failedStep,
    leftBehind: r.leftBehind,
    rotated: state.rotated ?? [],
    lostTo: r.error instanceof ClaimLostError ? r.error.winnerRun : undefined,
    steps: r.steps,
    durationMs: monotonicMs() - started,
  };
}

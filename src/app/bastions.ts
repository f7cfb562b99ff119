// The manifest's build.ssh.bastion (one jump host or a chain), made ready before apply contacts anything: each hop's key read (or ssh-agent found), its host key pinned or found in known_hosts.
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { canonicalJson } from '../canonical-json.js';
import { ManifestError, UsageError } from '../errors.js';
import { problemAt } from '../manifest/json-path.js';
import { bastionHops, type BastionSettings, type BastionSpec, type Manifest } from '../manifest/schema.js';
import { displayPath } from '../output.js';
import { probeAgent, type AgentState } from '../ssh/agent.js';
import { fingerprintSha256, knownHostEntries, knownHostsName, parsePublicKeyLine, readKnownHosts } from '../ssh/host-keys.js';
import type { JumpHost } from '../ssh/jump.js';
import { readIdentityFile } from '../ssh/key-file.js';
import type { AppDeps } from './deps.js';

/** The jump hosts of every bastion setting the selected builds use, by its settings (canonical JSON): what the build's SSH step goes through, in order. */
export type Bastions = Map<string, JumpHost[]>;

/** The key a build's merged `ssh.bastion` is found under in `Bastions`: one jump host and a chain of one are the same. */
export function bastionKey(b: BastionSpec): string {
  return canonicalJson(bastionHops(b));
}

/** Where the bastion of one image in one target comes from: the image, its target, or the defaults (the last that sets it wins). */
function bastionSource(m: Manifest, i: number, cloud: string, region: string): { path: PropertyKey[]; bastion: BastionSpec } | undefined {
  const fromImage = m.images[i]?.build?.ssh?.bastion;
  if (fromImage) return { path: ['images', i, 'build', 'ssh', 'bastion'], bastion: fromImage };
  const t = m.targets.findIndex((x) => x.cloud === cloud && x.regions.includes(region));
  const fromTarget = m.targets[t]?.build?.ssh?.bastion;
  if (fromTarget) return { path: ['targets', t, 'build', 'ssh', 'bastion'], bastion: fromTarget };
  const fromDefaults = m.defaults?.build?.ssh?.bastion;
  return fromDefaults ? { path: ['defaults', 'build', 'ssh', 'bastion'], bastion: fromDefaults } : undefined;
}

/** `~/x` from the home directory, anything else from the manifest's directory. */
function repoPath(p: string, manifestDir: string, home: string): string {
  if (p === '~' || p.startsWith('~/')) return join(home, p.slice(1));
  return isAbsolute(p) ? p : resolve(manifestDir, p);
}

export interface ResolveBastionsInput {
  manifest: Manifest;
  manifestFile: string;
  manifestDir: string;
  /** The (image, cloud, region) of every build this run may do. */
  pairs: ReadonlyArray<{ image: string; cloud: string; region: string }>;
}

type BastionDeps = Pick<AppDeps, 'env' | 'cwd' | 'home'> & { probeAgent?: typeof probeAgent };

/** Each bastion setting the pairs use, once, with the JSON path it is set at. */
function bastionsUsed(input: ResolveBastionsInput): Array<{ path: PropertyKey[]; bastion: BastionSpec }> {
  const seen = new Map<string, { path: PropertyKey[]; bastion: BastionSpec }>();
  // By name once, not a search per pair: a manifest may hold thousands of images.
  const index = new Map(input.manifest.images.map((x, i) => [x.name, i]));
  for (const pair of input.pairs) {
    const source = bastionSource(input.manifest, index.get(pair.image) ?? -1, pair.cloud, pair.region);
    if (source && !seen.has(bastionKey(source.bastion))) seen.set(bastionKey(source.bastion), source);
  }
  return [...seen.values()];
}

/** One bastion setting made ready, hop by hop: a chain's problem names its hop's index (`bastion[1].hostKey`). */
async function resolveChain(
  source: { path: PropertyKey[]; bastion: BastionSpec },
  input: ResolveBastionsInput,
  deps: BastionDeps,
  agent: { state?: AgentState },
): Promise<JumpHost[]> {
  const { path, bastion } = source;
  if (!Array.isArray(bastion)) return [await resolveBastion({ path, bastion }, input, deps, agent)];
  const hops: JumpHost[] = [];
  for (const [n, hop] of bastion.entries()) hops.push(await resolveBastion({ path: [...path, n], bastion: hop }, input, deps, agent));
  return hops;
}

/** One jump host made ready, or a ManifestError naming its JSON path. The agent is probed once per run (`agent` keeps it). */
async function resolveBastion(
  source: { path: PropertyKey[]; bastion: BastionSettings },
  input: ResolveBastionsInput,
  deps: BastionDeps,
  agent: { state?: AgentState },
): Promise<JumpHost> {
  const shown = displayPath(deps.cwd, input.manifestFile);
  const home = deps.home || homedir();
  const { path, bastion: b } = source;
  const fail = (key: string | undefined, message: string): never => {
    throw new ManifestError(shown, [problemAt(key === undefined ? path : [...path, key], message)]);
  };
  const port = b.port ?? 22;

  let privateKey: string | undefined;
  let agentSocket: string | undefined;
  if (b.privateKeyFile !== undefined) {
    const file = repoPath(b.privateKeyFile, input.manifestDir, home);
    try {
      privateKey = (
        await readIdentityFile(file, { env: deps.env, encryptedHint: "add it to ssh-agent (ssh-add) and leave privateKeyFile out, or give an unencrypted key" }, displayPath(deps.cwd, file))
      ).privateKey;
    } catch (err) {
      if (err instanceof UsageError) fail('privateKeyFile', err.message);
      throw err;
    }
  } else {
    const state = (agent.state ??= await (deps.probeAgent ?? probeAgent)(deps.env));
    if (!state.usable) fail(undefined, `no privateKeyFile, and ${state.reason}; set privateKeyFile or add the bastion's key to ssh-agent`);
    agentSocket = state.socket;
  }

  let hostKey: JumpHost['hostKey'];
  if (b.hostKey !== undefined) {
    const pins = Array.isArray(b.hostKey) ? b.hostKey : [b.hostKey];
    const sha256 = pins.map((pin, n) => {
      if (pin.startsWith('SHA256:')) return pin;
      try {
        return fingerprintSha256(parsePublicKeyLine(pin).blob);
      } catch (err) {
        return fail('hostKey', `${Array.isArray(b.hostKey) ? `[${n}] ` : ''}${(err as Error).message}`);
      }
    });
    hostKey = { kind: 'fingerprints', sha256 };
  } else {
    const file = repoPath(b.knownHosts ?? '~/.ssh/known_hosts', input.manifestDir, home);
    const name = knownHostsName(b.host, port);
    let text: string;
    try {
      text = await readKnownHosts(file);
    } catch (err) {
      return fail('knownHosts', `cannot read ${displayPath(deps.cwd, file)} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    if (!knownHostEntries(text, name).some((e) => e.marker === undefined)) {
      fail(
        b.knownHosts === undefined ? undefined : 'knownHosts',
        `${displayPath(deps.cwd, file)} has no key for ${name}; add it (ssh-keyscan${port === 22 ? '' : ` -p ${port}`} ${b.host}, after checking its fingerprint) or pin it in hostKey`,
      );
    }
    hostKey = { kind: 'known_hosts', file, acceptNew: false };
  }
  return {
    host: b.host,
    port,
    username: b.user,
    ...(privateKey !== undefined ? { privateKey } : {}),
    ...(agentSocket !== undefined ? { agent: agentSocket } : {}),
    hostKey,
  };
}

/**
 * Every bastion the pairs use, checked: a key file that ssh would use (mode 0600, unencrypted), or
 * an ssh-agent holding keys; a pinned host key that parses, or a known_hosts file that lists the
 * bastion (first contact is refused in a build: nobody is there to check a new key). Any problem
 * is a ManifestError naming the JSON path (exit 3), found before a cloud is contacted.
 */
export async function resolveBastions(input: ResolveBastionsInput, deps: BastionDeps): Promise<Bastions> {
  const out: Bastions = new Map();
  const agent: { state?: AgentState } = {};
  for (const source of bastionsUsed(input)) out.set(bastionKey(source.bastion), await resolveChain(source, input, deps, agent));
  return out;
}

/** validate's check: what resolveBastions would refuse, every bastion's problem at once (JSON path: message). */
export async function checkBastions(input: ResolveBastionsInput, deps: BastionDeps): Promise<string[]> {
  const problems: string[] = [];
  const agent: { state?: AgentState } = {};
  for (const source of bastionsUsed(input)) {
    try {
      await resolveChain(source, input, deps, agent);
    } catch (err) {
      if (!(err instanceof ManifestError)) throw err;
      problems.push(...err.problems);
    }
  }
  return problems;
}

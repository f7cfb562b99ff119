// Network namespaces joined by veth pairs (root on Linux), for tests where a server must be reachable only through another.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** 198.18.0.0/15 (RFC 2544, benchmarking): never routed on the internet, rarely used by a machine's own networks. */
const BASE = (198 << 24) | (18 << 16);
const BLOCKS = 2 ** 15; // /30 blocks in the /15

export interface Link {
  /** The address on the first end (a namespace, or the host). */
  a: string;
  /** The address on the second end. */
  b: string;
  /** The /30 both sit in. */
  cidr: string;
}

export interface TestNetwork {
  /** A new namespace with its loopback up; its name (unique to this process). */
  namespace(label: string): Promise<string>;
  /** A veth pair between two namespaces (`undefined`: the host), each end with an address of a fresh /30. */
  link(a: string | undefined, b: string | undefined): Promise<Link>;
  /** Let the host refuse `cidr` at once (EHOSTUNREACH) instead of sending it to its default gateway. */
  unreachableFromHost(cidr: string): Promise<void>;
  /** argv that runs `argv` inside namespace `ns`. */
  exec(ns: string, argv: string[]): string[];
  /** Remove every namespace, link and route made here (stop the processes inside first). */
  close(): Promise<void>;
}

async function ip(args: string[]): Promise<string> {
  try {
    return (await execFileP('ip', args)).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

function dotted(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Refuse early, with the reason, where namespaces cannot be made (not Linux, not root). */
export function netnsUnsupportedReason(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux; this is ${process.platform}`;
  if (process.getuid?.() !== 0) return 'network namespaces need root (ip netns add); run the tests as root, as CI does';
  return undefined;
}

/**
 * Namespaces and links named after this process (`isy<pid>…`), so tests of several checkouts can run
 * at once. A /30 is picked at random among those the host has no route or address in.
 */
export async function createTestNetwork(): Promise<TestNetwork> {
  const reason = netnsUnsupportedReason();
  if (reason) throw new Error(`createTestNetwork: ${reason}`);
  const namespaces: string[] = [];
  const hostLinks: string[] = [];
  const routes: string[] = [];
  let n = 0;

  const freeBlock = async (): Promise<number> => {
    const used = `${await ip(['-4', 'route', 'show', 'table', 'all'])}\n${await ip(['-4', 'addr', 'show'])}`;
    for (let i = 0; i < 64; i++) {
      const start = BASE + Math.floor(Math.random() * BLOCKS) * 4;
      const prefix = dotted(start).split('.').slice(0, 3).join('.');
      if (!used.includes(`${prefix}.`)) return start;
    }
    throw new Error('createTestNetwork: no free /30 found in 198.18.0.0/15');
  };

  return {
    async namespace(label) {
      const name = `isy${process.pid}-${label}`;
      await ip(['netns', 'add', name]);
      namespaces.push(name);
      await ip(['-n', name, 'link', 'set', 'lo', 'up']);
      return name;
    },
    async link(a, b) {
      const i = n++;
      const ifA = `isy${process.pid}a${i}`;
      const ifB = `isy${process.pid}b${i}`;
      const start = await freeBlock();
      const addrA = dotted(start + 1);
      const addrB = dotted(start + 2);
      await ip(['link', 'add', ifA, ...(a ? ['netns', a] : []), 'type', 'veth', 'peer', 'name', ifB, ...(b ? ['netns', b] : [])]);
      if (!a) hostLinks.push(ifA);
      if (!b) hostLinks.push(ifB);
      for (const [ns, ifName, addr] of [
        [a, ifA, addrA],
        [b, ifB, addrB],
      ] as const) {
        const inNs = ns ? ['-n', ns] : [];
        await ip([...inNs, 'addr', 'add', `${addr}/30`, 'dev', ifName]);
        await ip([...inNs, 'link', 'set', ifName, 'up']);
      }
      return { a: addrA, b: addrB, cidr: `${dotted(start)}/30` };
    },
    async unreachableFromHost(cidr) {
      await ip(['route', 'add', 'unreachable', cidr]);
      routes.push(cidr);
    },
    exec: (ns, argv) => ['ip', 'netns', 'exec', ns, ...argv],
    async close() {
      // Deleting one end of a veth pair deletes the other; a namespace's own ends go with it.
      for (const r of routes.splice(0)) await ip(['route', 'del', 'unreachable', r]).catch(() => undefined);
      for (const l of hostLinks.splice(0)) await ip(['link', 'del', l]).catch(() => undefined);
      for (const ns of namespaces.splice(0).reverse()) await ip(['netns', 'del', ns]).catch(() => undefined);
    },
  };
}

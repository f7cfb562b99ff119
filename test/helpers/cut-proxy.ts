// A real TCP proxy on loopback that cuts chosen transfers mid-way: an upload after N body bytes, or a download after N reply bytes.
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface CutRule {
  /** Which request to cut, by its request line: e.g. /^PUT \/v2\/images\/[^ ]+\/file /. */
  request: RegExp;
  /** Cut the client's bytes (an upload) or the server's (a download). */
  direction: 'upload' | 'download';
  /** Bytes let through after the request line was seen, then both sockets are destroyed. */
  afterBytes: number;
  /** How many requests to cut (default 1; Infinity for all). */
  times?: number;
  /** Instead of cutting, stop forwarding and hold both sockets open (a transfer that hangs). */
  stall?: boolean;
}

export interface CutProxy {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Requests cut so far. */
  readonly cuts: number;
  /** Requests that matched a rule's request line (cut or not). */
  readonly matched: number;
  close(): Promise<void>;
}

/** Forwards every connection to `target` (`http://host:port`), cutting as the rules say. */
export async function startCutProxy(target: string, rules: CutRule[]): Promise<CutProxy> {
  const up = new URL(target);
  const remaining = rules.map((r) => r.times ?? 1);
  let cuts = 0;
  let matched = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(up.port), up.hostname);
    sockets.add(client);
    sockets.add(upstream);
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
    // The armed cut of this connection: which direction, how many bytes still to let through.
    let armed: { direction: 'upload' | 'download'; left: number; stall: boolean } | undefined;
    let stalled = false;
    const cut = (): void => {
      cuts++;
      if (armed?.stall) {
        stalled = true;
        return;
      }
      armed = undefined;
      client.destroy();
      upstream.destroy();
    };
    const pass = (from: Socket, to: Socket, direction: 'upload' | 'download') => {
      from.on('data', (chunk: Buffer) => {
        if (stalled) return;
        if (direction === 'upload' && !armed) {
          const line = chunk.subarray(0, 512).toString('latin1');
          const i = rules.findIndex((r, k) => remaining[k]! > 0 && r.request.test(line));
          if (i >= 0) {
            matched++;
            remaining[i]!--;
            armed = { direction: rules[i]!.direction, left: rules[i]!.afterBytes, stall: rules[i]!.stall ?? false };
          }
        }
        if (armed && armed.direction === direction) {
          if (chunk.length > armed.left) {
            const rule = armed;
            to.write(chunk.subarray(0, rule.left), () => cut());
            if (rule.stall) stalled = true;
            return;
          }
          armed.left -= chunk.length;
        }
        if (!to.write(chunk)) {
          from.pause();
          to.once('drain', () => from.resume());
        }
      });
      from.on('end', () => to.end());
      from.on('error', () => to.destroy());
    };
    pass(client, upstream, 'upload');
    pass(upstream, client, 'download');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get cuts() {
      return cuts;
    },
    get matched() {
      return matched;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

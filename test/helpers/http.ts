// A real HTTP server on loopback for one test file: the handler is the test's, the port is any free one.
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';

export interface TestHttpServer {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  readonly url: string;
  readonly server: Server;
}

/** Listens in beforeAll, closes (dropping kept-alive connections) in afterAll. Use `url` inside tests and hooks. */
export function useHttpServer(handler: RequestListener): TestHttpServer {
  let server: Server | undefined;
  let url: string | undefined;
  beforeAll(async () => {
    server = createServer(handler);
    await new Promise<void>((ok) => server!.listen(0, '127.0.0.1', ok));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((ok) => (server ? server.close(() => ok()) : ok()));
  });
  return {
    get url() {
      if (!url) throw new Error('useHttpServer: url read outside a test or hook');
      return url;
    },
    get server() {
      if (!server) throw new Error('useHttpServer: server read outside a test or hook');
      return server;
    },
  };
}

/** A loopback port that was just free and is closed again: connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

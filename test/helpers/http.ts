// A real HTTP server on loopback for one test file: the handler is the test's, the port is any free one.
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
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

export type Route = (req: IncomingMessage, res: ServerResponse) => void;

export interface RoutedHttpServer extends TestHttpServer {
  /** The handler of each path (the query left out), set by the tests; any other path gets 404. */
  readonly routes: Map<string, Route>;
  /** How many requests each path got. */
  readonly hits: Map<string, number>;
}

/** useHttpServer with a handler per path that tests set, and a count of the requests per path. */
export function useRoutedHttpServer(): RoutedHttpServer {
  const routes = new Map<string, Route>();
  const hits = new Map<string, number>();
  const http = useHttpServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]!;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const r = routes.get(path);
    if (r) r(req, res);
    else res.writeHead(404).end();
  });
  return {
    routes,
    hits,
    get url() {
      return http.url;
    },
    get server() {
      return http.server;
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

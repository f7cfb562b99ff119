// A plain HTTP server on loopback serving one file at one path (the "upstream" an import or web-download reads); 404 elsewhere.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FileServer {
  /** The file's URL. */
  url: string;
  close(): Promise<void>;
}

export async function serveFile(data: Buffer, path = '/upstream.raw'): Promise<FileServer> {
  const server = createServer((req, res) => {
    if (req.url !== path) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(data.length) }).end(data);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`,
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}

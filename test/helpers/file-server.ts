// A plain HTTP server on loopback serving one file at one path (the "upstream" an import or web-download reads); 404 elsewhere.
import { useHttpServer } from './http.js';

export interface TestFileServer {
  /** The file's URL; read it inside tests and hooks. */
  readonly url: string;
}

/** Registers the hooks where it is called (file level or inside a describe), through useHttpServer. */
export function useFileServer(data: Buffer, path = '/upstream.raw'): TestFileServer {
  const http = useHttpServer((req, res) => {
    if (req.url !== path) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(data.length) }).end(data);
  });
  return {
    get url() {
      return `${http.url}${path}`;
    },
  };
}

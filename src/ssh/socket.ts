// The TCP connection under SSH: TCP_NODELAY and keep-alive on, a connect deadline, and the caller's abort.
import { connect as netConnect, type Socket } from 'node:net';
import { SshConnectError } from './errors.js';

export function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

/** TCP connect with TCP_NODELAY: with Nagle on, every command waits 20–40 ms for a delayed ACK. */
export function openSocket(host: string, port: number, where: string, timeoutMs: number, signal?: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = netConnect({ host, port });
    sock.setNoDelay(true);
    sock.setKeepAlive(true, 10_000);
    const done = (err?: Error): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      sock.removeListener('error', onError);
      sock.removeListener('connect', onConnect);
      if (err) {
        sock.destroy();
        reject(err);
      } else resolve(sock);
    };
    const onConnect = (): void => done();
    const onError = (err: NodeJS.ErrnoException): void =>
      done(
        new SshConnectError(
          where,
          `TCP connect failed (${err.code ?? err.message}); check that the server is up and port ${port} is reachable`,
          { cause: err },
        ),
      );
    const onAbort = (): void => done(abortError(signal!));
    const timer = setTimeout(
      () => done(new SshConnectError(where, `TCP connect timed out after ${timeoutMs} ms; check the address and security groups`)),
      timeoutMs,
    );
    sock.once('connect', onConnect);
    sock.once('error', onError);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

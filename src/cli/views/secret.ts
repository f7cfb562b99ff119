// Reading a secret once: on a terminal without echo (raw mode), else one line from stdin (`printf '%s\n' "$PW" | imagesync run ...`).
import { ImagesyncError, UsageError } from '../../errors.js';

type Input = NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };

export interface ReadSecretOptions {
  stdin: Input | undefined;
  stderr: NodeJS.WritableStream;
  /** Shown on a terminal, e.g. "Sudo password: ". */
  prompt: string;
  /** Names the flag in messages. */
  flag: string;
}

/**
 * The secret, never echoed. A terminal (stdin with setRawMode) gets the prompt on stderr and reads
 * keys until Enter (Backspace edits; Ctrl-C or Ctrl-D on an empty line give up). Otherwise the
 * first line of stdin is the secret (its line end removed): a pipe or a file in CI. No line at all,
 * or an empty secret, is a UsageError.
 */
export async function readSecret(o: ReadSecretOptions): Promise<string> {
  const { stdin } = o;
  const noLine = (): UsageError =>
    new UsageError(`${o.flag}: stdin is not a terminal and gave no line; pipe the password in (printf '%s\\n' "$PW" | imagesync run ...) or run on a terminal`);
  if (!stdin) throw noLine();
  const raw = stdin.isTTY === true && typeof stdin.setRawMode === 'function';
  // Echo off before the prompt shows: whatever is typed after it must never reach the screen.
  if (raw) {
    stdin.setRawMode!(true);
    o.stderr.write(o.prompt);
  }
  const secret = await new Promise<string>((resolve, reject) => {
    let text = '';
    let decoder = '';
    const done = (err?: Error): void => {
      stdin.removeListener('data', onData);
      stdin.removeListener('end', onEnd);
      stdin.removeListener('error', onError);
      if (raw) {
        stdin.setRawMode!(false);
        o.stderr.write('\n');
      }
      stdin.pause();
      if (err) reject(err);
      else resolve(text);
    };
    const onData = (chunk: Buffer | string): void => {
      decoder += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      if (!raw) {
        const nl = decoder.indexOf('\n');
        if (nl < 0) return;
        text = decoder.slice(0, nl).replace(/\r$/, '');
        done();
        return;
      }
      for (const ch of decoder) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003' || (ch === '\u0004' && text === '')) return done(new ImagesyncError(`${o.flag}: interrupted; nothing was contacted`));
        if (ch === '\u007f' || ch === '\b') text = [...text].slice(0, -1).join('');
        else if (ch >= ' ') text += ch;
      }
      decoder = '';
    };
    const onEnd = (): void => {
      if (!raw && decoder !== '') {
        // A last line without its newline (printf %s) is still the password.
        text = decoder.replace(/\r$/, '');
        done();
        return;
      }
      done(raw ? new UsageError(`${o.flag}: stdin closed before the password was typed`) : noLine());
    };
    const onError = (err: Error): void => done(new UsageError(`${o.flag}: cannot read stdin (${err.message})`));
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.once('error', onError);
    stdin.resume();
  });
  if (secret === '') throw new UsageError(`${o.flag}: the password is empty`);
  return secret;
}

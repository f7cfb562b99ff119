// sudo with a password over SSH: the password goes to sudo only when it prompts (its prompt is a marker we chose), the command's own stdin only once it runs.
import { randomBytes } from 'node:crypto';
import { shQuote } from './quote.js';

/**
 * One sudo call's markers and password. `prompt` is what sudo prints when it wants the password
 * (`sudo -S -p PROMPT`); `started` is what the command prints first, once sudo let it run. Without
 * them a password written ahead would reach the command's stdin whenever sudo does not ask
 * (NOPASSWD, a cached login), and a wrong one would leave sudo waiting on a prompt nobody answers.
 */
export interface SudoPrompt {
  prompt: string;
  started: string;
  password: string;
}

export function newSudoPrompt(password: string): SudoPrompt {
  const id = randomBytes(8).toString('hex');
  return { prompt: `[imagesync-sudo-prompt-${id}]`, started: `[imagesync-sudo-started-${id}]`, password };
}

/** `sudo -S -p PROMPT [-u USER] -- sh -c 'printf STARTED >&2; INNER'`: the password never appears on the command line. */
export function sudoWireWithPassword(p: SudoPrompt, inner: string, user?: string): string {
  const script = `printf '%s\\n' ${shQuote(p.started)} >&2\n${inner}`;
  return `sudo -S -p ${shQuote(p.prompt)}${user !== undefined ? ` -u ${shQuote(user)}` : ''} -- sh -c ${shQuote(script)}`;
}

export interface SudoStdin {
  write(text: string): void;
  /** End the channel's stdin, after writing `text` when given. */
  end(text?: string): void;
}

export interface SudoResponder {
  /** Takes stderr as it arrives; returns what the command (or sudo, in words) wrote, markers removed. */
  stderr(chunk: string): string;
  /** What is still held back (the channel closed before the command started). */
  flush(): string;
  /** sudo prompted again after the password: it was refused. */
  refused(): boolean;
}

/**
 * Watches stderr: at sudo's first prompt, writes the password; at a second, ends stdin (sudo then
 * gives up instead of waiting) and remembers the refusal; at the start marker, hands the command its
 * stdin (`stdin`, or nothing) and passes stderr through from then on. Before the start marker,
 * stderr is held back, so a marker split over two chunks is still found.
 */
export function respondToSudo(p: SudoPrompt, io: SudoStdin, stdin: string | undefined): SudoResponder {
  let held = '';
  let running = false;
  let prompts = 0;
  const startLine = `${p.started}\n`;
  return {
    stderr(chunk) {
      if (running) return chunk;
      held += chunk;
      let out = '';
      for (;;) {
        const atPrompt = held.indexOf(p.prompt);
        const atStart = held.indexOf(startLine);
        if (atPrompt < 0 && atStart < 0) return out;
        if (atStart >= 0 && (atPrompt < 0 || atStart < atPrompt)) {
          out += held.slice(0, atStart);
          const rest = held.slice(atStart + startLine.length);
          held = '';
          running = true;
          if (stdin !== undefined) io.end(stdin);
          else io.end();
          return out + rest;
        }
        out += held.slice(0, atPrompt);
        held = held.slice(atPrompt + p.prompt.length);
        prompts++;
        if (prompts === 1) io.write(`${p.password}\n`);
        // EOF at the second prompt: sudo stops asking and exits 1 ("incorrect password attempt").
        else if (prompts === 2) io.end();
      }
    },
    flush() {
      const rest = held;
      held = '';
      return rest;
    },
    refused: () => prompts >= 2,
  };
}

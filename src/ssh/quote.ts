// Quoting for the remote POSIX shell: every interpolated value goes through shQuote.

/**
 * Single-quote `s` for a POSIX shell: the result is one word whose value is exactly `s`,
 * whatever it contains (`$(...)`, backticks, `'`, newlines). Safe words are left bare for readability.
 */
export function shQuote(s: string): string {
  if (s !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** True when `name` can be exported by a POSIX shell (no `=`, no spaces, no `$`). */
export function isEnvName(name: string): boolean {
  return ENV_NAME.test(name);
}

/**
 * Wrap `command` so it runs in `cwd` with `env` exported, every value quoted.
 * `env` names are checked by the caller (isEnvName): a name cannot be quoted.
 */
export function wrapCommand(command: string, opts: { cwd?: string | undefined; env?: Record<string, string> | undefined }): string {
  const parts: string[] = [];
  if (opts.cwd !== undefined) parts.push(`cd -- ${shQuote(opts.cwd)}`);
  const env = Object.entries(opts.env ?? {});
  if (env.length > 0) parts.push(`export ${env.map(([k, v]) => `${k}=${shQuote(v)}`).join(' ')}`);
  if (parts.length === 0) return command;
  // A newline (not `;`) before the command, so a trailing comment or here-doc in it stays intact.
  return `${parts.join(' && ')} || exit 125\n${command}`;
}

// User data as the emulator's cloud-init plays it: cloud-config write_files and runcmd, or a "#!" script, turned into one shell script run as root at first boot.
import { gunzipSync } from 'node:zlib';
import { isJsonObject } from './http.js';
import { parse } from 'yaml';

/** What the emulator does with a server's user data. */
export interface UserDataPlan {
  /** Run by /bin/sh as root inside the server before sshd starts, once (the first boot); undefined: nothing to run. */
  script: string | undefined;
  /** What it does, for the console: "write_files (2)", "runcmd (3)", "a #! script". */
  applied: string[];
  /** What it leaves out: cloud-config modules it does not play, or a format it does not read. */
  ignored: string[];
}

/** The cloud-config modules the emulator plays; every other key is reported as ignored. */
export const PLAYED_MODULES = ['write_files', 'runcmd'] as const;

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const isObject = isJsonObject;

/** write_files content, decoded as cloud-init does (encoding b64/base64, gzip/gz, or both). */
function fileContent(f: Record<string, unknown>): Buffer {
  const raw = typeof f.content === 'string' ? f.content : '';
  const encoding = typeof f.encoding === 'string' ? f.encoding.toLowerCase() : 'text/plain';
  let data = ['b64', 'base64', 'gz+b64', 'gzip+base64', 'gz+base64', 'gzip+b64'].includes(encoding) ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (encoding.startsWith('gz')) data = gunzipSync(data);
  return data;
}

/** One write_files entry as shell: parent directories, content (append or replace), mode, owner. */
function writeFileCommands(f: Record<string, unknown>): string[] {
  if (typeof f.path !== 'string' || !f.path.startsWith('/')) return [`echo 'cloud-init: write_files entry without an absolute path: skipped' >&2`];
  const p = shQuote(f.path);
  const out = [`mkdir -p "$(dirname ${p})"`, `printf %s ${shQuote(fileContent(f).toString('base64'))} | base64 -d ${f.append === true ? '>>' : '>'} ${p}`];
  // cloud-init's default mode is 0644; the owner root:root.
  const mode = typeof f.permissions === 'string' ? f.permissions : typeof f.permissions === 'number' ? f.permissions.toString(8) : '0644';
  if (/^0?[0-7]{3,4}$/.test(mode)) out.push(`chmod ${mode} ${p}`);
  if (typeof f.owner === 'string' && /^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$/.test(f.owner)) out.push(`chown ${f.owner} ${p} || true`);
  return out;
}

/** runcmd: a string runs through sh, a list is an argv (cloud-init's two forms). */
function runcmdCommand(entry: unknown): string | undefined {
  if (typeof entry === 'string') return `sh -c ${shQuote(entry)}`;
  if (Array.isArray(entry) && entry.every((a) => typeof a === 'string')) return entry.map((a) => shQuote(a as string)).join(' ');
  return undefined;
}

/**
 * The plan for one server's user data. cloud-config: write_files (non-deferred ones first, then
 * runcmd, then deferred ones, as cloud-init orders its stages) and runcmd, each command's failure
 * logged and the rest carried on, as cloud-init does; every other module is ignored and said so. A
 * "#!" script runs as it is. Other formats (MIME multi-part, #include, gzip) are ignored whole.
 */
export function userDataPlan(data: Buffer | undefined): UserDataPlan {
  if (!data || data.length === 0) return { script: undefined, applied: [], ignored: [] };
  const text = data.toString('utf8');
  if (text.startsWith('#!')) return { script: text, applied: ['a #! script'], ignored: [] };
  if (!/^#cloud-config\s/.test(text)) {
    return { script: undefined, applied: [], ignored: [`user data that is neither #cloud-config nor a #! script (${JSON.stringify(text.slice(0, 20))}…)`] };
  }
  let config: unknown;
  try {
    config = parse(text);
  } catch (err) {
    return { script: undefined, applied: [], ignored: [`cloud-config that is not valid YAML: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`] };
  }
  if (!isObject(config)) return { script: undefined, applied: [], ignored: ['cloud-config that is not a mapping'] };
  const files = Array.isArray(config.write_files) ? config.write_files.filter(isObject) : [];
  const runcmd = Array.isArray(config.runcmd) ? config.runcmd : [];
  const lines = ['#!/bin/sh', '# cloud-init (imagesync emulator): write_files and runcmd from the user data'];
  const step = (cmd: string) => lines.push(`${cmd} || echo "cloud-init: failed ($?): ${cmd.replace(/["\\$`]/g, '\\$&').slice(0, 200)}" >&2`);
  for (const f of files.filter((f) => f.defer !== true)) for (const c of writeFileCommands(f)) step(c);
  for (const entry of runcmd) {
    const c = runcmdCommand(entry);
    if (c) step(c);
  }
  for (const f of files.filter((f) => f.defer === true)) for (const c of writeFileCommands(f)) step(c);
  const applied = [...(files.length ? [`write_files (${files.length})`] : []), ...(runcmd.length ? [`runcmd (${runcmd.length})`] : [])];
  const ignored = Object.keys(config).filter((k) => !(PLAYED_MODULES as readonly string[]).includes(k));
  return { script: applied.length ? `${lines.join('\n')}\n` : undefined, applied, ignored };
}

/** The console lines cloud-init's stages would print about the user data. */
export function userDataConsoleLines(plan: UserDataPlan): string[] {
  const out: string[] = [];
  if (plan.applied.length) out.push(`cloud-init: user data: ${plan.applied.join(', ')} (output in /var/log/cloud-init-output.log)`);
  if (plan.ignored.length) out.push(`cloud-init: user data: ignored by the imagesync emulator: ${plan.ignored.join(', ')}`);
  return out;
}

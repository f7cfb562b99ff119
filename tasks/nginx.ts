// Task: install nginx when the package can be installed, then write its config, one site and an index page.
import { readFile } from 'node:fs/promises';
import { InputError } from '../src/errors.js';
import { shQuote } from '../src/ssh/quote.js';
import { defineTask, type TaskContext } from '../src/tasks/define.js';
import { ensureFile, under } from './_files.js';

export interface NginxArgs extends Record<string, unknown> {
  /** worker_processes; a positive integer, or "auto" (the default). */
  workers?: number | 'auto';
  /** false: never run apt-get, write the configuration only. Default: install when apt-get can. */
  install?: boolean;
  /** Filesystem root the paths are under; default "/". Installing happens only with root "/". */
  root?: string;
  /** Port of the site; default 80. */
  port?: number;
}

const MARK = '# Managed by imagesync (tasks/nginx.ts); edits here are replaced on the next build.';
export const SITE = 'imagesync';
export const WEB_ROOT = '/var/www/imagesync';
const TEMPLATE = new URL('../files/nginx/index.html.tmpl', import.meta.url);

interface Checked {
  workers: number | 'auto';
  install: boolean;
  root: string;
  port: number;
}

export function checkNginxArgs(args: NginxArgs): Checked {
  const w = args.workers ?? 'auto';
  if (w !== 'auto' && !(typeof w === 'number' && Number.isInteger(w) && w >= 1 && w <= 1024)) {
    throw new InputError(`nginx: args.workers must be a positive integer (1-1024) or "auto", got ${JSON.stringify(w)}; e.g. --arg workers=4`);
  }
  if (args.install !== undefined && typeof args.install !== 'boolean') {
    throw new InputError(`nginx: args.install must be true or false, got ${JSON.stringify(args.install)}`);
  }
  const port = args.port ?? 80;
  if (!(typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535)) {
    throw new InputError(`nginx: args.port must be a port number (1-65535), got ${JSON.stringify(port)}`);
  }
  const root = args.root ?? '/';
  if (typeof root !== 'string' || !root.startsWith('/') || /[\n\0]/.test(root)) {
    throw new InputError(`nginx: args.root must be an absolute directory path, got ${JSON.stringify(root)}`);
  }
  return { workers: w, install: args.install ?? true, root, port };
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);

/** `{{name}}` replaced by the HTML-escaped value; an unknown placeholder is an error, not an empty string. */
export function renderTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{\s*([A-Za-z_]\w*)\s*\}\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`files/nginx/index.html.tmpl: unknown placeholder {{${name}}}; known: ${Object.keys(values).join(', ')}`);
    return escapeHtml(value);
  });
}

export function nginxConf(workers: number | 'auto'): string {
  return `${MARK}
user www-data;
worker_processes ${workers};
pid /run/nginx.pid;
error_log /var/log/nginx/error.log;
include /etc/nginx/modules-enabled/*.conf;

events {
    worker_connections 768;
}

http {
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    server_tokens off;

    include /etc/nginx/mime.types;
    default_type application/octet-stream;

    access_log /var/log/nginx/access.log;
    gzip on;

    include /etc/nginx/conf.d/*.conf;
    include /etc/nginx/sites-enabled/*;
}
`;
}

export function siteConf(port: number): string {
  return `${MARK}
server {
    listen ${port} default_server;
    listen [::]:${port} default_server;
    server_name _;

    root ${WEB_ROOT};
    index index.html;

    location / {
        try_files $uri $uri/ =404;
    }
}
`;
}

const APT_ENV = { DEBIAN_FRONTEND: 'noninteractive' };
// Fail fast on unreachable mirrors instead of apt's minutes of retries.
const APT_NET = '-o Acquire::Retries=0 -o Acquire::http::Timeout=15 -o Acquire::https::Timeout=15';

/**
 * Install nginx with apt-get when that can work; return why not otherwise. Never requires a
 * network: without one the task writes the configuration only.
 */
async function installNginx(c: TaskContext): Promise<{ installed: boolean; why: string }> {
  const status = await c.run(`dpkg-query -W -f='\${Status}' nginx 2>/dev/null`, { warn: true });
  if (status.stdout.includes('install ok installed')) return { installed: true, why: 'already installed' };
  if ((await c.run('command -v apt-get', { warn: true })).exitCode !== 0) return { installed: false, why: 'apt-get not found' };
  const candidate = async (): Promise<boolean> => {
    const r = await c.run('apt-cache policy nginx', { warn: true, env: { LC_ALL: 'C' } });
    return r.exitCode === 0 && /Candidate:\s+(?!\(none\))\S+/.test(r.stdout);
  };
  if (!(await candidate())) {
    const update = await c.sudo(`apt-get ${APT_NET} update`, { warn: true, env: APT_ENV, timeoutMs: 180_000 });
    if (update.exitCode !== 0 || !(await candidate())) return { installed: false, why: 'no nginx package in the apt sources (offline?)' };
  }
  // --force-confold: keep a config this task wrote on an earlier run instead of prompting.
  const r = await c.sudo(`apt-get ${APT_NET} install -y --no-install-recommends -o Dpkg::Options::=--force-confold nginx`, {
    warn: true,
    env: APT_ENV,
    timeoutMs: 600_000,
  });
  if (r.exitCode !== 0) return { installed: false, why: `apt-get install failed: ${r.stderr.trim().split('\n').at(-1) ?? `exit ${r.exitCode}`}` };
  return { installed: true, why: 'installed with apt-get' };
}

export default defineTask<NginxArgs>({
  name: 'nginx',
  description: [
    'Install nginx (when apt-get can) and write nginx.conf, one default site and an index page naming the image',
    'Without a reachable package source it writes the configuration only; nginx -t checks it when nginx is installed.',
    'Args:',
    '  workers  worker_processes: a positive integer or "auto" (default "auto")',
    '  install  false to never run apt-get, only write the configuration (default true)',
    '  port     port of the site (default 80)',
    '  root     directory the paths are under (default "/"; no install unless "/")',
  ].join('\n'),
  async run(c, raw) {
    const a = checkNginxArgs(raw);
    const template = await readFile(TEMPLATE, 'utf8');
    const index = renderTemplate(template, { image: c.image.name, workers: String(a.workers) });

    if (a.install && a.root === '/') {
      const { installed, why } = await installNginx(c);
      c.log(installed ? `nginx: ${why}` : `nginx: not installed (${why}); writing the configuration only`);
    } else {
      c.log(`nginx: install skipped (${a.install ? `root is ${a.root}` : 'install=false'}); writing the configuration only`);
    }

    const changed: string[] = [];
    if (await ensureFile(c, under(a.root, '/etc/nginx/nginx.conf'), nginxConf(a.workers), '0644')) changed.push('/etc/nginx/nginx.conf');
    if (await ensureFile(c, under(a.root, `/etc/nginx/sites-available/${SITE}`), siteConf(a.port), '0644')) changed.push(`sites-available/${SITE}`);
    if (await ensureFile(c, under(a.root, `${WEB_ROOT}/index.html`), index, '0644')) changed.push(`${WEB_ROOT}/index.html`);
    // Debian's own "default" site is also default_server on port 80: two of them fail nginx -t.
    const enabled = shQuote(under(a.root, '/etc/nginx/sites-enabled'));
    const link = await c.sudo(
      `mkdir -p -- ${enabled} && rm -f -- ${enabled}/default && ` +
        `if [ "$(readlink -- ${enabled}/${SITE})" != ../sites-available/${SITE} ]; then ln -sfn ../sites-available/${SITE} ${enabled}/${SITE} && echo linked; fi`,
    );
    if (link.stdout.includes('linked')) changed.push(`sites-enabled/${SITE}`);

    const nginx = await c.run('command -v nginx || { test -x /usr/sbin/nginx && echo /usr/sbin/nginx; }', { warn: true });
    if (a.root === '/' && nginx.exitCode === 0 && nginx.stdout.trim() !== '') {
      await c.sudo(`${shQuote(nginx.stdout.trim())} -t -q`);
      c.log('nginx: nginx -t accepts the configuration');
    } else {
      c.log('nginx: warning: nginx is not installed here, so the configuration was not checked with nginx -t');
    }
    c.log(changed.length ? `nginx: changed ${changed.join(', ')}` : 'nginx: already configured, nothing changed');
  },
});

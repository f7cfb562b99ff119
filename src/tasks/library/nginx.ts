// Task (shipped as imagesync/tasks/nginx): install nginx when the package can be installed, then write its config, one site and an index page.
import { defineTask, shQuote, z, type TaskContext } from '../../task.js';
import { absoluteRoot, ensureFile, under } from './_files.js';

export const NginxArgs = z.strictObject({
  workers: z
    .union([z.literal('auto'), z.int().min(1).max(1024)], { error: 'must be a whole number of worker processes (1-1024) or "auto"' })
    .default('auto')
    .describe('worker_processes: a whole number (1-1024) or "auto"'),
  install: z.boolean().default(true).describe('false to never run apt-get, only write the configuration'),
  port: z.int().min(1).max(65535).default(80).describe('port of the site'),
  root: absoluteRoot.describe('directory the paths are under (no install unless "/")'),
});
export type NginxArgs = z.output<typeof NginxArgs>;

const MARK = '# Managed by imagesync (task nginx); edits here are replaced on the next build.';
export const SITE = 'imagesync';
export const WEB_ROOT = '/var/www/imagesync';

/** The index page; {{name}} placeholders are filled in HTML-escaped. Part of this file, so it counts in the recipe. */
export const INDEX_TEMPLATE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{{image}}</title>
</head>
<body>
  <h1>{{image}}</h1>
  <p>This server runs the image <strong>{{image}}</strong>, built by imagesync.</p>
  <p>nginx worker processes: {{workers}}</p>
</body>
</html>
`;

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);

/** `{{name}}` replaced by the HTML-escaped value; an unknown placeholder is an error, not an empty string. */
export function renderTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{\s*([A-Za-z_]\w*)\s*\}\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`nginx: index template: unknown placeholder {{${name}}}; known: ${Object.keys(values).join(', ')}`);
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

export default defineTask({
  name: 'nginx',
  description: [
    'Install nginx (when apt-get can) and write nginx.conf, one default site and an index page naming the image',
    'Without a reachable package source it writes the configuration only; nginx -t checks it when nginx is installed.',
  ].join('\n'),
  args: NginxArgs,
  module: import.meta.url,
  async run(c, a) {
    const index = renderTemplate(INDEX_TEMPLATE, { image: c.image.name, workers: String(a.workers) });

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
